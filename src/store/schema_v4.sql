-- tix schema: reports read a period of the journal and of the agents' replies by time.
CREATE INDEX events_by_time ON events(at);
-- Partial: only outbound messages, so customers' arrivals (most of the rows) pay nothing for it.
CREATE INDEX messages_out_by_time ON messages(sent_at) WHERE direction = 'out';
