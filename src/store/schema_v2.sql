-- tix schema, version 2: routing rules.

-- Where each team's round-robin rotation stands: the agent who got the last ticket. Kept here so
-- the rotation survives restarts and stays strict across batches and processes.
CREATE TABLE rotation (
    team       TEXT PRIMARY KEY,
    last_agent TEXT NOT NULL
) WITHOUT ROWID;

-- When each rule last fired on each ticket: `once_per_ticket` and the timers read it, so a rule
-- never fires twice where it should not.
CREATE TABLE rule_fired (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    rule      TEXT NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, rule)
) WITHOUT ROWID;

-- Idle timers look for answered open tickets by the time of their last message.
CREATE INDEX tickets_open_answered ON tickets(last_message_at, id)
    WHERE status = 'open' AND waiting_since IS NULL;
-- Timers and team backlogs look for open tickets without an agent, oldest first.
CREATE INDEX tickets_open_unassigned ON tickets(created_at, id)
    WHERE status = 'open' AND assignee IS NULL;

-- Rules and arrivals journal many lines that belong to no agent action: index only those that do
-- (`action_id = ?` implies NOT NULL, so undo's lookups still use it).
DROP INDEX events_by_action;
CREATE INDEX events_by_action ON events(action_id) WHERE action_id IS NOT NULL;

-- People's replies per ticket (outbound messages not sent by a rule), kept by the arrival path
-- and replies like message_count, so rules can test `agent_replies` without counting messages.
ALTER TABLE tickets ADD COLUMN agent_replies INTEGER NOT NULL DEFAULT 0;
UPDATE tickets SET agent_replies =
    (SELECT count(*) FROM messages m WHERE m.ticket_id = tickets.id AND m.direction = 'out');
