-- Evercast metadata, version 2: the audit log, its per-session heads, and
-- the approval queue. Same rules as 0001: SQL that SQLite and PostgreSQL
-- both accept, times as BIGINT unix milliseconds UTC, one statement per
-- ';' at a line end.
--
-- audit_log is append-only: the code never updates or deletes a row.
-- Store.GuardAudit adds triggers that refuse UPDATE and DELETE (and, on
-- PostgreSQL, TRUNCATE) because trigger syntax differs between the two
-- databases. In production, grant the application's database user only
-- INSERT and SELECT on audit_log (docs/compliance.md). There is no foreign
-- key to sessions: the record outlives anything deleted elsewhere.
CREATE TABLE audit_log (
    session_id  TEXT NOT NULL,
    seq         BIGINT NOT NULL,
    merchant_id TEXT NOT NULL DEFAULT '',
    kind        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    actor       TEXT NOT NULL DEFAULT '',
    data        TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
CREATE INDEX audit_log_merchant ON audit_log (merchant_id, at);

-- One row per session with a record: the row Store.AppendAudit locks to
-- serialise appends (so that two writers never read the same head), the
-- head itself (seq and hash of the last record), and how far the archiver
-- has copied the log to the object store.
CREATE TABLE audit_heads (
    session_id   TEXT PRIMARY KEY,
    merchant_id  TEXT NOT NULL DEFAULT '',
    last_seq     BIGINT NOT NULL DEFAULT 0,
    last_hash    TEXT NOT NULL DEFAULT '',
    archived_seq BIGINT NOT NULL DEFAULT 0,
    updated_at   BIGINT NOT NULL
);

-- Human approval of scripts. approved is NULL while pending, then 1 or 0.
-- text and verdict are the script and claims verdict the decision is about.
CREATE TABLE approvals (
    clip_id      TEXT PRIMARY KEY,
    session_id   TEXT NOT NULL,
    merchant_id  TEXT NOT NULL DEFAULT '',
    text         TEXT NOT NULL DEFAULT '',
    verdict      TEXT NOT NULL DEFAULT '',
    requested_at BIGINT NOT NULL,
    decided_at   BIGINT,
    approved     INTEGER,
    actor        TEXT NOT NULL DEFAULT '',
    reason       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX approvals_pending ON approvals (session_id, requested_at) WHERE decided_at IS NULL;

-- Sessions whose new scripts need human approval before they are voiced.
CREATE TABLE approval_policies (
    session_id TEXT PRIMARY KEY,
    required   INTEGER NOT NULL,
    actor      TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL
);
