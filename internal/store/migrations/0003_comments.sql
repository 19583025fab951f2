-- Viewer comments, each with what was done with it and why.
CREATE TABLE comments (
    session_id    TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    id            TEXT NOT NULL,
    user_name     TEXT NOT NULL DEFAULT '',
    text          TEXT NOT NULL,
    at            BIGINT NOT NULL,
    received_at   BIGINT NOT NULL,
    action        TEXT NOT NULL,
    reason        TEXT NOT NULL DEFAULT '',
    intent        TEXT NOT NULL DEFAULT '',
    sku           TEXT NOT NULL DEFAULT '',
    dedupe_key    TEXT NOT NULL DEFAULT '',
    reply_clip_id TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (session_id, id)
);
CREATE INDEX comments_received ON comments (session_id, received_at);
CREATE INDEX comments_dedupe ON comments (session_id, dedupe_key, received_at);

-- When a reply's comment was received: its latency runs from there.
ALTER TABLE clips ADD COLUMN comment_at BIGINT;
