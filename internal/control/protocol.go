package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/evercast/evercast"
)

// Version is the protocol version this package speaks.
const Version = 1

// Subprotocol is the websocket subprotocol of protocol version 1.
const Subprotocol = "evercast.control.v1"

// subprotocolFamily prefixes every version's subprotocol.
const subprotocolFamily = "evercast.control."

// BearerPrefix prefixes a token carried in the subprotocol list, for
// browsers, which cannot set an Authorization header on a websocket:
// new WebSocket(url, ["evercast.control.v1", "bearer." + token]).
const BearerPrefix = "bearer."

// Roles of a Principal.
const (
	RoleOperator = "operator" // sees and steers every session
	RoleMerchant = "merchant" // sees and steers its own merchant's sessions only
	RolePlayout  = "playout"  // the playout process: publishes what it airs, executes forwarded commands
)

// Principal is who is on the other end of a connection, as the
// Authenticator resolved its token.
type Principal struct {
	Role       string `json:"role"`
	MerchantID string `json:"merchant_id,omitempty"`
	// Name labels the principal in logs and in command events ("operator",
	// a merchant's name, a playout host); it is never a secret.
	Name string `json:"name,omitempty"`
}

// Message types, client to server.
const (
	TypeSubscribe   = "subscribe"
	TypeUnsubscribe = "unsubscribe"
	TypeCommand     = "command" // also server to executor
	TypeComments    = "comments"
	TypePublish     = "publish"
	TypeExecutor    = "executor"
	TypePing        = "ping"
)

// Message types, server to client. An executor also sends ack and error
// back for forwarded commands.
const (
	TypeHello  = "hello"
	TypeEvent  = "event"
	TypeAck    = "ack"
	TypeError  = "error"
	TypeResync = "resync"
	TypePong   = "pong"
)

// Commands an operator or merchant can send for a session.
const (
	CmdPause   = "pause"   // hold planning and air the standby loop
	CmdResume  = "resume"  // go back on air from pause or standby
	CmdSkip    = "skip"    // end the clip on air at once and cue the next
	CmdSay     = "say"     // voice args.text and air it at the next boundary
	CmdFocus   = "focus"   // talk about args.product_id next
	CmdStandby = "standby" // cut to the standby loop now, keep planning
	CmdStop    = "stop"    // end the session with its closing scene
	CmdCut     = "cut"     // end the session at once, without a closing
)

// Commands lists every command name.
func Commands() []string {
	return []string{CmdPause, CmdResume, CmdSkip, CmdSay, CmdFocus, CmdStandby, CmdStop, CmdCut}
}

func knownCommand(name string) bool {
	for _, c := range Commands() {
		if c == name {
			return true
		}
	}
	return false
}

// Command is an operator's or merchant's instruction for one session.
type Command struct {
	Name string      `json:"command"`
	Args CommandArgs `json:"args"`
}

// CommandArgs are a command's arguments: Text for say, ProductID for focus.
type CommandArgs struct {
	Text      string `json:"text,omitempty"`
	ProductID string `json:"product_id,omitempty"`
}

// Comment is a viewer comment as a platform pushes it.
type Comment struct {
	ID   string    `json:"id"`
	User string    `json:"user"`
	Text string    `json:"text"`
	At   time.Time `json:"at"`
}

// Event names. The data each carries is the type named beside it.
const (
	EventSessionState = "session.state" // SessionStateData
	EventClipPlanned  = "clip.planned"  // ClipData
	EventClipReady    = "clip.ready"    // ClipData: rendered and stored, waiting to air
	EventClipCued     = "clip.cued"     // ClipData: taken by playout for the next boundary
	EventClipAired    = "clip.aired"    // ClipData
	EventClipFailed   = "clip.failed"   // ClipData with Stage, Error and Timings
	EventPlayhead     = "playhead"      // PlayheadData
	EventBuffer       = "buffer"        // BufferData
	EventQueue        = "queue"         // QueueData (no session)
	EventWorker       = "worker"        // WorkerData (no session)
	EventOutput       = "output"        // evercast.OutputStatus
	EventComment      = "comment"       // CommentData
	EventReply        = "reply"         // ReplyData
	EventCommand      = "command"       // CommandData; published by the Hub only
	EventError        = "error"         // ErrorData
	EventAlert        = "alert"         // AlertData
)

// playoutEvents are the events a playout connection may publish.
var playoutEvents = map[string]bool{
	EventSessionState: true, EventClipCued: true, EventClipAired: true, EventClipFailed: true,
	EventPlayhead: true, EventBuffer: true, EventOutput: true, EventWorker: true,
	EventError: true, EventAlert: true,
}

// Event is something that happened, as the Hub numbers and delivers it.
type Event struct {
	// Seq is assigned by Hub.Publish: global across sessions, strictly
	// increasing, never reused while the Hub lives.
	Seq uint64 `json:"seq"`
	// SessionID is the session the event is about; empty for events about
	// the whole deployment (queue, worker), which only subscribers of "*"
	// receive.
	SessionID string `json:"session_id,omitempty"`
	// Name is the event name, one of the Event* constants.
	Name string `json:"event"`
	// At is when it happened; Publish fills in the current time when zero.
	At time.Time `json:"at"`
	// Data is the event's data, marshalled to JSON once when published.
	// Events a Client receives carry it as json.RawMessage; use DecodeData.
	Data any `json:"data,omitempty"`
}

// DecodeData unmarshals the event's data into v.
func (e Event) DecodeData(v any) error {
	var raw []byte
	switch d := e.Data.(type) {
	case nil:
		return fmt.Errorf("event %s has no data: %w", e.Name, evercast.ErrInvalid)
	case json.RawMessage:
		raw = d
	case []byte:
		raw = d
	default:
		b, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("encode event data: %w", err)
		}
		raw = b
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s data: %w", e.Name, err)
	}
	return nil
}

// SessionStateData is the data of session.state.
type SessionStateData struct {
	State    evercast.SessionState `json:"state"`
	Previous evercast.SessionState `json:"previous,omitempty"`
	// Reason says why: "command", "schedule", "max_air", "error"...
	Reason string `json:"reason,omitempty"`
}

// ClipData is the data of the clip.* events.
type ClipData struct {
	ClipID     string            `json:"clip_id"`
	Seq        int64             `json:"seq,omitempty"`
	Kind       evercast.ClipKind `json:"kind"`
	ProductID  string            `json:"product_id,omitempty"`
	Language   evercast.Language `json:"language,omitempty"`
	Text       string            `json:"text,omitempty"`
	CommentID  string            `json:"comment_id,omitempty"`
	Priority   bool              `json:"priority,omitempty"`
	DurationMS int64             `json:"duration_ms,omitempty"`
	// StartMS is the clip's offset on the session's aired timeline (cued, aired).
	StartMS *int64 `json:"start_ms,omitempty"`
	// Stage is where a failed clip failed: script, check, speech, render,
	// store, cue.
	Stage   string       `json:"stage,omitempty"`
	Error   string       `json:"error,omitempty"`
	Attempt int          `json:"attempt,omitempty"`
	Timings *ClipTimings `json:"timings,omitempty"`
}

// ClipTimings are how long each stage of a clip took, in milliseconds; a
// stage not reached is 0.
type ClipTimings struct {
	ScriptMS int64 `json:"script_ms"`
	CheckMS  int64 `json:"check_ms"`
	SpeechMS int64 `json:"speech_ms"`
	RenderMS int64 `json:"render_ms"`
	StoreMS  int64 `json:"store_ms"`
	// TotalMS runs from planned to the event.
	TotalMS int64 `json:"total_ms"`
}

// PlayheadData is the data of playhead: where a session's stream is.
type PlayheadData struct {
	ClipID       string  `json:"clip_id"`
	Seq          int64   `json:"seq"`
	PositionMS   int64   `json:"position_ms"` // offset on the aired timeline
	AiredSeconds float64 `json:"aired_seconds"`
}

// BufferData is the data of buffer.
type BufferData struct {
	BufferAheadSeconds float64 `json:"buffer_ahead_seconds"`
	TargetSeconds      float64 `json:"target_seconds"`
	ReadyClips         int     `json:"ready_clips"`
	InFlight           int     `json:"in_flight"`
}

// QueueData is the data of queue: the task queues' depths.
type QueueData struct {
	Queues map[string]QueueDepth `json:"queues"`
}

// QueueDepth is one task queue's depth.
type QueueDepth struct {
	Pending   int `json:"pending"`
	Active    int `json:"active"`
	Scheduled int `json:"scheduled"`
	Retry     int `json:"retry"`
}

// WorkerData is the data of worker: one worker process's health.
type WorkerData struct {
	Worker string   `json:"worker"`
	State  string   `json:"state"` // "up", "degraded", "down"
	Queues []string `json:"queues,omitempty"`
	Active int      `json:"active"`
	Error  string   `json:"error,omitempty"`
}

// CommentData is the data of comment: a viewer comment received and what
// moderation decided.
type CommentData struct {
	Comment
	ReceivedAt time.Time `json:"received_at"`
	// Action is "answer", "greet" or "ignore".
	Action string `json:"action"`
	// Reason says why an ignored comment is ignored: abuse, spam,
	// personal_data, injection, duplicate, rate_limited, other.
	Reason    string `json:"reason,omitempty"`
	Intent    string `json:"intent,omitempty"`
	ProductID string `json:"product_id,omitempty"`
}

// ReplyData is the data of reply: a reply clip planned, aired or failed.
type ReplyData struct {
	CommentID string `json:"comment_id"`
	ClipID    string `json:"clip_id"`
	// State is "planned", "aired" or "failed".
	State string `json:"state"`
	Text  string `json:"text,omitempty"`
	// LatencyMS runs from the comment's arrival to this state.
	LatencyMS int64 `json:"latency_ms"`
	// Stages break the latency down, in milliseconds, by stage name.
	Stages map[string]int64 `json:"stages,omitempty"`
}

// CommandData is the data of command: a command was executed.
type CommandData struct {
	Command string      `json:"command"`
	Args    CommandArgs `json:"args"`
	By      Principal   `json:"by"`
	OK      bool        `json:"ok"`
	// Code and Message describe the failure when OK is false.
	Code       string         `json:"code,omitempty"`
	Message    string         `json:"message,omitempty"`
	Result     map[string]any `json:"result,omitempty"`
	DurationMS float64        `json:"duration_ms"`
}

// ErrorData is the data of error.
type ErrorData struct {
	Component string `json:"component"` // orchestrator, worker, playout, output...
	Message   string `json:"message"`
	ClipID    string `json:"clip_id,omitempty"`
}

// AlertData is the data of alert: something an operator must look at.
type AlertData struct {
	Severity string `json:"severity"` // "warning" or "critical"
	// Alert names the condition: buffer_low, standby_on_air, output_down,
	// worker_down, queue_backlog...
	Alert   string `json:"alert"`
	Message string `json:"message"`
	// Cleared is true when the condition is over.
	Cleared bool `json:"cleared,omitempty"`
}

// Hello is the first message of every connection.
type Hello struct {
	V          int       `json:"v"`
	Protocol   string    `json:"protocol"`
	Principal  Principal `json:"principal"`
	ServerTime time.Time `json:"server_time"`
	// LastSeq is the sequence number of the latest event published.
	LastSeq uint64 `json:"last_seq"`
	// MaxMessage is the largest frame the server reads, in bytes.
	MaxMessage int64 `json:"max_message"`
}

// Error codes of error messages.
const (
	CodeBadRequest     = "bad_request"
	CodeUnauthorized   = "unauthorized"
	CodeForbidden      = "forbidden"
	CodeNotFound       = "not_found"
	CodeConflict       = "conflict"
	CodeUnknownCommand = "unknown_command"
	CodeRateLimited    = "rate_limited"
	CodeTooLarge       = "too_large"
	CodeUnavailable    = "unavailable"
	CodeTimeout        = "timeout"
	CodeInternal       = "internal"
)

// Sentinel errors of this package. Error values returned by Client and
// Hub.Forward unwrap to them (or to evercast.ErrNotFound, ErrConflict,
// ErrInvalid).
var (
	// ErrUnavailable means no one can execute the request now: no executor
	// is connected, no Commander or CommentSink is configured, or the
	// client is not connected.
	ErrUnavailable = errors.New("unavailable")
	// ErrTimeout means no answer came in time; the request may or may not
	// have been carried out.
	ErrTimeout = errors.New("timed out")
	// ErrForbidden means the principal may not do this.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthorized means the token was missing or not accepted.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrRateLimited means the connection sent more than its rate allows.
	ErrRateLimited = errors.New("rate limited")
	// ErrClosed means the Client was closed.
	ErrClosed = errors.New("client closed")
)

// Error is an error message of the protocol, as a Go error. It unwraps to
// the sentinel error of its code.
type Error struct {
	Code    string
	Message string
	// RetryAfter is set with rate_limited.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	if e.Message == "" {
		return e.Code
	}
	return e.Code + ": " + e.Message
}

// Unwrap returns the sentinel error of the code.
func (e *Error) Unwrap() error {
	switch e.Code {
	case CodeNotFound:
		return evercast.ErrNotFound
	case CodeConflict:
		return evercast.ErrConflict
	case CodeBadRequest, CodeUnknownCommand, CodeTooLarge:
		return evercast.ErrInvalid
	case CodeForbidden:
		return ErrForbidden
	case CodeUnauthorized:
		return ErrUnauthorized
	case CodeRateLimited:
		return ErrRateLimited
	case CodeUnavailable:
		return ErrUnavailable
	case CodeTimeout:
		return ErrTimeout
	}
	return nil
}

// errorf returns an *Error.
func errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// classify maps err to its protocol error. internal is true when the cause
// is not the caller's and its message must not leak.
func classify(err error) (e *Error, internal bool) {
	var pe *Error
	switch {
	case errors.As(err, &pe):
		return pe, pe.Code == CodeInternal
	case errors.Is(err, evercast.ErrNotFound):
		return &Error{Code: CodeNotFound, Message: err.Error()}, false
	case errors.Is(err, evercast.ErrConflict):
		return &Error{Code: CodeConflict, Message: err.Error()}, false
	case errors.Is(err, evercast.ErrInvalid):
		return &Error{Code: CodeBadRequest, Message: err.Error()}, false
	case errors.Is(err, ErrForbidden):
		return &Error{Code: CodeForbidden, Message: err.Error()}, false
	case errors.Is(err, ErrUnauthorized):
		return &Error{Code: CodeUnauthorized, Message: err.Error()}, false
	case errors.Is(err, ErrRateLimited):
		return &Error{Code: CodeRateLimited, Message: err.Error()}, false
	case errors.Is(err, ErrUnavailable):
		return &Error{Code: CodeUnavailable, Message: err.Error()}, false
	case errors.Is(err, ErrTimeout), errors.Is(err, context.DeadlineExceeded):
		return &Error{Code: CodeTimeout, Message: err.Error()}, false
	}
	return &Error{Code: CodeInternal, Message: "internal error"}, true
}

// wire shapes ----------------------------------------------------------------

// clientMessage is every client-to-server message, one union of fields; the
// decoder checks that the fields of its type are present and sane.
type clientMessage struct {
	Type      string          `json:"type"`
	ID        string          `json:"id,omitempty"`
	Sessions  []string        `json:"sessions,omitempty"`
	Since     *uint64         `json:"since,omitempty"`
	SessionID string          `json:"session_id,omitempty"`
	Command   string          `json:"command,omitempty"`
	Args      *CommandArgs    `json:"args,omitempty"`
	Comments  []Comment       `json:"comments,omitempty"`
	Event     *wireEvent      `json:"event,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"` // ack from an executor
	Code      string          `json:"code,omitempty"`   // error from an executor
	Message   string          `json:"message,omitempty"`
}

// wireEvent is an event as JSON, with its data kept raw.
type wireEvent struct {
	Seq       uint64          `json:"seq,omitempty"`
	SessionID string          `json:"session_id,omitempty"`
	Name      string          `json:"event"`
	At        time.Time       `json:"at"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// serverMessage is every server-to-client message (and an executor's
// replies), one union of fields.
type serverMessage struct {
	Type string `json:"type"`
	ID   string `json:"id,omitempty"`

	// hello
	V          int        `json:"v,omitempty"`
	Protocol   string     `json:"protocol,omitempty"`
	Principal  *Principal `json:"principal,omitempty"`
	ServerTime *time.Time `json:"server_time,omitempty"`
	LastSeq    *uint64    `json:"last_seq,omitempty"`
	MaxMessage int64      `json:"max_message,omitempty"`

	// event
	Seq   uint64          `json:"seq,omitempty"`
	Event string          `json:"event,omitempty"`
	At    *time.Time      `json:"at,omitempty"`
	Data  json.RawMessage `json:"data,omitempty"`

	// event, resync, forwarded command
	SessionID string   `json:"session_id,omitempty"`
	Sessions  []string `json:"sessions,omitempty"`

	// ack
	Result json.RawMessage `json:"result,omitempty"`

	// error, resync
	Code         string `json:"code,omitempty"`
	Message      string `json:"message,omitempty"`
	RetryAfterMS int64  `json:"retry_after_ms,omitempty"`
	Reason       string `json:"reason,omitempty"`

	// forwarded command
	Command string       `json:"command,omitempty"`
	Args    *CommandArgs `json:"args,omitempty"`
}

// Resync reasons.
const (
	ResyncTooOld  = "too_old"     // since is older than the oldest buffered event
	ResyncUnknown = "unknown_seq" // since is newer than any event: the server restarted
)
