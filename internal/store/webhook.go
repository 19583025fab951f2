package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/evercast/evercast"
)

// WebhookRow is a stored webhook registration (internal/webhook gives it
// meaning: validation, matching, signing).
type WebhookRow struct {
	ID         string
	MerchantID string
	// SessionID is the one session covered; empty covers every session of
	// the merchant.
	SessionID string
	URL       string
	// Events are the event names delivered; empty means every event.
	Events []string
	// Secret is the HMAC key of the deliveries.
	Secret    string
	CreatedAt time.Time
}

// Delivery statuses of WebhookDelivery.Status.
const (
	DeliveryDelivered = "delivered" // the receiver answered 2xx
	DeliveryRetrying  = "retrying"  // failed; another attempt is scheduled at NextRetryAt
	DeliveryFailed    = "failed"    // failed for good: a permanent error, or retries exhausted
)

// WebhookDelivery is one attempt to deliver one event to one registration.
type WebhookDelivery struct {
	WebhookID string
	EventID   string
	// Attempt counts from 1.
	Attempt    int
	Event      string
	SessionID  string
	Status     string
	HTTPStatus int
	Error      string
	DurationMS int64
	At         time.Time
	// NextRetryAt is when the next attempt is due (status retrying).
	NextRetryAt *time.Time
}

const webhookCols = "id, merchant_id, session_id, url, events, secret, created_at"

func scanWebhook(r scanner) (*WebhookRow, error) {
	var (
		w       WebhookRow
		session sql.NullString
		events  string
		created int64
	)
	if err := r.Scan(&w.ID, &w.MerchantID, &session, &w.URL, &events, &w.Secret, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(events), &w.Events); err != nil {
		return nil, fmt.Errorf("webhook %s events: %w", w.ID, err)
	}
	if len(w.Events) == 0 {
		w.Events = nil
	}
	w.SessionID, w.CreatedAt = session.String, fromMS(created)
	return &w, nil
}

// CreateWebhook stores w, setting its CreatedAt, unless the merchant has
// maxPerMerchant registrations already (ErrConflict; 0: no limit). w.ID
// is the caller's; a taken one is ErrConflict. An unknown merchant is
// ErrNotFound; a session that is not the merchant's is an ErrInvalid naming
// session_id.
func (s *Store) CreateWebhook(ctx context.Context, w *WebhookRow, maxPerMerchant int) error {
	switch {
	case w.ID == "":
		return fmt.Errorf("create webhook: %w", evercast.Invalid("id", "is required"))
	case w.MerchantID == "":
		return fmt.Errorf("create webhook: %w", evercast.Invalid("merchant_id", "is required"))
	case w.URL == "":
		return fmt.Errorf("create webhook: %w", evercast.Invalid("url", "is required"))
	case w.Secret == "":
		return fmt.Errorf("create webhook: %w", evercast.Invalid("secret", "is required"))
	}
	events := w.Events
	if events == nil {
		events = []string{}
	}
	doc, err := json.Marshal(events)
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	created := s.clock()
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		// Locking the merchant's row serialises its registrations, so that
		// the limit holds under concurrent creates on PostgreSQL too.
		var one int
		err := s.queryRow(ctx, tx, "SELECT 1 FROM merchants WHERE id = ?"+s.forUpdate(), w.MerchantID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("merchant %s: %w", w.MerchantID, evercast.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if maxPerMerchant > 0 {
			var n int
			if err := s.queryRow(ctx, tx, "SELECT COUNT(*) FROM webhooks WHERE merchant_id = ?", w.MerchantID).Scan(&n); err != nil {
				return err
			}
			if n >= maxPerMerchant {
				return fmt.Errorf("merchant %s has %d webhooks, the most it may have: delete one first: %w", w.MerchantID, n, evercast.ErrConflict)
			}
		}
		session := sql.NullString{String: w.SessionID, Valid: w.SessionID != ""}
		if session.Valid {
			var owner string
			err := s.queryRow(ctx, tx, "SELECT merchant_id FROM sessions WHERE id = ?", w.SessionID).Scan(&owner)
			if errors.Is(err, sql.ErrNoRows) || err == nil && owner != w.MerchantID {
				return evercast.Invalid("session_id", "no session %s for this merchant", w.SessionID)
			}
			if err != nil {
				return err
			}
		}
		ord, err := s.nextOrd(ctx, tx, "webhooks")
		if err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO webhooks (id, merchant_id, session_id, url, events, secret, ord, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, w.ID, w.MerchantID, session, w.URL, string(doc), w.Secret, ord, msOf(created))
		if isUniqueViolation(err) {
			return fmt.Errorf("webhook %s exists: %w", w.ID, evercast.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	w.CreatedAt = created
	return nil
}

// GetWebhook returns the registration id; ErrNotFound when there is none.
func (s *Store) GetWebhook(ctx context.Context, id string) (*WebhookRow, error) {
	w, err := scanWebhook(s.queryRow(ctx, s.db, "SELECT "+webhookCols+" FROM webhooks WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("webhook %s: %w", id, evercast.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("get webhook: %w", err)
	}
	return w, nil
}

// ListWebhooks returns the merchant's registrations ("" for every
// merchant's) in created order.
func (s *Store) ListWebhooks(ctx context.Context, merchantID string) ([]*WebhookRow, error) {
	q := "SELECT " + webhookCols + " FROM webhooks"
	var args []any
	if merchantID != "" {
		q += " WHERE merchant_id = ?"
		args = append(args, merchantID)
	}
	rows, err := s.query(ctx, s.db, q+" ORDER BY ord", args...)
	if err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	defer rows.Close()
	var out []*WebhookRow
	for rows.Next() {
		w, err := scanWebhook(rows)
		if err != nil {
			return nil, fmt.Errorf("list webhooks: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhooks: %w", err)
	}
	return out, nil
}

// DeleteWebhook removes the registration and its delivery log;
// ErrNotFound when there is none.
func (s *Store) DeleteWebhook(ctx context.Context, id string) error {
	ok, err := s.execOne(ctx, s.db, "DELETE FROM webhooks WHERE id = ?", id)
	if err != nil {
		return fmt.Errorf("delete webhook: %w", err)
	}
	if !ok {
		return fmt.Errorf("delete webhook %s: %w", id, evercast.ErrNotFound)
	}
	return nil
}

// RecordWebhookDelivery logs an attempt (replacing a row of the same
// webhook, event and attempt, which a task run twice writes) and prunes the
// registration's log to about its keep newest attempts (keep <= 0: no
// pruning). A registration that is gone is ErrNotFound.
func (s *Store) RecordWebhookDelivery(ctx context.Context, d WebhookDelivery, keep int) error {
	switch {
	case d.WebhookID == "" || d.EventID == "":
		return fmt.Errorf("record webhook delivery: %w", evercast.Invalid("webhook_id", "and event_id are required"))
	case d.Attempt < 1:
		return fmt.Errorf("record webhook delivery: %w", evercast.Invalid("attempt", "counts from 1"))
	case d.Status != DeliveryDelivered && d.Status != DeliveryRetrying && d.Status != DeliveryFailed:
		return fmt.Errorf("record webhook delivery: %w", evercast.Invalid("status", "must be delivered, retrying or failed"))
	}
	at := d.At
	if at.IsZero() {
		at = s.clock()
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		err := s.queryRow(ctx, tx, "SELECT 1 FROM webhooks WHERE id = ?", d.WebhookID).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("webhook %s: %w", d.WebhookID, evercast.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := s.exec(ctx, tx, `INSERT INTO webhook_deliveries
			(webhook_id, event_id, attempt, event, session_id, status, http_status, error, duration_ms, at, next_retry_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (webhook_id, event_id, attempt) DO UPDATE SET event = excluded.event, session_id = excluded.session_id,
				status = excluded.status, http_status = excluded.http_status, error = excluded.error,
				duration_ms = excluded.duration_ms, at = excluded.at, next_retry_at = excluded.next_retry_at`,
			d.WebhookID, d.EventID, d.Attempt, d.Event, d.SessionID, d.Status, d.HTTPStatus, d.Error, d.DurationMS,
			msOf(at), nullMS(d.NextRetryAt)); err != nil {
			return err
		}
		if keep <= 0 {
			return nil
		}
		// Rows older than the keep-th newest go; rows sharing its
		// millisecond stay, so the bound is approximate.
		_, err = s.exec(ctx, tx, `DELETE FROM webhook_deliveries WHERE webhook_id = ? AND at <
			(SELECT at FROM webhook_deliveries WHERE webhook_id = ? ORDER BY at DESC LIMIT 1 OFFSET ?)`,
			d.WebhookID, d.WebhookID, keep-1)
		return err
	})
	if err != nil {
		return fmt.Errorf("record webhook delivery: %w", err)
	}
	return nil
}

// ListWebhookDeliveries returns the registration's most recent attempts,
// newest first (limit <= 0: 100).
func (s *Store) ListWebhookDeliveries(ctx context.Context, webhookID string, limit int) ([]*WebhookDelivery, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.query(ctx, s.db, `SELECT webhook_id, event_id, attempt, event, session_id, status, http_status, error, duration_ms, at, next_retry_at
		FROM webhook_deliveries WHERE webhook_id = ? ORDER BY at DESC, event_id DESC, attempt DESC LIMIT ?`, webhookID, limit)
	if err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	defer rows.Close()
	var out []*WebhookDelivery
	for rows.Next() {
		var (
			d    WebhookDelivery
			at   int64
			next sql.NullInt64
		)
		if err := rows.Scan(&d.WebhookID, &d.EventID, &d.Attempt, &d.Event, &d.SessionID, &d.Status, &d.HTTPStatus,
			&d.Error, &d.DurationMS, &at, &next); err != nil {
			return nil, fmt.Errorf("list webhook deliveries: %w", err)
		}
		d.At, d.NextRetryAt = fromMS(at), timePtr(next)
		out = append(out, &d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list webhook deliveries: %w", err)
	}
	return out, nil
}
