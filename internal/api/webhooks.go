package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/webhook"
)

// Webhooks keeps webhook registrations and their delivery logs
// (internal/webhook's Service). Create validates its input (errors are
// *evercast.ValidationError naming the field) and wraps
// evercast.ErrConflict when the merchant has as many registrations as it
// may; Get and Delete wrap evercast.ErrNotFound for an unknown id.
type Webhooks interface {
	Create(ctx context.Context, merchantID string, in webhook.Input) (*webhook.Created, error)
	Get(ctx context.Context, id string) (*webhook.Webhook, error)
	List(ctx context.Context, merchantID string) ([]*webhook.Webhook, error)
	Delete(ctx context.Context, id string) error
	Deliveries(ctx context.Context, id string, limit int) ([]*webhook.Delivery, error)
}

var errNoWebhooks = &httpError{status: http.StatusServiceUnavailable, code: codeUnavailable,
	message: "webhooks are not configured in this process"}

// webhookBody is POST /v1/webhooks.
type webhookBody struct {
	// MerchantID is for the operator token; with a session_id it may be
	// left out (the session's merchant).
	MerchantID string   `json:"merchant_id,omitempty"`
	URL        string   `json:"url"`
	SessionID  string   `json:"session_id,omitempty"`
	Events     []string `json:"events,omitempty"`
	Secret     string   `json:"secret,omitempty"`
}

func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request, c *caller) error {
	var body webhookBody
	if err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	if s.webhooks == nil {
		return errNoWebhooks
	}
	ctx := r.Context()
	var ses *evercast.Session
	if body.SessionID != "" {
		if !validID(body.SessionID) {
			return evercast.Invalid("session_id", "is not a valid id")
		}
		got, err := load(ctx, c, "session", body.SessionID, s.store.GetSession, sessionMerchant)
		var he *httpError
		if errors.As(err, &he) && he.status == http.StatusNotFound {
			return evercast.Invalid("session_id", "no session %s for this merchant", body.SessionID)
		}
		if err != nil {
			return err
		}
		ses = got
		if c.operator && body.MerchantID == "" {
			body.MerchantID = ses.MerchantID
		}
	}
	owner, err := s.ownerFor(ctx, c, body.MerchantID)
	if err != nil {
		return err
	}
	if ses != nil && ses.MerchantID != owner {
		return evercast.Invalid("session_id", "no session %s for this merchant", body.SessionID)
	}
	created, err := s.webhooks.Create(ctx, owner, webhook.Input{URL: body.URL, SessionID: body.SessionID,
		Events: body.Events, Secret: body.Secret})
	if err != nil {
		return fmt.Errorf("create webhook: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store") // the answer holds the secret
	return writeCreated(w, "/v1/webhooks/"+created.ID, created)
}

func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request, c *caller) error {
	scope, err := listScope(r, c)
	if err != nil {
		return err
	}
	if s.webhooks == nil {
		return errNoWebhooks
	}
	items, err := s.webhooks.List(r.Context(), scope)
	if err != nil {
		return fmt.Errorf("list webhooks: %w", err)
	}
	return writeList(w, items)
}

// webhookOf returns the {id} registration if the caller may see it; one
// of another merchant is not found.
func (s *Server) webhookOf(r *http.Request, c *caller) (*webhook.Webhook, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	if s.webhooks == nil {
		return nil, errNoWebhooks
	}
	return load(r.Context(), c, "webhook", id, s.webhooks.Get, func(w *webhook.Webhook) string { return w.MerchantID })
}

func (s *Server) getWebhook(w http.ResponseWriter, r *http.Request, c *caller) error {
	wh, err := s.webhookOf(r, c)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, wh)
}

func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request, c *caller) error {
	wh, err := s.webhookOf(r, c)
	if err != nil {
		return err
	}
	if err := s.webhooks.Delete(r.Context(), wh.ID); err != nil {
		if errors.Is(err, evercast.ErrNotFound) {
			return notFound("webhook")
		}
		return fmt.Errorf("delete webhook: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listWebhookDeliveries(w http.ResponseWriter, r *http.Request, c *caller) error {
	wh, err := s.webhookOf(r, c)
	if err != nil {
		return err
	}
	limit := 50
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 500 {
			return evercast.Invalid("limit", "must be a whole number from 1 to 500")
		}
		limit = n
	}
	items, err := s.webhooks.Deliveries(r.Context(), wh.ID, limit)
	if err != nil {
		return fmt.Errorf("webhook deliveries: %w", err)
	}
	return writeList(w, items)
}
