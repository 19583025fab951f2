package evercast

import "time"

// ClipKind is what a clip does on air.
type ClipKind string

// Clip kinds. Each is written from the prompt scene of the same name.
const (
	KindOpening    ClipKind = "opening"    // greets viewers, states the AI disclosure
	KindPitch      ClipKind = "pitch"      // presents one product
	KindPromotion  ClipKind = "promotion"  // price, promotion and call to action
	KindDisclosure ClipKind = "disclosure" // the periodic spoken AI disclosure
	KindReply      ClipKind = "reply"      // answers a viewer comment
	KindSay        ClipKind = "say"        // operator's say-now text
	KindStandby    ClipKind = "standby"    // the avatar idling: covers a dry buffer
	KindClosing    ClipKind = "closing"    // says goodbye when the session ends
)

// ClipState is where a clip is in the pipeline.
type ClipState string

// Clip states, in pipeline order. Failed is terminal; so is Aired.
const (
	ClipPlanned  ClipState = "planned"
	ClipScripted ClipState = "scripted"
	ClipVoiced   ClipState = "voiced"
	ClipRendered ClipState = "rendered"
	ClipOnAir    ClipState = "on_air"
	ClipAired    ClipState = "aired"
	ClipFailed   ClipState = "failed"
)

// Rank orders states along the pipeline; Failed ranks last.
func (s ClipState) Rank() int {
	switch s {
	case ClipPlanned:
		return 0
	case ClipScripted:
		return 1
	case ClipVoiced:
		return 2
	case ClipRendered:
		return 3
	case ClipOnAir:
		return 4
	case ClipAired:
		return 5
	case ClipFailed:
		return 6
	}
	return -1
}

// Terminal reports whether the clip will not change state again.
func (s ClipState) Terminal() bool { return s == ClipAired || s == ClipFailed }

// Pending reports whether the clip is still waiting to air.
func (s ClipState) Pending() bool { return s.Rank() >= 0 && s.Rank() <= 3 }

// Clip is one short piece of a session's stream: a sentence or two, voiced
// and rendered, then aired.
type Clip struct {
	ID        string `json:"id"`
	SessionID string `json:"session_id"`
	// Seq is the clip's place on air: contiguous from 1 in the order clips air.
	// For a clip not yet on air it is the place it is expected to take.
	Seq       int64     `json:"seq"`
	Kind      ClipKind  `json:"kind"`
	ProductID string    `json:"product,omitempty"`
	Language  Language  `json:"language"`
	Text      string    `json:"text"`
	State     ClipState `json:"state"`
	// CommentID is the viewer comment a reply answers, and CommentAt when
	// Evercast received it (reply latency runs from there to on air).
	CommentID string     `json:"comment_id,omitempty"`
	CommentAt *time.Time `json:"comment_at,omitempty"`
	// Priority clips (replies, say-now) air at the next boundary once rendered.
	Priority bool `json:"priority,omitempty"`
	// Beat is the clip's angle on its product: 0 introduces it, 1.. take its
	// selling points and facts in turn.
	Beat int `json:"beat,omitempty"`
	// Brief is the writer's input beyond the kind: the viewer comment a reply
	// answers, or the operator's say-now text.
	Brief string `json:"brief,omitempty"`
	// Duration of the rendered clip; a whole multiple of 320 ms.
	DurationMS int64 `json:"duration_ms,omitempty"`
	// Start is the clip's offset on the session's aired timeline.
	StartMS *int64 `json:"start_ms,omitempty"`
	// Breaks are the 320 ms quanta at whose start the voice pauses, where a
	// live reply may cut in.
	Breaks []int `json:"breaks,omitempty"`
	// AiredMS is how much of the clip aired when a cut ended it early (a
	// whole multiple of 320 ms); nil when it aired whole.
	AiredMS     *int64 `json:"aired_ms,omitempty"`
	AudioKey    string `json:"audio_key,omitempty"`
	VideoKey    string `json:"video_key,omitempty"`
	VideoSHA256 string `json:"video_sha256,omitempty"`
	// Writer names what wrote the script: "offline", or the LLM model.
	Writer  string `json:"writer,omitempty"`
	Verdict string `json:"verdict,omitempty"`
	Error   string `json:"error,omitempty"`

	PlannedAt  time.Time  `json:"planned_at"`
	ScriptedAt *time.Time `json:"scripted_at,omitempty"`
	VoicedAt   *time.Time `json:"voiced_at,omitempty"`
	RenderedAt *time.Time `json:"rendered_at,omitempty"`
	OnAirAt    *time.Time `json:"on_air_at,omitempty"`
	AiredAt    *time.Time `json:"aired_at,omitempty"`
}

// Duration returns the clip's rendered duration.
func (c *Clip) Duration() time.Duration { return time.Duration(c.DurationMS) * time.Millisecond }

// OnAirMS is how long the clip was (or will be) on air: AiredMS when a cut
// ended it early, else its rendered duration.
func (c *Clip) OnAirMS() int64 {
	if c.AiredMS != nil {
		return *c.AiredMS
	}
	return c.DurationMS
}
