-- Evercast metadata, version 1.
-- Written in SQL that SQLite and PostgreSQL both accept: TEXT, BIGINT and
-- INTEGER columns, times as BIGINT unix milliseconds UTC, JSON documents as
-- TEXT, ids from evercast.NewID. Each statement ends with ';' at a line end.
-- `ord` columns keep the created order (lists return newest last); in clips
-- it is the order key the rundown follows.

CREATE TABLE merchants (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    doc        TEXT NOT NULL,
    ord        BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX merchants_ord ON merchants (ord);

-- API keys are kept as the SHA-256 hex of the token.
CREATE TABLE api_keys (
    hash        TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);
CREATE INDEX api_keys_merchant ON api_keys (merchant_id);

CREATE TABLE anchors (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    doc         TEXT NOT NULL,
    ord         BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE INDEX anchors_ord ON anchors (ord);
CREATE INDEX anchors_merchant ON anchors (merchant_id, ord);

CREATE TABLE products (
    id          TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants (id),
    sku         TEXT NOT NULL,
    doc         TEXT NOT NULL,
    ord         BIGINT NOT NULL,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX products_sku ON products (merchant_id, sku);
CREATE INDEX products_ord ON products (ord);
CREATE INDEX products_merchant ON products (merchant_id, ord);

-- planner_state is opaque bytes: BYTEA in PostgreSQL; in SQLite the
-- declared type gives NUMERIC affinity, which stores a blob as it is.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    merchant_id   TEXT NOT NULL REFERENCES merchants (id),
    anchor_id     TEXT NOT NULL,
    state         TEXT NOT NULL,
    owner         TEXT NOT NULL DEFAULT '',
    lease_until   BIGINT NOT NULL DEFAULT 0,
    started_at    BIGINT,
    ended_at      BIGINT,
    doc           TEXT NOT NULL,
    planner_state BYTEA,
    ord           BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX sessions_ord ON sessions (ord);
CREATE INDEX sessions_merchant ON sessions (merchant_id, ord);
CREATE INDEX sessions_anchor ON sessions (anchor_id);
CREATE INDEX sessions_state ON sessions (state);

-- The product rotation of each session, kept beside the session document so
-- that the delete guard of products is an indexed query.
CREATE TABLE session_products (
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    product_id TEXT NOT NULL,
    pos        INTEGER NOT NULL,
    PRIMARY KEY (session_id, product_id)
);
CREATE INDEX session_products_product ON session_products (product_id);

-- Clips are real columns: they are queried hard. seq is 0 until the clip
-- is cued, then its contiguous place on air.
CREATE TABLE clips (
    id           TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    ord          BIGINT NOT NULL,
    seq          BIGINT NOT NULL DEFAULT 0,
    kind         TEXT NOT NULL,
    product_id   TEXT NOT NULL DEFAULT '',
    language     TEXT NOT NULL DEFAULT '',
    text         TEXT NOT NULL DEFAULT '',
    state        TEXT NOT NULL,
    comment_id   TEXT NOT NULL DEFAULT '',
    priority     INTEGER NOT NULL DEFAULT 0,
    beat         INTEGER NOT NULL DEFAULT 0,
    brief        TEXT NOT NULL DEFAULT '',
    duration_ms  BIGINT NOT NULL DEFAULT 0,
    start_ms     BIGINT,
    audio_key    TEXT NOT NULL DEFAULT '',
    video_key    TEXT NOT NULL DEFAULT '',
    video_sha256 TEXT NOT NULL DEFAULT '',
    writer       TEXT NOT NULL DEFAULT '',
    verdict      TEXT NOT NULL DEFAULT '',
    error        TEXT NOT NULL DEFAULT '',
    planned_at   BIGINT NOT NULL,
    scripted_at  BIGINT,
    voiced_at    BIGINT,
    rendered_at  BIGINT,
    on_air_at    BIGINT,
    aired_at     BIGINT,
    failed_at    BIGINT
);
CREATE UNIQUE INDEX clips_order ON clips (session_id, ord);
CREATE UNIQUE INDEX clips_seq ON clips (session_id, seq) WHERE seq > 0;
CREATE INDEX clips_state ON clips (session_id, state, ord);
-- Cue's index: the pending clips of a session by priority and order key,
-- without the aired history. Queries must repeat this WHERE term with the
-- same literals for the planners to use it.
CREATE INDEX clips_pending ON clips (session_id, priority, ord)
    WHERE state IN ('planned', 'scripted', 'voiced', 'rendered');
