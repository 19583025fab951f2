package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/queue"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/testenv"
)

// queued returns the ids of the delivery tasks waiting in the queue.
func queued(t *testing.T, insp *asynq.Inspector) []string {
	t.Helper()
	tasks, err := insp.ListPendingTasks(Queue, asynq.PageSize(1000))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil
	}
	must(t, err)
	var ids []string
	for _, ti := range tasks {
		if ti.Type != TypeDeliver || ti.MaxRetry != MaxRetry || ti.Retention != Retention {
			t.Fatalf("task %s: type %s, max retry %d, retention %s", ti.ID, ti.Type, ti.MaxRetry, ti.Retention)
		}
		ids = append(ids, ti.ID)
	}
	sort.Strings(ids)
	return ids
}

func redisOpt(t *testing.T) asynq.RedisConnOpt {
	t.Helper()
	opt, err := queue.ConnOpt(testenv.Redis(t))
	must(t, err)
	return opt
}

// TestDispatchMatching: each event becomes one task per registration that
// wants it (its session or its merchant, its event names), never one for
// another merchant's registration; a second API process dispatching the
// same event adds nothing.
func TestDispatchMatching(t *testing.T) {
	f := newFixture(t)
	opt := redisOpt(t)
	client := asynq.NewClient(opt)
	defer client.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()

	f.register(t, &store.WebhookRow{ID: "whk_one", SessionID: f.session.ID, URL: "https://a.example/", Events: []string{"clip.aired"}})
	f.register(t, &store.WebhookRow{ID: "whk_all", URL: "https://a.example/"})
	f.register(t, &store.WebhookRow{ID: "whk_states", URL: "https://a.example/", Events: []string{"session.state"}})
	f.register(t, &store.WebhookRow{ID: "whk_other", MerchantID: f.other.ID, URL: "https://b.example/"})
	f.register(t, &store.WebhookRow{ID: "whk_second", SessionID: f.session2.ID, URL: "https://a.example/"})

	newDispatcher := func() *Dispatcher {
		d := NewDispatcher(DispatcherOptions{Store: f.st, Queue: client})
		d.reload(f.ctx)
		return d
	}
	d := newDispatcher()
	events := []struct {
		id   string
		e    control.Event
		want []string // registrations
	}{
		{"ev_a", control.Event{SessionID: f.session.ID, Name: control.EventClipAired, Data: json.RawMessage(`{"clip_id":"clp_1"}`)}, []string{"whk_all", "whk_one"}},
		{"ev_b", control.Event{SessionID: f.session.ID, Name: control.EventSessionState}, []string{"whk_all", "whk_states"}},
		{"ev_c", control.Event{SessionID: f.session2.ID, Name: control.EventClipAired}, []string{"whk_all", "whk_second"}},
		{"ev_d", control.Event{SessionID: f.otherSession.ID, Name: control.EventClipAired}, []string{"whk_other"}},
		{"ev_e", control.Event{SessionID: "ses_unknown", Name: control.EventClipAired}, nil},
	}
	var want []string
	for _, ev := range events {
		d.dispatch(f.ctx, ev.id, ev.e)
		for _, w := range ev.want {
			want = append(want, TaskID(w, ev.id))
		}
	}
	sort.Strings(want)
	got := queued(t, insp)
	if !slices.Equal(got, want) {
		t.Fatalf("tasks %v\nwant  %v", got, want)
	}
	// Another API process receives the same events: nothing new.
	d2 := newDispatcher()
	for _, ev := range events {
		d2.dispatch(f.ctx, ev.id, ev.e)
	}
	if again := queued(t, insp); !slices.Equal(again, want) {
		t.Fatalf("after a second dispatcher: %v", again)
	}

	// The task carries the notification that will be posted.
	ti, err := insp.GetTaskInfo(Queue, TaskID("whk_one", "ev_a"))
	must(t, err)
	p, err := decodeTask(asynq.NewTask(ti.Type, ti.Payload))
	must(t, err)
	var n Notification
	must(t, json.Unmarshal(p.Body, &n))
	if n.ID != "ev_a" || n.Event != "clip.aired" || n.SessionID != f.session.ID || n.MerchantID != f.merchant.ID || n.WebhookID != "whk_one" ||
		string(mustJSON(t, n.Data)) != `{"clip_id":"clp_1"}` || p.Event != "clip.aired" || p.SessionID != f.session.ID {
		t.Fatalf("payload %+v, notification %+v", p, n)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	must(t, err)
	return b
}

// TestDispatcherRun: a registration made through the Service is used for
// the very next event; a deleted one is not; events without a session or
// an id are ignored; a full buffer drops rather than blocks.
func TestDispatcherRun(t *testing.T) {
	f := newFixture(t)
	opt := redisOpt(t)
	client := asynq.NewClient(opt)
	defer client.Close()
	insp := asynq.NewInspector(opt)
	defer insp.Close()

	d := NewDispatcher(DispatcherOptions{Store: f.st, Queue: client, Refresh: time.Hour})
	svc := NewService(f.st, ServiceOptions{Changed: d.Changed})
	ctx, cancel := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	wg.Go(func() { _ = d.Run(ctx) })
	defer wg.Wait()
	defer cancel()

	waitQueued := func(want []string) {
		t.Helper()
		sort.Strings(want)
		deadline := time.Now().Add(10 * time.Second)
		for {
			got := queued(t, insp)
			if slices.Equal(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("tasks %v, want %v", got, want)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	c, err := svc.Create(f.ctx, f.merchant.ID, Input{URL: "https://a.example/", Events: []string{"clip.aired"}})
	must(t, err)
	d.Offer("", control.Event{SessionID: f.session.ID, Name: control.EventClipAired})
	d.Offer("ev_q", control.Event{Name: control.EventQueue})
	d.Offer("ev_1", control.Event{SessionID: f.session.ID, Name: control.EventClipAired})
	waitQueued([]string{TaskID(c.ID, "ev_1")})

	must(t, svc.Delete(f.ctx, c.ID))
	c2, err := svc.Create(f.ctx, f.merchant.ID, Input{URL: "https://a.example/", SessionID: f.session2.ID})
	must(t, err)
	d.Offer("ev_2", control.Event{SessionID: f.session.ID, Name: control.EventClipAired})
	d.Offer("ev_3", control.Event{SessionID: f.session2.ID, Name: control.EventPlayhead})
	waitQueued([]string{TaskID(c.ID, "ev_1"), TaskID(c2.ID, "ev_3")})

	// A dispatcher that is not running drops what does not fit.
	idle := NewDispatcher(DispatcherOptions{Store: f.st, Queue: client, Buffer: 2})
	done := make(chan struct{})
	go func() {
		for range 10 {
			idle.Offer("ev_x", control.Event{SessionID: f.session.ID, Name: control.EventClipAired})
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Offer blocked on a full buffer")
	}
	if len(idle.in) != 2 {
		t.Fatalf("%d events buffered, want 2", len(idle.in))
	}
}

// TestDeliveryThroughAsynq runs the whole path on a real asynq server:
// two API processes dispatch the same event, the receiver answers 500 and
// then 204, and gets the event exactly twice: once, and once more no
// sooner than the first backoff.
func TestDeliveryThroughAsynq(t *testing.T) {
	f := newFixture(t)
	opt := redisOpt(t)
	client := asynq.NewClient(opt)
	defer client.Close()
	rcv := newReceiver(t, http.StatusInternalServerError, http.StatusNoContent)
	svc := NewService(f.st, ServiceOptions{AllowPrivate: true})
	c, err := svc.Create(f.ctx, f.merchant.ID, Input{URL: rcv.srv.URL + "/hook", SessionID: f.session.ID})
	must(t, err)

	srv := asynq.NewServer(opt, asynq.Config{
		Concurrency: 2, Queues: map[string]int{Queue: 1}, LogLevel: asynq.ErrorLevel,
		Logger:                   queue.Logger{Log: slog.New(slog.DiscardHandler)},
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: 200 * time.Millisecond,
		RetryDelayFunc: func(n int, err error, t *asynq.Task) time.Duration {
			if d, ok := RetryDelay(n, err, t); ok {
				return d
			}
			return time.Hour
		},
	})
	mux := asynq.NewServeMux()
	NewDeliverer(DelivererOptions{Store: f.st, AllowPrivate: true}).Register(mux)
	must(t, srv.Start(mux))
	defer srv.Shutdown()

	ctx, cancel := context.WithCancel(f.ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for range 2 {
		d := NewDispatcher(DispatcherOptions{Store: f.st, Queue: client})
		wg.Go(func() { _ = d.Run(ctx) })
		d.Offer("ev_1", control.Event{SessionID: f.session.ID, Name: control.EventClipAired, Data: json.RawMessage(`{"clip_id":"clp_9"}`)})
	}

	deadline := time.Now().Add(30 * time.Second)
	for len(rcv.requests()) < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests after 30 s", len(rcv.requests()))
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(time.Second) // a duplicate would arrive now
	got := rcv.requests()
	if len(got) != 2 {
		t.Fatalf("%d requests, want 2", len(got))
	}
	if gap := got[1].at.Sub(got[0].at); gap < FirstBackoff {
		t.Fatalf("retried after %s, want at least %s", gap, FirstBackoff)
	}
	for _, r := range got {
		if r.header.Get(HeaderDelivery) != "ev_1" {
			t.Fatalf("delivery id %q", r.header.Get(HeaderDelivery))
		}
		must(t, Verify(c.Secret, r.header.Get(HeaderSignature), r.body, time.Now(), time.Minute))
	}
	deadline = time.Now().Add(10 * time.Second)
	for {
		log, err := svc.Deliveries(f.ctx, c.ID, 10)
		must(t, err)
		if len(log) == 2 && log[0].Status == store.DeliveryDelivered && log[1].Status == store.DeliveryRetrying {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("delivery log %+v", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
