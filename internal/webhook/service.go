package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// Store is what Service keeps registrations in. Errors wrap
// evercast.ErrNotFound for a missing registration or merchant,
// evercast.ErrConflict for a merchant at its limit, and
// *evercast.ValidationError for a session that is not the merchant's.
type Store interface {
	CreateWebhook(ctx context.Context, w *store.WebhookRow, maxPerMerchant int) error
	GetWebhook(ctx context.Context, id string) (*store.WebhookRow, error)
	ListWebhooks(ctx context.Context, merchantID string) ([]*store.WebhookRow, error)
	DeleteWebhook(ctx context.Context, id string) error
	ListWebhookDeliveries(ctx context.Context, webhookID string, limit int) ([]*store.WebhookDelivery, error)
}

var _ Store = (*store.Store)(nil)

// Input is a registration request.
type Input struct {
	URL string
	// SessionID limits the registration to one session; empty means every
	// session of the merchant.
	SessionID string
	// Events are the event names wanted; empty (or ["*"]) means all.
	Events []string
	// Secret is the HMAC key; empty means generate one.
	Secret string
}

// Secret limits and the generated form.
const (
	SecretPrefix  = "whsec_"
	MinSecret     = 16
	MaxSecret     = 256
	maxEventNames = 32
)

// ServiceOptions configure a Service.
type ServiceOptions struct {
	// AllowPrivate accepts URLs that name non-public addresses
	// (EVERCAST_WEBHOOK_ALLOW_PRIVATE): for tests, demos and receivers
	// inside a trusted network.
	AllowPrivate bool
	// Changed is called after a registration was created or deleted (the
	// Dispatcher's Changed), so that this process delivers to it at once.
	Changed func()
}

// Service keeps the registrations. It is safe for concurrent use.
type Service struct {
	st   Store
	opts ServiceOptions
}

// NewService returns a Service over st.
func NewService(st Store, opts ServiceOptions) *Service {
	if opts.Changed == nil {
		opts.Changed = func() {}
	}
	return &Service{st: st, opts: opts}
}

// Validate checks in and fills in its defaults: the events deduplicated
// (nil for all) and a generated secret when none is given. Errors are
// *evercast.ValidationError naming the field.
func (s *Service) Validate(in *Input) error {
	if err := CheckURL(in.URL, s.opts.AllowPrivate); err != nil {
		return err
	}
	if in.SessionID != "" && (len(in.SessionID) > 64 || !validID(in.SessionID)) {
		return evercast.Invalid("session_id", "is not a valid id")
	}
	events, err := checkEvents(in.Events)
	if err != nil {
		return err
	}
	in.Events = events
	switch {
	case in.Secret == "":
		in.Secret = newSecret()
	case len(in.Secret) < MinSecret || len(in.Secret) > MaxSecret:
		return evercast.Invalid("secret", "must be %d to %d characters", MinSecret, MaxSecret)
	default:
		for i := 0; i < len(in.Secret); i++ {
			if c := in.Secret[i]; c < 0x21 || c > 0x7e {
				return evercast.Invalid("secret", "must be visible ASCII characters without spaces")
			}
		}
	}
	return nil
}

// checkEvents returns the wanted event names deduplicated in the order
// given, or nil for all.
func checkEvents(names []string) ([]string, error) {
	if len(names) > maxEventNames {
		return nil, evercast.Invalid("events", "names more than %d events", maxEventNames)
	}
	known := Events()
	var out []string
	for i, n := range names {
		switch {
		case n == AllEvents:
			if len(names) != 1 {
				return nil, evercast.Invalid(fmt.Sprintf("events[%d]", i), "%q means every event and stands alone", AllEvents)
			}
			return nil, nil
		case !slices.Contains(known, n):
			return nil, evercast.Invalid(fmt.Sprintf("events[%d]", i), "%q is not an event delivered to webhooks (one of %v, or %q)", n, known, AllEvents)
		case !slices.Contains(out, n):
			out = append(out, n)
		}
	}
	return out, nil
}

func newSecret() string {
	var b [24]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return SecretPrefix + hex.EncodeToString(b[:])
}

func validID(id string) bool {
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return id != ""
}

// Create registers in for the merchant. The caller has checked that the
// merchant may use in.SessionID; the store checks again that the session
// is the merchant's. Errors: *evercast.ValidationError for bad input,
// evercast.ErrConflict when the merchant has MaxPerMerchant registrations.
func (s *Service) Create(ctx context.Context, merchantID string, in Input) (*Created, error) {
	if err := s.Validate(&in); err != nil {
		return nil, err
	}
	row := &store.WebhookRow{ID: evercast.NewID(IDPrefix), MerchantID: merchantID, SessionID: in.SessionID,
		URL: in.URL, Events: in.Events, Secret: in.Secret}
	if err := s.st.CreateWebhook(ctx, row, MaxPerMerchant); err != nil {
		return nil, err
	}
	s.opts.Changed()
	return &Created{Webhook: *view(row), Secret: row.Secret}, nil
}

// Get returns a registration; evercast.ErrNotFound when there is none.
func (s *Service) Get(ctx context.Context, id string) (*Webhook, error) {
	w, err := s.st.GetWebhook(ctx, id)
	if err != nil {
		return nil, err
	}
	return view(w), nil
}

// List returns the merchant's registrations ("" for every merchant's), in
// created order.
func (s *Service) List(ctx context.Context, merchantID string) ([]*Webhook, error) {
	ws, err := s.st.ListWebhooks(ctx, merchantID)
	if err != nil {
		return nil, err
	}
	out := make([]*Webhook, len(ws))
	for i, w := range ws {
		out[i] = view(w)
	}
	return out, nil
}

// Delete removes a registration and its log; deliveries of it still queued
// are dropped. evercast.ErrNotFound when there is none.
func (s *Service) Delete(ctx context.Context, id string) error {
	if err := s.st.DeleteWebhook(ctx, id); err != nil {
		return err
	}
	s.opts.Changed()
	return nil
}

// Deliveries returns the registration's most recent attempts, newest first.
func (s *Service) Deliveries(ctx context.Context, id string, limit int) ([]*Delivery, error) {
	ds, err := s.st.ListWebhookDeliveries(ctx, id, limit)
	if err != nil {
		return nil, err
	}
	out := make([]*Delivery, len(ds))
	for i, d := range ds {
		out[i] = &Delivery{EventID: d.EventID, Event: d.Event, SessionID: d.SessionID, Attempt: d.Attempt, Status: d.Status,
			HTTPStatus: d.HTTPStatus, Error: d.Error, DurationMS: d.DurationMS, At: d.At, NextRetryAt: d.NextRetryAt}
	}
	return out, nil
}
