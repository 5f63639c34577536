-- tix schema, version 1. Times are epoch milliseconds (UTC).

CREATE TABLE channel_accounts (
    id   INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    merged_into INTEGER REFERENCES contacts(id)
);

-- A conversation is the thread of one customer identity (their id on one channel account), so
-- the identity key lives here: (account, external id) -> contact.
CREATE TABLE conversations (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES channel_accounts(id),
    external_id TEXT NOT NULL,
    contact_id  INTEGER NOT NULL REFERENCES contacts(id),
    created_at  INTEGER NOT NULL,
    UNIQUE (account_id, external_id)
);
CREATE INDEX conversations_by_contact ON conversations(contact_id);

-- The ticket's id is its display number: sequential, never reused.
CREATE TABLE tickets (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id   INTEGER NOT NULL REFERENCES conversations(id),
    status            TEXT NOT NULL CHECK (status IN ('open', 'closed', 'spam')),
    assignee          TEXT,
    team              TEXT,
    follow_up         INTEGER NOT NULL DEFAULT 0,
    created_at        INTEGER NOT NULL,
    created_by        TEXT NOT NULL,
    updated_at        INTEGER NOT NULL,
    first_response_at INTEGER,
    closed_at         INTEGER,
    closed_by         TEXT,
    reopen_count      INTEGER NOT NULL DEFAULT 0,
    message_count     INTEGER NOT NULL DEFAULT 0,
    last_message_id   INTEGER,
    last_message_at   INTEGER,
    -- When the customer's oldest unanswered message arrived; NULL once an agent has replied.
    waiting_since     INTEGER,
    unread            INTEGER NOT NULL DEFAULT 0
);
-- The lifecycle's first invariant, held by the database itself.
CREATE UNIQUE INDEX tickets_one_open_per_conversation ON tickets(conversation_id) WHERE status = 'open';
CREATE INDEX tickets_by_conversation ON tickets(conversation_id, id);
-- Queues: open tickets, longest waiting first, answered ones after. Partial, so closed history
-- never slows the inbox.
CREATE INDEX tickets_open_queue ON tickets((waiting_since IS NULL), waiting_since, id) WHERE status = 'open';
CREATE INDEX tickets_open_by_assignee ON tickets(assignee, (waiting_since IS NULL), waiting_since, id) WHERE status = 'open';
CREATE INDEX tickets_open_by_team ON tickets(team, (waiting_since IS NULL), waiting_since, id) WHERE status = 'open';
-- Closed and Spam lists, newest first. Partial too: an index on (status, id) would tempt the
-- planner away from the open queue's index.
CREATE INDEX tickets_closed ON tickets(id) WHERE status = 'closed';
CREATE INDEX tickets_spam ON tickets(id) WHERE status = 'spam';

-- No foreign keys here: the arrival path is the only writer and the invariant tests check that
-- every message belongs to a ticket of its own conversation; the checks would cost ingest speed.
CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL,
    external_id     TEXT NOT NULL,
    conversation_id INTEGER NOT NULL,
    ticket_id       INTEGER NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    author          TEXT,
    kind            TEXT NOT NULL,
    body            TEXT NOT NULL,
    sent_at         INTEGER NOT NULL
);
-- A platform message id is stored once per channel account: re-imports add nothing.
CREATE UNIQUE INDEX messages_by_external_id ON messages(account_id, external_id);
CREATE INDEX messages_by_conversation ON messages(conversation_id, sent_at);
CREATE INDEX messages_by_ticket ON messages(ticket_id);

-- Search over every message. Trigram finds Thai words inside sentences; rows are added by the
-- arrival path in bulk inside its own transaction (a trigger would index row by row).
CREATE VIRTUAL TABLE messages_fts USING fts5(body, content = 'messages', content_rowid = 'id', tokenize = 'trigram');

CREATE TABLE notes (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER NOT NULL REFERENCES tickets(id),
    author     TEXT NOT NULL,
    body       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    removed    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX notes_by_ticket ON notes(ticket_id);

CREATE TABLE ticket_labels (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    label     TEXT NOT NULL,
    PRIMARY KEY (ticket_id, label)
) WITHOUT ROWID;

CREATE TABLE ticket_fields (
    ticket_id INTEGER NOT NULL REFERENCES tickets(id),
    name      TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (ticket_id, name)
) WITHOUT ROWID;

-- One row per agent action (a bulk action is one row): the unit of undo and redo.
CREATE TABLE actions (
    id      INTEGER PRIMARY KEY,
    agent   TEXT NOT NULL,
    at      INTEGER NOT NULL,
    summary TEXT NOT NULL,
    state   TEXT NOT NULL CHECK (state IN ('done', 'undone', 'dropped'))
);
CREATE INDEX actions_by_agent ON actions(agent, state, id);

-- The journal: append-only, every change to a ticket or contact.
CREATE TABLE events (
    id         INTEGER PRIMARY KEY,
    ticket_id  INTEGER REFERENCES tickets(id),
    kind       TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor      TEXT,
    at         INTEGER NOT NULL,
    payload    TEXT NOT NULL,
    -- The agent action this change belongs to; NULL for arrivals, rules and undo/redo themselves.
    action_id  INTEGER REFERENCES actions(id),
    -- 'undo' or 'redo' when the change was made by one.
    via        TEXT
);
CREATE INDEX events_by_ticket ON events(ticket_id, id);
CREATE INDEX events_by_action ON events(action_id);
