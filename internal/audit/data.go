package audit

import (
	"path"
	"strings"

	"github.com/evercast/evercast"
)

// Record kinds. Each has a data type below; other kinds may be recorded
// with any JSON data.
const (
	// KindClipAired: a clip went on air (data ClipAired).
	KindClipAired = "clip.aired"
	// KindComment: a viewer comment and what was done with it (data Comment).
	KindComment = "comment"
	// KindCommand: an operator or merchant command, the kill switch
	// included (data Command).
	KindCommand = "command"
	// KindSession: a session lifecycle change (data SessionEvent).
	KindSession = "session"
	// KindVerdict: a script or reply judged by the claims checker, kept
	// whether it passed or was blocked (data Verdict).
	KindVerdict = "verdict"
	// KindApprovalRequested: a script was put before a human (data
	// ApprovalRequest).
	KindApprovalRequested = "approval.requested"
	// KindApproval: a human approved or rejected a script (data
	// ApprovalDecision).
	KindApproval = "approval"
	// KindApprovalPolicy: approval of new scripts was required or no longer
	// required for a session (data ApprovalPolicy).
	KindApprovalPolicy = "approval.policy"
)

// Actors the system records under when no person acts.
const (
	ActorSystem  = "system"
	ActorPlayout = "playout"
)

// ClipAired is the data of a KindClipAired record: what was said and the
// objects that were aired, with their SHA-256.
type ClipAired struct {
	ClipID string `json:"clip_id"`
	// AirSeq is the clip's place on air (evercast.Clip.Seq).
	AirSeq    int64  `json:"air_seq"`
	Kind      string `json:"kind"`
	ProductID string `json:"product_id,omitempty"`
	Language  string `json:"language,omitempty"`
	Text      string `json:"text"`
	Writer    string `json:"writer,omitempty"`
	// Verdict is the claims checker's verdict recorded on the clip.
	Verdict     string `json:"verdict,omitempty"`
	CommentID   string `json:"comment_id,omitempty"`
	AudioKey    string `json:"audio_key,omitempty"`
	AudioSHA256 string `json:"audio_sha256,omitempty"`
	VideoKey    string `json:"video_key"`
	VideoSHA256 string `json:"video_sha256"`
	StartMS     int64  `json:"start_ms"`
	DurationMS  int64  `json:"duration_ms"`
	// OnAirAtMS is when the clip went on air, unix milliseconds.
	OnAirAtMS int64 `json:"on_air_at_ms,omitempty"`
}

// ClipAiredOf describes a cued or aired clip. The audio's SHA-256 is read
// from its content address (audio/ab/<sha256>.wav).
func ClipAiredOf(c *evercast.Clip) ClipAired {
	d := ClipAired{
		ClipID: c.ID, AirSeq: c.Seq, Kind: string(c.Kind), ProductID: c.ProductID, Language: string(c.Language),
		Text: c.Text, Writer: c.Writer, Verdict: c.Verdict, CommentID: c.CommentID,
		AudioKey: c.AudioKey, AudioSHA256: contentSHA(c.AudioKey),
		VideoKey: c.VideoKey, VideoSHA256: c.VideoSHA256, DurationMS: c.DurationMS,
	}
	if c.StartMS != nil {
		d.StartMS = *c.StartMS
	}
	if c.OnAirAt != nil {
		d.OnAirAtMS = c.OnAirAt.UnixMilli()
	}
	return d
}

// contentSHA returns the SHA-256 a content-addressed key names, or "".
func contentSHA(key string) string {
	base := strings.TrimSuffix(path.Base(key), path.Ext(key))
	if len(base) != 64 || strings.Trim(base, "0123456789abcdef") != "" {
		return ""
	}
	return base
}

// Comment is the data of a KindComment record: a viewer comment, what the
// anchor did with it and why.
type Comment struct {
	CommentID string `json:"comment_id"`
	User      string `json:"user,omitempty"`
	Text      string `json:"text"`
	Language  string `json:"language,omitempty"`
	// AtMS is the comment's own time, unix milliseconds.
	AtMS int64 `json:"at_ms,omitempty"`
	// Action is answer, greet or ignore; Reason and Intent as moderation
	// decided them.
	Action string `json:"action"`
	Reason string `json:"reason,omitempty"`
	Intent string `json:"intent,omitempty"`
	SKU    string `json:"sku,omitempty"`
	// ReplyClipID is the clip planned to answer it, if any.
	ReplyClipID string `json:"reply_clip_id,omitempty"`
}

// Command is the data of a KindCommand record: what was commanded (the
// record's Actor says who) and how it ended.
type Command struct {
	// Command is for example "pause", "resume", "stop", "say", or the kill
	// switch: CommandCutToStandby, CommandOffAir.
	Command string `json:"command"`
	// Scope is "session" or "merchant" (every session of a merchant).
	Scope  string `json:"scope,omitempty"`
	Target string `json:"target,omitempty"`
	// Args are the command's arguments (say-now text...), as sent.
	Args map[string]string `json:"args,omitempty"`
	// Result is "ok" or the error; LatencyMS how long it took to take
	// effect, when measured.
	Result    string `json:"result"`
	LatencyMS int64  `json:"latency_ms,omitempty"`
}

// Kill-switch commands.
const (
	// CommandCutToStandby cuts to the standby loop at once.
	CommandCutToStandby = "cut_to_standby"
	// CommandOffAir takes the session off air entirely.
	CommandOffAir = "off_air"
)

// SessionEvent is the data of a KindSession record.
type SessionEvent struct {
	Event string `json:"event"` // started, live, paused, resumed, ended, cut...
	From  string `json:"from,omitempty"`
	To    string `json:"to,omitempty"`
	Note  string `json:"note,omitempty"`
}

// Verdict is the data of a KindVerdict record: one judged script or reply.
type Verdict struct {
	ClipID   string `json:"clip_id,omitempty"`
	Attempt  int    `json:"attempt"`
	Writer   string `json:"writer,omitempty"`
	Text     string `json:"text"`
	OK       bool   `json:"ok"`
	Category string `json:"category,omitempty"`
	Span     string `json:"span,omitempty"`
	Reason   string `json:"reason,omitempty"`
	// Outcome is what happened next: "voiced", "rewrite", "fallback".
	Outcome string `json:"outcome,omitempty"`
}

// ApprovalRequest is the data of a KindApprovalRequested record.
type ApprovalRequest struct {
	ClipID  string `json:"clip_id"`
	Text    string `json:"text"`
	Verdict string `json:"verdict,omitempty"`
}

// ApprovalDecision is the data of a KindApproval record.
type ApprovalDecision struct {
	ClipID   string `json:"clip_id"`
	Approved bool   `json:"approved"`
	Reason   string `json:"reason,omitempty"`
	Text     string `json:"text"`
}

// ApprovalPolicy is the data of a KindApprovalPolicy record.
type ApprovalPolicy struct {
	Required bool `json:"required"`
}
