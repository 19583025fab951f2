// Package audit keeps Evercast's tamper-evident record of everything a
// session airs, answers and is commanded to do, as the live-commerce rules
// ask (docs/compliance.md).
//
// # The log
//
// Log appends Records to a per-session, append-only, hash-chained log kept
// in the metadata store (table audit_log). Each record carries its seq
// (contiguous from 1), session, merchant, kind, time (UTC milliseconds),
// actor, data (canonical JSON, RFC 8785) and the hash of the record before
// it; its own Hash is the SHA-256 of a length-prefixed serialisation of
// those fields (Record.ComputeHash documents it byte for byte). The first
// record links to GenesisHash(session). Appends are serialised per session
// in one database transaction, across processes; the database refuses
// UPDATE and DELETE on the table (Store.GuardAudit's triggers). Verify
// recomputes a chain and names the first broken link.
//
// # The archive
//
// Archiver copies each session's new records to the object store as JSON
// lines, archive/audit/<session>/<first>-<last>.jsonl, with a manifest
// beside each chunk, under S3 object lock in COMPLIANCE mode (default
// retention three years), in a bucket made with object locking. Where the
// object store cannot lock (the embedded default), it stores plain copies,
// warns once, and says so in every manifest. Archiver.Verify checks the
// archive's own chain and that the database still holds exactly what was
// archived.
//
// # The regulator bundle
//
// Export writes a self-contained directory (audit.jsonl, chain.txt, every
// aired clip's MPEG-TS checked against its recorded SHA-256, texts.jsonl,
// comments.jsonl, manifest.json with the SHA-256 of every file);
// VerifyBundle is the auditor's offline check of such a directory.
//
// # Approvals
//
// Approvals holds scripts for a human decision before they are voiced;
// every request and decision is on the record.
package audit
