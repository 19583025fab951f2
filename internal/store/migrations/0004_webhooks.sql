-- Evercast metadata, version 4: webhook registrations and their delivery
-- log. Same rules as 0001: SQL that SQLite and PostgreSQL both accept, times
-- as BIGINT unix milliseconds UTC, one statement per ';' at a line end.
--
-- A registration belongs to a merchant and covers one session (session_id)
-- or, when session_id is NULL, every session of the merchant. events is a
-- JSON array of event names; an empty array means every event. secret is
-- the HMAC key the deliveries are signed with: it must be readable, so it is
-- stored as given (protect the database as you protect the API keys' use).
CREATE TABLE webhooks (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id) ON DELETE CASCADE,
    session_id  TEXT REFERENCES sessions (id) ON DELETE CASCADE,
    url         TEXT NOT NULL,
    events      TEXT NOT NULL,
    secret      TEXT NOT NULL,
    ord         BIGINT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX webhooks_merchant ON webhooks (merchant_id, ord);
CREATE INDEX webhooks_session ON webhooks (session_id);

-- One row per delivery attempt, newest kept: Store.RecordWebhookDelivery
-- prunes each registration's log to a bound. status is delivered, retrying
-- or failed; next_retry_at is set while retrying.
CREATE TABLE webhook_deliveries (
    webhook_id    TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id      TEXT NOT NULL,
    attempt       INTEGER NOT NULL,
    event         TEXT NOT NULL,
    session_id    TEXT NOT NULL DEFAULT '',
    status        TEXT NOT NULL,
    http_status   INTEGER NOT NULL DEFAULT 0,
    error         TEXT NOT NULL DEFAULT '',
    duration_ms   BIGINT NOT NULL DEFAULT 0,
    at            BIGINT NOT NULL,
    next_retry_at BIGINT,
    PRIMARY KEY (webhook_id, event_id, attempt)
);
CREATE INDEX webhook_deliveries_recent ON webhook_deliveries (webhook_id, at);
