package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
	"golang.org/x/time/rate"

	"github.com/evercast/evercast"
)

// Authenticator resolves a bearer token to its principal. An unknown,
// revoked or malformed token is an error wrapping evercast.ErrNotFound or
// ErrUnauthorized (HTTP 401); any other error means authentication is
// unavailable (HTTP 503).
type Authenticator interface {
	Authenticate(ctx context.Context, token string) (Principal, error)
}

// Sessions says which merchant owns a session. An unknown session is an
// error wrapping evercast.ErrNotFound.
type Sessions interface {
	SessionMerchant(ctx context.Context, sessionID string) (merchantID string, err error)
}

// Commander executes a command for a session on behalf of p (the
// orchestrator, or playout through Hub.Forward). The result is sent back in
// the ack. Errors wrapping evercast.ErrNotFound, evercast.ErrConflict and
// evercast.ErrInvalid (or an *Error) reach the client as not_found,
// conflict and bad_request (or the *Error's code); others as internal.
type Commander interface {
	Command(ctx context.Context, p Principal, sessionID string, c Command) (result map[string]any, err error)
}

// CommentSink takes viewer comments pushed over the control channel (the
// interaction router). It returns how many it accepted (duplicates, for
// example, are not); errors map to codes as the Commander's do.
type CommentSink interface {
	Comments(ctx context.Context, p Principal, sessionID string, cs []Comment) (accepted int, err error)
}

// Defaults of HandlerOptions.
const (
	DefaultMaxMessage     = 64 << 10
	DefaultWriteTimeout   = 10 * time.Second
	DefaultPongWait       = 30 * time.Second
	DefaultSendQueue      = 1024
	DefaultCommandRate    = 50
	DefaultCommandBurst   = 100
	DefaultCommentRate    = 1000
	DefaultCommentBurst   = 2000
	DefaultCommandTimeout = 30 * time.Second
)

// Rates of published events from a playout connection.
const (
	publishRate  = 2000
	publishBurst = 4000
)

// closeGrace is how long a connection being closed may take to send its
// close frame before its socket is closed under it.
const closeGrace = time.Second

// HandlerOptions configure the connections one Handler serves. Auth is
// required; a nil Commands or Comments answers those messages with
// unavailable; a nil Sessions refuses every session to merchants and skips
// the existence check for operators.
type HandlerOptions struct {
	Auth     Authenticator
	Sessions Sessions
	Commands Commander
	Comments CommentSink
	// AllowedOrigins lists browser origins ("https://console.example.com")
	// allowed besides the server's own host; "*" allows any. Requests
	// without an Origin header (non-browser clients) are always allowed.
	AllowedOrigins []string
	// MaxMessage is the largest frame read, in bytes; a larger one closes
	// the connection with 1009 (DefaultMaxMessage).
	MaxMessage int64
	// WriteTimeout bounds every write (DefaultWriteTimeout).
	WriteTimeout time.Duration
	// PongWait is how long a silent peer lives; the server pings every
	// PongWait*9/10 (DefaultPongWait).
	PongWait time.Duration
	// SendQueue is how many messages may wait for a slow connection before
	// it is closed (DefaultSendQueue).
	SendQueue int
	// CommandRate and CommandBurst limit commands per connection (token
	// bucket; DefaultCommandRate per second, DefaultCommandBurst).
	CommandRate  float64
	CommandBurst int
	// CommentRate and CommentBurst limit viewer comments per connection,
	// counted per comment (DefaultCommentRate per second,
	// DefaultCommentBurst).
	CommentRate  float64
	CommentBurst int
	// CommandTimeout bounds one command or comment batch
	// (DefaultCommandTimeout). Commands run to completion even when their
	// connection drops, so that a stop sent just before closing a console
	// still happens.
	CommandTimeout time.Duration
}

// handler serves the control protocol for one Hub and options.
type handler struct {
	hub      *Hub
	o        HandlerOptions
	origins  map[string]bool
	anyOrig  bool
	upgrader websocket.Upgrader
}

// Handler returns an http.Handler that upgrades a request to a control
// connection and serves it until it ends. Mount it under /v1/ws/control.
func (h *Hub) Handler(o HandlerOptions) http.Handler {
	if o.MaxMessage <= 0 {
		o.MaxMessage = DefaultMaxMessage
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.PongWait <= 0 {
		o.PongWait = DefaultPongWait
	}
	if o.SendQueue <= 0 {
		o.SendQueue = DefaultSendQueue
	}
	if o.CommandRate <= 0 {
		o.CommandRate = DefaultCommandRate
	}
	if o.CommandBurst <= 0 {
		o.CommandBurst = DefaultCommandBurst
	}
	if o.CommentRate <= 0 {
		o.CommentRate = DefaultCommentRate
	}
	if o.CommentBurst <= 0 {
		o.CommentBurst = DefaultCommentBurst
	}
	if o.CommandTimeout <= 0 {
		o.CommandTimeout = DefaultCommandTimeout
	}
	hd := &handler{hub: h, o: o, origins: map[string]bool{}}
	for _, s := range o.AllowedOrigins {
		if s == "*" {
			hd.anyOrig = true
			continue
		}
		hd.origins[strings.ToLower(strings.TrimRight(s, "/"))] = true
	}
	hd.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		ReadBufferSize:   4096,
		WriteBufferSize:  4096,
		WriteBufferPool:  &sync.Pool{},
		Subprotocols:     []string{Subprotocol},
		// ServeHTTP has checked the origin already, and answered with JSON.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	return hd
}

// httpError is a refusal before the upgrade.
type httpError struct {
	status int
	code   string
	msg    string
}

func (hd *handler) refuse(w http.ResponseWriter, e httpError) {
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="evercast"`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(e.status)
	b, _ := json.Marshal(map[string]any{"error": map[string]string{"code": e.code, "message": e.msg}})
	_, _ = w.Write(append(b, '\n'))
}

func (hd *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if hd.o.Auth == nil {
		hd.hub.log.ErrorContext(r.Context(), "control: no Authenticator configured")
		hd.refuse(w, httpError{http.StatusServiceUnavailable, CodeUnavailable, "authentication unavailable"})
		return
	}
	if !hd.originAllowed(r) {
		hd.refuse(w, httpError{http.StatusForbidden, CodeForbidden, "origin not allowed"})
		return
	}
	token, offered := bearerToken(r)
	if token == "" {
		hd.refuse(w, httpError{http.StatusUnauthorized, CodeUnauthorized,
			"send Authorization: Bearer <token>, or the subprotocols " + Subprotocol + " and " + BearerPrefix + "<token>"})
		return
	}
	if e := checkSubprotocols(offered); e != nil {
		hd.refuse(w, *e)
		return
	}
	p, err := hd.o.Auth.Authenticate(r.Context(), token)
	switch {
	case errors.Is(err, evercast.ErrNotFound), errors.Is(err, ErrUnauthorized):
		hd.refuse(w, httpError{http.StatusUnauthorized, CodeUnauthorized, "the token is not valid"})
		return
	case err != nil:
		hd.hub.log.ErrorContext(r.Context(), "control: authenticate", slog.Any(logKeyError, err))
		hd.refuse(w, httpError{http.StatusServiceUnavailable, CodeUnavailable, "authentication unavailable"})
		return
	}
	if !websocket.IsWebSocketUpgrade(r) {
		hd.refuse(w, httpError{http.StatusBadRequest, CodeBadRequest, "websocket upgrade required"})
		return
	}
	if !validPrincipal(p) {
		hd.hub.log.ErrorContext(r.Context(), "control: authenticator returned an invalid principal",
			slog.String(logKeyRole, p.Role))
		hd.refuse(w, httpError{http.StatusInternalServerError, CodeInternal, "internal error"})
		return
	}
	ws, err := hd.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered with an HTTP error
	}
	c := newConn(hd, ws, p, r.RemoteAddr)
	if !hd.hub.add(c) {
		_ = ws.WriteControl(websocket.CloseMessage,
			websocket.FormatCloseMessage(websocket.CloseGoingAway, "server shutting down"), time.Now().Add(time.Second))
		_ = ws.Close()
		return
	}
	defer hd.hub.wg.Done() // added by add
	c.serve()
}

// originAllowed accepts requests without Origin, from the server's own
// host, and from the allowed origins.
func (hd *handler) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" || hd.anyOrig {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return hd.origins[strings.ToLower(u.Scheme+"://"+u.Host)]
}

// bearerToken finds the token in the Authorization header or the
// subprotocol list, and returns the subprotocols offered.
func bearerToken(r *http.Request) (token string, offered []string) {
	offered = websocket.Subprotocols(r)
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, t, ok := strings.Cut(h, " ")
		if ok && strings.EqualFold(scheme, "Bearer") {
			token = strings.TrimSpace(t)
		}
	}
	if token == "" {
		for _, p := range offered {
			if t, ok := strings.CutPrefix(p, BearerPrefix); ok {
				token = t
				break
			}
		}
	}
	if len(token) > 512 || !printable(token) {
		token = ""
	}
	return token, offered
}

// checkSubprotocols refuses versions this server does not speak, and a
// token in the subprotocols without the version (a browser would then fail
// the handshake, since the server could select no subprotocol).
func checkSubprotocols(offered []string) *httpError {
	if len(offered) == 0 {
		return nil
	}
	v1, family, bearer := false, false, false
	for _, p := range offered {
		switch {
		case p == Subprotocol:
			v1 = true
		case strings.HasPrefix(p, subprotocolFamily):
			family = true
		case strings.HasPrefix(p, BearerPrefix):
			bearer = true
		}
	}
	if v1 {
		return nil
	}
	if family || bearer {
		return &httpError{http.StatusBadRequest, CodeBadRequest, "this server speaks the subprotocol " + Subprotocol}
	}
	return nil
}

func validPrincipal(p Principal) bool {
	switch p.Role {
	case RoleOperator, RolePlayout:
		return true
	case RoleMerchant:
		return p.MerchantID != ""
	}
	return false
}

// conn is one control connection.
type conn struct {
	hub *Hub
	hd  *handler
	ws  *websocket.Conn
	p   Principal
	log *slog.Logger

	send       chan outItem
	closing    chan struct{}
	closeOnce  sync.Once
	closeCode  int
	closeText  string
	closeWhy   string // metric reason
	writerDone chan struct{}

	// Guarded by hub.mu.
	all      bool
	sessions map[string]struct{}

	ownMu sync.Mutex
	owned map[string]bool // sessions this principal may use, as checked

	jobs       chan func()
	cmdLim     *rate.Limiter
	commentLim *rate.Limiter
	pubLim     *rate.Limiter
}

// outItem is one queued message: an event, a replay of events, or any
// other message already encoded.
type outItem struct {
	rec    *record
	replay []*record
	raw    []byte
}

func newConn(hd *handler, ws *websocket.Conn, p Principal, remote string) *conn {
	return &conn{
		hub: hd.hub,
		hd:  hd,
		ws:  ws,
		p:   p,
		log: hd.hub.log.With(slog.String(logKeyRole, p.Role), slog.String(logKeyPrincipal, principalLabel(p)),
			slog.String(logKeyRemote, remote)),
		send:       make(chan outItem, hd.o.SendQueue),
		closing:    make(chan struct{}),
		writerDone: make(chan struct{}),
		sessions:   map[string]struct{}{},
		owned:      map[string]bool{},
		jobs:       make(chan func(), hd.o.CommandBurst+8),
		cmdLim:     rate.NewLimiter(rate.Limit(hd.o.CommandRate), hd.o.CommandBurst),
		commentLim: rate.NewLimiter(rate.Limit(hd.o.CommentRate), hd.o.CommentBurst),
		pubLim:     rate.NewLimiter(publishRate, publishBurst),
	}
}

func principalLabel(p Principal) string {
	if p.Role == RoleMerchant {
		return p.MerchantID
	}
	if p.Name != "" {
		return p.Name
	}
	return p.Role
}

// subscriptionsLocked lists c's subscriptions; hub.mu must be held.
func (c *conn) subscriptionsLocked() []string {
	if c.all {
		return []string{AllSessions}
	}
	out := make([]string, 0, len(c.sessions))
	for s := range c.sessions {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// enqueue queues it for the writer without blocking. A full queue means the
// peer does not keep up: the connection is closed (1013) rather than
// allowed to hold back the publisher.
func (c *conn) enqueue(it outItem) bool {
	select {
	case <-c.closing:
		return false
	default:
	}
	select {
	case c.send <- it:
		return true
	default:
		c.kick(websocket.CloseTryAgainLater, "slow consumer: send queue full", reasonSlowConsumer)
		return false
	}
}

// sendJSON queues any message but an event.
func (c *conn) sendJSON(m serverMessage) bool {
	b, err := json.Marshal(m)
	if err != nil {
		c.log.Error("control: encode message", slog.Any(logKeyError, err))
		return false
	}
	return c.enqueue(outItem{raw: b})
}

func (c *conn) sendAck(id string, result map[string]any) {
	var raw json.RawMessage
	if result != nil {
		b, err := json.Marshal(result)
		if err != nil {
			c.log.Error("control: encode result", slog.Any(logKeyError, err))
			c.sendError(id, &Error{Code: CodeInternal, Message: "internal error"})
			return
		}
		raw = b
	}
	c.sendJSON(serverMessage{Type: TypeAck, ID: id, Result: raw})
}

func (c *conn) sendError(id string, e *Error) {
	c.hub.m.errors.WithLabelValues(e.Code).Inc()
	c.sendJSON(serverMessage{Type: TypeError, ID: id, Code: e.Code, Message: e.Message,
		RetryAfterMS: e.RetryAfter.Milliseconds()})
}

// sendErr answers id with err, logging internal errors in full.
func (c *conn) sendErr(id string, err error) {
	e, internal := classify(err)
	if internal {
		c.log.Error("control: request failed", slog.Any(logKeyError, err))
	}
	c.sendError(id, e)
}

// kick closes the connection with code and text. The writer sends the close
// frame; if it cannot within closeGrace (a peer that does not read), the
// socket is closed under it.
func (c *conn) kick(code int, text, why string) {
	c.closeOnce.Do(func() {
		c.closeCode, c.closeText, c.closeWhy = code, text, why
		close(c.closing)
		// The first kick comes while the connection's handler still
		// counts in hub.wg (serve kicks before it returns), so Add is safe.
		c.hub.wg.Add(1)
		go func() {
			defer c.hub.wg.Done()
			t := time.NewTimer(closeGrace)
			defer t.Stop()
			select {
			case <-c.writerDone:
			case <-t.C:
			}
			_ = c.ws.Close()
		}()
	})
}

// serve runs the connection: the writer in its own goroutine, the command
// worker in another, the reader here. It returns when the connection ends.
func (c *conn) serve() {
	go c.writeLoop()
	c.hub.wg.Add(1)
	go c.work()

	c.hub.mu.Lock()
	last := c.hub.seq
	c.hub.mu.Unlock()
	now := c.hub.clock.Now()
	c.sendJSON(serverMessage{Type: TypeHello, V: Version, Protocol: Subprotocol, Principal: &c.p,
		ServerTime: &now, LastSeq: &last, MaxMessage: c.hd.o.MaxMessage})
	c.log.Debug("control: connected")

	why := c.readLoop()
	c.kick(websocket.CloseNormalClosure, "", why)
	c.hub.remove(c)
	<-c.writerDone
	_ = c.ws.Close()
	close(c.jobs) // the worker finishes what was accepted, then ends
	c.hub.m.disconnects.WithLabelValues(c.closeWhy).Inc()
	c.log.Debug("control: disconnected", slog.String(logKeyReason, c.closeWhy))
}

// readLoop reads messages until the connection fails, returning why.
func (c *conn) readLoop() string {
	pongWait := c.hd.o.PongWait
	c.ws.SetReadLimit(c.hd.o.MaxMessage)
	_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(time.Now().Add(pongWait))
	})
	for {
		mt, data, err := c.ws.ReadMessage()
		if err != nil {
			return c.readFailure(err)
		}
		_ = c.ws.SetReadDeadline(time.Now().Add(pongWait))
		if mt != websocket.TextMessage {
			c.sendError("", errorf(CodeBadRequest, "messages are JSON text frames"))
			continue
		}
		c.handle(data)
	}
}

func (c *conn) readFailure(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, websocket.ErrReadLimit):
		// gorilla/websocket has sent the close frame 1009 already.
		c.kick(websocket.CloseMessageTooBig, "message too large", reasonTooLarge)
		return reasonTooLarge
	case websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived):
		return reasonClientClosed
	case errors.As(err, &ne) && ne.Timeout():
		c.kick(websocket.ClosePolicyViolation, "no pong", reasonPongTimeout)
		return reasonPongTimeout
	}
	select {
	case <-c.closing:
		return c.closeWhy
	default:
	}
	return reasonReadError
}

// writeLoop is the connection's only writer of data frames: queued
// messages, pings, and the close frame.
func (c *conn) writeLoop() {
	defer close(c.writerDone)
	wt := c.hd.o.WriteTimeout
	ping := time.NewTicker(c.hd.o.PongWait * 9 / 10)
	defer ping.Stop()
	for {
		select {
		case <-c.closing:
			c.writeClose()
			return
		default:
		}
		select {
		case <-c.closing:
			c.writeClose()
			return
		case it := <-c.send:
			if err := c.write(it, wt); err != nil {
				c.kick(websocket.CloseAbnormalClosure, "", reasonWriteError)
				return
			}
		case <-ping.C:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(wt)); err != nil {
				c.kick(websocket.CloseAbnormalClosure, "", reasonWriteError)
				return
			}
		}
	}
}

func (c *conn) write(it outItem, wt time.Duration) error {
	switch {
	case it.rec != nil:
		_ = c.ws.SetWriteDeadline(time.Now().Add(wt))
		return c.ws.WritePreparedMessage(it.rec.msg)
	case it.replay != nil:
		for _, r := range it.replay {
			select {
			case <-c.closing:
				return nil
			default:
			}
			_ = c.ws.SetWriteDeadline(time.Now().Add(wt))
			if err := c.ws.WritePreparedMessage(r.msg); err != nil {
				return err
			}
		}
		return nil
	}
	_ = c.ws.SetWriteDeadline(time.Now().Add(wt))
	return c.ws.WriteMessage(websocket.TextMessage, it.raw)
}

func (c *conn) writeClose() {
	code := c.closeCode
	if code == websocket.CloseAbnormalClosure || code == 0 || c.closeWhy == reasonTooLarge || c.closeWhy == reasonClientClosed {
		return // nothing can be sent, or gorilla/websocket has sent it
	}
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, c.closeText),
		time.Now().Add(closeGrace))
}

// work runs queued commands and comment batches in order, off the reader,
// so that a slow Commander never stops the connection from reading pongs.
func (c *conn) work() {
	defer c.hub.wg.Done()
	for job := range c.jobs {
		job()
	}
}

// handle answers one client message.
func (c *conn) handle(data []byte) {
	m, perr, id := decodeClient(data)
	if perr != nil {
		c.hub.m.received.WithLabelValues("invalid").Inc()
		c.sendError(id, perr)
		return
	}
	c.hub.m.received.WithLabelValues(messageTypeLabel(m.Type)).Inc()
	switch m.Type {
	case TypeSubscribe:
		c.subscribe(m)
	case TypeUnsubscribe:
		c.sendAck(m.ID, map[string]any{"sessions": c.hub.unsubscribe(c, m.Sessions)})
	case TypeCommand:
		c.command(m)
	case TypeComments:
		c.comments(m)
	case TypePublish:
		c.publish(m)
	case TypeExecutor:
		if c.p.Role != RolePlayout {
			c.sendError(m.ID, errorf(CodeForbidden, "only playout connections execute commands"))
			return
		}
		c.hub.registerExecutor(c, m.Sessions)
		c.sendAck(m.ID, map[string]any{"sessions": m.Sessions})
	case TypePing:
		now := c.hub.clock.Now()
		c.sendJSON(serverMessage{Type: TypePong, ID: m.ID, ServerTime: &now})
	case TypeAck, TypeError:
		if c.p.Role != RolePlayout || !c.hub.resolveForward(c, m) {
			c.sendError(m.ID, errorf(CodeBadRequest, "no forwarded command %q is waiting for an answer", m.ID))
		}
	}
}

// authorize checks that the principal may use sessionID: a merchant only
// its own merchant's sessions. Positive answers are remembered.
func (c *conn) authorize(ctx context.Context, sessionID string) error {
	c.ownMu.Lock()
	ok := c.owned[sessionID]
	c.ownMu.Unlock()
	if ok {
		return nil
	}
	sessions := c.hd.o.Sessions
	if sessions == nil {
		if c.p.Role == RoleMerchant {
			return errorf(CodeForbidden, "session %s is not yours", sessionID)
		}
		return nil
	}
	mid, err := sessions.SessionMerchant(ctx, sessionID)
	switch {
	case errors.Is(err, evercast.ErrNotFound):
		return errorf(CodeNotFound, "session %s not found", sessionID)
	case err != nil:
		return fmt.Errorf("look up session %s: %w", sessionID, err)
	case c.p.Role == RoleMerchant && mid != c.p.MerchantID:
		return errorf(CodeForbidden, "session %s is not yours", sessionID)
	}
	c.ownMu.Lock()
	c.owned[sessionID] = true
	c.ownMu.Unlock()
	return nil
}

func (c *conn) subscribe(m *clientMessage) {
	if m.Sessions[0] == AllSessions {
		if c.p.Role == RoleMerchant {
			c.sendError(m.ID, errorf(CodeForbidden, `only operators subscribe to "*"; name your sessions`))
			return
		}
	} else {
		ctx, cancel := context.WithTimeout(c.hub.ctx, c.hd.o.CommandTimeout)
		defer cancel()
		for _, s := range m.Sessions {
			if err := c.authorize(ctx, s); err != nil {
				c.sendErr(m.ID, err) // nothing of this message is subscribed
				return
			}
		}
	}
	c.hub.subscribe(c, m.ID, m.Sessions, m.Since)
}

// limit takes n tokens from lim, or answers id with rate_limited.
func (c *conn) limit(lim *rate.Limiter, n int, id, what string) bool {
	now := time.Now()
	r := lim.ReserveN(now, n)
	if !r.OK() {
		c.sendError(id, errorf(CodeRateLimited, "more %s than the connection's burst of %d", what, lim.Burst()))
		return false
	}
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		e := errorf(CodeRateLimited, "too many %s; retry later", what)
		e.RetryAfter = d
		c.sendError(id, e)
		return false
	}
	return true
}

// queue hands job to the worker, or answers id with rate_limited when the
// worker is too far behind.
func (c *conn) queue(id string, job func()) {
	select {
	case c.jobs <- job:
	default:
		c.sendError(id, errorf(CodeRateLimited, "too many requests in flight"))
	}
}

func (c *conn) command(m *clientMessage) {
	if c.p.Role == RolePlayout {
		c.sendError(m.ID, errorf(CodeForbidden, "playout connections do not send commands"))
		return
	}
	if !c.limit(c.cmdLim, 1, m.ID, "commands") {
		return
	}
	cmd := Command{Name: m.Command, Args: *m.Args}
	sessionID, id := m.SessionID, m.ID
	c.queue(id, func() { c.runCommand(id, sessionID, cmd) })
}

func (c *conn) runCommand(id, sessionID string, cmd Command) {
	ctx, cancel := context.WithTimeout(c.hub.ctx, c.hd.o.CommandTimeout)
	defer cancel()
	if err := c.authorize(ctx, sessionID); err != nil {
		c.sendErr(id, err)
		return
	}
	if c.hd.o.Commands == nil {
		c.sendError(id, errorf(CodeUnavailable, "commands are not available on this server"))
		return
	}
	start := time.Now()
	result, err := c.hd.o.Commands.Command(ctx, c.p, sessionID, cmd)
	elapsed := time.Since(start)
	data := CommandData{Command: cmd.Name, Args: cmd.Args, By: c.p, OK: err == nil, Result: result,
		DurationMS: float64(elapsed.Microseconds()) / 1000}
	code := "ok"
	if err != nil {
		e, internal := classify(err)
		if internal {
			c.log.Error("control: command failed", slog.String(logKeySessionID, sessionID),
				slog.String(logKeyCommand, cmd.Name), slog.Any(logKeyError, err))
		}
		code, data.Code, data.Message = e.Code, e.Code, e.Message
		c.sendError(id, e)
	} else {
		c.sendAck(id, result)
	}
	c.hub.m.commands.WithLabelValues(cmd.Name, code).Observe(elapsed.Seconds())
	c.hub.Publish(Event{SessionID: sessionID, Name: EventCommand, Data: data})
}

func (c *conn) comments(m *clientMessage) {
	if c.p.Role == RolePlayout {
		c.sendError(m.ID, errorf(CodeForbidden, "playout connections do not send comments"))
		return
	}
	if !c.limit(c.commentLim, len(m.Comments), m.ID, "comments") {
		return
	}
	now := c.hub.clock.Now()
	for i := range m.Comments {
		if m.Comments[i].At.IsZero() {
			m.Comments[i].At = now
		}
	}
	id, sessionID, cs := m.ID, m.SessionID, m.Comments
	c.queue(id, func() {
		ctx, cancel := context.WithTimeout(c.hub.ctx, c.hd.o.CommandTimeout)
		defer cancel()
		if err := c.authorize(ctx, sessionID); err != nil {
			c.sendErr(id, err)
			return
		}
		if c.hd.o.Comments == nil {
			c.sendError(id, errorf(CodeUnavailable, "comment ingest is not available on this server"))
			return
		}
		n, err := c.hd.o.Comments.Comments(ctx, c.p, sessionID, cs)
		if err != nil {
			c.sendErr(id, err)
			return
		}
		c.sendAck(id, map[string]any{"accepted": n, "received": len(cs)})
	})
}

func (c *conn) publish(m *clientMessage) {
	if c.p.Role != RolePlayout {
		c.sendError(m.ID, errorf(CodeForbidden, "only playout connections publish events"))
		return
	}
	if !playoutEvents[m.Event.Name] {
		c.sendError(m.ID, errorf(CodeForbidden, "playout does not publish %s events", m.Event.Name))
		return
	}
	if !c.limit(c.pubLim, 1, m.ID, "events") {
		return
	}
	e := Event{SessionID: m.Event.SessionID, Name: m.Event.Name, At: m.Event.At}
	if len(m.Event.Data) > 0 {
		e.Data = m.Event.Data
	}
	seq := c.hub.Publish(e)
	c.sendAck(m.ID, map[string]any{"seq": seq})
}
