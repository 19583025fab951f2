package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/store"
)

// Log attribute keys.
const (
	logKeyWebhookID = "webhook_id"
	logKeyEventID   = "event_id"
	logKeyEvent     = "event"
	logKeySessionID = "session_id"
	logKeyError     = "err"
)

// Enqueuer puts tasks on the queue: an *asynq.Client.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// DispatchStore is what the Dispatcher reads: every registration, and a
// session's merchant. GetSession wraps evercast.ErrNotFound for a session
// that does not exist.
type DispatchStore interface {
	ListWebhooks(ctx context.Context, merchantID string) ([]*store.WebhookRow, error)
	GetSession(ctx context.Context, id string) (*evercast.Session, error)
}

var _ DispatchStore = (*store.Store)(nil)

// DispatcherOptions configure a Dispatcher. Store and Queue are required.
type DispatcherOptions struct {
	Store DispatchStore
	Queue Enqueuer
	// Refresh is how often the registrations are reloaded (so that those
	// made through another API process are seen); 0 means 5 s.
	Refresh time.Duration
	// Buffer is how many events may wait for dispatch; when it is full,
	// events are dropped (and counted). 0 means 4096.
	Buffer int
	Log    *slog.Logger
	// Registry receives the dispatcher's metrics; nil means none.
	Registry prometheus.Registerer
}

// Dispatcher turns events into delivery tasks. Offer and Changed may be
// called from any goroutine; Run does the work.
type Dispatcher struct {
	o       DispatcherOptions
	log     *slog.Logger
	in      chan offered
	changed chan struct{}

	// Owned by Run.
	bySession  map[string][]*store.WebhookRow
	byMerchant map[string][]*store.WebhookRow
	merchantOf map[string]string // session id -> merchant id ("" when the session is unknown)

	enqueued   prometheus.Counter
	duplicates prometheus.Counter
	failures   prometheus.Counter
	dropped    prometheus.Counter
}

type offered struct {
	id string
	e  control.Event
}

// maxSessionCache bounds the session-to-merchant cache; it is emptied when
// full.
const maxSessionCache = 10000

// NewDispatcher returns a Dispatcher; start it with Run.
func NewDispatcher(o DispatcherOptions) *Dispatcher {
	if o.Refresh <= 0 {
		o.Refresh = 5 * time.Second
	}
	if o.Buffer <= 0 {
		o.Buffer = 4096
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Namespace: "evercast", Subsystem: "webhook", Name: name, Help: help})
		if o.Registry != nil {
			o.Registry.MustRegister(c)
		}
		return c
	}
	return &Dispatcher{
		o: o, log: o.Log,
		in:         make(chan offered, o.Buffer),
		changed:    make(chan struct{}, 1),
		merchantOf: map[string]string{},
		enqueued:   counter("enqueued_total", "Delivery tasks enqueued."),
		duplicates: counter("duplicate_total", "Delivery tasks another API process had enqueued already."),
		failures:   counter("enqueue_errors_total", "Delivery tasks that could not be enqueued (the event is not delivered to that registration)."),
		dropped:    counter("events_dropped_total", "Events dropped because the dispatcher's buffer was full."),
	}
}

// Offer hands an event (with its bus id) to the dispatcher. It never
// blocks: when the buffer is full the event is dropped and counted.
func (d *Dispatcher) Offer(id string, e control.Event) {
	if id == "" || e.SessionID == "" {
		return // only session events with an id are delivered
	}
	select {
	case d.in <- offered{id: id, e: e}:
	default:
		d.dropped.Inc()
	}
}

// Changed says that registrations were created or deleted: they are
// reloaded before the next event is dispatched.
func (d *Dispatcher) Changed() {
	select {
	case d.changed <- struct{}{}:
	default:
	}
}

// Run dispatches offered events until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) error {
	d.reload(ctx)
	tick := time.NewTicker(d.o.Refresh)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			d.reload(ctx)
		case <-d.changed:
			d.reload(ctx)
		case ev := <-d.in:
			// A registration made just before this event was published
			// must see it: take a pending change first.
			select {
			case <-d.changed:
				d.reload(ctx)
			default:
			}
			d.dispatch(ctx, ev.id, ev.e)
		}
	}
}

// reload replaces the cached registrations; on failure the old ones stay.
func (d *Dispatcher) reload(ctx context.Context) {
	ws, err := d.o.Store.ListWebhooks(ctx, "")
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("webhook: cannot load registrations; keeping the cached ones", logKeyError, err)
		}
		return
	}
	bySession := map[string][]*store.WebhookRow{}
	byMerchant := map[string][]*store.WebhookRow{}
	for _, w := range ws {
		if w.SessionID != "" {
			bySession[w.SessionID] = append(bySession[w.SessionID], w)
		} else {
			byMerchant[w.MerchantID] = append(byMerchant[w.MerchantID], w)
		}
	}
	d.bySession, d.byMerchant = bySession, byMerchant
}

// matching returns the registrations that want the event.
func (d *Dispatcher) matching(ctx context.Context, e control.Event) []*store.WebhookRow {
	var out []*store.WebhookRow
	for _, w := range d.bySession[e.SessionID] {
		if wants(w, e.Name) {
			out = append(out, w)
		}
	}
	if len(d.byMerchant) == 0 {
		return out
	}
	merchant, err := d.merchant(ctx, e.SessionID)
	if err != nil {
		d.log.Warn("webhook: cannot find the session's merchant; event not delivered to merchant-wide webhooks",
			logKeySessionID, e.SessionID, logKeyEvent, e.Name, logKeyError, err)
		return out
	}
	for _, w := range d.byMerchant[merchant] {
		if wants(w, e.Name) {
			out = append(out, w)
		}
	}
	return out
}

// merchant returns the session's merchant, "" for a session that does not
// exist. A session never changes merchant, so answers are cached.
func (d *Dispatcher) merchant(ctx context.Context, sessionID string) (string, error) {
	if m, ok := d.merchantOf[sessionID]; ok {
		return m, nil
	}
	ses, err := d.o.Store.GetSession(ctx, sessionID)
	m := ""
	switch {
	case errors.Is(err, evercast.ErrNotFound):
	case err != nil:
		return "", err
	default:
		m = ses.MerchantID
	}
	if len(d.merchantOf) >= maxSessionCache {
		clear(d.merchantOf)
	}
	d.merchantOf[sessionID] = m
	return m, nil
}

// dispatch enqueues one delivery per registration that wants the event.
func (d *Dispatcher) dispatch(ctx context.Context, id string, e control.Event) {
	for _, w := range d.matching(ctx, e) {
		task, err := NewTask(w, id, e)
		if err != nil {
			d.failures.Inc()
			d.log.Error("webhook: cannot build the delivery", logKeyWebhookID, w.ID, logKeyEventID, id, logKeyError, err)
			continue
		}
		err = d.enqueue(ctx, task)
		switch {
		case err == nil:
			d.enqueued.Inc()
		case errors.Is(err, asynq.ErrTaskIDConflict):
			d.duplicates.Inc()
		default:
			d.failures.Inc()
			if ctx.Err() == nil {
				d.log.Warn("webhook: cannot enqueue the delivery; this event is not delivered to this webhook",
					logKeyWebhookID, w.ID, logKeyEventID, id, logKeyEvent, e.Name, logKeyError, err)
			}
		}
	}
}

// enqueue tries a few times over a second: a Redis blip should not lose
// the delivery.
func (d *Dispatcher) enqueue(ctx context.Context, task *asynq.Task) error {
	var err error
	for attempt, wait := 0, 100*time.Millisecond; ; attempt, wait = attempt+1, wait*3 {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err = d.o.Queue.EnqueueContext(c, task)
		cancel()
		if err == nil || errors.Is(err, asynq.ErrTaskIDConflict) || attempt == 2 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// taskPayload is the payload of a delivery task.
type taskPayload struct {
	WebhookID string `json:"webhook_id"`
	EventID   string `json:"event_id"`
	Event     string `json:"event"`
	SessionID string `json:"session_id"`
	// Body is the exact JSON that is POSTed (and signed).
	Body json.RawMessage `json:"body"`
}

// TaskID is the delivery task's id: one per registration and event.
func TaskID(webhookID, eventID string) string { return "webhook:" + webhookID + ":" + eventID }

// NewTask builds the delivery of event e (bus id eventID) to registration
// w: its body, task id, queue, retries and retention.
func NewTask(w *store.WebhookRow, eventID string, e control.Event) (*asynq.Task, error) {
	body, err := json.Marshal(Notification{ID: eventID, Event: e.Name, SessionID: e.SessionID, MerchantID: w.MerchantID,
		WebhookID: w.ID, At: e.At.UTC(), Data: e.Data})
	if err != nil {
		return nil, fmt.Errorf("encode %s notification: %w", e.Name, err)
	}
	p, err := json.Marshal(taskPayload{WebhookID: w.ID, EventID: eventID, Event: e.Name, SessionID: e.SessionID, Body: body})
	if err != nil {
		return nil, err
	}
	return asynq.NewTask(TypeDeliver, p,
		asynq.TaskID(TaskID(w.ID, eventID)),
		asynq.Queue(Queue),
		asynq.MaxRetry(MaxRetry),
		asynq.Retention(Retention),
		// One attempt lasts at most Timeout plus writing its log row.
		asynq.Timeout(Timeout+20*time.Second),
	), nil
}
