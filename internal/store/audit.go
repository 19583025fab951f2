package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/evercast/evercast"
)

// AuditRow is one stored record of a session's audit log (internal/audit
// gives it meaning: the hash chain, the canonical data). Data is the
// record's canonical JSON, kept as text.
type AuditRow struct {
	SessionID  string
	Seq        int64
	MerchantID string
	Kind       string
	At         time.Time
	Actor      string
	Data       string
	PrevHash   string
	Hash       string
}

// AuditHead is the state of one session's audit log: its last record, and
// how far the archiver has copied it.
type AuditHead struct {
	SessionID  string
	MerchantID string
	// Seq and Hash are those of the last record (0 and "" before the first).
	Seq         int64
	Hash        string
	ArchivedSeq int64
	UpdatedAt   time.Time
}

const auditCols = "session_id, seq, merchant_id, kind, at, actor, data, prev_hash, hash"

func scanAuditRow(r scanner) (*AuditRow, error) {
	var a AuditRow
	var at int64
	if err := r.Scan(&a.SessionID, &a.Seq, &a.MerchantID, &a.Kind, &at, &a.Actor, &a.Data, &a.PrevHash, &a.Hash); err != nil {
		return nil, err
	}
	a.At = fromMS(at)
	return &a, nil
}

const auditHeadCols = "session_id, merchant_id, last_seq, last_hash, archived_seq, updated_at"

func scanAuditHead(r scanner) (AuditHead, error) {
	var h AuditHead
	var at int64
	if err := r.Scan(&h.SessionID, &h.MerchantID, &h.Seq, &h.Hash, &h.ArchivedSeq, &at); err != nil {
		return h, err
	}
	h.UpdatedAt = fromMS(at)
	return h, nil
}

// guardLockKey is the pg_advisory_xact_lock key that serialises GuardAudit
// across processes ("evaudit" in ASCII).
const guardLockKey int64 = 0x65766175646974

// GuardAudit makes the database itself refuse to change or remove audit
// records: triggers that abort every UPDATE and DELETE on audit_log (and
// TRUNCATE on PostgreSQL). It is idempotent and safe to call from several
// processes at once; the audit package calls it before its first append.
// (The triggers are not in the migration because their syntax differs
// between SQLite and PostgreSQL.)
func (s *Store) GuardAudit(ctx context.Context) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if s.dialect != DialectPostgres {
			for _, op := range []string{"UPDATE", "DELETE"} {
				if _, err := tx.ExecContext(ctx, "CREATE TRIGGER IF NOT EXISTS audit_log_no_"+strings.ToLower(op)+
					" BEFORE "+op+" ON audit_log BEGIN SELECT RAISE(ABORT, 'audit_log is append-only: "+op+" refused'); END"); err != nil {
					return err
				}
			}
			return nil
		}
		if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", guardLockKey); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_trigger WHERE tgrelid = 'audit_log'::regclass
			AND tgname IN ('audit_log_no_change', 'audit_log_no_truncate')`).Scan(&n); err != nil {
			return err
		}
		if n == 2 {
			return nil
		}
		for _, stmt := range []string{
			`CREATE OR REPLACE FUNCTION evercast_audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$`,
			"DROP TRIGGER IF EXISTS audit_log_no_change ON audit_log",
			"CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION evercast_audit_append_only()",
			"DROP TRIGGER IF EXISTS audit_log_no_truncate ON audit_log",
			"CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION evercast_audit_append_only()",
		} {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("guard audit log: %w", err)
	}
	return nil
}

// AppendAudit appends one record to the session's audit log, in one
// transaction serialised per session (across processes: it locks the
// session's audit_heads row). build gets the current head (Seq 0 and Hash
// "" for an empty log; its MerchantID is the first merchant recorded) and
// returns the record to insert, which must have Seq head.Seq+1, the
// session's id (or none), a Kind, a Hash, and a PrevHash equal to head.Hash
// when the log is not empty; else ErrInvalid. build runs inside the
// transaction and must not use the store. The stored row is returned.
//
// The head is kept beside the log in the same transaction. Should the two
// disagree (someone removed the last records, or reset the head row), the
// append continues after whichever is further, so that the gap stays visible
// to verification, and logs an error.
func (s *Store) AppendAudit(ctx context.Context, sessionID string, build func(head AuditHead) (*AuditRow, error)) (*AuditRow, error) {
	if sessionID == "" {
		return nil, fmt.Errorf("append audit: %w", evercast.Invalid("session_id", "is required"))
	}
	var out *AuditRow
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = s.appendAuditTx(ctx, tx, sessionID, build)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("append audit: %w", err)
	}
	return out, nil
}

// lockAuditHead creates the session's head row when missing and locks it
// until tx ends.
func (s *Store) lockAuditHead(ctx context.Context, tx *sql.Tx, sessionID string) (AuditHead, error) {
	if _, err := s.exec(ctx, tx, `INSERT INTO audit_heads (session_id, merchant_id, last_seq, last_hash, archived_seq, updated_at)
		VALUES (?, '', 0, '', 0, ?) ON CONFLICT (session_id) DO NOTHING`, sessionID, msOf(s.clock())); err != nil {
		return AuditHead{}, fmt.Errorf("audit head %s: %w", sessionID, err)
	}
	h, err := scanAuditHead(s.queryRow(ctx, tx, "SELECT "+auditHeadCols+" FROM audit_heads WHERE session_id = ?"+s.forUpdate(), sessionID))
	if err != nil {
		return h, fmt.Errorf("lock audit head %s: %w", sessionID, err)
	}
	return h, nil
}

func (s *Store) appendAuditTx(ctx context.Context, tx *sql.Tx, sessionID string, build func(head AuditHead) (*AuditRow, error)) (*AuditRow, error) {
	head, err := s.lockAuditHead(ctx, tx, sessionID)
	if err != nil {
		return nil, err
	}
	last, err := scanAuditRow(s.queryRow(ctx, tx, "SELECT "+auditCols+" FROM audit_log WHERE session_id = ? ORDER BY seq DESC LIMIT 1", sessionID))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		last = nil
	case err != nil:
		return nil, err
	}
	switch {
	case last == nil && head.Seq == 0:
	case last != nil && last.Seq == head.Seq && last.Hash == head.Hash:
	case last != nil && last.Seq >= head.Seq:
		s.log.Error("audit log: head row out of step with the log; continuing after the log's last record",
			"session_id", sessionID, "head_seq", head.Seq, "log_seq", last.Seq)
		head.Seq, head.Hash = last.Seq, last.Hash
		if head.MerchantID == "" {
			head.MerchantID = last.MerchantID
		}
	default:
		logSeq := int64(0)
		if last != nil {
			logSeq = last.Seq
		}
		s.log.Error("audit log: records after the log's last one are missing; the gap stays in the chain",
			"session_id", sessionID, "head_seq", head.Seq, "log_seq", logSeq)
	}
	row, err := build(head)
	if err != nil {
		return nil, err
	}
	if row == nil {
		return nil, evercast.Invalid("record", "is nil")
	}
	if row.SessionID == "" {
		row.SessionID = sessionID
	}
	switch {
	case row.SessionID != sessionID:
		return nil, evercast.Invalid("session_id", "is %s, not %s", row.SessionID, sessionID)
	case row.Seq != head.Seq+1:
		return nil, evercast.Invalid("seq", "is %d, not %d", row.Seq, head.Seq+1)
	case row.Kind == "":
		return nil, evercast.Invalid("kind", "is required")
	case row.Hash == "" || row.PrevHash == "":
		return nil, evercast.Invalid("hash", "hash and prev_hash are required")
	case head.Seq > 0 && row.PrevHash != head.Hash:
		return nil, evercast.Invalid("prev_hash", "does not link to record %d", head.Seq)
	}
	row.At = truncMS(row.At)
	if _, err := s.exec(ctx, tx, "INSERT INTO audit_log ("+auditCols+") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
		row.SessionID, row.Seq, row.MerchantID, row.Kind, msOf(row.At), row.Actor, row.Data, row.PrevHash, row.Hash); err != nil {
		if isUniqueViolation(err) {
			return nil, fmt.Errorf("audit record %s/%d exists: %w", sessionID, row.Seq, evercast.ErrConflict)
		}
		return nil, err
	}
	merchant := head.MerchantID
	if merchant == "" {
		merchant = row.MerchantID
	}
	if _, err := s.exec(ctx, tx, "UPDATE audit_heads SET merchant_id = ?, last_seq = ?, last_hash = ?, updated_at = ? WHERE session_id = ?",
		merchant, row.Seq, row.Hash, msOf(s.clock()), sessionID); err != nil {
		return nil, err
	}
	return row, nil
}

// ListAudit returns the session's records with Seq above afterSeq, by Seq,
// at most limit of them (limit <= 0: all).
func (s *Store) ListAudit(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]*AuditRow, error) {
	q := "SELECT " + auditCols + " FROM audit_log WHERE session_id = ? AND seq > ? ORDER BY seq"
	args := []any{sessionID, afterSeq}
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.query(ctx, s.db, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []*AuditRow
	for rows.Next() {
		a, err := scanAuditRow(rows)
		if err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

// GetAuditHead returns the head of the session's audit log; a session with
// no record is ErrNotFound.
func (s *Store) GetAuditHead(ctx context.Context, sessionID string) (AuditHead, error) {
	h, err := scanAuditHead(s.queryRow(ctx, s.db, "SELECT "+auditHeadCols+" FROM audit_heads WHERE session_id = ?", sessionID))
	if errors.Is(err, sql.ErrNoRows) || (err == nil && h.Seq == 0) {
		return AuditHead{}, fmt.Errorf("audit log of session %s: %w", sessionID, evercast.ErrNotFound)
	}
	if err != nil {
		return AuditHead{}, fmt.Errorf("get audit head: %w", err)
	}
	return h, nil
}

// AuditBacklog returns the heads of the sessions whose logs have records
// not archived yet (Seq > ArchivedSeq), least recently updated first, at
// most limit (limit <= 0: all).
func (s *Store) AuditBacklog(ctx context.Context, limit int) ([]AuditHead, error) {
	q := "SELECT " + auditHeadCols + " FROM audit_heads WHERE last_seq > archived_seq ORDER BY updated_at, session_id"
	var args []any
	if limit > 0 {
		q += " LIMIT ?"
		args = append(args, limit)
	}
	rows, err := s.query(ctx, s.db, q, args...)
	if err != nil {
		return nil, fmt.Errorf("audit backlog: %w", err)
	}
	defer rows.Close()
	var out []AuditHead
	for rows.Next() {
		h, err := scanAuditHead(rows)
		if err != nil {
			return nil, fmt.Errorf("audit backlog: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit backlog: %w", err)
	}
	return out, nil
}

// MarkAuditArchived records that the session's log is archived up to seq.
// It never moves the mark back; a session with no record is ErrNotFound.
func (s *Store) MarkAuditArchived(ctx context.Context, sessionID string, seq int64) error {
	if _, err := s.exec(ctx, s.db, "UPDATE audit_heads SET archived_seq = ? WHERE session_id = ? AND archived_seq < ?",
		seq, sessionID, seq); err != nil {
		return fmt.Errorf("mark audit archived: %w", err)
	}
	if _, err := s.GetAuditHead(ctx, sessionID); err != nil {
		return fmt.Errorf("mark audit archived: %w", err)
	}
	return nil
}

// ApprovalRow is one script waiting for, or given, a human decision.
type ApprovalRow struct {
	ClipID     string
	SessionID  string
	MerchantID string
	// Text and Verdict are the script and its claims verdict as requested.
	Text        string
	Verdict     string
	RequestedAt time.Time
	DecidedAt   *time.Time
	// Approved is nil while pending.
	Approved *bool
	Actor    string
	Reason   string
}

const approvalCols = "clip_id, session_id, merchant_id, text, verdict, requested_at, decided_at, approved, actor, reason"

func scanApproval(r scanner) (*ApprovalRow, error) {
	var a ApprovalRow
	var req int64
	var dec, appr sql.NullInt64
	if err := r.Scan(&a.ClipID, &a.SessionID, &a.MerchantID, &a.Text, &a.Verdict, &req, &dec, &appr, &a.Actor, &a.Reason); err != nil {
		return nil, err
	}
	a.RequestedAt, a.DecidedAt = fromMS(req), timePtr(dec)
	if appr.Valid {
		v := appr.Int64 != 0
		a.Approved = &v
	}
	return &a, nil
}

func (s *Store) getApproval(ctx context.Context, q querier, clipID string, lock bool) (*ApprovalRow, error) {
	query := "SELECT " + approvalCols + " FROM approvals WHERE clip_id = ?"
	if lock {
		query += s.forUpdate()
	}
	a, err := scanApproval(s.queryRow(ctx, q, query, clipID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("approval of clip %s: %w", clipID, evercast.ErrNotFound)
	}
	return a, err
}

// RequestApproval files a (ClipID, SessionID and RequestedAt required;
// RequestedAt zero means now) and, in the same transaction, appends the
// audit record build returns. When the clip has a request already, nothing
// is written and the stored one is returned with created false (a request
// for the same clip in another session is ErrConflict).
func (s *Store) RequestApproval(ctx context.Context, a ApprovalRow, build func(head AuditHead) (*AuditRow, error)) (*ApprovalRow, bool, error) {
	switch {
	case a.ClipID == "":
		return nil, false, fmt.Errorf("request approval: %w", evercast.Invalid("clip_id", "is required"))
	case a.SessionID == "":
		return nil, false, fmt.Errorf("request approval: %w", evercast.Invalid("session_id", "is required"))
	}
	if a.RequestedAt.IsZero() {
		a.RequestedAt = s.clock()
	}
	a.RequestedAt, a.DecidedAt, a.Approved, a.Actor, a.Reason = truncMS(a.RequestedAt), nil, nil, "", ""
	var out *ApprovalRow
	created := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ok, err := s.execOne(ctx, tx, `INSERT INTO approvals (clip_id, session_id, merchant_id, text, verdict, requested_at, actor, reason)
			VALUES (?, ?, ?, ?, ?, ?, '', '') ON CONFLICT (clip_id) DO NOTHING`,
			a.ClipID, a.SessionID, a.MerchantID, a.Text, a.Verdict, msOf(a.RequestedAt))
		if err != nil {
			return err
		}
		if !ok {
			out, err = s.getApproval(ctx, tx, a.ClipID, false)
			if err == nil && out.SessionID != a.SessionID {
				return fmt.Errorf("clip %s is filed under session %s: %w", a.ClipID, out.SessionID, evercast.ErrConflict)
			}
			return err
		}
		created, out = true, &a
		_, err = s.appendAuditTx(ctx, tx, a.SessionID, build)
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("request approval: %w", err)
	}
	return out, created, nil
}

// DecideApproval records the decision on the clip's pending request and,
// in the same transaction, appends the audit record build returns (it gets
// the decided request). at zero means now. A missing request is
// ErrNotFound. Deciding again the way it was decided changes nothing and
// returns the stored request with decided false; deciding the other way is
// ErrConflict.
func (s *Store) DecideApproval(ctx context.Context, clipID string, approved bool, actor, reason string, at time.Time,
	build func(a *ApprovalRow, head AuditHead) (*AuditRow, error)) (*ApprovalRow, bool, error) {
	if at.IsZero() {
		at = s.clock()
	}
	at = truncMS(at)
	var out *ApprovalRow
	decided := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		a, err := s.getApproval(ctx, tx, clipID, true)
		if err != nil {
			return err
		}
		if a.Approved != nil {
			if *a.Approved != approved {
				return fmt.Errorf("approval of clip %s was decided already (approved=%t): %w", clipID, *a.Approved, evercast.ErrConflict)
			}
			out = a
			return nil
		}
		v := 0
		if approved {
			v = 1
		}
		if _, err := s.exec(ctx, tx, "UPDATE approvals SET decided_at = ?, approved = ?, actor = ?, reason = ? WHERE clip_id = ? AND decided_at IS NULL",
			msOf(at), v, actor, reason, clipID); err != nil {
			return err
		}
		a.DecidedAt, a.Approved, a.Actor, a.Reason = &at, &approved, actor, reason
		out, decided = a, true
		_, err = s.appendAuditTx(ctx, tx, a.SessionID, func(head AuditHead) (*AuditRow, error) { return build(a, head) })
		return err
	})
	if err != nil {
		return nil, false, fmt.Errorf("decide approval: %w", err)
	}
	return out, decided, nil
}

// GetApproval returns the clip's approval request; none is ErrNotFound.
func (s *Store) GetApproval(ctx context.Context, clipID string) (*ApprovalRow, error) {
	a, err := s.getApproval(ctx, s.db, clipID, false)
	if err != nil {
		return nil, fmt.Errorf("get approval: %w", err)
	}
	return a, nil
}

// PendingApprovals returns the undecided requests of the session ("" for
// every session), oldest first.
func (s *Store) PendingApprovals(ctx context.Context, sessionID string) ([]*ApprovalRow, error) {
	q := "SELECT " + approvalCols + " FROM approvals WHERE decided_at IS NULL"
	var args []any
	if sessionID != "" {
		q += " AND session_id = ?"
		args = append(args, sessionID)
	}
	rows, err := s.query(ctx, s.db, q+" ORDER BY requested_at, clip_id", args...)
	if err != nil {
		return nil, fmt.Errorf("pending approvals: %w", err)
	}
	defer rows.Close()
	var out []*ApprovalRow
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return nil, fmt.Errorf("pending approvals: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pending approvals: %w", err)
	}
	return out, nil
}

// SetApprovalRequired sets whether the session's new scripts need human
// approval, naming who decided.
func (s *Store) SetApprovalRequired(ctx context.Context, sessionID string, required bool, actor string) error {
	if sessionID == "" {
		return fmt.Errorf("set approval required: %w", evercast.Invalid("session_id", "is required"))
	}
	v := 0
	if required {
		v = 1
	}
	if _, err := s.exec(ctx, s.db, `INSERT INTO approval_policies (session_id, required, actor, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (session_id) DO UPDATE SET required = excluded.required, actor = excluded.actor, updated_at = excluded.updated_at`,
		sessionID, v, actor, msOf(s.clock())); err != nil {
		return fmt.Errorf("set approval required: %w", err)
	}
	return nil
}

// ApprovalRequired reports whether the session's new scripts need human
// approval (false when never set).
func (s *Store) ApprovalRequired(ctx context.Context, sessionID string) (bool, error) {
	var v int
	err := s.queryRow(ctx, s.db, "SELECT required FROM approval_policies WHERE session_id = ?", sessionID).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("approval required: %w", err)
	}
	return v != 0, nil
}
