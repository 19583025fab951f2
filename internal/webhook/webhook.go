// Package webhook delivers session events to the URLs that merchants (or the
// operator for them) register: docs/webhooks.md is the integrator's guide.
//
// Three parts, each run by the role that owns it:
//   - Service keeps the registrations (validation, the secret, the delivery
//     log) for the API.
//   - Dispatcher runs in every API process beside the control hub: it takes
//     each event from the events bus, finds the registrations that want it
//     (cached, refreshed on change and every few seconds) and enqueues one
//     asynq task per registration and event, under a task id made of both,
//     so that several API processes receiving the same event enqueue it
//     once.
//   - Deliverer is the workers' asynq handler of those tasks: it POSTs the
//     event, signed with HMAC-SHA256, to the registration's URL, retries
//     with backoff, and logs every attempt. Loopback, private and other
//     non-public addresses are refused unless explicitly allowed.
package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/store"
)

// IDPrefix prefixes registration ids, such as "whk_3v8k2m0q9x4r7t1c5b6n".
const IDPrefix = "whk"

// The delivery task.
const (
	// TypeDeliver is the asynq task type of one delivery.
	TypeDeliver = "webhook:deliver"
	// Queue is the asynq queue deliveries run on.
	Queue = "default"
	// MaxRetry is how often a failed delivery is retried.
	MaxRetry = 8
	// Retention keeps a finished task's id, so that another API process
	// enqueueing the same event late is refused as a duplicate.
	Retention = 10 * time.Minute
)

// HTTP of a delivery.
const (
	UserAgent       = "Evercast-Webhook/1"
	HeaderEvent     = "X-Evercast-Event"
	HeaderDelivery  = "X-Evercast-Delivery"
	HeaderSignature = "X-Evercast-Signature"
	// Timeout bounds one attempt: connecting, sending, and the answer's
	// status line and headers.
	Timeout = 10 * time.Second
)

// Limits of registrations and their log.
const (
	// MaxPerMerchant is the most registrations a merchant may have.
	MaxPerMerchant = 100
	// KeepDeliveries is about how many recent attempts the log keeps per
	// registration.
	KeepDeliveries = 1000
	// MaxURL is the longest URL accepted, in bytes.
	MaxURL = 2048
)

// AllEvents is the wildcard event name: every event, including any added
// later.
const AllEvents = "*"

// Events lists the event names a registration may ask for: every event
// about a session. The deployment-wide events (queue, worker) are never
// delivered.
func Events() []string {
	return []string{
		control.EventSessionState, control.EventClipPlanned, control.EventClipReady, control.EventClipCued,
		control.EventClipAired, control.EventClipFailed, control.EventPlayhead, control.EventBuffer,
		control.EventOutput, control.EventComment, control.EventReply, control.EventCommand,
		control.EventError, control.EventAlert,
	}
}

// Webhook is a registration as the API shows it; its secret is never
// shown again after it was created.
type Webhook struct {
	ID         string `json:"id"`
	MerchantID string `json:"merchant_id"`
	// SessionID is the one session covered; empty covers every session of
	// the merchant, present and future.
	SessionID string `json:"session_id,omitempty"`
	URL       string `json:"url"`
	// Events are the event names delivered; ["*"] means every event.
	Events    []string  `json:"events"`
	CreatedAt time.Time `json:"created_at"`
}

// Created is a new registration with its secret: the only time the secret
// is shown.
type Created struct {
	Webhook
	Secret string `json:"secret"`
}

// Delivery is one attempt to deliver an event, as the API shows it.
type Delivery struct {
	// EventID is the event's id, sent as X-Evercast-Delivery.
	EventID   string `json:"event_id"`
	Event     string `json:"event"`
	SessionID string `json:"session_id,omitempty"`
	// Attempt counts from 1.
	Attempt int `json:"attempt"`
	// Status is delivered, retrying or failed.
	Status string `json:"status"`
	// HTTPStatus is the receiver's answer; 0 when none came.
	HTTPStatus int       `json:"http_status,omitempty"`
	Error      string    `json:"error,omitempty"`
	DurationMS int64     `json:"duration_ms"`
	At         time.Time `json:"at"`
	// NextRetryAt is when the next attempt is due, while retrying.
	NextRetryAt *time.Time `json:"next_retry_at,omitempty"`
}

// Notification is the JSON body of every delivery.
type Notification struct {
	// ID is the event's id, the same as the X-Evercast-Delivery header:
	// the same event is delivered at least once, so receivers deduplicate
	// on it.
	ID         string    `json:"id"`
	Event      string    `json:"event"`
	SessionID  string    `json:"session_id"`
	MerchantID string    `json:"merchant_id"`
	WebhookID  string    `json:"webhook_id"`
	At         time.Time `json:"at"`
	// Data is the event's data, as on the control channel
	// (docs/control-protocol.md).
	Data any `json:"data,omitempty"`
}

// Sign returns the X-Evercast-Signature value of body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>".
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + mac(secret, ts, body)
}

func mac(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// Errors of Verify.
var (
	ErrBadSignature = errors.New("webhook: signature does not match")
	ErrStale        = errors.New("webhook: signature timestamp outside the tolerance")
)

// Verify checks a signature header against body and secret, as a receiver
// does: it accepts any v1 value that matches (several appear while a
// secret is rotated) and refuses a timestamp further than tolerance from
// now, which bounds replays.
func Verify(secret, header string, body []byte, now time.Time, tolerance time.Duration) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return fmt.Errorf("%w: malformed header", ErrBadSignature)
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrStale
	}
	want := mac(secret, ts, body)
	if !slices.ContainsFunc(sigs, func(s string) bool { return hmac.Equal([]byte(s), []byte(want)) }) {
		return ErrBadSignature
	}
	return nil
}

// view turns a stored registration into what the API shows.
func view(w *store.WebhookRow) *Webhook {
	events := w.Events
	if len(events) == 0 {
		events = []string{AllEvents}
	}
	return &Webhook{ID: w.ID, MerchantID: w.MerchantID, SessionID: w.SessionID, URL: w.URL,
		Events: slices.Clone(events), CreatedAt: w.CreatedAt}
}

// wants reports whether the registration takes the event.
func wants(w *store.WebhookRow, event string) bool {
	return len(w.Events) == 0 || slices.Contains(w.Events, event)
}
