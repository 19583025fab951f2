package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// EventResync is the name of the event a Client synthesises (with Seq 0)
// when the server answers a resume with resync: events were lost, reload
// the state of the sessions named (all when SessionID is empty) from the
// REST API. Its data is ResyncData.
const EventResync = "resync"

// ResyncData is the data of a synthesised resync event.
type ResyncData struct {
	Reason   string   `json:"reason"`
	Sessions []string `json:"sessions,omitempty"`
	LastSeq  uint64   `json:"last_seq"`
}

// Defaults of ClientOptions.
const (
	DefaultEventBuffer = 1024
	DefaultMinBackoff  = 100 * time.Millisecond
	DefaultMaxBackoff  = 5 * time.Second
	// DefaultClientPongWait is how long a Client waits for any frame
	// (events, the server's pings) before it considers the connection dead.
	DefaultClientPongWait = 60 * time.Second
)

// ClientOptions configure a Client. Every field is optional.
type ClientOptions struct {
	// Reconnect makes the Client reconnect with backoff when the connection
	// drops and resume from the last event it delivered. Without it the
	// Client ends with the connection, and Events is closed.
	Reconnect bool
	// TokenInSubprotocol sends the token as the subprotocol "bearer.<token>"
	// instead of an Authorization header, as a browser must.
	TokenInSubprotocol bool
	// Header is sent with the upgrade request (an Origin, for example).
	Header http.Header
	// Dialer dials; nil means websocket.DefaultDialer's settings.
	Dialer *websocket.Dialer
	Log    *slog.Logger
	// EventBuffer is the capacity of the Events channel
	// (DefaultEventBuffer). When it is full the Client stops reading; the
	// server then drops the connection as a slow consumer, and with
	// Reconnect the Client resumes where it stopped. Answers to requests
	// arrive behind events on the same connection, so keep reading Events
	// (in a goroutine of its own) while making requests.
	EventBuffer int
	// MinBackoff and MaxBackoff bound the wait between reconnection
	// attempts (DefaultMinBackoff, DefaultMaxBackoff).
	MinBackoff, MaxBackoff time.Duration
	// WriteTimeout bounds every write (DefaultWriteTimeout).
	WriteTimeout time.Duration
	// PongWait is how long the connection may stay silent
	// (DefaultClientPongWait); keep it above the server's ping interval.
	PongWait time.Duration
}

// CommandFunc executes a forwarded command (see Client.ServeCommands).
// Its errors reach the forwarding Hub with the codes the Commander's would.
type CommandFunc func(ctx context.Context, sessionID string, c Command) (map[string]any, error)

// Client is a control connection from the client side. It is safe for
// concurrent use.
type Client struct {
	url    string
	token  string
	o      ClientOptions
	log    *slog.Logger
	events chan Event
	execQ  chan execJob

	ctx    context.Context // the Client's life
	cancel context.CancelFunc
	wg     sync.WaitGroup
	nextID uint64 // guarded by mu

	mu         sync.Mutex
	cur        *clientConn   // nil while disconnected
	ready      chan struct{} // closed when cur is set
	ended      bool          // no connection will come again
	hello      Hello
	all        bool
	subs       map[string]bool
	cursor     uint64 // the last event delivered, or the last_seq of a subscribe
	haveCursor bool
	exec       CommandFunc
	closeOnce  sync.Once
}

type execJob struct {
	cc        *clientConn
	id        string
	sessionID string
	cmd       Command
}

// clientConn is one websocket connection of a Client.
type clientConn struct {
	ws   *websocket.Conn
	send chan []byte
	done chan struct{} // closed when the reader ends

	mu      sync.Mutex
	pending map[string]chan *serverMessage
}

// Dial connects to the control endpoint at url (ws://, wss://, or http://,
// https:// which are mapped to them) with token, and returns once the
// server's hello has arrived. A refused token is an error wrapping
// ErrUnauthorized; a refused origin ErrForbidden.
func Dial(ctx context.Context, url, token string, opts ClientOptions) (*Client, error) {
	if opts.EventBuffer <= 0 {
		opts.EventBuffer = DefaultEventBuffer
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultMaxBackoff, opts.MinBackoff)
	}
	if opts.WriteTimeout <= 0 {
		opts.WriteTimeout = DefaultWriteTimeout
	}
	if opts.PongWait <= 0 {
		opts.PongWait = DefaultClientPongWait
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	switch {
	case strings.HasPrefix(url, "http://"):
		url = "ws://" + strings.TrimPrefix(url, "http://")
	case strings.HasPrefix(url, "https://"):
		url = "wss://" + strings.TrimPrefix(url, "https://")
	}
	c := &Client{
		url:    url,
		token:  token,
		o:      opts,
		log:    opts.Log,
		events: make(chan Event, opts.EventBuffer),
		execQ:  make(chan execJob, 64),
		ready:  make(chan struct{}),
		subs:   map[string]bool{},
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	cc, hello, err := c.connect(ctx)
	if err != nil {
		c.cancel()
		return nil, err
	}
	c.hello = hello
	c.setConn(cc)
	c.wg.Add(1)
	go c.run(cc)
	return c, nil
}

// Hello returns the hello of the current (or last) connection.
func (c *Client) Hello() Hello {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hello
}

// Events delivers the events of the subscribed sessions in sequence order,
// each once. It is closed when the Client is closed or, without Reconnect,
// when the connection ends.
func (c *Client) Events() <-chan Event { return c.events }

// LastSeq is the resume point: the sequence number of the last event
// delivered (or the server's last when a subscription began).
func (c *Client) LastSeq() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cursor
}

// Subscribe adds sessions (or AllSessions, for operators) to the
// subscriptions. With since > 0 the server first replays the buffered
// events after since; since 0 means from now on (or, once the Client has
// delivered events, from its resume point). A resume point too old for the
// server's buffer yields an EventResync event. Errors are *Error values:
// forbidden for another merchant's session, not_found for an unknown one.
func (c *Client) Subscribe(ctx context.Context, sessions []string, since uint64) error {
	m := clientMessage{Type: TypeSubscribe, Sessions: sessions}
	c.mu.Lock()
	switch {
	case since > 0:
		m.Since = &since
	case c.haveCursor:
		s := c.cursor
		m.Since = &s
	}
	c.mu.Unlock()
	r, err := c.request(ctx, m)
	if err != nil {
		return err
	}
	var res struct {
		LastSeq uint64 `json:"last_seq"`
	}
	_ = json.Unmarshal(r.Result, &res)
	c.mu.Lock()
	for _, s := range sessions {
		if s == AllSessions {
			c.all = true
		} else {
			c.subs[s] = true
		}
	}
	c.cursor = max(c.cursor, res.LastSeq)
	c.haveCursor = true
	c.mu.Unlock()
	return nil
}

// Unsubscribe removes sessions (or AllSessions: every subscription).
func (c *Client) Unsubscribe(ctx context.Context, sessions []string) error {
	if _, err := c.request(ctx, clientMessage{Type: TypeUnsubscribe, Sessions: sessions}); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range sessions {
		if s == AllSessions {
			c.all = false
			clear(c.subs)
		} else {
			delete(c.subs, s)
		}
	}
	return nil
}

// Command sends a command for sessionID and waits for its result. A
// command whose connection drops before the answer fails with an error
// wrapping ErrUnavailable: it may or may not have run, so it is not resent.
// The server's refusals are *Error values.
func (c *Client) Command(ctx context.Context, sessionID string, cmd Command) (map[string]any, error) {
	args := cmd.Args
	r, err := c.request(ctx, clientMessage{Type: TypeCommand, SessionID: sessionID, Command: cmd.Name, Args: &args})
	if err != nil {
		return nil, err
	}
	var result map[string]any
	if len(r.Result) > 0 {
		if err := json.Unmarshal(r.Result, &result); err != nil {
			return nil, fmt.Errorf("decode %s result: %w", cmd.Name, err)
		}
	}
	return result, nil
}

// Comments pushes viewer comments for sessionID and returns how many the
// server accepted.
func (c *Client) Comments(ctx context.Context, sessionID string, cs []Comment) (int, error) {
	r, err := c.request(ctx, clientMessage{Type: TypeComments, SessionID: sessionID, Comments: cs})
	if err != nil {
		return 0, err
	}
	var res struct {
		Accepted int `json:"accepted"`
	}
	if err := json.Unmarshal(r.Result, &res); err != nil {
		return 0, fmt.Errorf("decode comments result: %w", err)
	}
	return res.Accepted, nil
}

// Publish reports an event (playout connections only) and waits until the
// server has numbered it.
func (c *Client) Publish(ctx context.Context, e Event) error {
	we := &wireEvent{SessionID: e.SessionID, Name: e.Name, At: e.At}
	if e.Data != nil {
		b, err := json.Marshal(e.Data)
		if err != nil {
			return fmt.Errorf("encode %s data: %w", e.Name, err)
		}
		we.Data = b
	}
	_, err := c.request(ctx, clientMessage{Type: TypePublish, Event: we})
	return err
}

// ServeCommands registers the Client as the executor of every session's
// forwarded commands (playout connections only) and runs fn for each, one
// at a time, in arrival order. The registration is renewed on every
// reconnection. It returns once the server has acknowledged it.
func (c *Client) ServeCommands(ctx context.Context, fn CommandFunc) error {
	c.mu.Lock()
	first := c.exec == nil
	c.exec = fn
	c.mu.Unlock()
	if first {
		c.wg.Add(1)
		go c.execLoop()
	}
	_, err := c.request(ctx, clientMessage{Type: TypeExecutor, Sessions: []string{AllSessions}})
	return err
}

// Close ends the connection (close code 1000) and every goroutine of the
// Client; Events is closed.
func (c *Client) Close() error {
	c.closeOnce.Do(c.cancel) // run closes the connection and Events
	c.wg.Wait()
	return nil
}

// connect dials once and reads the hello.
func (c *Client) connect(ctx context.Context) (*clientConn, Hello, error) {
	d := *websocket.DefaultDialer
	if c.o.Dialer != nil {
		d = *c.o.Dialer
	}
	hdr := http.Header{}
	for k, v := range c.o.Header {
		hdr[k] = append([]string(nil), v...)
	}
	if c.o.TokenInSubprotocol {
		d.Subprotocols = []string{Subprotocol, BearerPrefix + c.token}
	} else {
		d.Subprotocols = []string{Subprotocol}
		hdr.Set("Authorization", "Bearer "+c.token)
	}
	ws, resp, err := d.DialContext(ctx, c.url, hdr)
	if err != nil {
		return nil, Hello{}, dialError(c.url, resp, err)
	}
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	deadline := time.Now().Add(10 * time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	_ = ws.SetReadDeadline(deadline)
	var h serverMessage
	if err := ws.ReadJSON(&h); err != nil || h.Type != TypeHello {
		_ = ws.Close()
		if err == nil {
			err = fmt.Errorf("first message is %q, not hello", h.Type)
		}
		return nil, Hello{}, fmt.Errorf("control: read hello from %s: %w", c.url, err)
	}
	if h.V != Version {
		_ = ws.Close()
		return nil, Hello{}, fmt.Errorf("control: server speaks version %d, not %d: %w", h.V, Version, ErrUnavailable)
	}
	hello := Hello{V: h.V, Protocol: h.Protocol, MaxMessage: h.MaxMessage}
	if h.Principal != nil {
		hello.Principal = *h.Principal
	}
	if h.ServerTime != nil {
		hello.ServerTime = *h.ServerTime
	}
	if h.LastSeq != nil {
		hello.LastSeq = *h.LastSeq
	}
	cc := &clientConn{ws: ws, send: make(chan []byte, 256), done: make(chan struct{}),
		pending: map[string]chan *serverMessage{}}
	c.wg.Add(2)
	go c.readLoop(cc)
	go c.writeLoop(cc)
	return cc, hello, nil
}

// dialError explains a failed upgrade.
func dialError(url string, resp *http.Response, err error) error {
	if resp == nil {
		return fmt.Errorf("control: dial %s: %w", url, err)
	}
	defer resp.Body.Close()
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	_ = json.Unmarshal(b, &body)
	e := &Error{Code: body.Error.Code, Message: body.Error.Message}
	if e.Code == "" {
		switch resp.StatusCode {
		case http.StatusUnauthorized:
			e.Code = CodeUnauthorized
		case http.StatusForbidden:
			e.Code = CodeForbidden
		case http.StatusServiceUnavailable:
			e.Code = CodeUnavailable
		default:
			e.Code = CodeBadRequest
		}
		e.Message = resp.Status
	}
	return fmt.Errorf("control: dial %s: %s: %w", url, resp.Status, e)
}

func (c *Client) setConn(cc *clientConn) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cur = cc
	if cc != nil {
		close(c.ready)
	} else {
		c.ready = make(chan struct{})
	}
}

// run keeps the Client connected while Reconnect is set. It alone closes
// Events, after the connection that feeds it has ended.
func (c *Client) run(cc *clientConn) {
	defer c.wg.Done()
	defer close(c.events)
	backoff := c.o.MinBackoff
	for {
		select {
		case <-cc.done:
		case <-c.ctx.Done():
			cc.shutdown(c.o.WriteTimeout)
			<-cc.done
			return
		}
		c.setConn(nil)
		if !c.o.Reconnect {
			c.mu.Lock()
			c.ended = true
			close(c.ready) // wake requests waiting for a connection: none will come
			c.mu.Unlock()
			return
		}
		for {
			// Jitter keeps a thousand consoles from coming back at once.
			wait := backoff/2 + time.Duration(rand.Int64N(int64(backoff/2)+1))
			select {
			case <-time.After(wait):
			case <-c.ctx.Done():
				return
			}
			backoff = min(backoff*2, c.o.MaxBackoff)
			next, hello, err := c.connect(c.ctx)
			if err != nil {
				if c.ctx.Err() != nil {
					return
				}
				c.log.Warn("control: reconnect failed", slog.String("url", c.url), slog.Any(logKeyError, err))
				continue
			}
			if err := c.restore(next); err != nil {
				c.log.Warn("control: restore subscriptions failed", slog.Any(logKeyError, err))
				next.shutdown(c.o.WriteTimeout)
				<-next.done
				continue
			}
			c.mu.Lock()
			c.hello = hello
			c.mu.Unlock()
			c.setConn(next)
			cc = next
			backoff = c.o.MinBackoff
			break
		}
	}
}

// restore renews the subscriptions, resuming from the cursor in one
// message (so that replayed events arrive in order), and the executor
// registration.
func (c *Client) restore(cc *clientConn) error {
	ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
	defer cancel()
	c.mu.Lock()
	var sessions []string
	if c.all {
		sessions = []string{AllSessions}
	} else {
		for s := range c.subs {
			sessions = append(sessions, s)
		}
	}
	since, have := c.cursor, c.haveCursor
	exec := c.exec != nil
	c.mu.Unlock()
	if len(sessions) > 0 {
		m := clientMessage{Type: TypeSubscribe, Sessions: sessions}
		if have {
			m.Since = &since
		}
		r, err := c.requestOn(ctx, cc, m)
		if err != nil {
			return fmt.Errorf("resubscribe: %w", err)
		}
		var res struct {
			LastSeq uint64 `json:"last_seq"`
		}
		_ = json.Unmarshal(r.Result, &res)
		c.mu.Lock()
		c.cursor = max(c.cursor, res.LastSeq)
		c.haveCursor = true
		c.mu.Unlock()
	}
	if exec {
		if _, err := c.requestOn(ctx, cc, clientMessage{Type: TypeExecutor, Sessions: []string{AllSessions}}); err != nil {
			return fmt.Errorf("register executor: %w", err)
		}
	}
	return nil
}

// conn waits for a live connection.
func (c *Client) conn(ctx context.Context) (*clientConn, error) {
	for {
		c.mu.Lock()
		cc, ready, ended := c.cur, c.ready, c.ended
		c.mu.Unlock()
		switch {
		case c.ctx.Err() != nil:
			return nil, ErrClosed
		case cc != nil:
			return cc, nil
		case ended:
			return nil, fmt.Errorf("control: connection lost: %w", ErrUnavailable)
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.ctx.Done():
			return nil, ErrClosed
		}
	}
}

// request sends m on the live connection (waiting for one while
// reconnecting) and waits for its ack or error.
func (c *Client) request(ctx context.Context, m clientMessage) (*serverMessage, error) {
	for {
		cc, err := c.conn(ctx)
		if err != nil {
			return nil, err
		}
		r, err := c.requestOn(ctx, cc, m)
		if errors.Is(err, errNotSent) {
			continue // the connection died before m left: wait for the next
		}
		return r, err
	}
}

var errNotSent = errors.New("connection closed before the message was sent")

func (c *Client) requestOn(ctx context.Context, cc *clientConn, m clientMessage) (*serverMessage, error) {
	c.mu.Lock()
	c.nextID++
	m.ID = "c" + strconv.FormatUint(c.nextID, 10)
	c.mu.Unlock()
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", m.Type, err)
	}
	ch := make(chan *serverMessage, 1)
	cc.mu.Lock()
	cc.pending[m.ID] = ch
	cc.mu.Unlock()
	defer func() {
		cc.mu.Lock()
		delete(cc.pending, m.ID)
		cc.mu.Unlock()
	}()
	select {
	case cc.send <- b:
	case <-cc.done:
		return nil, errNotSent
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-ch:
		if r.Type == TypeError {
			return nil, &Error{Code: r.Code, Message: r.Message, RetryAfter: time.Duration(r.RetryAfterMS) * time.Millisecond}
		}
		return r, nil
	case <-cc.done:
		return nil, fmt.Errorf("control: %s: connection lost before the answer: %w", m.Type, ErrUnavailable)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// readLoop reads one connection's messages until it fails.
func (c *Client) readLoop(cc *clientConn) {
	defer c.wg.Done()
	defer close(cc.done)
	defer cc.ws.Close()
	pongWait := c.o.PongWait
	_ = cc.ws.SetReadDeadline(time.Now().Add(pongWait))
	cc.ws.SetPingHandler(func(data string) error {
		_ = cc.ws.SetReadDeadline(time.Now().Add(pongWait))
		err := cc.ws.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(c.o.WriteTimeout))
		if err != nil && !errors.Is(err, websocket.ErrCloseSent) {
			return err
		}
		return nil
	})
	for {
		_, data, err := cc.ws.ReadMessage()
		if err != nil {
			if c.ctx.Err() == nil {
				c.log.Info("control: connection ended", slog.Any(logKeyError, err))
			}
			return
		}
		_ = cc.ws.SetReadDeadline(time.Now().Add(pongWait))
		var m serverMessage
		if err := json.Unmarshal(data, &m); err != nil {
			c.log.Warn("control: undecodable message from server", slog.Any(logKeyError, err))
			continue
		}
		if !c.dispatch(cc, &m) {
			return
		}
	}
}

// dispatch handles one server message; false when the Client is closing.
func (c *Client) dispatch(cc *clientConn, m *serverMessage) bool {
	switch m.Type {
	case TypeEvent:
		e := Event{Seq: m.Seq, SessionID: m.SessionID, Name: m.Event}
		if m.At != nil {
			e.At = *m.At
		}
		if len(m.Data) > 0 {
			e.Data = m.Data
		}
		select {
		case c.events <- e:
		case <-c.ctx.Done():
			return false
		}
		c.mu.Lock()
		c.cursor = max(c.cursor, e.Seq)
		c.mu.Unlock()
	case TypeResync:
		d := ResyncData{Reason: m.Reason, Sessions: m.Sessions}
		if m.LastSeq != nil {
			d.LastSeq = *m.LastSeq
		}
		raw, _ := json.Marshal(d)
		select {
		case c.events <- Event{SessionID: m.SessionID, Name: EventResync, At: time.Now(), Data: json.RawMessage(raw)}:
		case <-c.ctx.Done():
			return false
		}
	case TypeAck, TypeError:
		if m.ID == "" {
			c.log.Warn("control: server error", slog.String("code", m.Code), slog.String("message", m.Message))
			return true
		}
		cc.mu.Lock()
		ch := cc.pending[m.ID]
		delete(cc.pending, m.ID)
		cc.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	case TypeCommand:
		args := CommandArgs{}
		if m.Args != nil {
			args = *m.Args
		}
		job := execJob{cc: cc, id: m.ID, sessionID: m.SessionID, cmd: Command{Name: m.Command, Args: args}}
		select {
		case c.execQ <- job:
		default:
			cc.reply(serverMessage{Type: TypeError, ID: m.ID, Code: CodeRateLimited, Message: "executor busy"})
		}
	}
	return true
}

// writeLoop is the connection's only writer of data frames.
func (c *Client) writeLoop(cc *clientConn) {
	defer c.wg.Done()
	for {
		select {
		case b := <-cc.send:
			_ = cc.ws.SetWriteDeadline(time.Now().Add(c.o.WriteTimeout))
			if err := cc.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				_ = cc.ws.Close()
				return
			}
		case <-cc.done:
			return
		}
	}
}

// execLoop runs forwarded commands one at a time.
func (c *Client) execLoop() {
	defer c.wg.Done()
	for {
		select {
		case job := <-c.execQ:
			c.mu.Lock()
			fn := c.exec
			c.mu.Unlock()
			result, err := fn(c.ctx, job.sessionID, job.cmd)
			if err != nil {
				e, internal := classify(err)
				if internal {
					c.log.Error("control: forwarded command failed", slog.String(logKeySessionID, job.sessionID),
						slog.String(logKeyCommand, job.cmd.Name), slog.Any(logKeyError, err))
				}
				job.cc.reply(serverMessage{Type: TypeError, ID: job.id, Code: e.Code, Message: e.Message})
				continue
			}
			var raw json.RawMessage
			if result != nil {
				b, err := json.Marshal(result)
				if err != nil {
					job.cc.reply(serverMessage{Type: TypeError, ID: job.id, Code: CodeInternal, Message: "result not encodable"})
					continue
				}
				raw = b
			}
			job.cc.reply(serverMessage{Type: TypeAck, ID: job.id, Result: raw})
		case <-c.ctx.Done():
			return
		}
	}
}

// reply sends an executor's answer if the connection it came on lives.
func (cc *clientConn) reply(m serverMessage) {
	b, err := json.Marshal(m)
	if err != nil {
		return
	}
	select {
	case cc.send <- b:
	case <-cc.done:
	}
}

// shutdown sends a normal close and closes the socket.
func (cc *clientConn) shutdown(wt time.Duration) {
	_ = cc.ws.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(wt))
	_ = cc.ws.Close()
}
