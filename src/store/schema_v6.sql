-- tix schema, version 6: the journal, ticket labels and fields and rule firings keep no foreign
-- keys, as messages never did.
--
-- The arrival path writes these rows in bulk, many rows per INSERT, and with routing rules they
-- are as many as half its messages. A foreign key cost each row a look-up of its ticket (a sixth
-- of a journal row's cost), and made SQLite guard every multi-row statement with a statement
-- journal: a copy of each page the statement was about to change, 80,000 pages per 100,000
-- messages. Only the desk writes these rows, always for a ticket it holds in the same
-- transaction, and the invariant check (`Sql::invariant_violations`) finds any row naming a
-- ticket that does not exist.

CREATE TABLE events_v6 (
    id         INTEGER PRIMARY KEY,
    -- NULL for a change to a contact (a merge).
    ticket_id  INTEGER,
    kind       TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor      TEXT,
    at         INTEGER NOT NULL,
    payload    TEXT NOT NULL,
    -- The agent action this change belongs to; NULL for arrivals, rules and undo/redo themselves.
    action_id  INTEGER,
    -- 'undo' or 'redo' when the change was made by one.
    via        TEXT
);
INSERT INTO events_v6 (id, ticket_id, kind, actor_kind, actor, at, payload, action_id, via)
    SELECT id, ticket_id, kind, actor_kind, actor, at, payload, action_id, via FROM events;
DROP TABLE events;
ALTER TABLE events_v6 RENAME TO events;
CREATE INDEX events_by_ticket ON events(ticket_id, id);
CREATE INDEX events_by_action ON events(action_id) WHERE action_id IS NOT NULL;
CREATE INDEX events_by_time ON events(at);

CREATE TABLE ticket_labels_v6 (
    ticket_id INTEGER NOT NULL,
    label     TEXT NOT NULL,
    PRIMARY KEY (ticket_id, label)
) WITHOUT ROWID;
INSERT INTO ticket_labels_v6 (ticket_id, label) SELECT ticket_id, label FROM ticket_labels;
DROP TABLE ticket_labels;
ALTER TABLE ticket_labels_v6 RENAME TO ticket_labels;

CREATE TABLE ticket_fields_v6 (
    ticket_id INTEGER NOT NULL,
    name      TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (ticket_id, name)
) WITHOUT ROWID;
INSERT INTO ticket_fields_v6 (ticket_id, name, value)
    SELECT ticket_id, name, value FROM ticket_fields;
DROP TABLE ticket_fields;
ALTER TABLE ticket_fields_v6 RENAME TO ticket_fields;

CREATE TABLE rule_fired_v6 (
    ticket_id INTEGER NOT NULL,
    rule      TEXT NOT NULL,
    at        INTEGER NOT NULL,
    PRIMARY KEY (ticket_id, rule)
) WITHOUT ROWID;
INSERT INTO rule_fired_v6 (ticket_id, rule, at) SELECT ticket_id, rule, at FROM rule_fired;
DROP TABLE rule_fired;
ALTER TABLE rule_fired_v6 RENAME TO rule_fired;
