package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/evercast/evercast"
)

func TestAuth(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{Sessions: testSessions})
	tests := []struct {
		name         string
		header       http.Header
		subprotocols []string
		wantStatus   int // 0: upgraded
		wantRole     string
		wantProto    string
	}{
		{name: "no token", wantStatus: http.StatusUnauthorized},
		{name: "bad token", header: http.Header{"Authorization": {"Bearer nope"}}, wantStatus: http.StatusUnauthorized},
		{name: "not bearer", header: http.Header{"Authorization": {"Basic " + tokOperator}}, wantStatus: http.StatusUnauthorized},
		{name: "authenticator down", header: http.Header{"Authorization": {"Bearer " + tokBroken}}, wantStatus: http.StatusServiceUnavailable},
		{name: "header token", header: http.Header{"Authorization": {"Bearer " + tokOperator}}, wantRole: RoleOperator},
		{name: "header token with subprotocol", header: http.Header{"Authorization": {"Bearer " + tokMerchA}},
			subprotocols: []string{Subprotocol}, wantRole: RoleMerchant, wantProto: Subprotocol},
		{name: "subprotocol token", subprotocols: []string{Subprotocol, BearerPrefix + tokMerchA},
			wantRole: RoleMerchant, wantProto: Subprotocol},
		{name: "subprotocol bad token", subprotocols: []string{Subprotocol, BearerPrefix + "nope"}, wantStatus: http.StatusUnauthorized},
		{name: "subprotocol token without version", subprotocols: []string{BearerPrefix + tokOperator}, wantStatus: http.StatusBadRequest},
		{name: "unknown version", header: http.Header{"Authorization": {"Bearer " + tokOperator}},
			subprotocols: []string{"evercast.control.v9"}, wantStatus: http.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := *websocket.DefaultDialer
			d.Subprotocols = tt.subprotocols
			ws, resp, err := d.Dial(ts.url, tt.header)
			if tt.wantStatus != 0 {
				if err == nil {
					ws.Close()
					t.Fatalf("upgraded, want HTTP %d", tt.wantStatus)
				}
				if resp == nil || resp.StatusCode != tt.wantStatus {
					t.Fatalf("got %v (%v), want HTTP %d", resp, err, tt.wantStatus)
				}
				if tt.wantStatus == http.StatusUnauthorized && resp.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				var body struct {
					Error struct{ Code string } `json:"error"`
				}
				if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Error.Code == "" {
					t.Errorf("error body not JSON with a code: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer ws.Close()
			if got := ws.Subprotocol(); got != tt.wantProto {
				t.Errorf("subprotocol %q, want %q (the token must never be echoed)", got, tt.wantProto)
			}
			rc := &rawConn{t: t, ws: ws}
			h := rc.read()
			if h.Type != TypeHello || h.V != 1 || h.Protocol != Subprotocol || h.Principal == nil || h.ServerTime == nil || h.LastSeq == nil {
				t.Fatalf("hello = %+v", h)
			}
			if h.Principal.Role != tt.wantRole {
				t.Errorf("principal role %q, want %q", h.Principal.Role, tt.wantRole)
			}
		})
	}
}

func TestClientDialErrors(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{})
	_, err := Dial(t.Context(), ts.url, "nope", ClientOptions{})
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("bad token: %v, want ErrUnauthorized", err)
	}
	c, err := Dial(t.Context(), ts.srv.URL, tokMerchA, ClientOptions{TokenInSubprotocol: true})
	if err != nil {
		t.Fatalf("subprotocol token over an http:// url: %v", err)
	}
	defer c.Close()
	if p := c.Hello().Principal; p.Role != RoleMerchant || p.MerchantID != "mer_a" {
		t.Errorf("principal %+v", p)
	}
}

func TestOrigin(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{AllowedOrigins: []string{"https://console.example.com"}})
	host := strings.TrimPrefix(ts.srv.URL, "http://")
	tests := []struct {
		origin string
		ok     bool
	}{
		{"", true},                             // not a browser
		{"http://" + host, true},               // same host
		{"https://console.example.com", true},  // allowed
		{"https://CONSOLE.example.com/", true}, // case and trailing slash
		{"https://evil.example.com", false},    // foreign
		{"http://console.example.com", false},  // scheme differs
		{"null", false},                        // opaque origin
		{"https://console.example.com.evil", false},
	}
	for _, tt := range tests {
		t.Run(tt.origin, func(t *testing.T) {
			h := http.Header{"Authorization": {"Bearer " + tokOperator}}
			if tt.origin != "" {
				h.Set("Origin", tt.origin)
			}
			ws, resp, err := websocket.DefaultDialer.Dial(ts.url, h)
			if tt.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				ws.Close()
				return
			}
			if err == nil {
				ws.Close()
				t.Fatal("accepted a foreign origin")
			}
			if resp == nil || resp.StatusCode != http.StatusForbidden {
				t.Fatalf("got %v, want 403", resp)
			}
		})
	}

	any := newTestServer(t, HubOptions{}, HandlerOptions{AllowedOrigins: []string{"*"}})
	h := http.Header{"Authorization": {"Bearer " + tokOperator}, "Origin": {"https://anywhere.example"}}
	ws, _, err := websocket.DefaultDialer.Dial(any.url, h)
	if err != nil {
		t.Fatalf(`"*" refused an origin: %v`, err)
	}
	ws.Close()
}

func TestMerchantIsolation(t *testing.T) {
	rec := &recorder{}
	ts := newTestServer(t, HubOptions{}, HandlerOptions{Sessions: testSessions, Commands: rec, Comments: rec})
	a := ts.dial(t, tokMerchA)
	op := ts.dial(t, tokOperator)

	comment := []map[string]any{{"id": "c1", "user": "u", "text": "how much?"}}
	refusals := []struct {
		name string
		msg  map[string]any
		code string
	}{
		{"subscribe other merchant", map[string]any{"type": "subscribe", "id": "1", "sessions": []string{"ses_b1"}}, CodeForbidden},
		{"subscribe mixed", map[string]any{"type": "subscribe", "id": "2", "sessions": []string{"ses_a1", "ses_b1"}}, CodeForbidden},
		{"subscribe all", map[string]any{"type": "subscribe", "id": "3", "sessions": []string{"*"}}, CodeForbidden},
		{"subscribe unknown", map[string]any{"type": "subscribe", "id": "4", "sessions": []string{"ses_zz"}}, CodeNotFound},
		{"command other merchant", map[string]any{"type": "command", "id": "5", "session_id": "ses_b1", "command": "pause"}, CodeForbidden},
		{"comments other merchant", map[string]any{"type": "comments", "id": "6", "session_id": "ses_b1", "comments": comment}, CodeForbidden},
		{"publish as merchant", map[string]any{"type": "publish", "id": "7", "event": map[string]any{"event": "clip.aired", "session_id": "ses_a1"}}, CodeForbidden},
		{"executor as merchant", map[string]any{"type": "executor", "id": "8"}, CodeForbidden},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			r, _ := a.request(tt.msg)
			mustError(t, r, tt.code)
		})
	}
	if n := len(rec.calls()); n != 0 {
		t.Fatalf("Commander called %d times for refused commands", n)
	}
	if len(rec.sunk()) != 0 {
		t.Fatalf("CommentSink called for another merchant's session")
	}

	// The refused mixed subscribe subscribed nothing: no ses_a1 events yet.
	ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventBuffer, Data: BufferData{BufferAheadSeconds: 1}})
	if ev := a.sync(); len(ev) != 0 {
		t.Fatalf("a refused subscribe delivered %d events", len(ev))
	}

	r, _ := a.request(map[string]any{"type": "subscribe", "id": "ok", "sessions": []string{"ses_a1"}})
	mustAck(t, r)
	r, _ = op.request(map[string]any{"type": "subscribe", "id": "all", "sessions": []string{"*"}})
	mustAck(t, r)

	ts.hub.Publish(Event{SessionID: "ses_b1", Name: EventBuffer, Data: BufferData{BufferAheadSeconds: 2}})
	ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventBuffer, Data: BufferData{BufferAheadSeconds: 3}})
	ts.hub.Publish(Event{Name: EventQueue, Data: QueueData{Queues: map[string]QueueDepth{"critical": {Pending: 1}}}})

	got := a.sync()
	if len(got) != 1 || got[0].SessionID != "ses_a1" {
		t.Fatalf("merchant got %+v, want only its ses_a1 event", got)
	}
	all := op.sync()
	if len(all) != 3 {
		t.Fatalf("operator on * got %d events, want 3 (both sessions and the deployment-wide one)", len(all))
	}

	r, _ = a.request(map[string]any{"type": "command", "id": "mine", "session_id": "ses_a1", "command": "pause"})
	mustAck(t, r)
	calls := rec.calls()
	if len(calls) != 1 || calls[0].p.MerchantID != "mer_a" || calls[0].sessionID != "ses_a1" {
		t.Fatalf("Commander calls %+v", calls)
	}
}

func TestPingPong(t *testing.T) {
	const pongWait = 300 * time.Millisecond
	ts := newTestServer(t, HubOptions{}, HandlerOptions{PongWait: pongWait})

	// A quiet client that reads (and so answers pings) stays connected.
	alive := ts.dial(t, tokOperator)
	var pings atomic.Int32
	alive.ws.SetPingHandler(func(data string) error {
		pings.Add(1)
		return alive.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(time.Second))
	})
	readErr := make(chan error, 1)
	appPong := make(chan serverMessage, 1)
	go func() {
		for {
			m, err := alive.tryRead(10 * time.Second)
			if err != nil {
				readErr <- err
				return
			}
			if m.Type == TypePong {
				appPong <- m
			}
		}
	}()

	// A dead peer never reads, so never answers pings: it must be dropped.
	dead := ts.dial(t, tokOperator)
	_ = dead

	waitFor(t, "the dead peer to be dropped", 5*pongWait+2*closeGrace, func() bool { return ts.hub.connections() == 1 })
	time.Sleep(pongWait) // well past several ping intervals

	select {
	case err := <-readErr:
		t.Fatalf("the quiet live connection was dropped: %v", err)
	default:
	}
	alive.send(map[string]any{"type": "ping", "id": "p"})
	select {
	case m := <-appPong:
		if m.ID != "p" || m.ServerTime == nil {
			t.Errorf("pong %+v", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong from a quiet connection")
	}
	if pings.Load() == 0 {
		t.Error("the server never pinged")
	}
	if got := counterValue(t, ts.hub.m.disconnects.WithLabelValues(reasonPongTimeout)); got != 1 {
		t.Errorf("pong_timeout disconnects = %v, want 1", got)
	}
}

func TestBadMessages(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{Sessions: testSessions, Commands: &recorder{}})
	rc := ts.dial(t, tokOperator)
	tests := []struct {
		name   string
		frame  string
		binary bool
		code   string
		id     string
	}{
		{name: "truncated JSON", frame: `{"type":"subscribe",`, code: CodeBadRequest},
		{name: "not JSON", frame: `hello`, code: CodeBadRequest},
		{name: "array", frame: `[1,2]`, code: CodeBadRequest},
		{name: "null", frame: `null`, code: CodeBadRequest},
		{name: "no type", frame: `{"id":"a"}`, code: CodeBadRequest, id: "a"},
		{name: "unknown type", frame: `{"type":"dance","id":"b"}`, code: CodeUnknownCommand, id: "b"},
		{name: "unknown command", frame: `{"type":"command","id":"c","session_id":"ses_a1","command":"dance"}`, code: CodeUnknownCommand, id: "c"},
		{name: "wrong field type", frame: `{"type":"subscribe","id":"d","sessions":"ses_a1"}`, code: CodeBadRequest, id: "d"},
		{name: "say without text", frame: `{"type":"command","id":"e","session_id":"ses_a1","command":"say","args":{}}`, code: CodeBadRequest, id: "e"},
		{name: "focus without product", frame: `{"type":"command","id":"f","session_id":"ses_a1","command":"focus"}`, code: CodeBadRequest, id: "f"},
		{name: "command without session", frame: `{"type":"command","id":"g","command":"pause"}`, code: CodeBadRequest, id: "g"},
		{name: "unknown session", frame: `{"type":"command","id":"h","session_id":"ses_zz","command":"pause"}`, code: CodeNotFound, id: "h"},
		{name: "subscribe without sessions", frame: `{"type":"subscribe","id":"i"}`, code: CodeBadRequest, id: "i"},
		{name: "stray ack", frame: `{"type":"ack","id":"j"}`, code: CodeBadRequest, id: "j"},
		{name: "binary frame", frame: `{"type":"ping"}`, binary: true, code: CodeBadRequest},
		{name: "long id", frame: `{"type":"ping","id":"` + strings.Repeat("x", 65) + `"}`, code: CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mt := websocket.TextMessage
			if tt.binary {
				mt = websocket.BinaryMessage
			}
			if err := rc.ws.WriteMessage(mt, []byte(tt.frame)); err != nil {
				t.Fatal(err)
			}
			m := rc.read()
			mustError(t, m, tt.code)
			if m.ID != tt.id {
				t.Errorf("error id %q, want %q", m.ID, tt.id)
			}
			if m.Message == "" {
				t.Error("error without a message")
			}
			// The connection stays usable.
			if ev := rc.sync(); len(ev) != 0 {
				t.Errorf("unexpected events %+v", ev)
			}
		})
	}
}

func TestOversizedFrame(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{MaxMessage: 1024})
	big := ts.dial(t, tokOperator)
	other := ts.dial(t, tokOperator)
	r, _ := other.request(map[string]any{"type": "subscribe", "id": "s", "sessions": []string{"*"}})
	mustAck(t, r)

	ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventBuffer})
	if err := big.ws.WriteMessage(websocket.TextMessage, []byte(`{"type":"ping","pad":"`+strings.Repeat("x", 2048)+`"}`)); err != nil {
		t.Fatal(err)
	}
	_, err := big.tryRead(5 * time.Second)
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("oversized frame: got %v, want close 1009", err)
	}
	waitFor(t, "the oversized connection to end", 5*time.Second, func() bool { return ts.hub.connections() == 1 })

	ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventBuffer})
	if ev := other.sync(); len(ev) != 2 {
		t.Fatalf("the other connection got %d events, want 2", len(ev))
	}
	if got := counterValue(t, ts.hub.m.disconnects.WithLabelValues(reasonTooLarge)); got != 1 {
		t.Errorf("too_large disconnects = %v, want 1", got)
	}
}

func TestSlowConsumerDropped(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{SendQueue: 64, WriteTimeout: 30 * time.Second})
	slow := ts.dial(t, tokOperator)
	fast := ts.dial(t, tokOperator)
	for _, rc := range []*rawConn{slow, fast} {
		r, _ := rc.request(map[string]any{"type": "subscribe", "id": "s", "sessions": []string{"ses_a1"}})
		mustAck(t, r)
	}

	// The fast reader reads in the background.
	got := make(chan uint64, 100000)
	go func() {
		for {
			m, err := fast.tryRead(30 * time.Second)
			if err != nil {
				close(got)
				return
			}
			if m.Type == TypeEvent {
				got <- m.Seq
			}
		}
	}()

	pad := strings.Repeat("x", 16<<10)
	var published []uint64
	received := 0
	burst := func() {
		for range 32 { // half the queue: a reader that keeps up never fills it
			published = append(published, ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventAlert, Data: AlertData{Message: pad}}))
		}
		for received < len(published) {
			select {
			case seq, ok := <-got:
				if !ok {
					t.Fatal("the fast consumer was disconnected")
				}
				if seq != published[received] {
					t.Fatalf("fast consumer got seq %d, want %d", seq, published[received])
				}
				received++
			case <-time.After(10 * time.Second):
				t.Fatalf("fast consumer stalled at %d of %d events", received, len(published))
			}
		}
	}
	// The slow consumer never reads: once the socket buffers fill, its
	// queue fills and it must be dropped while the fast one goes on.
	start := time.Now()
	for ts.hub.connections() == 2 {
		if time.Since(start) > 60*time.Second || len(published) > 20000 {
			t.Fatalf("the slow consumer was never dropped (%d events published)", len(published))
		}
		burst()
	}
	for range 3 {
		burst()
	}
	if got := counterValue(t, ts.hub.m.disconnects.WithLabelValues(reasonSlowConsumer)); got != 1 {
		t.Errorf("slow_consumer disconnects = %v, want 1", got)
	}
	_ = slow
}

func TestCommand(t *testing.T) {
	rec := &recorder{}
	ts := newTestServer(t, HubOptions{}, HandlerOptions{Sessions: testSessions, Commands: rec})
	watcher := ts.dial(t, tokOperator)
	r, _ := watcher.request(map[string]any{"type": "subscribe", "id": "w", "sessions": []string{"ses_a1"}})
	mustAck(t, r)

	c := ts.dialClient(t, tokMerchA, ClientOptions{})
	tests := []struct {
		cmd  Command
		want CommandArgs
	}{
		{Command{Name: CmdPause}, CommandArgs{}},
		{Command{Name: CmdSay, Args: CommandArgs{Text: "  欢迎来到直播间  "}}, CommandArgs{Text: "欢迎来到直播间"}},
		{Command{Name: CmdFocus, Args: CommandArgs{ProductID: "prd_1", Text: "ignored"}}, CommandArgs{ProductID: "prd_1"}},
		{Command{Name: CmdSkip, Args: CommandArgs{Text: "ignored"}}, CommandArgs{}},
	}
	for i, tt := range tests {
		t.Run(tt.cmd.Name, func(t *testing.T) {
			res, err := c.Command(t.Context(), "ses_a1", tt.cmd)
			if err != nil {
				t.Fatal(err)
			}
			if res["done"] != tt.cmd.Name || res["n"] != float64(i+1) {
				t.Errorf("result %v", res)
			}
			call := rec.calls()[i]
			if call.p.Role != RoleMerchant || call.p.MerchantID != "mer_a" || call.sessionID != "ses_a1" ||
				call.c.Name != tt.cmd.Name || call.c.Args != tt.want {
				t.Errorf("Commander got %+v", call)
			}
			ev, _ := watcher.readUntil(TypeEvent, "")
			var d CommandData
			if err := json.Unmarshal(ev.Data, &d); err != nil {
				t.Fatal(err)
			}
			if ev.Event != EventCommand || ev.SessionID != "ses_a1" || d.Command != tt.cmd.Name || !d.OK ||
				d.By.MerchantID != "mer_a" || d.Args != tt.want {
				t.Errorf("command event %s %+v", ev.Event, d)
			}
		})
	}

	errs := []struct {
		err  error
		code string
		is   error
	}{
		{fmt.Errorf("session ended: %w", evercast.ErrNotFound), CodeNotFound, evercast.ErrNotFound},
		{fmt.Errorf("already paused: %w", evercast.ErrConflict), CodeConflict, evercast.ErrConflict},
		{evercast.Invalid("product_id", "not in the catalog"), CodeBadRequest, evercast.ErrInvalid},
		{fmt.Errorf("playout: %w", ErrUnavailable), CodeUnavailable, ErrUnavailable},
		{errors.New("disk on fire"), CodeInternal, nil},
	}
	for _, tt := range errs {
		t.Run("error "+tt.code, func(t *testing.T) {
			rec.mu.Lock()
			rec.err = tt.err
			rec.mu.Unlock()
			_, err := c.Command(t.Context(), "ses_a1", Command{Name: CmdResume})
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != tt.code {
				t.Fatalf("got %v, want code %s", err, tt.code)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("%v does not unwrap to %v", err, tt.is)
			}
			if tt.code == CodeInternal && strings.Contains(pe.Message, "disk") {
				t.Errorf("internal error leaked its cause: %q", pe.Message)
			}
			ev, _ := watcher.readUntil(TypeEvent, "")
			var d CommandData
			_ = json.Unmarshal(ev.Data, &d)
			if d.OK || d.Code != tt.code {
				t.Errorf("command event for a failure: %+v", d)
			}
		})
	}
}

func TestNoCommanderOrSink(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{})
	c := ts.dialClient(t, tokOperator, ClientOptions{})
	if _, err := c.Command(t.Context(), "ses_a1", Command{Name: CmdPause}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("command without a Commander: %v", err)
	}
	if _, err := c.Comments(t.Context(), "ses_a1", []Comment{{ID: "1", Text: "hi"}}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("comments without a sink: %v", err)
	}
	m := ts.dialClient(t, tokMerchA, ClientOptions{})
	if err := m.Subscribe(t.Context(), []string{"ses_a1"}, 0); !errors.Is(err, ErrForbidden) {
		t.Errorf("merchant without Sessions: %v, want forbidden", err)
	}
}

func TestComments(t *testing.T) {
	rec := &recorder{}
	ts := newTestServer(t, HubOptions{}, HandlerOptions{Sessions: testSessions, Comments: rec})
	c := ts.dialClient(t, tokMerchA, ClientOptions{})
	at := time.Date(2025, 5, 1, 12, 0, 0, 0, time.UTC)
	n, err := c.Comments(t.Context(), "ses_a1", []Comment{
		{ID: "c1", User: "小王", Text: "多少钱？", At: at},
		{ID: "c2", User: "li", Text: "  ship to Hangzhou?  "},
	})
	if err != nil || n != 2 {
		t.Fatalf("Comments = %d, %v", n, err)
	}
	got := rec.sunk()[0]
	if got.p.MerchantID != "mer_a" || got.sessionID != "ses_a1" || len(got.cs) != 2 ||
		!got.cs[0].At.Equal(at) || got.cs[1].At.IsZero() || got.cs[1].Text != "ship to Hangzhou?" {
		t.Errorf("sink got %+v", got)
	}

	tests := []struct {
		name string
		cs   []Comment
		code string
	}{
		{"too many", make([]Comment, maxCommentsPerMsg+1), CodeTooLarge},
		{"no text", []Comment{{ID: "x", Text: " "}}, CodeBadRequest},
		{"no id", []Comment{{Text: "hi"}}, CodeBadRequest},
		{"none", nil, CodeBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := c.Comments(t.Context(), "ses_a1", tt.cs)
			var pe *Error
			if !errors.As(err, &pe) || pe.Code != tt.code {
				t.Fatalf("got %v, want %s", err, tt.code)
			}
		})
	}
}

func TestRateLimit(t *testing.T) {
	rec := &recorder{}
	ts := newTestServer(t, HubOptions{}, HandlerOptions{Commands: rec, Comments: rec,
		CommandRate: 0.001, CommandBurst: 3, CommentRate: 0.001, CommentBurst: 10})
	rc := ts.dial(t, tokOperator)
	for i := range 3 {
		r, _ := rc.request(map[string]any{"type": "command", "id": fmt.Sprint(i), "session_id": "ses_a1", "command": "skip"})
		mustAck(t, r)
	}
	r, _ := rc.request(map[string]any{"type": "command", "id": "over", "session_id": "ses_a1", "command": "skip"})
	mustError(t, r, CodeRateLimited)
	if r.RetryAfterMS <= 0 {
		t.Error("rate_limited without retry_after_ms")
	}
	if n := len(rec.calls()); n != 3 {
		t.Errorf("Commander ran %d commands, want 3", n)
	}

	comments := func(n int) []map[string]any {
		out := make([]map[string]any, n)
		for i := range out {
			out[i] = map[string]any{"id": fmt.Sprint(i), "user": "u", "text": "hi"}
		}
		return out
	}
	r, _ = rc.request(map[string]any{"type": "comments", "id": "c11", "session_id": "ses_a1", "comments": comments(11)})
	mustError(t, r, CodeRateLimited) // more than the burst at once
	r, _ = rc.request(map[string]any{"type": "comments", "id": "c6", "session_id": "ses_a1", "comments": comments(6)})
	mustAck(t, r)
	r, _ = rc.request(map[string]any{"type": "comments", "id": "c5", "session_id": "ses_a1", "comments": comments(5)})
	mustError(t, r, CodeRateLimited) // 6 + 5 > 10
	r, _ = rc.request(map[string]any{"type": "comments", "id": "c4", "session_id": "ses_a1", "comments": comments(4)})
	mustAck(t, r)

	// Another connection has its own budget.
	other := ts.dial(t, tokOperator)
	r, _ = other.request(map[string]any{"type": "command", "id": "x", "session_id": "ses_a1", "command": "skip"})
	mustAck(t, r)
}

func TestPublishFromPlayout(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{})
	watcher := ts.dialClient(t, tokOperator, ClientOptions{})
	if err := watcher.Subscribe(t.Context(), []string{"ses_a1"}, 0); err != nil {
		t.Fatal(err)
	}
	p := ts.dialClient(t, tokPlayout, ClientOptions{})
	start := int64(12_800)
	aired := ClipData{ClipID: "clp_1", Seq: 7, Kind: evercast.KindPitch, DurationMS: 6400, StartMS: &start}
	if err := p.Publish(t.Context(), Event{SessionID: "ses_a1", Name: EventClipAired, Data: aired}); err != nil {
		t.Fatal(err)
	}
	e := <-watcher.Events()
	var got ClipData
	if err := e.DecodeData(&got); err != nil {
		t.Fatal(err)
	}
	if e.Name != EventClipAired || e.Seq != 1 || e.At.IsZero() || got.ClipID != "clp_1" || *got.StartMS != start {
		t.Errorf("event %+v data %+v", e, got)
	}
	for _, name := range []string{EventCommand, EventComment, "made.up"} {
		err := p.Publish(t.Context(), Event{SessionID: "ses_a1", Name: name})
		if !errors.Is(err, ErrForbidden) {
			t.Errorf("playout publishing %s: %v, want forbidden", name, err)
		}
	}
	if _, err := p.Command(t.Context(), "ses_a1", Command{Name: CmdStop}); !errors.Is(err, ErrForbidden) {
		t.Errorf("playout sending a command: %v, want forbidden", err)
	}
}

func TestHubClose(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{})
	rc := ts.dial(t, tokOperator)
	done := make(chan error, 1)
	go func() { done <- ts.hub.Close() }()
	_, err := rc.tryRead(5 * time.Second)
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Errorf("got %v, want close 1001", err)
	}
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
	ws, _, err := websocket.DefaultDialer.Dial(ts.url, http.Header{"Authorization": {"Bearer " + tokOperator}})
	if err == nil {
		_, _, err = ws.ReadMessage()
		ws.Close()
		if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
			t.Errorf("a connection after Close: %v, want close 1001", err)
		}
	}
	ts.hub.Publish(Event{Name: EventAlert}) // still safe
}

func TestPlainHTTP(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{})
	tests := []struct {
		token string
		want  int
	}{
		{"", http.StatusUnauthorized},
		{tokOperator, http.StatusBadRequest},
	}
	for _, tt := range tests {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.srv.URL, nil)
		if tt.token != "" {
			req.Header.Set("Authorization", "Bearer "+tt.token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.want || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Errorf("token %q: %s %s, want %d JSON", tt.token, resp.Status, resp.Header.Get("Content-Type"), tt.want)
		}
	}
}
