package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/evercast/evercast"
)

const maxIDLen = 64

// validID accepts the identifiers Evercast makes (such as
// "ses_3v8k2m0q9x4r7t1c5b6n") and any other short name of letters, digits,
// '_' and '-'.
func validID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// pathID returns the {id} path value, refusing a malformed one.
func pathID(r *http.Request) (string, error) {
	id := r.PathValue("id")
	if !validID(id) {
		return "", evercast.Invalid("id", "must be letters, digits, '_' and '-', at most %d bytes", maxIDLen)
	}
	return id, nil
}

// list is the JSON shape of every list response.
type list[T any] struct {
	Items []T `json:"items"`
}

func writeList[T any](w http.ResponseWriter, items []T) error {
	if items == nil {
		items = []T{}
	}
	return writeJSON(w, http.StatusOK, list[T]{Items: items})
}

// writeCreated answers 201 with v and its Location.
func writeCreated(w http.ResponseWriter, location string, v any) error {
	w.Header().Set("Location", location)
	return writeJSON(w, http.StatusCreated, v)
}

// now is the time stamped on objects the API creates or changes; the store
// may replace it with its own clock.
func now() time.Time { return time.Now().UTC().Truncate(time.Millisecond) }

// refuseID refuses an id in a create request: the server assigns it.
func refuseID(id string) error {
	if id != "" {
		return evercast.Invalid("id", "is assigned by the server; leave it out")
	}
	return nil
}

// ownerFor returns the merchant a new object belongs to: a merchant key's
// own merchant (given must be empty or equal), or for the operator the given
// merchant, which must exist.
func (s *Server) ownerFor(ctx context.Context, c *caller, given string) (string, error) {
	if !c.operator {
		if given != "" && given != c.merchant.ID {
			return "", evercast.Invalid("merchant_id", "must be your own merchant %s, or left out", c.merchant.ID)
		}
		return c.merchant.ID, nil
	}
	if given == "" {
		return "", evercast.Invalid("merchant_id", "is required with the operator token")
	}
	if !validID(given) {
		return "", evercast.Invalid("merchant_id", "is not a valid id")
	}
	if _, err := s.store.GetMerchant(ctx, given); err != nil {
		if errors.Is(err, evercast.ErrNotFound) {
			return "", evercast.Invalid("merchant_id", "no merchant %s", given)
		}
		return "", fmt.Errorf("get merchant: %w", err)
	}
	return given, nil
}

// listScope returns the merchant a list shows, from the caller and the
// optional ?merchant_id= filter.
func listScope(r *http.Request, c *caller) (string, error) {
	q := r.URL.Query().Get("merchant_id")
	if q != "" && !validID(q) {
		return "", evercast.Invalid("merchant_id", "is not a valid id")
	}
	if c.operator {
		return q, nil
	}
	if q != "" && q != c.merchant.ID {
		return "", evercast.Invalid("merchant_id", "must be your own merchant %s, or left out", c.merchant.ID)
	}
	return c.merchant.ID, nil
}

func (s *Server) createMerchant(w http.ResponseWriter, r *http.Request, _ *caller) error {
	var m evercast.Merchant
	if err := s.decodeBody(w, r, &m); err != nil {
		return err
	}
	if err := refuseID(m.ID); err != nil {
		return err
	}
	m.Name = strings.TrimSpace(m.Name)
	switch {
	case m.Name == "":
		return evercast.Invalid("name", "is required")
	case len(m.Name) > 100:
		return evercast.Invalid("name", "is longer than 100 bytes")
	}
	m.ID = evercast.NewID(evercast.PrefixMerchant)
	m.CreatedAt = now()
	if err := s.store.CreateMerchant(r.Context(), &m); err != nil {
		return fmt.Errorf("create merchant: %w", err)
	}
	return writeCreated(w, "/v1/merchants/"+m.ID, &m)
}

func (s *Server) listMerchants(w http.ResponseWriter, r *http.Request, _ *caller) error {
	ms, err := s.store.ListMerchants(r.Context())
	if err != nil {
		return fmt.Errorf("list merchants: %w", err)
	}
	return writeList(w, ms)
}

// merchant returns the merchant id as the caller may see it.
func (s *Server) merchant(ctx context.Context, c *caller, id string) (*evercast.Merchant, error) {
	if !c.owns(id) {
		return nil, notFound("merchant")
	}
	m, err := s.store.GetMerchant(ctx, id)
	if errors.Is(err, evercast.ErrNotFound) {
		return nil, notFound("merchant")
	}
	if err != nil {
		return nil, fmt.Errorf("get merchant: %w", err)
	}
	return m, nil
}

func (s *Server) getMerchant(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	m, err := s.merchant(r.Context(), c, id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, m)
}

// apiKey is the answer to creating a key: the only time the token is shown.
type apiKey struct {
	MerchantID string `json:"merchant_id"`
	Token      string `json:"token"`
}

func (s *Server) createAPIKey(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.merchant(r.Context(), c, id); err != nil {
		return err
	}
	token, err := s.store.CreateAPIKey(r.Context(), id)
	if err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, apiKey{MerchantID: id, Token: token})
}
