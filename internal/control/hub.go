package control

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/evercast/evercast/internal/clock"
)

// Defaults of HubOptions.
const (
	DefaultBuffer         = 10000
	DefaultForwardTimeout = 5 * time.Second
)

// Log attribute keys.
const (
	logKeySessionID = "session_id"
	logKeyRole      = "role"
	logKeyPrincipal = "principal"
	logKeyRemote    = "remote"
	logKeyReason    = "reason"
	logKeyError     = "error"
	logKeyCommand   = "command"
	logKeyEvent     = "event"
)

// HubOptions configure a Hub. Every field is optional.
type HubOptions struct {
	// Buffer is how many recent events the Hub keeps for clients that
	// resume (DefaultBuffer).
	Buffer int
	Log    *slog.Logger
	// Registry receives the Hub's metrics; nil keeps them private.
	Registry prometheus.Registerer
	// ForwardTimeout bounds how long Forward waits for an executor's answer
	// (DefaultForwardTimeout), on top of its context.
	ForwardTimeout time.Duration
	// Clock stamps events published without a time, and hello messages
	// (the wall clock by default).
	Clock clock.Clock
}

// Hub numbers events, keeps the recent ones for resume, fans them out to
// subscribed connections and forwards commands to remote executors. It is
// safe for concurrent use. Build it with NewHub; end it with Close.
type Hub struct {
	log        *slog.Logger
	clock      clock.Clock
	fwdTimeout time.Duration
	m          *hubMetrics

	// ctx is the parent of the contexts commands and comments run under;
	// Close cancels it.
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	seq       uint64
	ring      []*record
	conns     map[*conn]struct{}
	all       map[*conn]struct{}            // subscribed to "*"
	bySession map[string]map[*conn]struct{} // subscribed to one session
	executors []*executorReg                // in registration order
	closed    bool

	fwdMu  sync.Mutex
	fwdSeq uint64
	fwd    map[string]*forwardCall
}

// record is one published event, encoded once for every connection.
type record struct {
	seq     uint64
	session string
	msg     *websocket.PreparedMessage
}

// executorReg is a connection that executes forwarded commands.
type executorReg struct {
	conn     *conn
	all      bool
	sessions map[string]bool
}

// forwardCall is a forwarded command waiting for its executor's answer.
type forwardCall struct {
	conn *conn
	done chan forwardReply
}

type forwardReply struct {
	result map[string]any
	err    error
}

// NewHub returns a Hub.
func NewHub(o HubOptions) *Hub {
	if o.Buffer <= 0 {
		o.Buffer = DefaultBuffer
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ForwardTimeout <= 0 {
		o.ForwardTimeout = DefaultForwardTimeout
	}
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Hub{
		log:        o.Log,
		clock:      o.Clock,
		fwdTimeout: o.ForwardTimeout,
		m:          newHubMetrics(o.Registry, o.Log),
		ctx:        ctx,
		cancel:     cancel,
		ring:       make([]*record, o.Buffer),
		conns:      map[*conn]struct{}{},
		all:        map[*conn]struct{}{},
		bySession:  map[string]map[*conn]struct{}{},
		fwd:        map[string]*forwardCall{},
	}
}

// Publish numbers e, keeps it for resume and sends it to every connection
// subscribed to its session (or to "*"). It never blocks on a connection: a
// connection whose send queue is full is closed instead. It returns the
// event's sequence number. Data that cannot be encoded as JSON is logged
// and replaced by null; the event is still published.
func (h *Hub) Publish(e Event) uint64 {
	if e.At.IsZero() {
		e.At = h.clock.Now()
	}
	body, err := encodeEventBody(e)
	if err != nil {
		h.log.Error("control: event data not encodable", slog.String(logKeyEvent, e.Name),
			slog.String(logKeySessionID, e.SessionID), slog.Any(logKeyError, err))
		e.Data = nil
		body, _ = encodeEventBody(e) // without data, an event always encodes
	}

	h.mu.Lock()
	h.seq++
	seq := h.seq
	frame := make([]byte, 0, len(body)+40)
	frame = append(frame, `{"type":"event","seq":`...)
	frame = strconv.AppendUint(frame, seq, 10)
	frame = append(frame, ',')
	frame = append(frame, body[1:]...)
	pm, err := websocket.NewPreparedMessage(websocket.TextMessage, frame)
	if err != nil { // only compression can fail, and it is off
		h.mu.Unlock()
		h.log.Error("control: prepare event frame", slog.Any(logKeyError, err))
		return seq
	}
	rec := &record{seq: seq, session: e.SessionID, msg: pm}
	h.ring[seq%uint64(len(h.ring))] = rec
	n := 0
	for c := range h.all {
		c.enqueue(outItem{rec: rec})
		n++
	}
	if e.SessionID != "" {
		for c := range h.bySession[e.SessionID] {
			if _, dup := h.all[c]; !dup {
				c.enqueue(outItem{rec: rec})
				n++
			}
		}
	}
	h.mu.Unlock()

	h.m.published.Inc()
	h.m.deliveries.Add(float64(n))
	return seq
}

// encodeEventBody is the JSON of e without its sequence number and type.
func encodeEventBody(e Event) ([]byte, error) {
	var data json.RawMessage
	if e.Data != nil {
		b, err := json.Marshal(e.Data)
		if err != nil {
			return nil, err
		}
		data = b
	}
	return json.Marshal(struct {
		SessionID string          `json:"session_id,omitempty"`
		Name      string          `json:"event"`
		At        time.Time       `json:"at"`
		Data      json.RawMessage `json:"data,omitempty"`
	}{e.SessionID, e.Name, e.At, data})
}

// LastSeq returns the sequence number of the latest event published (0
// before the first).
func (h *Hub) LastSeq() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

// oldestLocked is the oldest sequence number still in the ring.
func (h *Hub) oldestLocked() uint64 {
	n := uint64(len(h.ring))
	if h.seq <= n {
		return 1
	}
	return h.seq - n + 1
}

// subscribe adds sessions (or all) to c's subscriptions and, with since,
// queues the buffered events after since of the newly subscribed sessions,
// then the ack, all before any later live event: publishers wait on h.mu.
func (h *Hub) subscribe(c *conn, id string, sessions []string, since *uint64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return // closing
	}
	newAll := len(sessions) == 1 && sessions[0] == AllSessions
	wasAll := c.all
	// Events of sessions already subscribed were delivered live: a resume
	// replays only what this message adds.
	var had map[string]bool
	if since != nil && !wasAll {
		had = make(map[string]bool, len(c.sessions))
		for s := range c.sessions {
			had[s] = true
		}
	}
	if newAll {
		c.all = true
		h.all[c] = struct{}{}
	} else {
		for _, s := range sessions {
			c.sessions[s] = struct{}{}
			m := h.bySession[s]
			if m == nil {
				m = map[*conn]struct{}{}
				h.bySession[s] = m
			}
			m[c] = struct{}{}
		}
	}
	lastSeq := h.seq
	replayed := 0
	resync := ""
	if since != nil && !wasAll {
		s := *since
		switch {
		case s > h.seq:
			resync = ResyncUnknown
		case s+1 < h.oldestLocked():
			resync = ResyncTooOld
		default:
			want := make(map[string]bool, len(sessions))
			for _, x := range sessions {
				want[x] = true
			}
			match := func(r *record) bool {
				if newAll {
					return r.session == "" || !had[r.session]
				}
				return want[r.session] && !had[r.session]
			}
			var replay []*record
			size := uint64(len(h.ring))
			for q := s + 1; q <= h.seq; q++ {
				if r := h.ring[q%size]; r != nil && r.seq == q && match(r) {
					replay = append(replay, r)
				}
			}
			if len(replay) > 0 {
				c.enqueue(outItem{replay: replay})
				replayed = len(replay)
			}
		}
	}
	result := map[string]any{"sessions": c.subscriptionsLocked(), "last_seq": lastSeq, "replayed": replayed}
	if resync != "" {
		h.m.resyncs.Inc()
		msg := serverMessage{Type: TypeResync, ID: id, Reason: resync, LastSeq: &lastSeq}
		if !newAll {
			msg.Sessions = sessions
			if len(sessions) == 1 {
				msg.SessionID = sessions[0]
			}
		}
		c.sendJSON(msg)
		result["resync"] = resync
	}
	c.sendAck(id, result)
}

// unsubscribe removes sessions (or all) from c's subscriptions.
func (h *Hub) unsubscribe(c *conn, sessions []string) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(sessions) == 1 && sessions[0] == AllSessions {
		c.all = false
		delete(h.all, c)
		for s := range c.sessions {
			h.dropSessionLocked(c, s)
		}
		return c.subscriptionsLocked()
	}
	for _, s := range sessions {
		h.dropSessionLocked(c, s)
	}
	return c.subscriptionsLocked()
}

func (h *Hub) dropSessionLocked(c *conn, s string) {
	delete(c.sessions, s)
	if m := h.bySession[s]; m != nil {
		delete(m, c)
		if len(m) == 0 {
			delete(h.bySession, s)
		}
	}
}

// add registers a new connection; false when the hub is closed.
func (h *Hub) add(c *conn) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return false
	}
	h.conns[c] = struct{}{}
	h.wg.Add(1) // done when the connection's handler returns
	h.m.connections.WithLabelValues(c.p.Role).Inc()
	return true
}

// remove forgets a connection: its subscriptions and executor registration.
func (h *Hub) remove(c *conn) {
	h.mu.Lock()
	if _, ok := h.conns[c]; !ok {
		h.mu.Unlock()
		return
	}
	delete(h.conns, c)
	delete(h.all, c)
	for s := range c.sessions {
		h.dropSessionLocked(c, s)
	}
	kept := h.executors[:0]
	for _, x := range h.executors {
		if x.conn != c {
			kept = append(kept, x)
		}
	}
	clear(h.executors[len(kept):])
	h.executors = kept
	h.m.connections.WithLabelValues(c.p.Role).Dec()
	h.mu.Unlock()

	// Forwarded commands waiting on c learn at once that it is gone.
	h.fwdMu.Lock()
	for id, call := range h.fwd {
		if call.conn == c {
			call.done <- forwardReply{err: fmt.Errorf("executor disconnected: %w", ErrUnavailable)}
			delete(h.fwd, id)
		}
	}
	h.fwdMu.Unlock()
}

// registerExecutor makes c the executor of sessions (or all).
func (h *Hub) registerExecutor(c *conn, sessions []string) {
	reg := &executorReg{conn: c, sessions: map[string]bool{}}
	for _, s := range sessions {
		if s == AllSessions {
			reg.all = true
		} else {
			reg.sessions[s] = true
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.conns[c]; !ok {
		return
	}
	h.executors = append(h.executors, reg)
}

// executorFor returns the connection that executes commands for sessionID:
// the latest registered for that session, else the latest for "*".
func (h *Hub) executorFor(sessionID string) *conn {
	h.mu.Lock()
	defer h.mu.Unlock()
	for i := len(h.executors) - 1; i >= 0; i-- {
		if h.executors[i].sessions[sessionID] {
			return h.executors[i].conn
		}
	}
	for i := len(h.executors) - 1; i >= 0; i-- {
		if h.executors[i].all {
			return h.executors[i].conn
		}
	}
	return nil
}

// HasExecutor reports whether a remote executor is connected for sessionID.
func (h *Hub) HasExecutor(sessionID string) bool { return h.executorFor(sessionID) != nil }

// Forward sends c for sessionID to the connected executor (a playout
// process that sent an executor message) and waits for its answer. Errors:
// ErrUnavailable when no executor is connected or it disconnects before
// answering; ErrTimeout when it does not answer within the Hub's
// ForwardTimeout (the command may have run); the context's error; or the
// executor's own error as an *Error, which unwraps to evercast.ErrNotFound,
// ErrConflict, ErrInvalid or this package's sentinels by its code.
func (h *Hub) Forward(ctx context.Context, sessionID string, c Command) (map[string]any, error) {
	ex := h.executorFor(sessionID)
	if ex == nil {
		return nil, fmt.Errorf("forward %s for session %s: no executor connected: %w", c.Name, sessionID, ErrUnavailable)
	}
	h.fwdMu.Lock()
	h.fwdSeq++
	id := "fwd-" + strconv.FormatUint(h.fwdSeq, 10)
	call := &forwardCall{conn: ex, done: make(chan forwardReply, 1)}
	h.fwd[id] = call
	h.fwdMu.Unlock()
	defer func() {
		h.fwdMu.Lock()
		delete(h.fwd, id)
		h.fwdMu.Unlock()
	}()

	args := c.Args
	if !ex.sendJSON(serverMessage{Type: TypeCommand, ID: id, SessionID: sessionID, Command: c.Name, Args: &args}) {
		return nil, fmt.Errorf("forward %s for session %s: executor connection closing: %w", c.Name, sessionID, ErrUnavailable)
	}
	t := time.NewTimer(h.fwdTimeout)
	defer t.Stop()
	select {
	case r := <-call.done:
		if r.err != nil {
			return nil, fmt.Errorf("forward %s for session %s: %w", c.Name, sessionID, r.err)
		}
		return r.result, nil
	case <-t.C:
		return nil, fmt.Errorf("forward %s for session %s: no answer within %s: %w", c.Name, sessionID, h.fwdTimeout, ErrTimeout)
	case <-ctx.Done():
		return nil, fmt.Errorf("forward %s for session %s: %w", c.Name, sessionID, ctx.Err())
	}
}

// resolveForward delivers an executor's answer to the Forward waiting on it.
func (h *Hub) resolveForward(c *conn, m *clientMessage) bool {
	h.fwdMu.Lock()
	defer h.fwdMu.Unlock()
	call := h.fwd[m.ID]
	if call == nil || call.conn != c {
		return false
	}
	delete(h.fwd, m.ID)
	var r forwardReply
	if m.Type == TypeError {
		r.err = &Error{Code: m.Code, Message: m.Message}
	} else if len(m.Result) > 0 {
		if err := json.Unmarshal(m.Result, &r.result); err != nil {
			r.err = fmt.Errorf("executor result: %w", err)
		}
	}
	call.done <- r
	return true
}

// Close ends every connection (close code 1001) and refuses new ones, then
// waits for the connections' goroutines and the commands in flight.
// Publish keeps working (with no one to deliver to).
func (h *Hub) Close() error {
	h.mu.Lock()
	h.closed = true
	conns := make([]*conn, 0, len(h.conns))
	for c := range h.conns {
		conns = append(conns, c)
	}
	h.mu.Unlock()
	for _, c := range conns {
		c.kick(websocket.CloseGoingAway, "server shutting down", reasonShutdown)
	}
	h.cancel()
	h.wg.Wait()
	return nil
}

// Disconnect reasons (the reason label of the disconnects metric).
const (
	reasonClientClosed = "client_closed"
	reasonSlowConsumer = "slow_consumer"
	reasonTooLarge     = "too_large"
	reasonPongTimeout  = "pong_timeout"
	reasonWriteError   = "write_error"
	reasonReadError    = "read_error"
	reasonShutdown     = "shutdown"
)

// hubMetrics are the Hub's Prometheus collectors.
type hubMetrics struct {
	connections *prometheus.GaugeVec
	published   prometheus.Counter
	deliveries  prometheus.Counter
	disconnects *prometheus.CounterVec
	received    *prometheus.CounterVec
	errors      *prometheus.CounterVec
	resyncs     prometheus.Counter
	commands    *prometheus.HistogramVec
}

func newHubMetrics(reg prometheus.Registerer, log *slog.Logger) *hubMetrics {
	const ns, sub = "evercast", "control"
	m := &hubMetrics{
		connections: prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: ns, Subsystem: sub,
			Name: "connections", Help: "Open control connections, by role."}, []string{"role"}),
		published: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "events_published_total", Help: "Events published to the control hub."}),
		deliveries: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "event_deliveries_total", Help: "Events queued to subscribed connections."}),
		disconnects: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "disconnects_total", Help: "Control connections ended, by reason."}, []string{"reason"}),
		received: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "messages_received_total", Help: "Client messages received, by type."}, []string{"type"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "errors_sent_total", Help: "Error messages sent to clients, by code."}, []string{"code"}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{Namespace: ns, Subsystem: sub,
			Name: "resyncs_total", Help: "Resume points no longer in the buffer."}),
		commands: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: ns, Subsystem: sub,
			Name: "command_duration_seconds", Help: "Time to execute a command, by command and outcome code.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"command", "code"}),
	}
	if reg != nil {
		m.connections = register(reg, log, m.connections)
		m.published = register(reg, log, m.published)
		m.deliveries = register(reg, log, m.deliveries)
		m.disconnects = register(reg, log, m.disconnects)
		m.received = register(reg, log, m.received)
		m.errors = register(reg, log, m.errors)
		m.resyncs = register(reg, log, m.resyncs)
		m.commands = register(reg, log, m.commands)
	}
	return m
}

// register registers c, or returns the equal collector already registered
// (two hubs may share a registry). Other failures are logged and c is used
// unregistered.
func register[C prometheus.Collector](reg prometheus.Registerer, log *slog.Logger, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if prev, ok := are.ExistingCollector.(C); ok {
				return prev
			}
		}
		log.Error("control: register metrics", slog.Any(logKeyError, err))
	}
	return c
}

// messageTypeLabel bounds the type label to the known message types.
func messageTypeLabel(t string) string {
	switch t {
	case TypeSubscribe, TypeUnsubscribe, TypeCommand, TypeComments, TypePublish, TypeExecutor,
		TypePing, TypeAck, TypeError:
		return t
	}
	return "other"
}
