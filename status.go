package evercast

import "time"

// RundownEntry is one clip as the rundown API, `evercast demo --out` and
// `evercast export` show it. Times are seconds.
type RundownEntry struct {
	ID        string    `json:"id"`
	Seq       int64     `json:"seq"`
	Kind      ClipKind  `json:"kind"`
	Product   string    `json:"product"`
	Language  Language  `json:"language"`
	Text      string    `json:"text"`
	State     ClipState `json:"state"`
	CommentID string    `json:"comment_id,omitempty"`
	// Start is the clip's offset on the session's aired timeline (aired and
	// on-air clips only).
	Start    *float64   `json:"start,omitempty"`
	Duration float64    `json:"duration"`
	AiredAt  *time.Time `json:"aired_at"`
	OnAirAt  *time.Time `json:"on_air_at,omitempty"`
	// Cut says the clip was ended early by an operator's cut; Duration is
	// then what aired.
	Cut bool `json:"cut,omitempty"`
	// LatencyMS is, for replies, the time from the comment's arrival to the
	// reply going on air.
	LatencyMS *int64 `json:"latency_ms,omitempty"`
	Writer    string `json:"writer,omitempty"`
	Verdict   string `json:"verdict,omitempty"`
	Error     string `json:"error,omitempty"`
	VideoKey  string `json:"video_key,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
}

// Rundown is a session's clips in air order.
type Rundown struct {
	SessionID string          `json:"session_id"`
	Clips     []*RundownEntry `json:"clips"`
}

// Entry converts a clip to its rundown form.
func (c *Clip) Entry() *RundownEntry {
	e := &RundownEntry{
		ID: c.ID, Seq: c.Seq, Kind: c.Kind, Product: c.ProductID, Language: c.Language,
		Text: c.Text, State: c.State, CommentID: c.CommentID,
		Duration: float64(c.OnAirMS()) / 1000, AiredAt: c.AiredAt, OnAirAt: c.OnAirAt,
		Writer: c.Writer, Verdict: c.Verdict, Error: c.Error, VideoKey: c.VideoKey, SHA256: c.VideoSHA256,
	}
	if c.StartMS != nil {
		s := float64(*c.StartMS) / 1000
		e.Start = &s
	}
	e.Cut = c.AiredMS != nil
	if c.CommentAt != nil && c.OnAirAt != nil {
		ms := c.OnAirAt.Sub(*c.CommentAt).Milliseconds()
		e.LatencyMS = &ms
	}
	return e
}

// OutputStatus is the state of one RTMP push.
type OutputStatus struct {
	Name       string `json:"name"`
	URL        string `json:"url"`   // stream key redacted
	State      string `json:"state"` // connecting, pushing, retrying, stopped
	Reconnects int    `json:"reconnects"`
	LastError  string `json:"last_error,omitempty"`
}

// SessionStatus is what an operator needs to see at a glance.
type SessionStatus struct {
	State SessionState `json:"state"`
	Owner string       `json:"owner,omitempty"`
	// BufferAheadSeconds is rendered content ready ahead of the playhead.
	BufferAheadSeconds float64         `json:"buffer_ahead_seconds"`
	AiredSeconds       float64         `json:"aired_seconds"`
	OnAir              *RundownEntry   `json:"on_air,omitempty"`
	Next               []*RundownEntry `json:"next,omitempty"`
	InFlight           int             `json:"in_flight"`
	Failed             int             `json:"failed"`
	Outputs            []OutputStatus  `json:"outputs,omitempty"`
	HLS                string          `json:"hls,omitempty"`
}
