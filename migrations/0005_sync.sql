-- Running beside Django (issue 14, integrations/django/PROTOCOL.md).

-- The ids of the events applied from Django's companion app: an event whose id is here was applied
-- and is answered 409, never applied again. An id is written in the same transaction as the
-- event's own writes (or right after the event's revocations and KV writes), never for an event
-- whose application failed, so the sender's retry applies it. Ids are kept 30 days (the protocol
-- asks for 7); `received_at` is Unix seconds.
CREATE TABLE sync_received_events (
    id          TEXT    PRIMARY KEY,
    received_at INTEGER NOT NULL
);
CREATE INDEX sync_received_events_by_age ON sync_received_events (received_at);
