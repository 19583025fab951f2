package webhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/store"
)

// fixture is a real (SQLite) store with a merchant and two of its sessions,
// and another merchant with a session.
type fixture struct {
	st                *store.Store
	merchant, other   *evercast.Merchant
	session, session2 *evercast.Session
	otherSession      *evercast.Session
	ctx               context.Context
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "evercast.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{st: st, ctx: ctx}
	mk := func(name string) (*evercast.Merchant, *evercast.Session, *evercast.Session) {
		m := &evercast.Merchant{Name: name}
		must(t, st.CreateMerchant(ctx, m))
		a := &evercast.Anchor{MerchantID: m.ID, Name: "小云", Language: evercast.LangZH, Voice: evercast.Voice{Name: "cmn-latn-pinyin"}}
		must(t, st.CreateAnchor(ctx, a))
		p := &evercast.Product{MerchantID: m.ID, SKU: "SKU-1", Title: evercast.Text{evercast.LangZH: "龙井"}, Price: 10000}
		must(t, st.CreateProduct(ctx, p))
		var ss [2]*evercast.Session
		for i := range ss {
			ss[i] = &evercast.Session{MerchantID: m.ID, AnchorID: a.ID, Title: "直播", ProductIDs: []string{p.ID}}
			must(t, st.CreateSession(ctx, ss[i]))
		}
		return m, ss[0], ss[1]
	}
	f.merchant, f.session, f.session2 = mk("西湖茶庄")
	f.other, f.otherSession, _ = mk("别家")
	return f
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// register stores a registration directly.
func (f *fixture) register(t *testing.T, w *store.WebhookRow) *store.WebhookRow {
	t.Helper()
	if w.ID == "" {
		w.ID = evercast.NewID(IDPrefix)
	}
	if w.MerchantID == "" {
		w.MerchantID = f.merchant.ID
	}
	if w.Secret == "" {
		w.Secret = "whsec_test-secret-0123456789"
	}
	must(t, f.st.CreateWebhook(f.ctx, w, 0))
	return w
}

// received is one request a receiver got.
type received struct {
	header http.Header
	body   []byte
	at     time.Time
}

// receiver is an httptest server answering with the statuses given in
// turn (the last one repeats).
type receiver struct {
	srv      *httptest.Server
	mu       sync.Mutex
	got      []received
	statuses []int
	header   http.Header // added to every answer
	answer   string
}

func newReceiver(t *testing.T, statuses ...int) *receiver {
	t.Helper()
	r := &receiver{statuses: statuses, header: http.Header{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, received{header: req.Header.Clone(), body: b, at: time.Now()})
		n := len(r.got)
		code := r.statuses[min(n, len(r.statuses))-1]
		for k, v := range r.header {
			w.Header()[k] = v
		}
		answer := r.answer
		r.mu.Unlock()
		if req.Method != http.MethodPost {
			code = http.StatusMethodNotAllowed
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) requests() []received {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]received(nil), r.got...)
}

// payload is a delivery of a clip.aired event to w.
func payload(t *testing.T, w *store.WebhookRow, eventID, sessionID string) taskPayload {
	t.Helper()
	task, err := NewTask(w, eventID, control.Event{SessionID: sessionID, Name: control.EventClipAired,
		At: time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC), Data: json.RawMessage(`{"clip_id":"clp_1","kind":"pitch","duration_ms":15360}`)})
	must(t, err)
	p, err := decodeTask(task)
	must(t, err)
	return p
}

func (f *fixture) log(t *testing.T, webhookID string) []*store.WebhookDelivery {
	t.Helper()
	ds, err := f.st.ListWebhookDeliveries(f.ctx, webhookID, 100)
	must(t, err)
	return ds
}

// TestDeliverSigned: a delivery carries the documented headers and a
// signature that verifies with the registration's secret over the exact
// body, which is the documented notification.
func TestDeliverSigned(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, http.StatusNoContent)
	w := f.register(t, &store.WebhookRow{URL: rcv.srv.URL + "/hook?token=abc"})
	now := time.Now()
	d := NewDeliverer(DelivererOptions{Store: f.st, AllowPrivate: true, Now: func() time.Time { return now }})
	if err := d.attempt(f.ctx, payload(t, w, "ev_1", f.session.ID), 0, MaxRetry); err != nil {
		t.Fatal(err)
	}
	got := rcv.requests()
	if len(got) != 1 {
		t.Fatalf("%d requests, want 1", len(got))
	}
	h := got[0].header
	for k, want := range map[string]string{"Content-Type": "application/json", "User-Agent": UserAgent,
		HeaderEvent: control.EventClipAired, HeaderDelivery: "ev_1"} {
		if h.Get(k) != want {
			t.Errorf("%s: %q, want %q", k, h.Get(k), want)
		}
	}
	sig := h.Get(HeaderSignature)
	if err := Verify(w.Secret, sig, got[0].body, time.Now(), 5*time.Minute); err != nil {
		t.Fatalf("signature %q does not verify: %v", sig, err)
	}
	if !strings.HasPrefix(sig, fmt.Sprintf("t=%d,v1=", now.Unix())) {
		t.Fatalf("signature %q is not stamped %d", sig, now.Unix())
	}
	if err := Verify("whsec_some-other-secret", sig, got[0].body, time.Now(), 5*time.Minute); !errors.Is(err, ErrBadSignature) {
		t.Fatalf("another secret verified: %v", err)
	}
	var n map[string]any
	must(t, json.Unmarshal(got[0].body, &n))
	want := map[string]any{"id": "ev_1", "event": "clip.aired", "session_id": f.session.ID, "merchant_id": f.merchant.ID,
		"webhook_id": w.ID, "at": "2025-03-01T08:00:00Z",
		"data": map[string]any{"clip_id": "clp_1", "kind": "pitch", "duration_ms": float64(15360)}}
	if fmt.Sprint(n) != fmt.Sprint(want) {
		t.Fatalf("body %s\nwant %v", got[0].body, want)
	}
	log := f.log(t, w.ID)
	if len(log) != 1 || log[0].Status != store.DeliveryDelivered || log[0].HTTPStatus != 204 || log[0].Attempt != 1 ||
		log[0].EventID != "ev_1" || log[0].Event != "clip.aired" || log[0].SessionID != f.session.ID || log[0].NextRetryAt != nil {
		t.Fatalf("log %+v", log)
	}
}

// TestDeliverOutcomes: which answers are retried (and after how long),
// which fail for good, and what the log says.
func TestDeliverOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		statuses   []int
		header     map[string]string
		answer     string
		retried    int
		wantStatus string // log status of the attempt
		wantRetry  time.Duration
		wantSkip   bool
		wantError  string
	}{
		{"500 is retried after 2 s", []int{500}, nil, "database down", 0, store.DeliveryRetrying, 2 * time.Second, false, "HTTP 500: database down"},
		{"503 on the 4th retry waits 32 s", []int{503}, nil, "", 4, store.DeliveryRetrying, 32 * time.Second, false, "HTTP 503"},
		{"429 honours a longer Retry-After", []int{429}, map[string]string{"Retry-After": "30"}, "", 0, store.DeliveryRetrying, 30 * time.Second, false, "HTTP 429"},
		{"Retry-After is capped", []int{429}, map[string]string{"Retry-After": "86400"}, "", 0, store.DeliveryRetrying, MaxBackoff, false, "HTTP 429"},
		{"a shorter Retry-After keeps the backoff", []int{503}, map[string]string{"Retry-After": "1"}, "", 3, store.DeliveryRetrying, 16 * time.Second, false, "HTTP 503"},
		{"400 fails for good", []int{400}, nil, `{"error":"no such shop"}`, 0, store.DeliveryFailed, 0, true, `HTTP 400: {"error":"no such shop"}`},
		{"404 fails for good", []int{404}, nil, "", 2, store.DeliveryFailed, 0, true, "HTTP 404"},
		{"redirects are not followed", []int{302}, map[string]string{"Location": "http://127.0.0.1:1/"}, "", 0, store.DeliveryFailed, 0, true, "redirects are not followed"},
		{"the last retry gives up", []int{500}, nil, "", MaxRetry, store.DeliveryFailed, 0, true, "gave up after 9 attempts"},
		{"a long answer is cut", []int{500}, nil, strings.Repeat("é", 300), 0, store.DeliveryRetrying, 2 * time.Second, false, "..."},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			rcv := newReceiver(t, tc.statuses...)
			rcv.answer = tc.answer
			for k, v := range tc.header {
				rcv.header.Set(k, v)
			}
			w := f.register(t, &store.WebhookRow{URL: rcv.srv.URL})
			d := NewDeliverer(DelivererOptions{Store: f.st, AllowPrivate: true})
			before := time.Now()
			err := d.attempt(f.ctx, payload(t, w, "ev_1", f.session.ID), tc.retried, MaxRetry)
			if err == nil {
				t.Fatal("attempt succeeded")
			}
			if errors.Is(err, asynq.SkipRetry) != tc.wantSkip {
				t.Fatalf("err %v: SkipRetry %v, want %v", err, errors.Is(err, asynq.SkipRetry), tc.wantSkip)
			}
			delay, ok := RetryDelay(tc.retried, err, asynq.NewTask(TypeDeliver, nil))
			delay -= time.Second // RetryDelay adds a second for asynq's whole-second schedule
			if !ok || !tc.wantSkip && delay != tc.wantRetry {
				t.Fatalf("retry delay %s, want %s", delay, tc.wantRetry)
			}
			if n := len(rcv.requests()); n != 1 {
				t.Fatalf("%d requests, want 1", n)
			}
			log := f.log(t, w.ID)
			if len(log) != 1 {
				t.Fatalf("log has %d rows", len(log))
			}
			l := log[0]
			if l.Status != tc.wantStatus || l.Attempt != tc.retried+1 || l.HTTPStatus != tc.statuses[0] || !strings.Contains(l.Error, tc.wantError) {
				t.Fatalf("log %+v, want status %s, attempt %d, error containing %q", l, tc.wantStatus, tc.retried+1, tc.wantError)
			}
			if len(l.Error) > 400 {
				t.Fatalf("error of %d bytes logged", len(l.Error))
			}
			if tc.wantSkip != (l.NextRetryAt == nil) {
				t.Fatalf("next retry %v", l.NextRetryAt)
			}
			if l.NextRetryAt != nil {
				if lo := before.Add(tc.wantRetry).Truncate(time.Millisecond); l.NextRetryAt.Before(lo) || l.NextRetryAt.After(time.Now().Add(tc.wantRetry)) {
					t.Fatalf("next retry at %v, want %s after the attempt", l.NextRetryAt, tc.wantRetry)
				}
			}
		})
	}
}

// TestDeliverRetryThenSuccess: a 500 then a 200 make two logged attempts
// of the same delivery, the first retrying and the second delivered, with
// the same delivery id and a fresh signature.
func TestDeliverRetryThenSuccess(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, 500, 200)
	w := f.register(t, &store.WebhookRow{URL: rcv.srv.URL})
	d := NewDeliverer(DelivererOptions{Store: f.st, AllowPrivate: true})
	p := payload(t, w, "ev_7", f.session.ID)
	err := d.attempt(f.ctx, p, 0, MaxRetry)
	// RetryDelay adds a second for asynq's whole-second schedule.
	if delay, _ := RetryDelay(0, err, asynq.NewTask(TypeDeliver, nil)); err == nil || errors.Is(err, asynq.SkipRetry) || delay != 3*time.Second {
		t.Fatalf("first attempt: %v (delay %s)", err, delay)
	}
	if err := d.attempt(f.ctx, p, 1, MaxRetry); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	got := rcv.requests()
	if len(got) != 2 || got[0].header.Get(HeaderDelivery) != "ev_7" || got[1].header.Get(HeaderDelivery) != "ev_7" ||
		string(got[0].body) != string(got[1].body) {
		t.Fatalf("requests %+v", got)
	}
	for _, r := range got {
		must(t, Verify(w.Secret, r.header.Get(HeaderSignature), r.body, time.Now(), time.Minute))
	}
	log := f.log(t, w.ID)
	if len(log) != 2 || log[0].Attempt != 2 || log[0].Status != store.DeliveryDelivered || log[0].HTTPStatus != 200 ||
		log[1].Attempt != 1 || log[1].Status != store.DeliveryRetrying || log[1].HTTPStatus != 500 || log[1].NextRetryAt == nil {
		t.Fatalf("log %+v %+v", log[0], log[1])
	}
}

// TestDeliverNetworkFailures: timeouts and refused connections are retried.
func TestDeliverNetworkFailures(t *testing.T) {
	f := newFixture(t)
	hang := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-hang }))
	defer slow.Close()
	defer close(hang)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	must(t, err)
	closed := "http://" + ln.Addr().String() + "/hook"
	ln.Close()

	client := NewClient(true)
	client.Timeout = 300 * time.Millisecond
	d := NewDeliverer(DelivererOptions{Store: f.st, Client: client})
	for _, tc := range []struct{ name, url, want string }{
		{"timeout", slow.URL, "timed out"},
		{"connection refused", closed, "connection refused"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := f.register(t, &store.WebhookRow{URL: tc.url})
			err := d.attempt(f.ctx, payload(t, w, "ev_1", f.session.ID), 0, MaxRetry)
			if err == nil || errors.Is(err, asynq.SkipRetry) {
				t.Fatalf("err %v, want a retry", err)
			}
			log := f.log(t, w.ID)
			if len(log) != 1 || log[0].Status != store.DeliveryRetrying || log[0].HTTPStatus != 0 || !strings.Contains(log[0].Error, tc.want) {
				t.Fatalf("log %+v", log[0])
			}
			if strings.Contains(log[0].Error, "token") || strings.Contains(log[0].Error, "/hook") {
				t.Fatalf("the URL leaked into the log: %s", log[0].Error)
			}
		})
	}
}

// TestDeliverRefusesPrivate: without AllowPrivate, a receiver on loopback
// (named by address or by a host name resolving to it) is never contacted
// and the delivery fails for good.
func TestDeliverRefusesPrivate(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, 200)
	_, port, _ := net.SplitHostPort(rcv.srv.Listener.Addr().String())
	d := NewDeliverer(DelivererOptions{Store: f.st})
	for _, u := range []string{rcv.srv.URL, "http://localhost:" + port + "/hook"} {
		t.Run(u, func(t *testing.T) {
			w := f.register(t, &store.WebhookRow{URL: u})
			err := d.attempt(f.ctx, payload(t, w, "ev_1", f.session.ID), 0, MaxRetry)
			if !errors.Is(err, asynq.SkipRetry) {
				t.Fatalf("err %v, want a permanent failure", err)
			}
			log := f.log(t, w.ID)
			if len(log) != 1 || log[0].Status != store.DeliveryFailed || !strings.Contains(log[0].Error, "non-public address") {
				t.Fatalf("log %+v", log[0])
			}
		})
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("the private receiver got %d requests", n)
	}
}

// TestDeliverDropsDeleted: a registration deleted after the event was
// enqueued gets nothing, and the task ends without error.
func TestDeliverDropsDeleted(t *testing.T) {
	f := newFixture(t)
	rcv := newReceiver(t, 200)
	w := f.register(t, &store.WebhookRow{URL: rcv.srv.URL})
	p := payload(t, w, "ev_1", f.session.ID)
	must(t, f.st.DeleteWebhook(f.ctx, w.ID))
	d := NewDeliverer(DelivererOptions{Store: f.st, AllowPrivate: true})
	if err := d.attempt(f.ctx, p, 0, MaxRetry); err != nil {
		t.Fatalf("err %v", err)
	}
	if n := len(rcv.requests()); n != 0 {
		t.Fatalf("a deleted registration got %d requests", n)
	}
}

func TestProcessTaskRejectsBadPayloads(t *testing.T) {
	d := NewDeliverer(DelivererOptions{Store: newFixture(t).st})
	for _, p := range []string{``, `[]`, `{"webhook_id":"whk_1"}`, `{"webhook_id":"whk_1","event_id":"ev_1","event":"x","body":{},"extra":1}`} {
		err := d.ProcessTask(context.Background(), asynq.NewTask(TypeDeliver, []byte(p)))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("payload %q: %v, want SkipRetry", p, err)
		}
	}
}
