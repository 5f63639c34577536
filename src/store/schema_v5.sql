-- tix schema, version 5: public comments and marketplace product reviews, each in its own area.
--
-- A comment belongs to the channel account a private reply to it would use (a Facebook Page's
-- Messenger account, an Instagram account), so (account, external id) keys it like a message.
-- The commenter is the contact of that customer identity on the account: the identity key is the
-- conversation's (account, external id), as for a message, so a private reply lands in the
-- conversation the customer would have with the page.
CREATE TABLE comments (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES channel_accounts(id),
    external_id TEXT NOT NULL,
    post_id     TEXT,
    parent_id   TEXT,
    author_id   TEXT,
    author_name TEXT,
    -- 1 when the page itself commented: nothing to handle, kept for the record.
    from_page   INTEGER NOT NULL DEFAULT 0,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    contact_id  INTEGER REFERENCES contacts(id),
    handled_at  INTEGER,
    handled_by  TEXT,
    ticket_id   INTEGER REFERENCES tickets(id),
    UNIQUE (account_id, external_id)
);
-- The Comments view: unhandled ones, newest first. Partial, so handled history costs nothing.
CREATE INDEX comments_unhandled ON comments(created_at, id) WHERE handled_at IS NULL;
CREATE INDEX comments_by_time ON comments(created_at, id);

-- A product review on a marketplace shop (Shopee, Lazada): its account is that shop's.
CREATE TABLE reviews (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES channel_accounts(id),
    external_id TEXT NOT NULL,
    product     TEXT NOT NULL,
    rating      INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 5),
    author      TEXT NOT NULL,
    author_id   TEXT,
    body        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    -- The reviewer's contact; NULL when the review does not say who wrote it (no author_id).
    contact_id  INTEGER REFERENCES contacts(id),
    handled_at  INTEGER,
    handled_by  TEXT,
    ticket_id   INTEGER REFERENCES tickets(id),
    UNIQUE (account_id, external_id)
);
CREATE INDEX reviews_unhandled ON reviews(created_at, id) WHERE handled_at IS NULL;
CREATE INDEX reviews_by_time ON reviews(created_at, id);
