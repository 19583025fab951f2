package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/evercast/evercast"
)

// SessionFilter selects sessions for ListSessions. Zero fields match all.
type SessionFilter struct {
	MerchantID string
	States     []evercast.SessionState
}

// sessionDoc returns the JSON document of a session's configuration: the
// fields kept in columns (state, owner, start and end) are left out.
func sessionDoc(ses *evercast.Session) (string, error) {
	c := *ses
	c.State, c.Owner, c.StartedAt, c.EndedAt = "", "", nil, nil
	b, err := json.Marshal(&c)
	return string(b), err
}

// checkSessionRefs returns ErrNotFound unless the session's merchant,
// anchor and products exist and the anchor and products are the
// merchant's.
func (s *Store) checkSessionRefs(ctx context.Context, q querier, ses *evercast.Session) error {
	if err := s.merchantExists(ctx, q, ses.MerchantID); err != nil {
		return err
	}
	var owner string
	err := s.queryRow(ctx, q, "SELECT merchant_id FROM anchors WHERE id = ?", ses.AnchorID).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && owner != ses.MerchantID) {
		return fmt.Errorf("anchor %s: %w", ses.AnchorID, evercast.ErrNotFound)
	}
	if err != nil {
		return err
	}
	ps, err := s.getProducts(ctx, q, ses.ProductIDs)
	if err != nil {
		return err
	}
	for _, p := range ps {
		if p.MerchantID != ses.MerchantID {
			return fmt.Errorf("product %s: %w", p.ID, evercast.ErrNotFound)
		}
	}
	return nil
}

// setSessionProducts replaces the rotation index of a session.
func (s *Store) setSessionProducts(ctx context.Context, q querier, ses *evercast.Session) error {
	if _, err := s.exec(ctx, q, "DELETE FROM session_products WHERE session_id = ?", ses.ID); err != nil {
		return err
	}
	for i, pid := range ses.ProductIDs {
		if _, err := s.exec(ctx, q, "INSERT INTO session_products (session_id, product_id, pos) VALUES (?, ?, ?)",
			ses.ID, pid, i); err != nil {
			return err
		}
	}
	return nil
}

// CreateSession validates and stores ses in state scheduled, assigning its
// ID (when empty), CreatedAt and UpdatedAt, and clearing Owner, StartedAt
// and EndedAt. Its merchant, anchor and products must exist and the anchor
// and products must be the merchant's (else ErrNotFound).
func (s *Store) CreateSession(ctx context.Context, ses *evercast.Session) error {
	if err := ses.Validate(); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	if ses.ID == "" {
		ses.ID = evercast.NewID(evercast.PrefixSession)
	}
	ses.State, ses.Owner, ses.StartedAt, ses.EndedAt = evercast.SessionScheduled, "", nil, nil
	ses.CreatedAt = s.clock()
	ses.UpdatedAt = ses.CreatedAt
	doc, err := sessionDoc(ses)
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkSessionRefs(ctx, tx, ses); err != nil {
			return err
		}
		ord, err := s.nextOrd(ctx, tx, "sessions")
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO sessions (id, merchant_id, anchor_id, state, doc, ord, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			ses.ID, ses.MerchantID, ses.AnchorID, string(ses.State), doc, ord, msOf(ses.CreatedAt), msOf(ses.UpdatedAt))
		if isUniqueViolation(err) {
			return fmt.Errorf("session %s exists: %w", ses.ID, evercast.ErrConflict)
		}
		if err != nil {
			return err
		}
		return s.setSessionProducts(ctx, tx, ses)
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

const sessionCols = "id, merchant_id, anchor_id, state, owner, started_at, ended_at, doc, created_at, updated_at"

func scanSession(r scanner) (*evercast.Session, error) {
	var (
		ses                  evercast.Session
		id, merchant, anchor string
		state, owner, doc    string
		started, ended       sql.NullInt64
		created, updated     int64
	)
	if err := r.Scan(&id, &merchant, &anchor, &state, &owner, &started, &ended, &doc, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), &ses); err != nil {
		return nil, fmt.Errorf("session %s document: %w", id, err)
	}
	ses.ID, ses.MerchantID, ses.AnchorID = id, merchant, anchor
	ses.State, ses.Owner = evercast.SessionState(state), owner
	ses.StartedAt, ses.EndedAt = timePtr(started), timePtr(ended)
	ses.CreatedAt, ses.UpdatedAt = fromMS(created), fromMS(updated)
	return &ses, nil
}

func (s *Store) getSession(ctx context.Context, q querier, id string) (*evercast.Session, error) {
	ses, err := scanSession(s.queryRow(ctx, q, "SELECT "+sessionCols+" FROM sessions WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("session %s: %w", id, evercast.ErrNotFound)
	}
	return ses, err
}

// GetSession returns the session id.
func (s *Store) GetSession(ctx context.Context, id string) (*evercast.Session, error) {
	ses, err := s.getSession(ctx, s.db, id)
	if err != nil {
		return nil, fmt.Errorf("get session: %w", err)
	}
	return ses, nil
}

// ListSessions returns the sessions f selects, newest last.
func (s *Store) ListSessions(ctx context.Context, f SessionFilter) ([]*evercast.Session, error) {
	var where []string
	var args []any
	if f.MerchantID != "" {
		where = append(where, "merchant_id = ?")
		args = append(args, f.MerchantID)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	q := "SELECT " + sessionCols + " FROM sessions"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := s.query(ctx, s.db, q+" ORDER BY ord, id", args...)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []*evercast.Session
	for rows.Next() {
		ses, err := scanSession(rows)
		if err != nil {
			return nil, fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, ses)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	return out, nil
}

// lockSession reads a session's state, locking its row until the
// transaction ends on PostgreSQL (SQLite transactions hold the write lock
// already). A missing session is ErrNotFound.
func (s *Store) lockSession(ctx context.Context, tx *sql.Tx, id string) (evercast.SessionState, error) {
	var state string
	err := s.queryRow(ctx, tx, "SELECT state FROM sessions WHERE id = ?"+s.forUpdate(), id).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("session %s: %w", id, evercast.ErrNotFound)
	}
	if err != nil {
		return "", fmt.Errorf("lock session %s: %w", id, err)
	}
	return evercast.SessionState(state), nil
}

// UpdateSession validates ses and replaces the stored session's
// configuration with ses's, bumping UpdatedAt. State, Owner, StartedAt,
// EndedAt, the merchant and CreatedAt are never changed here; ses is updated
// to match what is stored. References are checked as in CreateSession.
func (s *Store) UpdateSession(ctx context.Context, ses *evercast.Session) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockSession(ctx, tx, ses.ID); err != nil {
			return err
		}
		cur, err := s.getSession(ctx, tx, ses.ID)
		if err != nil {
			return err
		}
		ses.MerchantID, ses.CreatedAt, ses.UpdatedAt = cur.MerchantID, cur.CreatedAt, s.clock()
		ses.State, ses.Owner, ses.StartedAt, ses.EndedAt = cur.State, cur.Owner, cur.StartedAt, cur.EndedAt
		if err := ses.Validate(); err != nil {
			return err
		}
		if err := s.checkSessionRefs(ctx, tx, ses); err != nil {
			return err
		}
		doc, err := sessionDoc(ses)
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, "UPDATE sessions SET anchor_id = ?, doc = ?, updated_at = ? WHERE id = ?",
			ses.AnchorID, doc, msOf(ses.UpdatedAt), ses.ID); err != nil {
			return err
		}
		return s.setSessionProducts(ctx, tx, ses)
	})
	if err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	return nil
}

// DeleteSession deletes the session id and its clips. It is ErrConflict
// while the session is on air (warming, live, paused).
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		state, err := s.lockSession(ctx, tx, id)
		if err != nil {
			return err
		}
		if state.OnAir() {
			return fmt.Errorf("session %s is %s: %w", id, state, evercast.ErrConflict)
		}
		for _, q := range []string{
			"DELETE FROM clips WHERE session_id = ?",
			"DELETE FROM session_products WHERE session_id = ?",
			"DELETE FROM sessions WHERE id = ?",
		} {
			if _, err := s.exec(ctx, tx, q, id); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// validSessionState reports whether st is one of the lifecycle states.
func validSessionState(st evercast.SessionState) bool {
	switch st {
	case evercast.SessionScheduled, evercast.SessionWarming, evercast.SessionLive,
		evercast.SessionPaused, evercast.SessionEnded:
		return true
	}
	return false
}

// SetSessionState moves the session id to state to, atomically, provided its
// current state is one of from (any state when from is empty); otherwise it
// is ErrConflict naming the current state. StartedAt is set the first time
// the session leaves scheduled; EndedAt is set when it ends (and cleared if
// it leaves ended). UpdatedAt is bumped. It returns the session as stored.
func (s *Store) SetSessionState(ctx context.Context, id string, to evercast.SessionState, from ...evercast.SessionState) (*evercast.Session, error) {
	if !validSessionState(to) {
		return nil, fmt.Errorf("set session state: %w", evercast.Invalid("state", "unknown session state %q", to))
	}
	var out *evercast.Session
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		now := msOf(s.clock())
		set := []string{"state = ?", "updated_at = ?"}
		args := []any{string(to), now}
		if to != evercast.SessionScheduled {
			set = append(set, "started_at = COALESCE(started_at, ?)")
			args = append(args, now)
		}
		if to == evercast.SessionEnded {
			set = append(set, "ended_at = ?")
			args = append(args, now)
		} else {
			set = append(set, "ended_at = NULL")
		}
		q := "UPDATE sessions SET " + strings.Join(set, ", ") + " WHERE id = ?"
		args = append(args, id)
		if len(from) > 0 {
			q += " AND state IN (" + placeholders(len(from)) + ")"
			for _, f := range from {
				args = append(args, string(f))
			}
		}
		ok, err := s.execOne(ctx, tx, q, args...)
		if err != nil {
			return err
		}
		ses, err := s.getSession(ctx, tx, id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("session %s is %s, not %s: %w", id, ses.State, joinStates(from), evercast.ErrConflict)
		}
		out = ses
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("set session state: %w", err)
	}
	return out, nil
}

// joinStates renders states as "a or b or c".
func joinStates[S ~string](states []S) string {
	parts := make([]string, len(states))
	for i, st := range states {
		parts[i] = string(st)
	}
	return strings.Join(parts, " or ")
}

// AcquireLease makes owner the owner of the session for ttl from now. It
// reports true when the lease was free, expired (its end is at or before
// now), or already held by owner (then it is renewed), and false when
// another owner holds an unexpired lease. A missing session is ErrNotFound.
func (s *Store) AcquireLease(ctx context.Context, sessionID, owner string, ttl time.Duration, now time.Time) (bool, error) {
	if owner == "" {
		return false, fmt.Errorf("acquire lease: %w", evercast.Invalid("owner", "is required"))
	}
	if ttl <= 0 {
		return false, fmt.Errorf("acquire lease: %w", evercast.Invalid("ttl", "must be positive"))
	}
	ok, err := s.execOne(ctx, s.db, `UPDATE sessions SET owner = ?, lease_until = ?
		WHERE id = ? AND (owner = '' OR owner = ? OR lease_until <= ?)`,
		owner, msOf(now.Add(ttl)), sessionID, owner, msOf(now))
	if err != nil {
		return false, fmt.Errorf("acquire lease: %w", err)
	}
	if ok {
		return true, nil
	}
	if _, err := s.sessionOwner(ctx, sessionID); err != nil {
		return false, fmt.Errorf("acquire lease: %w", err)
	}
	return false, nil
}

// ReleaseLease gives up owner's lease on the session. Releasing a lease
// nobody holds is a no-op; one another owner holds is ErrConflict.
func (s *Store) ReleaseLease(ctx context.Context, sessionID, owner string) error {
	ok, err := s.execOne(ctx, s.db, "UPDATE sessions SET owner = '', lease_until = 0 WHERE id = ? AND owner = ?",
		sessionID, owner)
	if err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	if ok {
		return nil
	}
	cur, err := s.sessionOwner(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("release lease: %w", err)
	}
	if cur != "" {
		return fmt.Errorf("release lease: session %s is held by %s, not %s: %w", sessionID, cur, owner, evercast.ErrConflict)
	}
	return nil
}

func (s *Store) sessionOwner(ctx context.Context, id string) (string, error) {
	var owner string
	err := s.queryRow(ctx, s.db, "SELECT owner FROM sessions WHERE id = ?", id).Scan(&owner)
	if errors.Is(err, sql.ErrNoRows) {
		return "", fmt.Errorf("session %s: %w", id, evercast.ErrNotFound)
	}
	return owner, err
}

// PlannerState returns the planner state last saved by PlanClips, nil when
// none was.
func (s *Store) PlannerState(ctx context.Context, sessionID string) ([]byte, error) {
	var b []byte
	err := s.queryRow(ctx, s.db, "SELECT planner_state FROM sessions WHERE id = ?", sessionID).Scan(&b)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("planner state: session %s: %w", sessionID, evercast.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("planner state: %w", err)
	}
	return b, nil
}
