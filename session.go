package evercast

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// SessionState is where a session is in its lifecycle:
// scheduled → warming → live ⇄ paused → ended.
type SessionState string

// Session states.
const (
	SessionScheduled SessionState = "scheduled" // created, not started, or outside its window
	SessionWarming   SessionState = "warming"   // started: standby and first clips are being made
	SessionLive      SessionState = "live"      // on air
	SessionPaused    SessionState = "paused"    // on air with the standby loop, planning held
	SessionEnded     SessionState = "ended"     // stopped; its record is kept
)

// OnAir reports whether playout should be running for the session.
func (s SessionState) OnAir() bool {
	return s == SessionWarming || s == SessionLive || s == SessionPaused
}

// Orientation of the picture.
const (
	Landscape = "landscape" // 1280x720
	Portrait  = "portrait"  // 720x1280
)

// Schedule says when a session is on air.
type Schedule struct {
	// Mode is "always" (around the clock, the default) or "windows".
	Mode string `json:"mode"`
	// TimeZone is an IANA zone such as "Asia/Shanghai"; windows are in it.
	TimeZone string `json:"time_zone,omitempty"`
	// Windows are daily on-air windows, used when Mode is "windows".
	Windows []Window `json:"windows,omitempty"`
}

// Window is a daily window "HH:MM"-"HH:MM"; End before Start crosses midnight.
type Window struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Output is where a session's stream goes besides the HLS preview.
type Output struct {
	Name string `json:"name,omitempty"`
	// URL is an rtmp:// or rtmps:// ingest URL including the stream key.
	URL string `json:"url"`
}

// Session is one anchor's stream: what it sells, when and where it airs.
type Session struct {
	ID          string   `json:"id"`
	MerchantID  string   `json:"merchant_id"`
	AnchorID    string   `json:"anchor_id"`
	Title       string   `json:"title"`
	ProductIDs  []string `json:"product_ids"`
	Schedule    Schedule `json:"schedule"`
	Outputs     []Output `json:"outputs,omitempty"`
	Orientation string   `json:"orientation"`
	// LookaheadSeconds is how much rendered content is kept ahead of the playhead.
	LookaheadSeconds int `json:"lookahead_seconds"`
	// ClipsPerProduct is how many clips are aired about a product before the
	// rotation moves on.
	ClipsPerProduct int `json:"clips_per_product"`
	// DisclosureSeconds is the interval of the spoken AI disclosure (never off).
	DisclosureSeconds int `json:"disclosure_seconds"`
	// MaxAirSeconds ends the session (with its closing scene) after this much
	// aired content; 0 means no limit.
	MaxAirSeconds int `json:"max_air_seconds,omitempty"`

	State     SessionState `json:"state"`
	Owner     string       `json:"owner,omitempty"`
	StartedAt *time.Time   `json:"started_at,omitempty"`
	EndedAt   *time.Time   `json:"ended_at,omitempty"`
	CreatedAt time.Time    `json:"created_at"`
	UpdatedAt time.Time    `json:"updated_at"`
}

// Defaults applied by Validate.
const (
	DefaultLookaheadSeconds  = 60
	DefaultClipsPerProduct   = 4
	DefaultDisclosureSeconds = 600
)

// Validate checks the session's fields and fills defaults.
func (s *Session) Validate() error {
	s.Title = strings.TrimSpace(s.Title)
	switch {
	case s.MerchantID == "":
		return Invalid("merchant_id", "is required")
	case s.AnchorID == "":
		return Invalid("anchor_id", "is required")
	case len(s.Title) > 200:
		return Invalid("title", "is longer than 200 bytes")
	case len(s.ProductIDs) == 0:
		return Invalid("product_ids", "needs at least one product")
	case len(s.ProductIDs) > 500:
		return Invalid("product_ids", "has more than 500 products")
	}
	seen := map[string]bool{}
	for i, id := range s.ProductIDs {
		if id == "" {
			return Invalid(fmt.Sprintf("product_ids[%d]", i), "is empty")
		}
		if seen[id] {
			return Invalid(fmt.Sprintf("product_ids[%d]", i), "repeats %s", id)
		}
		seen[id] = true
	}
	if s.Orientation == "" {
		s.Orientation = Landscape
	}
	if s.Orientation != Landscape && s.Orientation != Portrait {
		return Invalid("orientation", "must be landscape or portrait")
	}
	if s.LookaheadSeconds == 0 {
		s.LookaheadSeconds = DefaultLookaheadSeconds
	}
	if s.LookaheadSeconds < 10 || s.LookaheadSeconds > 3600 {
		return Invalid("lookahead_seconds", "must be between 10 and 3600")
	}
	if s.ClipsPerProduct == 0 {
		s.ClipsPerProduct = DefaultClipsPerProduct
	}
	if s.ClipsPerProduct < 1 || s.ClipsPerProduct > 100 {
		return Invalid("clips_per_product", "must be between 1 and 100")
	}
	if s.DisclosureSeconds == 0 {
		s.DisclosureSeconds = DefaultDisclosureSeconds
	}
	if s.DisclosureSeconds < 60 || s.DisclosureSeconds > 600 {
		return Invalid("disclosure_seconds", "must be between 60 and 600 (the disclosure cannot be turned off)")
	}
	if s.MaxAirSeconds < 0 {
		return Invalid("max_air_seconds", "must not be negative")
	}
	if err := s.Schedule.validate(); err != nil {
		return err
	}
	if len(s.Outputs) > 20 {
		return Invalid("outputs", "has more than 20 targets")
	}
	for i, o := range s.Outputs {
		u, err := url.Parse(o.URL)
		if err != nil || (u.Scheme != "rtmp" && u.Scheme != "rtmps") || u.Host == "" {
			return Invalid(fmt.Sprintf("outputs[%d].url", i), "must be an rtmp:// or rtmps:// URL")
		}
		if len(o.Name) > 100 {
			return Invalid(fmt.Sprintf("outputs[%d].name", i), "is longer than 100 bytes")
		}
	}
	return nil
}

func (sc *Schedule) validate() error {
	if sc.Mode == "" {
		sc.Mode = "always"
	}
	switch sc.Mode {
	case "always":
		return nil
	case "windows":
	default:
		return Invalid("schedule.mode", "must be always or windows")
	}
	if sc.TimeZone == "" {
		return Invalid("schedule.time_zone", "is required for windows")
	}
	if _, err := time.LoadLocation(sc.TimeZone); err != nil {
		return Invalid("schedule.time_zone", "unknown time zone %q", sc.TimeZone)
	}
	if len(sc.Windows) == 0 {
		return Invalid("schedule.windows", "needs at least one window")
	}
	for i, w := range sc.Windows {
		if _, err := time.Parse("15:04", w.Start); err != nil {
			return Invalid(fmt.Sprintf("schedule.windows[%d].start", i), "must be HH:MM")
		}
		if _, err := time.Parse("15:04", w.End); err != nil {
			return Invalid(fmt.Sprintf("schedule.windows[%d].end", i), "must be HH:MM")
		}
		if w.Start == w.End {
			return Invalid(fmt.Sprintf("schedule.windows[%d]", i), "start and end are equal")
		}
	}
	return nil
}

// Open reports whether the schedule has the session on air at t.
func (sc Schedule) Open(t time.Time) bool {
	if sc.Mode != "windows" {
		return true
	}
	loc, err := time.LoadLocation(sc.TimeZone)
	if err != nil {
		return false
	}
	lt := t.In(loc)
	now := lt.Hour()*60 + lt.Minute()
	for _, w := range sc.Windows {
		s, _ := time.Parse("15:04", w.Start)
		e, _ := time.Parse("15:04", w.End)
		sm, em := s.Hour()*60+s.Minute(), e.Hour()*60+e.Minute()
		if sm < em && now >= sm && now < em {
			return true
		}
		if sm > em && (now >= sm || now < em) {
			return true
		}
	}
	return false
}
