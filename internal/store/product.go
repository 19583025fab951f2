package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/evercast/evercast"
)

// CreateProduct validates and stores p, assigning its ID (when empty),
// CreatedAt and UpdatedAt. Its merchant must exist (else ErrNotFound); a SKU
// the merchant already uses is ErrConflict.
func (s *Store) CreateProduct(ctx context.Context, p *evercast.Product) error {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("create product: %w", err)
	}
	if p.ID == "" {
		p.ID = evercast.NewID(evercast.PrefixProduct)
	}
	p.CreatedAt = s.clock()
	p.UpdatedAt = p.CreatedAt
	doc, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("create product: %w", err)
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.merchantExists(ctx, tx, p.MerchantID); err != nil {
			return err
		}
		if err := s.skuFree(ctx, tx, p.MerchantID, p.SKU, ""); err != nil {
			return err
		}
		ord, err := s.nextOrd(ctx, tx, "products")
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO products (id, merchant_id, sku, doc, ord, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?)`,
			p.ID, p.MerchantID, p.SKU, string(doc), ord, msOf(p.CreatedAt), msOf(p.UpdatedAt))
		if isUniqueViolation(err) {
			// A concurrent insert won the SKU, or the ID is taken.
			return fmt.Errorf("product %s or sku %q exists: %w", p.ID, p.SKU, evercast.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create product: %w", err)
	}
	return nil
}

// skuFree returns ErrConflict when another product (not exceptID) of the
// merchant has sku.
func (s *Store) skuFree(ctx context.Context, q querier, merchantID, sku, exceptID string) error {
	var other string
	err := s.queryRow(ctx, q, "SELECT id FROM products WHERE merchant_id = ? AND sku = ? AND id <> ?",
		merchantID, sku, exceptID).Scan(&other)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("sku %q is product %s's: %w", sku, other, evercast.ErrConflict)
}

const productCols = "id, merchant_id, sku, doc, created_at, updated_at"

func scanProduct(r scanner) (*evercast.Product, error) {
	var (
		p                 evercast.Product
		id, merchant, sku string
		doc               string
		created, updated  int64
	)
	if err := r.Scan(&id, &merchant, &sku, &doc, &created, &updated); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil {
		return nil, fmt.Errorf("product %s document: %w", id, err)
	}
	p.ID, p.MerchantID, p.SKU, p.CreatedAt, p.UpdatedAt = id, merchant, sku, fromMS(created), fromMS(updated)
	return &p, nil
}

// GetProduct returns the product id.
func (s *Store) GetProduct(ctx context.Context, id string) (*evercast.Product, error) {
	p, err := scanProduct(s.queryRow(ctx, s.db, "SELECT "+productCols+" FROM products WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("product %s: %w", id, evercast.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get product %s: %w", id, err)
	}
	return p, nil
}

// GetProducts returns the products ids in the same order; a missing one is
// ErrNotFound naming the first missing id. Repeated ids repeat the product.
func (s *Store) GetProducts(ctx context.Context, ids []string) ([]*evercast.Product, error) {
	ps, err := s.getProducts(ctx, s.db, ids)
	if err != nil {
		return nil, fmt.Errorf("get products: %w", err)
	}
	return ps, nil
}

func (s *Store) getProducts(ctx context.Context, q querier, ids []string) ([]*evercast.Product, error) {
	const chunk = 500
	found := make(map[string]*evercast.Product, len(ids))
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		rows, err := s.query(ctx, q, "SELECT "+productCols+" FROM products WHERE id IN ("+placeholders(len(part))+")", args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			p, err := scanProduct(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			found[p.ID] = p
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, err
		}
	}
	out := make([]*evercast.Product, len(ids))
	used := make(map[string]bool, len(ids))
	for i, id := range ids {
		p, ok := found[id]
		if !ok {
			return nil, fmt.Errorf("product %s: %w", id, evercast.ErrNotFound)
		}
		if used[id] {
			p = p.Clone() // every element may be changed on its own
		}
		used[id] = true
		out[i] = p
	}
	return out, nil
}

// ListProducts returns the products of merchantID ("" for every merchant),
// newest last.
func (s *Store) ListProducts(ctx context.Context, merchantID string) ([]*evercast.Product, error) {
	q, args := "SELECT "+productCols+" FROM products ORDER BY ord, id", []any(nil)
	if merchantID != "" {
		q, args = "SELECT "+productCols+" FROM products WHERE merchant_id = ? ORDER BY ord, id", []any{merchantID}
	}
	rows, err := s.query(ctx, s.db, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	defer rows.Close()
	var out []*evercast.Product
	for rows.Next() {
		p, err := scanProduct(rows)
		if err != nil {
			return nil, fmt.Errorf("list products: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list products: %w", err)
	}
	return out, nil
}

// UpdateProduct validates p and replaces the stored product's configurable
// fields (SKU included) with p's, bumping UpdatedAt. The merchant and
// CreatedAt stay; p is updated to match what is stored. A SKU another
// product of the merchant uses is ErrConflict.
func (s *Store) UpdateProduct(ctx context.Context, p *evercast.Product) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var merchant string
		var created int64
		err := s.queryRow(ctx, tx, "SELECT merchant_id, created_at FROM products WHERE id = ?"+s.forUpdate(), p.ID).
			Scan(&merchant, &created)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("product %s: %w", p.ID, evercast.ErrNotFound)
		}
		if err != nil {
			return err
		}
		p.MerchantID, p.CreatedAt, p.UpdatedAt = merchant, fromMS(created), s.clock()
		if err := p.Validate(); err != nil {
			return err
		}
		if err := s.skuFree(ctx, tx, p.MerchantID, p.SKU, p.ID); err != nil {
			return err
		}
		doc, err := json.Marshal(p)
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, "UPDATE products SET sku = ?, doc = ?, updated_at = ? WHERE id = ?",
			p.SKU, string(doc), msOf(p.UpdatedAt), p.ID)
		if isUniqueViolation(err) {
			return fmt.Errorf("sku %q exists: %w", p.SKU, evercast.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("update product: %w", err)
	}
	return nil
}

// DeleteProduct deletes the product id. It is ErrConflict while the product
// is in the rotation of a session that is on air (warming, live, paused).
func (s *Store) DeleteProduct(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var sesID string
		var state evercast.SessionState
		err := s.queryRow(ctx, tx, `SELECT s.id, s.state FROM session_products sp JOIN sessions s ON s.id = sp.session_id
			WHERE sp.product_id = ? AND s.state IN (?, ?, ?) ORDER BY s.ord LIMIT 1`,
			id, evercast.SessionWarming, evercast.SessionLive, evercast.SessionPaused).Scan(&sesID, &state)
		switch {
		case err == nil:
			return fmt.Errorf("product %s is in the rotation of session %s (%s): %w", id, sesID, state, evercast.ErrConflict)
		case !errors.Is(err, sql.ErrNoRows):
			return err
		}
		ok, err := s.execOne(ctx, tx, "DELETE FROM products WHERE id = ?", id)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("product %s: %w", id, evercast.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete product: %w", err)
	}
	return nil
}
