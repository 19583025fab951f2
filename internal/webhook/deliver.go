package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// DeliveryStore is what the Deliverer reads and writes. GetWebhook wraps
// evercast.ErrNotFound for a registration that was deleted.
type DeliveryStore interface {
	GetWebhook(ctx context.Context, id string) (*store.WebhookRow, error)
	RecordWebhookDelivery(ctx context.Context, d store.WebhookDelivery, keep int) error
}

var _ DeliveryStore = (*store.Store)(nil)

// Backoff between attempts: FirstBackoff after the first failure, doubling
// up to MaxBackoff.
const (
	FirstBackoff = 2 * time.Second
	MaxBackoff   = 5 * time.Minute
)

// Backoff is the wait before the retry that follows the n-th retry
// (n = 0 after the first attempt): 2 s, 4 s, 8 s... capped at MaxBackoff.
func Backoff(n int) time.Duration {
	if n < 0 {
		n = 0
	}
	if n >= 16 {
		return MaxBackoff
	}
	return min(FirstBackoff<<n, MaxBackoff)
}

// retryError is a failed attempt to be retried after delay.
type retryError struct {
	delay time.Duration
	err   error
}

func (e *retryError) Error() string { return e.err.Error() }
func (e *retryError) Unwrap() error { return e.err }

// RetryDelay is the webhook part of an asynq RetryDelayFunc: for a
// delivery task it returns the delay its handler asked for (the backoff,
// or a longer Retry-After within MaxBackoff) and true; for any other task,
// false.
//
// asynq keeps a retry's due time in whole seconds (it truncates), so the
// delay returned is a second longer than asked: a retry never comes before
// its backoff, and at most about a second (plus the server's
// DelayedTaskCheckInterval) after.
func RetryDelay(n int, err error, t *asynq.Task) (time.Duration, bool) {
	if t == nil || t.Type() != TypeDeliver {
		return 0, false
	}
	d := Backoff(n)
	var re *retryError
	if errors.As(err, &re) {
		d = re.delay
	}
	return d + time.Second, true
}

// DelivererOptions configure a Deliverer. Store is required.
type DelivererOptions struct {
	Store DeliveryStore
	// AllowPrivate lets deliveries reach non-public addresses
	// (EVERCAST_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
	// Client sends the requests; nil means NewClient(AllowPrivate).
	Client *http.Client
	// Now stamps signatures and the log; nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
	// Registry receives the deliverer's metrics; nil means none.
	Registry prometheus.Registerer
}

// Deliverer is the asynq handler of delivery tasks. It is safe for
// concurrent use.
type Deliverer struct {
	st     DeliveryStore
	client *http.Client
	now    func() time.Time
	log    *slog.Logger

	attempts *prometheus.CounterVec
	latency  prometheus.Histogram
}

// Attempt outcomes, the label of evercast_webhook_attempts_total.
const (
	outcomeDelivered = "delivered"
	outcomeRetry     = "retry"
	outcomeFailed    = "failed"
	outcomeDropped   = "dropped"
)

// NewDeliverer returns a Deliverer.
func NewDeliverer(o DelivererOptions) *Deliverer {
	d := &Deliverer{st: o.Store, client: o.Client, now: o.Now, log: o.Log}
	if d.client == nil {
		d.client = NewClient(o.AllowPrivate)
	}
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	d.attempts = prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "evercast", Subsystem: "webhook", Name: "attempts_total",
		Help: "Delivery attempts by outcome: delivered, retry, failed (for good), dropped (registration deleted)."}, []string{"outcome"})
	d.latency = prometheus.NewHistogram(prometheus.HistogramOpts{Namespace: "evercast", Subsystem: "webhook", Name: "attempt_seconds",
		Help: "Duration of delivery attempts that reached the receiver.", Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10)})
	if o.Registry != nil {
		o.Registry.MustRegister(d.attempts, d.latency)
	}
	return d
}

// Register adds the handler to an asynq mux.
func (d *Deliverer) Register(mux *asynq.ServeMux) { mux.Handle(TypeDeliver, d) }

// ProcessTask delivers one event to one registration: nil when delivered
// (or when the registration is gone), an error wrapping asynq.SkipRetry
// when the failure is permanent, any other error to be retried.
func (d *Deliverer) ProcessTask(ctx context.Context, t *asynq.Task) error {
	p, err := decodeTask(t)
	if err != nil {
		return err
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	if !ok {
		maxRetry = MaxRetry
	}
	return d.attempt(ctx, p, retried, maxRetry)
}

func decodeTask(t *asynq.Task) (taskPayload, error) {
	var p taskPayload
	dec := json.NewDecoder(bytes.NewReader(t.Payload()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("decode %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	if p.WebhookID == "" || p.EventID == "" || p.Event == "" || len(p.Body) == 0 {
		return p, fmt.Errorf("%s payload: webhook_id, event_id, event and body are required: %w", t.Type(), asynq.SkipRetry)
	}
	return p, nil
}

// maxErrorBody is how much of a failed answer's body the log keeps.
const maxErrorBody = 200

// attempt makes attempt number retried+1 of at most maxRetry+1.
func (d *Deliverer) attempt(ctx context.Context, p taskPayload, retried, maxRetry int) error {
	w, err := d.st.GetWebhook(ctx, p.WebhookID)
	if errors.Is(err, evercast.ErrNotFound) {
		d.attempts.WithLabelValues(outcomeDropped).Inc()
		d.log.Debug("webhook: registration deleted; delivery dropped", logKeyWebhookID, p.WebhookID, logKeyEventID, p.EventID)
		return nil
	}
	if err != nil {
		return fmt.Errorf("webhook %s: %w", p.WebhookID, err)
	}

	start := d.now()
	out := d.post(ctx, w, p, start)
	status, failure := out.status, out.err
	took := d.now().Sub(start)
	if status != 0 {
		d.latency.Observe(took.Seconds())
	}
	rec := store.WebhookDelivery{WebhookID: w.ID, EventID: p.EventID, Attempt: retried + 1, Event: p.Event,
		SessionID: p.SessionID, HTTPStatus: status, DurationMS: took.Milliseconds(), At: start}
	var result error
	switch {
	case failure == nil:
		rec.Status = store.DeliveryDelivered
		d.attempts.WithLabelValues(outcomeDelivered).Inc()
	case !out.retryable || retried >= maxRetry:
		rec.Status, rec.Error = store.DeliveryFailed, failure.Error()
		if out.retryable {
			rec.Error += fmt.Sprintf(" (gave up after %d attempts)", retried+1)
		}
		d.attempts.WithLabelValues(outcomeFailed).Inc()
		result = fmt.Errorf("webhook %s: %w: %w", w.ID, failure, asynq.SkipRetry)
	default:
		delay := max(Backoff(retried), min(out.retryAfter, MaxBackoff))
		next := start.Add(took + delay)
		rec.Status, rec.Error, rec.NextRetryAt = store.DeliveryRetrying, failure.Error(), &next
		d.attempts.WithLabelValues(outcomeRetry).Inc()
		result = &retryError{delay: delay, err: fmt.Errorf("webhook %s: %w", w.ID, failure)}
	}
	if err := d.st.RecordWebhookDelivery(context.WithoutCancel(ctx), rec, KeepDeliveries); err != nil &&
		!errors.Is(err, evercast.ErrNotFound) {
		d.log.Warn("webhook: cannot log the attempt", logKeyWebhookID, w.ID, logKeyEventID, p.EventID, logKeyError, err)
	}
	if result != nil {
		d.log.Info("webhook: delivery failed", logKeyWebhookID, w.ID, logKeyEventID, p.EventID, logKeyEvent, p.Event,
			"attempt", rec.Attempt, "status", rec.Status, "http_status", status, logKeyError, failure)
	}
	return result
}

// outcome is what one request came to.
type outcome struct {
	status     int           // the answer's HTTP status; 0 without one
	retryable  bool          // whether a failure is worth retrying
	retryAfter time.Duration // how long the receiver asked to wait
	err        error         // the failure; nil for 2xx
}

// post sends the request.
func (d *Deliverer) post(ctx context.Context, w *store.WebhookRow, p taskPayload, at time.Time) outcome {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.URL, bytes.NewReader(p.Body))
	if err != nil {
		return outcome{err: fmt.Errorf("bad url: %v", err)}
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgent)
	h.Set(HeaderEvent, p.Event)
	h.Set(HeaderDelivery, p.EventID)
	h.Set(HeaderSignature, Sign(w.Secret, at, p.Body))
	resp, err := d.client.Do(req)
	if err != nil {
		if errors.Is(err, ErrPrivateAddress) {
			return outcome{err: fmt.Errorf("refused: %s resolves to a non-public address (EVERCAST_WEBHOOK_ALLOW_PRIVATE is off)", req.URL.Hostname())}
		}
		return outcome{err: describe(err), retryable: true}
	}
	defer resp.Body.Close()
	snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10)) // drained so the connection is reused
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return outcome{status: code}
	case code == http.StatusTooManyRequests || code >= 500:
		return outcome{status: code, err: httpFailure(code, snippet), retryable: true,
			retryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), d.now())}
	case code >= 300 && code < 400:
		return outcome{status: code, err: fmt.Errorf("HTTP %d: redirects are not followed; register the final URL", code)}
	default:
		return outcome{status: code, err: httpFailure(code, snippet)}
	}
}

// describe shortens a client error to its cause, without the URL (which
// may carry a token in its query).
func describe(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		if ue.Timeout() {
			return errors.New("timed out")
		}
		return ue.Err
	}
	return err
}

// httpFailure describes a non-2xx answer with the start of its body.
func httpFailure(code int, body []byte) error {
	s := strings.TrimSpace(strings.ToValidUTF8(string(body), "?"))
	if len(s) > maxErrorBody {
		s = s[:maxErrorBody]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "..."
	}
	if s == "" {
		return fmt.Errorf("HTTP %d", code)
	}
	return fmt.Errorf("HTTP %d: %s", code, s)
}

// parseRetryAfter reads a Retry-After header: seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n > 0 {
		return time.Duration(min(n, 86400)) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}
