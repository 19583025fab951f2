// Package playout turns a session's clips into one continuous stream: it
// cues the next clip at every boundary (or a standby clip when none is
// ready: never dead air), splices it onto the stream timeline with
// continuous timestamps, paces it in real time (or not, under the fast
// clock), writes a live HLS window and pushes to any number of RTMP targets.
package playout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/clock"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Source is what playout needs of the rundown (the metadata store).
type Source interface {
	ListSessions(ctx context.Context, f store.SessionFilter) ([]*evercast.Session, error)
	GetSession(ctx context.Context, id string) (*evercast.Session, error)
	GetClip(ctx context.Context, id string) (*evercast.Clip, error)
	PlannerState(ctx context.Context, sessionID string) ([]byte, error)
	ClipStats(ctx context.Context, sessionID string) (store.ClipStats, error)
	// Peek returns the clip Cue would take now, changing nothing;
	// store.ErrNotReady when none is ready.
	Peek(ctx context.Context, sessionID string) (*evercast.Clip, error)
	Cue(ctx context.Context, sessionID string, startMS int64, now time.Time) (*evercast.Clip, error)
	CueStandby(ctx context.Context, sessionID string, c *evercast.Clip, startMS int64, now time.Time) (*evercast.Clip, error)
	MarkAired(ctx context.Context, clipID string, now time.Time) (*evercast.Clip, error)
	MarkAiredCut(ctx context.Context, clipID string, now time.Time, airedMS int64) (*evercast.Clip, error)
	SetSessionState(ctx context.Context, id string, to evercast.SessionState, from ...evercast.SessionState) (*evercast.Session, error)
	ListClips(ctx context.Context, f store.ClipFilter) ([]*evercast.Clip, error)
	FailClip(ctx context.Context, id string, msg string, at time.Time) (*evercast.Clip, error)
}

// Recorder keeps the tamper-evident record of everything aired.
type Recorder interface {
	Record(ctx context.Context, sessionID, kind string, data any) error
}

// Publisher sends live events to consoles and platforms.
type Publisher interface {
	Publish(e control.Event)
}

// Objects reads clips from the object store.
type Objects interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// Options configure the engine.
type Options struct {
	Source  Source
	Objects Objects
	Clock   clock.Clock
	// Fast airs clips as fast as they are ready (no pacing).
	Fast bool
	// Stall is, under the fast clock, how long to wait for the next clip
	// before airing standby.
	Stall time.Duration
	// Lead is how far ahead of real time data is written (real clock).
	Lead time.Duration
	// HLSRoot holds one directory per session.
	HLSRoot   string
	HLSWindow int
	FFmpeg    string
	// Poll is how often the engine looks for sessions to start or stop.
	Poll     time.Duration
	Log      *slog.Logger
	Registry prometheus.Registerer
	// Events, when set, receives live events: clips cued and aired, the
	// playhead, RTMP target states.
	Events Publisher
	// Recorder, when set, receives an audit record for every aired clip.
	Recorder Recorder
	// OnAired, when set, is called after each clip has aired.
	OnAired func(c *evercast.Clip)
}

// Engine runs one channel per on-air session.
type Engine struct {
	o  Options
	m  metrics
	mu sync.Mutex
	ch map[string]*channel
	wg sync.WaitGroup
}

type metrics struct {
	aired      *prometheus.CounterVec
	standby    prometheus.Counter
	late       prometheus.Histogram
	channels   prometheus.Gauge
	cueErrors  prometheus.Counter
	cutLatency prometheus.Histogram
}

// New returns an engine.
func New(o Options) *Engine {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Stall == 0 {
		o.Stall = 20 * time.Second
	}
	if o.Lead == 0 {
		// Data goes out this far ahead of real time: the bound on how late
		// a cut can land, beyond the quantum in progress.
		o.Lead = 500 * time.Millisecond
	}
	if o.HLSWindow == 0 {
		o.HLSWindow = 8
	}
	if o.FFmpeg == "" {
		o.FFmpeg = "ffmpeg"
	}
	if o.Poll == 0 {
		o.Poll = 500 * time.Millisecond
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	m := metrics{
		aired:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "evercast_clips_aired_total", Help: "Clips aired, by kind."}, []string{"kind"}),
		standby:   prometheus.NewCounter(prometheus.CounterOpts{Name: "evercast_standby_aired_total", Help: "Standby clips aired because the buffer ran dry or the session was paused."}),
		late:      prometheus.NewHistogram(prometheus.HistogramOpts{Name: "evercast_playout_late_seconds", Help: "How late data reached the outputs against the real-time schedule.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}),
		channels:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "evercast_playout_channels", Help: "Sessions this playout is airing."}),
		cueErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "evercast_playout_cue_errors_total", Help: "Errors cueing or fetching clips."}),
		cutLatency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "evercast_playout_cut_seconds",
			Help: "From an operator's cut (skip, cut to standby) to the quantum where the clip on air ends.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(m.aired, m.standby, m.late, m.channels, m.cueErrors, m.cutLatency)
	}
	return &Engine{o: o, m: m, ch: map[string]*channel{}}
}

// HLSDir is where a session's live HLS window is written.
func (e *Engine) HLSDir(sessionID string) string { return HLSDir(e.o.HLSRoot, sessionID) }

// HLSDir is the HLS directory of a session under root.
func HLSDir(root, sessionID string) string { return filepath.Join(root, filepath.Base(sessionID)) }

// Outputs reports the RTMP targets of a session.
func (e *Engine) Outputs(sessionID string) []evercast.OutputStatus {
	e.mu.Lock()
	c := e.ch[sessionID]
	e.mu.Unlock()
	if c == nil {
		return nil
	}
	return c.outputs()
}

// Run airs sessions until ctx ends; channels stop with it.
func (e *Engine) Run(ctx context.Context) error {
	t := time.NewTicker(e.o.Poll)
	defer t.Stop()
	for {
		e.sync(ctx)
		select {
		case <-ctx.Done():
			e.wg.Wait()
			return nil
		case <-t.C:
		}
	}
}

// sync starts a channel for every session on air and stops those of
// sessions no longer on air.
func (e *Engine) sync(ctx context.Context) {
	sessions, err := e.o.Source.ListSessions(ctx, store.SessionFilter{States: []evercast.SessionState{evercast.SessionLive, evercast.SessionPaused}})
	if err != nil {
		if ctx.Err() == nil {
			e.o.Log.Error("list sessions", "err", err)
		}
		return
	}
	want := map[string]*evercast.Session{}
	for _, s := range sessions {
		want[s.ID] = s
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for id, c := range e.ch {
		if _, ok := want[id]; !ok {
			c.stop()
		}
		select {
		case <-c.done:
			delete(e.ch, id)
		default:
		}
	}
	for id, s := range want {
		if _, ok := e.ch[id]; ok {
			continue
		}
		c, err := e.newChannel(ctx, s)
		if err != nil {
			e.o.Log.Error("start channel", "session_id", id, "err", err)
			continue
		}
		e.ch[id] = c
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			c.run()
		}()
	}
	e.m.channels.Set(float64(len(e.ch)))
}

// Wait blocks until the session's channel has finished.
func (e *Engine) Wait(ctx context.Context, sessionID string) error {
	for {
		e.mu.Lock()
		c := e.ch[sessionID]
		e.mu.Unlock()
		if c != nil {
			select {
			case <-c.done:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

var errEnded = errors.New("session ended")

func (e *Engine) endSession(ctx context.Context, id string) error {
	_, err := e.o.Source.SetSessionState(ctx, id, evercast.SessionEnded, evercast.SessionLive, evercast.SessionPaused, evercast.SessionWarming)
	if err != nil && !errors.Is(err, evercast.ErrConflict) {
		return fmt.Errorf("end session: %w", err)
	}
	if err == nil {
		e.record(ctx, id, audit.KindSession, audit.SessionEvent{Event: "ended", To: string(evercast.SessionEnded), Note: "closing aired"})
		e.publish(id, control.EventSessionState, control.SessionStateData{State: evercast.SessionEnded, Reason: "closing aired"})
	}
	return nil
}

func (e *Engine) publish(sessionID, name string, data any) {
	if e.o.Events != nil {
		e.o.Events.Publish(control.Event{SessionID: sessionID, Name: name, At: time.Now(), Data: data})
	}
}

func clipData(c *evercast.Clip) control.ClipData {
	return control.ClipData{ClipID: c.ID, Seq: c.Seq, Kind: c.Kind, ProductID: c.ProductID, Language: c.Language, Text: c.Text,
		CommentID: c.CommentID, Priority: c.Priority, DurationMS: c.DurationMS, StartMS: c.StartMS}
}

func (e *Engine) record(ctx context.Context, sessionID, kind string, data any) {
	if e.o.Recorder == nil {
		return
	}
	if err := e.o.Recorder.Record(context.WithoutCancel(ctx), sessionID, kind, data); err != nil {
		e.o.Log.Error("audit record", "session_id", sessionID, "kind", kind, "err", err)
	}
}

// Notify tells the session's channel that a priority clip (a live reply,
// say-now) is rendered: the clip on air gives way at its next pause.
func (e *Engine) Notify(sessionID string) {
	e.mu.Lock()
	c := e.ch[sessionID]
	e.mu.Unlock()
	if c != nil {
		c.replyReady.Store(true)
	}
}

// ErrNotAiring is returned for a command to a session this engine is not
// airing.
var ErrNotAiring = fmt.Errorf("playout: session not on air here: %w", evercast.ErrNotFound)

// Command asks the channel of a session to cut what is on air: "skip" ends
// the current clip, "standby" cuts to the standby loop (the session is
// paused), "resume" ends the standby clip so the rundown goes on. The cut
// lands at the next point where the stream can be joined gaplessly.
func (e *Engine) Command(ctx context.Context, sessionID, what string) (map[string]any, error) {
	switch what {
	case "skip", "standby", "resume":
	default:
		return nil, fmt.Errorf("playout command %q: %w", what, evercast.ErrInvalid)
	}
	e.mu.Lock()
	c := e.ch[sessionID]
	e.mu.Unlock()
	if c == nil {
		return nil, ErrNotAiring
	}
	return c.request(what), nil
}
