package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/evercast/evercast"
)

// APIKeyPrefix starts every merchant API token.
const APIKeyPrefix = "evk_"

// nextOrd returns the next created-order key of table.
func (s *Store) nextOrd(ctx context.Context, q querier, table string) (int64, error) {
	var ord int64
	if err := s.queryRow(ctx, q, "SELECT COALESCE(MAX(ord), 0) + 1 FROM "+table).Scan(&ord); err != nil {
		return 0, fmt.Errorf("next %s order: %w", table, err)
	}
	return ord, nil
}

// CreateMerchant stores m, assigning its ID (when empty) and CreatedAt.
// A taken ID is an ErrConflict.
func (s *Store) CreateMerchant(ctx context.Context, m *evercast.Merchant) error {
	if strings.TrimSpace(m.Name) == "" {
		return fmt.Errorf("create merchant: %w", evercast.Invalid("name", "is required"))
	}
	if m.ID == "" {
		m.ID = evercast.NewID(evercast.PrefixMerchant)
	}
	m.CreatedAt = s.clock()
	doc, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("create merchant: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		ord, err := s.nextOrd(ctx, tx, "merchants")
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO merchants (id, name, doc, ord, created_at) VALUES (?, ?, ?, ?, ?)`,
			m.ID, m.Name, string(doc), ord, msOf(m.CreatedAt))
		if isUniqueViolation(err) {
			return fmt.Errorf("merchant %s exists: %w", m.ID, evercast.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create merchant: %w", err)
	}
	return nil
}

const merchantCols = "id, name, doc, created_at"

func scanMerchant(r scanner) (*evercast.Merchant, error) {
	var (
		m       evercast.Merchant
		doc     string
		created int64
	)
	var id, name string
	if err := r.Scan(&id, &name, &doc, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return nil, fmt.Errorf("merchant %s document: %w", id, err)
	}
	m.ID, m.Name, m.CreatedAt = id, name, fromMS(created)
	return &m, nil
}

// GetMerchant returns the merchant id.
func (s *Store) GetMerchant(ctx context.Context, id string) (*evercast.Merchant, error) {
	m, err := scanMerchant(s.queryRow(ctx, s.db, "SELECT "+merchantCols+" FROM merchants WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("merchant %s: %w", id, evercast.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get merchant %s: %w", id, err)
	}
	return m, nil
}

// ListMerchants returns every merchant, newest last.
func (s *Store) ListMerchants(ctx context.Context) ([]*evercast.Merchant, error) {
	rows, err := s.query(ctx, s.db, "SELECT "+merchantCols+" FROM merchants ORDER BY ord, id")
	if err != nil {
		return nil, fmt.Errorf("list merchants: %w", err)
	}
	defer rows.Close()
	var out []*evercast.Merchant
	for rows.Next() {
		m, err := scanMerchant(rows)
		if err != nil {
			return nil, fmt.Errorf("list merchants: %w", err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list merchants: %w", err)
	}
	return out, nil
}

// hashToken returns the stored form of an API token.
func hashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// CreateAPIKey issues a new API key for the merchant and returns its token,
// "evk_" and 20 random base32 characters (100 bits). Only the token's
// SHA-256 is kept: the token cannot be read back.
func (s *Store) CreateAPIKey(ctx context.Context, merchantID string) (string, error) {
	token := APIKeyPrefix + strings.TrimPrefix(evercast.NewID(""), "_")
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.merchantExists(ctx, tx, merchantID); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, "INSERT INTO api_keys (hash, merchant_id, created_at) VALUES (?, ?, ?)",
			hashToken(token), merchantID, msOf(s.clock()))
		return err
	})
	if err != nil {
		return "", fmt.Errorf("create api key: %w", err)
	}
	return token, nil
}

// MerchantByAPIKey returns the merchant that owns token; an unknown token is
// ErrNotFound.
func (s *Store) MerchantByAPIKey(ctx context.Context, token string) (*evercast.Merchant, error) {
	if !strings.HasPrefix(token, APIKeyPrefix) {
		return nil, fmt.Errorf("api key: %w", evercast.ErrNotFound)
	}
	m, err := scanMerchant(s.queryRow(ctx, s.db, `SELECT m.id, m.name, m.doc, m.created_at
		FROM api_keys k JOIN merchants m ON m.id = k.merchant_id WHERE k.hash = ?`, hashToken(token)))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("api key: %w", evercast.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("merchant by api key: %w", err)
	}
	return m, nil
}

// merchantExists returns ErrNotFound unless the merchant exists.
func (s *Store) merchantExists(ctx context.Context, q querier, id string) error {
	var one int
	err := s.queryRow(ctx, q, "SELECT 1 FROM merchants WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("merchant %s: %w", id, evercast.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("merchant %s: %w", id, err)
	}
	return nil
}
