-- tix schema: the inbox's Follow-up view reads its own partial index, in queue order.
CREATE INDEX tickets_open_follow_up ON tickets((waiting_since IS NULL), waiting_since, id)
    WHERE status = 'open' AND follow_up = 1;
