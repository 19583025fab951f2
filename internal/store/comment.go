package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/evercast/evercast"
)

// RecordComments stores comments of a session in one transaction. A comment
// whose id the session already has is left alone (platforms resend): the
// returned slice holds only the records that were new.
func (s *Store) RecordComments(ctx context.Context, sessionID string, rs []*evercast.CommentRecord) ([]*evercast.CommentRecord, error) {
	var fresh []*evercast.CommentRecord
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.sessionExists(ctx, tx, sessionID); err != nil {
			return err
		}
		for _, r := range rs {
			var one int
			err := s.queryRow(ctx, tx, "SELECT 1 FROM comments WHERE session_id = ? AND id = ?", sessionID, r.ID).Scan(&one)
			if err == nil {
				continue
			}
			if err != sql.ErrNoRows {
				return err
			}
			r.SessionID = sessionID
			if _, err := s.exec(ctx, tx, `INSERT INTO comments (session_id, id, user_name, text, at, received_at, action, reason, intent, sku, dedupe_key, reply_clip_id)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				sessionID, r.ID, r.User, r.Text, msOf(r.At), msOf(r.ReceivedAt), r.Action, r.Reason, r.Intent, r.SKU, r.DedupeKey, r.ReplyClipID); err != nil {
				return err
			}
			fresh = append(fresh, r)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("record comments: %w", err)
	}
	return fresh, nil
}

// KnownComments returns which of ids the session already has.
func (s *Store) KnownComments(ctx context.Context, sessionID string, ids []string) (map[string]bool, error) {
	known := map[string]bool{}
	for start := 0; start < len(ids); start += 500 {
		chunk := ids[start:min(start+500, len(ids))]
		args := []any{sessionID}
		for _, id := range chunk {
			args = append(args, id)
		}
		rows, err := s.query(ctx, s.db, "SELECT id FROM comments WHERE session_id = ? AND id IN ("+placeholders(len(chunk))+")", args...)
		if err != nil {
			return nil, fmt.Errorf("known comments: %w", err)
		}
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return nil, err
			}
			known[id] = true
		}
		if err := rows.Close(); err != nil {
			return nil, err
		}
	}
	return known, nil
}

// AnsweredSince reports whether a comment with the dedupe key was answered
// (a reply planned) at or after since.
func (s *Store) AnsweredSince(ctx context.Context, sessionID, key string, since time.Time) (bool, error) {
	var one int
	err := s.queryRow(ctx, s.db, `SELECT 1 FROM comments WHERE session_id = ? AND dedupe_key = ? AND received_at >= ? AND reply_clip_id <> '' LIMIT 1`,
		sessionID, key, msOf(since)).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("answered since: %w", err)
	}
	return true, nil
}

// RepliesSince counts the reply clips planned for the session at or after
// since, and those of them not yet aired (or failed).
func (s *Store) RepliesSince(ctx context.Context, sessionID string, since time.Time) (planned, pending int, err error) {
	err = s.queryRow(ctx, s.db, `SELECT COUNT(*), COALESCE(SUM(CASE WHEN state IN ('planned','scripted','voiced','rendered') THEN 1 ELSE 0 END), 0)
		FROM clips WHERE session_id = ? AND kind = 'reply' AND beat = 0 AND planned_at >= ?`, sessionID, msOf(since)).Scan(&planned, &pending)
	if err != nil {
		return 0, 0, fmt.Errorf("replies since: %w", err)
	}
	return planned, pending, nil
}

// ListComments returns the session's most recent comments, newest last.
func (s *Store) ListComments(ctx context.Context, sessionID string, limit int) ([]*evercast.CommentRecord, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	rows, err := s.query(ctx, s.db, `SELECT id, user_name, text, at, received_at, action, reason, intent, sku, reply_clip_id
		FROM comments WHERE session_id = ? ORDER BY received_at DESC, id DESC LIMIT ?`, sessionID, limit)
	if err != nil {
		return nil, fmt.Errorf("list comments: %w", err)
	}
	defer rows.Close()
	var out []*evercast.CommentRecord
	for rows.Next() {
		r := &evercast.CommentRecord{SessionID: sessionID}
		var at, rec int64
		if err := rows.Scan(&r.ID, &r.User, &r.Text, &at, &rec, &r.Action, &r.Reason, &r.Intent, &r.SKU, &r.ReplyClipID); err != nil {
			return nil, err
		}
		r.At, r.ReceivedAt = fromMS(at), fromMS(rec)
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out, nil
}
