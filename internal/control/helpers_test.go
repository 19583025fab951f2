package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/evercast/evercast"
)

// Test tokens.
const (
	tokOperator = "op-secret"
	tokMerchA   = "merchant-a-key"
	tokMerchB   = "merchant-b-key"
	tokPlayout  = "playout-key"
	tokBroken   = "auth-down"
)

// authFunc is an Authenticator from a function.
type authFunc func(ctx context.Context, token string) (Principal, error)

func (f authFunc) Authenticate(ctx context.Context, token string) (Principal, error) {
	return f(ctx, token)
}

var _ Authenticator = authFunc(nil)

var testAuth = authFunc(func(_ context.Context, token string) (Principal, error) {
	switch token {
	case tokOperator:
		return Principal{Role: RoleOperator, Name: "ops"}, nil
	case tokMerchA:
		return Principal{Role: RoleMerchant, MerchantID: "mer_a", Name: "Tea House"}, nil
	case tokMerchB:
		return Principal{Role: RoleMerchant, MerchantID: "mer_b", Name: "Shoe Shop"}, nil
	case tokPlayout:
		return Principal{Role: RolePlayout, Name: "playout-1"}, nil
	case tokBroken:
		return Principal{}, errors.New("database is down")
	}
	return Principal{}, fmt.Errorf("token: %w", evercast.ErrNotFound)
})

// sessionsMap is a Sessions from a map of session → merchant.
type sessionsMap map[string]string

func (m sessionsMap) SessionMerchant(_ context.Context, id string) (string, error) {
	if mid, ok := m[id]; ok {
		return mid, nil
	}
	return "", fmt.Errorf("session %s: %w", id, evercast.ErrNotFound)
}

var _ Sessions = sessionsMap(nil)

var testSessions = sessionsMap{"ses_a1": "mer_a", "ses_a2": "mer_a", "ses_b1": "mer_b"}

// commanderFunc is a Commander from a function.
type commanderFunc func(ctx context.Context, p Principal, sessionID string, c Command) (map[string]any, error)

func (f commanderFunc) Command(ctx context.Context, p Principal, sessionID string, c Command) (map[string]any, error) {
	return f(ctx, p, sessionID, c)
}

var _ Commander = commanderFunc(nil)

// commentFunc is a CommentSink from a function.
type commentFunc func(ctx context.Context, p Principal, sessionID string, cs []Comment) (int, error)

func (f commentFunc) Comments(ctx context.Context, p Principal, sessionID string, cs []Comment) (int, error) {
	return f(ctx, p, sessionID, cs)
}

var _ CommentSink = commentFunc(nil)

// recorder is a Commander and CommentSink that remembers its calls.
type recorder struct {
	mu       sync.Mutex
	commands []recordedCommand
	comments []recordedComments
	err      error
}

type recordedCommand struct {
	p         Principal
	sessionID string
	c         Command
}

type recordedComments struct {
	p         Principal
	sessionID string
	cs        []Comment
}

func (r *recorder) Command(_ context.Context, p Principal, sessionID string, c Command) (map[string]any, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.commands = append(r.commands, recordedCommand{p, sessionID, c})
	if r.err != nil {
		return nil, r.err
	}
	return map[string]any{"done": c.Name, "n": len(r.commands)}, nil
}

func (r *recorder) Comments(_ context.Context, p Principal, sessionID string, cs []Comment) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.comments = append(r.comments, recordedComments{p, sessionID, cs})
	return len(cs), r.err
}

func (r *recorder) sunk() []recordedComments {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedComments(nil), r.comments...)
}

func (r *recorder) calls() []recordedCommand {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]recordedCommand(nil), r.commands...)
}

// testServer is a Hub behind a real HTTP server.
type testServer struct {
	hub *Hub
	srv *httptest.Server
	url string // ws://
	reg *prometheus.Registry
}

func newTestServer(t testing.TB, ho HubOptions, o HandlerOptions) *testServer {
	t.Helper()
	reg := prometheus.NewRegistry()
	if ho.Registry == nil {
		ho.Registry = reg
	}
	hub := NewHub(ho)
	if o.Auth == nil {
		o.Auth = testAuth
	}
	srv := httptest.NewServer(hub.Handler(o))
	t.Cleanup(func() {
		_ = hub.Close()
		srv.Close()
	})
	return &testServer{hub: hub, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http"), reg: reg}
}

// dial opens a raw websocket with the token in the Authorization header
// and reads the hello.
func (ts *testServer) dial(t testing.TB, token string) *rawConn {
	t.Helper()
	h := http.Header{}
	if token != "" {
		h.Set("Authorization", "Bearer "+token)
	}
	ws, resp, err := websocket.DefaultDialer.Dial(ts.url, h)
	if err != nil {
		status := ""
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("dial: %v %s", err, status)
	}
	rc := &rawConn{t: t, ws: ws}
	t.Cleanup(func() { _ = ws.Close() })
	if m := rc.read(); m.Type != TypeHello {
		t.Fatalf("first message is %q, want hello", m.Type)
	}
	return rc
}

// dialClient opens a Client and closes it at cleanup.
func (ts *testServer) dialClient(t testing.TB, token string, o ClientOptions) *Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := Dial(ctx, ts.url, token, o)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// connections counts the hub's open connections.
func (h *Hub) connections() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.conns)
}

// dropConnections cuts every connection's socket, as a network failure
// would, without a close frame.
func (h *Hub) dropConnections() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.conns {
		_ = c.ws.NetConn().Close()
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func counterValue(t testing.TB, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

// rawConn is a websocket speaking the protocol by hand.
type rawConn struct {
	t  testing.TB
	ws *websocket.Conn
}

func (rc *rawConn) send(v any) {
	rc.t.Helper()
	var b []byte
	switch x := v.(type) {
	case string:
		b = []byte(x)
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			rc.t.Fatal(err)
		}
	}
	_ = rc.ws.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := rc.ws.WriteMessage(websocket.TextMessage, b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

func (rc *rawConn) read() serverMessage {
	rc.t.Helper()
	m, err := rc.tryRead(5 * time.Second)
	if err != nil {
		rc.t.Fatalf("read: %v", err)
	}
	return m
}

func (rc *rawConn) tryRead(d time.Duration) (serverMessage, error) {
	_ = rc.ws.SetReadDeadline(time.Now().Add(d))
	var m serverMessage
	_, b, err := rc.ws.ReadMessage()
	if err != nil {
		return m, err
	}
	if err := json.Unmarshal(b, &m); err != nil {
		rc.t.Fatalf("decode %s: %v", b, err)
	}
	return m, nil
}

// readUntil reads until a message of type typ with id arrives, returning
// it and the events read on the way.
func (rc *rawConn) readUntil(typ, id string) (serverMessage, []serverMessage) {
	rc.t.Helper()
	var events []serverMessage
	for {
		m := rc.read()
		if m.Type == typ && m.ID == id {
			return m, events
		}
		if m.Type == TypeEvent {
			events = append(events, m)
			continue
		}
		rc.t.Fatalf("got %+v while waiting for %s %s", m, typ, id)
	}
}

// request sends m (with id) and returns the answer (ack or error) and any
// events that came before it.
func (rc *rawConn) request(m map[string]any) (serverMessage, []serverMessage) {
	rc.t.Helper()
	rc.send(m)
	id, _ := m["id"].(string)
	var events []serverMessage
	for {
		r := rc.read()
		if (r.Type == TypeAck || r.Type == TypeError) && r.ID == id {
			return r, events
		}
		if r.Type == TypeEvent || r.Type == TypeResync {
			events = append(events, r)
			continue
		}
		rc.t.Fatalf("got %+v while waiting for the answer to %s", r, id)
	}
}

// sync sends a ping and returns every event that arrives before its pong:
// every event the server queued before it read the ping.
func (rc *rawConn) sync() []serverMessage {
	rc.t.Helper()
	id := fmt.Sprintf("sync-%d", time.Now().UnixNano())
	rc.send(map[string]any{"type": "ping", "id": id})
	_, events := rc.readUntil(TypePong, id)
	return events
}

func mustAck(t testing.TB, m serverMessage) {
	t.Helper()
	if m.Type != TypeAck {
		t.Fatalf("got %s %s: %s, want ack", m.Type, m.Code, m.Message)
	}
}

func mustError(t testing.TB, m serverMessage, code string) {
	t.Helper()
	if m.Type != TypeError || m.Code != code {
		t.Fatalf("got %s %q (%s), want error %s", m.Type, m.Code, m.Message, code)
	}
}
