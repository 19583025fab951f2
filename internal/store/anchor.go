package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/evercast/evercast"
)

// CreateAnchor validates and stores a, assigning its ID (when empty),
// CreatedAt and UpdatedAt. Its merchant must exist (else ErrNotFound).
func (s *Store) CreateAnchor(ctx context.Context, a *evercast.Anchor) error {
	if err := a.Validate(); err != nil {
		return fmt.Errorf("create anchor: %w", err)
	}
	if a.ID == "" {
		a.ID = evercast.NewID(evercast.PrefixAnchor)
	}
	a.CreatedAt = s.clock()
	a.UpdatedAt = a.CreatedAt
	doc, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("create anchor: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.merchantExists(ctx, tx, a.MerchantID); err != nil {
			return err
		}
		ord, err := s.nextOrd(ctx, tx, "anchors")
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO anchors (id, merchant_id, doc, ord, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?)`, a.ID, a.MerchantID, string(doc), ord, msOf(a.CreatedAt), msOf(a.UpdatedAt))
		if isUniqueViolation(err) {
			return fmt.Errorf("anchor %s exists: %w", a.ID, evercast.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create anchor: %w", err)
	}
	return nil
}

const anchorCols = "id, merchant_id, doc, created_at, updated_at"

func scanAnchor(r scanner) (*evercast.Anchor, error) {
	var (
		a                evercast.Anchor
		id, merchant     string
		doc              string
		created, updated int64
	)
	if err := r.Scan(&id, &merchant, &doc, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), &a); err != nil {
		return nil, fmt.Errorf("anchor %s document: %w", id, err)
	}
	a.ID, a.MerchantID, a.CreatedAt, a.UpdatedAt = id, merchant, fromMS(created), fromMS(updated)
	return &a, nil
}

// GetAnchor returns the anchor id.
func (s *Store) GetAnchor(ctx context.Context, id string) (*evercast.Anchor, error) {
	a, err := scanAnchor(s.queryRow(ctx, s.db, "SELECT "+anchorCols+" FROM anchors WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("anchor %s: %w", id, evercast.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get anchor %s: %w", id, err)
	}
	return a, nil
}

// ListAnchors returns the anchors of merchantID ("" for every merchant),
// newest last.
func (s *Store) ListAnchors(ctx context.Context, merchantID string) ([]*evercast.Anchor, error) {
	q, args := "SELECT "+anchorCols+" FROM anchors ORDER BY ord, id", []any(nil)
	if merchantID != "" {
		q, args = "SELECT "+anchorCols+" FROM anchors WHERE merchant_id = ? ORDER BY ord, id", []any{merchantID}
	}
	rows, err := s.query(ctx, s.db, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list anchors: %w", err)
	}
	defer rows.Close()
	var out []*evercast.Anchor
	for rows.Next() {
		a, err := scanAnchor(rows)
		if err != nil {
			return nil, fmt.Errorf("list anchors: %w", err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list anchors: %w", err)
	}
	return out, nil
}

// UpdateAnchor validates a and replaces the stored anchor's configurable
// fields with a's, bumping UpdatedAt. The merchant and CreatedAt stay; a is
// updated to match what is stored.
func (s *Store) UpdateAnchor(ctx context.Context, a *evercast.Anchor) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var merchant string
		var created int64
		err := s.queryRow(ctx, tx, "SELECT merchant_id, created_at FROM anchors WHERE id = ?"+s.forUpdate(), a.ID).
			Scan(&merchant, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("anchor %s: %w", a.ID, evercast.ErrNotFound)
		}
		if err != nil {
			return err
		}
		a.MerchantID, a.CreatedAt, a.UpdatedAt = merchant, fromMS(created), s.clock()
		if err := a.Validate(); err != nil {
			return err
		}
		doc, err := json.Marshal(a)
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, "UPDATE anchors SET doc = ?, updated_at = ? WHERE id = ?",
			string(doc), msOf(a.UpdatedAt), a.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("update anchor: %w", err)
	}
	return nil
}

// DeleteAnchor deletes the anchor id. It is ErrConflict while a session that
// has not ended uses the anchor.
func (s *Store) DeleteAnchor(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var sesID string
		var state evercast.SessionState
		err := s.queryRow(ctx, tx, "SELECT id, state FROM sessions WHERE anchor_id = ? AND state <> ? ORDER BY ord LIMIT 1",
			id, evercast.SessionEnded).Scan(&sesID, &state)
		switch {
		case err == nil:
			return fmt.Errorf("anchor %s is used by session %s (%s): %w", id, sesID, state, evercast.ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		ok, err := s.execOne(ctx, tx, "DELETE FROM anchors WHERE id = ?", id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("anchor %s: %w", id, evercast.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete anchor: %w", err)
	}
	return nil
}
