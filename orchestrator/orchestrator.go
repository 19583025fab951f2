// Package orchestrator runs sessions: their lifecycle (scheduled → warming →
// live ⇄ paused → ended), the rundown planner that keeps a lookahead buffer
// of rendered clips ahead of the playhead, product rotation, the spoken AI
// disclosure, dispatch of pipeline tasks, recovery of work lost in a crash,
// and session ownership when several orchestrators run.
package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/clock"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/tasks"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the orchestrator needs of the metadata store.
type Store interface {
	GetSession(ctx context.Context, id string) (*evercast.Session, error)
	ListSessions(ctx context.Context, f store.SessionFilter) ([]*evercast.Session, error)
	SetSessionState(ctx context.Context, id string, to evercast.SessionState, from ...evercast.SessionState) (*evercast.Session, error)
	GetAnchor(ctx context.Context, id string) (*evercast.Anchor, error)
	AcquireLeases(ctx context.Context, ids []string, owner string, ttl time.Duration, now time.Time) (map[string]bool, error)
	ReleaseLease(ctx context.Context, sessionID, owner string) error
	PlanClips(ctx context.Context, sessionID string, clips []*evercast.Clip, plannerState []byte) error
	PlannerState(ctx context.Context, sessionID string) ([]byte, error)
	PlannerStates(ctx context.Context, ids []string) (map[string][]byte, error)
	PendingStats(ctx context.Context, ids []string) (map[string]store.ClipStats, error)
	GetClip(ctx context.Context, id string) (*evercast.Clip, error)
	ListClips(ctx context.Context, f store.ClipFilter) ([]*evercast.Clip, error)
	ClipStats(ctx context.Context, sessionID string) (store.ClipStats, error)
	Rundown(ctx context.Context, sessionID string, opts store.RundownOptions) ([]*evercast.Clip, error)
	FailClip(ctx context.Context, id string, msg string, at time.Time) (*evercast.Clip, error)
	GetProducts(ctx context.Context, ids []string) ([]*evercast.Product, error)
	RecordComments(ctx context.Context, sessionID string, rs []*evercast.CommentRecord) ([]*evercast.CommentRecord, error)
	KnownComments(ctx context.Context, sessionID string, ids []string) (map[string]bool, error)
	AnsweredSince(ctx context.Context, sessionID, key string, since time.Time) (bool, error)
	RepliesSince(ctx context.Context, sessionID string, since time.Time) (planned, pending int, err error)
}

// Recorder keeps the tamper-evident record (the audit log): what was
// commanded, by whom, and what happened to sessions and comments.
type Recorder interface {
	Record(ctx context.Context, sessionID, kind string, data any) error
}

// Approvals is the human approval gate on a session's new scripts.
type Approvals interface {
	SetRequired(ctx context.Context, sessionID string, required bool, actor string) error
	Required(ctx context.Context, sessionID string) (bool, error)
	Pending(ctx context.Context, sessionID string) ([]*audit.Approval, error)
	Decide(ctx context.Context, clipID string, approve bool, actor, reason string) (*audit.Approval, error)
}

// Publisher sends live events to consoles and platforms.
type Publisher interface {
	Publish(e control.Event)
}

// Enqueuer puts tasks on the queue (asynq.Client).
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Options configure an Orchestrator.
type Options struct {
	Store Store
	Queue Enqueuer
	Clock clock.Clock
	// Owner names this orchestrator in session leases.
	Owner string
	// Tick is how often sessions are planned (default 1 s).
	Tick time.Duration
	// LeaseTTL is how long an ownership lease lasts without renewal
	// (default 8 s, so a dead owner's sessions move within 10 s).
	LeaseTTL time.Duration
	// MaxInFlight caps clips in the pipeline per session (default 8).
	MaxInFlight int
	// StuckAfter is when a clip that has not moved gets its task enqueued
	// again (default 45 s).
	StuckAfter time.Duration
	// Outputs, when set, reports RTMP push status for Status.
	Outputs func(sessionID string) []evercast.OutputStatus
	// Approvals, when set, lets merchants require human approval of scripts.
	Approvals Approvals
	// Events, when set, receives live events.
	Events Publisher
	// Recorder, when set, receives the audit records.
	Recorder Recorder
	// OnComments, when set, sees every batch of comments as recorded.
	OnComments func(sessionID string, rs []*evercast.CommentRecord)
	Log        *slog.Logger
	Registry   prometheus.Registerer
}

// Orchestrator plans and dispatches every on-air session it owns.
type Orchestrator struct {
	o       Options
	metrics metrics

	mu        sync.Mutex
	owned     map[string]bool
	reconcile map[string]bool // sessions whose in-flight work must be re-dispatched
	lastStuck map[string]time.Time
	budgets   map[string]*budget
	buffers   map[string]bufferSeen
}

// bufferSeen is the last buffer event published for a session.
type bufferSeen struct {
	readyMS int64
	at      time.Time
}

type metrics struct {
	planned    *prometheus.CounterVec
	enqueueErr prometheus.Counter
	owned      prometheus.Gauge
	tickDur    prometheus.Histogram
}

// New returns an orchestrator.
func New(o Options) *Orchestrator {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Tick == 0 {
		o.Tick = time.Second
	}
	if o.LeaseTTL == 0 {
		o.LeaseTTL = 8 * time.Second
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = 8
	}
	if o.StuckAfter == 0 {
		o.StuckAfter = 45 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	m := metrics{
		planned:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "evercast_clips_planned_total", Help: "Clips planned, by kind."}, []string{"kind"}),
		enqueueErr: prometheus.NewCounter(prometheus.CounterOpts{Name: "evercast_enqueue_errors_total", Help: "Tasks that could not be enqueued (re-dispatched later)."}),
		owned:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "evercast_sessions_owned", Help: "Sessions this orchestrator owns."}),
		tickDur:    prometheus.NewHistogram(prometheus.HistogramOpts{Name: "evercast_orchestrator_tick_seconds", Help: "Time to plan every owned session once.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(m.planned, m.enqueueErr, m.owned, m.tickDur)
	}
	return &Orchestrator{o: o, metrics: m, owned: map[string]bool{}, reconcile: map[string]bool{}}
}

// Run plans sessions until ctx ends, then releases its leases.
func (x *Orchestrator) Run(ctx context.Context) error {
	t := time.NewTicker(x.o.Tick)
	defer t.Stop()
	for {
		x.Tick(ctx)
		select {
		case <-ctx.Done():
			x.releaseAll(context.WithoutCancel(ctx))
			return nil
		case <-t.C:
		}
	}
}

func (x *Orchestrator) releaseAll(ctx context.Context) {
	x.mu.Lock()
	ids := make([]string, 0, len(x.owned))
	for id := range x.owned {
		ids = append(ids, id)
	}
	x.owned = map[string]bool{}
	x.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	for _, id := range ids {
		if err := x.o.Store.ReleaseLease(ctx, id, x.o.Owner); err != nil {
			x.o.Log.Warn("release lease", "session_id", id, "err", err)
		}
	}
}

// Tick plans every on-air session once: it takes or renews the ownership
// leases, then plans and dispatches what each owned session needs. The
// leases, planner states and buffer sums of all sessions are read in a few
// queries; a session whose buffer is full costs no further round trip.
func (x *Orchestrator) Tick(ctx context.Context) {
	start := time.Now()
	defer func() { x.metrics.tickDur.Observe(time.Since(start).Seconds()) }()
	sessions, err := x.o.Store.ListSessions(ctx, store.SessionFilter{States: []evercast.SessionState{
		evercast.SessionWarming, evercast.SessionLive, evercast.SessionPaused}})
	if err != nil {
		if ctx.Err() == nil {
			x.o.Log.Error("list sessions", "err", err)
		}
		return
	}
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.ID
	}
	held, err := x.o.Store.AcquireLeases(ctx, ids, x.o.Owner, x.o.LeaseTTL, x.o.Clock.Now())
	if err != nil {
		if ctx.Err() == nil {
			x.o.Log.Error("leases", "err", err)
		}
		return
	}
	x.mu.Lock()
	mine := sessions[:0:0]
	for _, s := range sessions {
		if !held[s.ID] {
			continue
		}
		mine = append(mine, s)
		if !x.owned[s.ID] {
			// Newly owned (start-up or take-over): whatever was in flight
			// under the previous owner may have been lost with it.
			x.owned[s.ID] = true
			x.reconcile[s.ID] = true
			x.o.Log.Info("session owned", "session_id", s.ID, "owner", x.o.Owner)
		}
	}
	for id := range x.owned {
		if !held[id] {
			delete(x.owned, id)
			delete(x.reconcile, id)
			delete(x.lastStuck, id)
		}
	}
	x.metrics.owned.Set(float64(len(x.owned)))
	x.mu.Unlock()
	if len(mine) == 0 {
		return
	}
	ids = ids[:0]
	for _, s := range mine {
		ids = append(ids, s.ID)
	}
	states, err := x.o.Store.PlannerStates(ctx, ids)
	if err != nil {
		if ctx.Err() == nil {
			x.o.Log.Error("planner states", "err", err)
		}
		return
	}
	stats, err := x.o.Store.PendingStats(ctx, ids)
	if err != nil {
		if ctx.Err() == nil {
			x.o.Log.Error("pending stats", "err", err)
		}
		return
	}
	for _, s := range mine {
		if ctx.Err() != nil {
			return
		}
		if err := x.planSession(ctx, s, states[s.ID], stats[s.ID]); err != nil && ctx.Err() == nil {
			x.o.Log.Error("plan session", "session_id", s.ID, "err", err)
		}
	}
}

// Owns reports whether this orchestrator holds the session's lease.
func (x *Orchestrator) Owns(sessionID string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.owned[sessionID]
}

// planSession plans and dispatches what one owned session needs, given
// its saved planner state and its pending clip sums (ReadyMS, InFlight).
func (x *Orchestrator) planSession(ctx context.Context, s *evercast.Session, raw []byte, stats store.ClipStats) error {
	p, err := loadPlan(raw)
	if err != nil {
		return fmt.Errorf("planner state: %w", err)
	}
	x.mu.Lock()
	rec := x.reconcile[s.ID]
	delete(x.reconcile, s.ID)
	x.mu.Unlock()
	if err := x.redispatch(ctx, s, rec, stats.InFlight); err != nil {
		x.o.Log.Warn("redispatch", "session_id", s.ID, "err", err)
	}
	if s.MaxAirSeconds > 0 {
		// The length limit needs the aired total too.
		if stats, err = x.o.Store.ClipStats(ctx, s.ID); err != nil {
			return err
		}
	}
	// The anchor (for the language of new clips) is read only when a clip
	// is planned.
	var anchor *evercast.Anchor
	language := func() (evercast.Language, error) {
		if anchor == nil {
			a, err := x.o.Store.GetAnchor(ctx, s.AnchorID)
			if err != nil {
				return "", fmt.Errorf("anchor: %w", err)
			}
			anchor = a
		}
		return anchor.Language, nil
	}

	var batch []*evercast.Clip
	now := x.o.Clock.Now()
	if !p.Started {
		lang, err := language()
		if err != nil {
			return err
		}
		standby := &evercast.Clip{ID: evercast.NewID(evercast.PrefixClip), SessionID: s.ID, Kind: evercast.KindStandby,
			Language: lang, State: evercast.ClipPlanned, PlannedAt: now}
		p.StandbyClipID = standby.ID
		opening := &evercast.Clip{SessionID: s.ID, Kind: evercast.KindOpening, Language: lang,
			State: evercast.ClipPlanned, PlannedAt: now}
		if len(s.ProductIDs) > 0 {
			opening.ProductID = s.ProductIDs[0]
		}
		batch = append(batch, standby, opening)
		p.Started = true
		p.PlannedMS += estimateMS
	}

	x.publishBuffer(s, stats, now)
	if s.State == evercast.SessionWarming && len(batch) == 0 {
		if err := x.maybeGoLive(ctx, s, p, stats); err != nil {
			return err
		}
	}

	if p.Closing {
		if !p.ClosingAt.IsZero() && now.Sub(p.ClosingAt) > 60*time.Second {
			// The closing never made it to air (the pipeline is down): end
			// the session anyway rather than keep it half-stopped.
			x.o.Log.Warn("closing clip not aired in time; ending session", "session_id", s.ID)
			return x.end(ctx, s.ID)
		}
	} else if s.State != evercast.SessionPaused {
		lookMS := int64(s.LookaheadSeconds) * 1000
		inFlight := stats.InFlight
		for _, c := range batch {
			if c.Kind != evercast.KindStandby {
				inFlight++
			}
		}
		ahead := stats.ReadyMS + int64(inFlight)*estimateMS
		maxAir := int64(s.MaxAirSeconds) * 1000
		for inFlight < x.o.MaxInFlight && ahead < lookMS+estimateMS {
			if maxAir > 0 && stats.AiredMS+stats.ReadyMS+int64(inFlight)*estimateMS >= maxAir {
				break
			}
			lang, err := language()
			if err != nil {
				return err
			}
			c := p.next(s, lang)
			c.PlannedAt = now
			batch = append(batch, c)
			inFlight++
			ahead += estimateMS
		}
		// With a length limit, the closing scene follows once everything
		// planned is rendered and covers the limit.
		if maxAir > 0 && stats.InFlight == 0 && len(batch) == 0 && stats.AiredMS+stats.ReadyMS >= maxAir {
			lang, err := language()
			if err != nil {
				return err
			}
			c := &evercast.Clip{ID: evercast.NewID(evercast.PrefixClip), SessionID: s.ID, Kind: evercast.KindClosing,
				Language: lang, State: evercast.ClipPlanned, PlannedAt: now}
			p.Closing, p.ClosingClipID, p.ClosingAt = true, c.ID, now
			batch = append(batch, c)
		}
	}
	if len(batch) == 0 {
		return nil
	}
	for _, c := range batch {
		if c.ID == "" {
			c.ID = evercast.NewID(evercast.PrefixClip)
		}
	}
	if err := x.o.Store.PlanClips(ctx, s.ID, batch, p.bytes()); err != nil {
		return fmt.Errorf("plan clips: %w", err)
	}
	queue := tasks.QueueDefault
	if stats.ReadyMS > int64(s.LookaheadSeconds)*1000/2 {
		queue = tasks.QueueLow // comfortably ahead: pre-generation
	}
	for _, c := range batch {
		x.publish(s.ID, control.EventClipPlanned, clipData(c))
		x.metrics.planned.WithLabelValues(string(c.Kind)).Inc()
		q := queue
		if c.Priority || c.Kind == evercast.KindStandby || c.Kind == evercast.KindOpening || c.Kind == evercast.KindClosing {
			q = tasks.QueueDefault
			if c.Priority {
				q = tasks.QueueCritical
			}
		}
		x.dispatch(ctx, tasks.TypeScript, c, q)
	}
	return nil
}

// maybeGoLive moves a warming session live once its standby clip and its
// first clip are rendered: from then on playout can never run dry.
func (x *Orchestrator) maybeGoLive(ctx context.Context, s *evercast.Session, p plan, stats store.ClipStats) error {
	if p.StandbyClipID == "" || stats.ReadyMS == 0 {
		return nil
	}
	sb, err := x.o.Store.GetClip(ctx, p.StandbyClipID)
	if err != nil {
		return err
	}
	if sb.State == evercast.ClipFailed {
		// Re-plan the standby clip: without it the session cannot go live.
		x.o.Log.Error("standby clip failed; planning it again", "session_id", s.ID, "clip_id", sb.ID, "err", sb.Error)
		p.StandbyClipID = ""
		p.Started = false
		return x.o.Store.PlanClips(ctx, s.ID, nil, p.bytes())
	}
	if sb.State != evercast.ClipRendered {
		return nil
	}
	if _, err := x.o.Store.SetSessionState(ctx, s.ID, evercast.SessionLive, evercast.SessionWarming); err != nil && !errors.Is(err, evercast.ErrConflict) {
		return err
	}
	x.o.Log.Info("session live", "session_id", s.ID)
	x.publish(s.ID, control.EventSessionState, control.SessionStateData{State: evercast.SessionLive, Previous: evercast.SessionWarming, Reason: "ready"})
	x.record(ctx, s.ID, audit.KindSession, audit.SessionEvent{Event: "live", From: string(evercast.SessionWarming), To: string(evercast.SessionLive)})
	return nil
}

func taskFor(state evercast.ClipState) string {
	switch state {
	case evercast.ClipPlanned:
		return tasks.TypeScript
	case evercast.ClipScripted:
		return tasks.TypeSpeech
	case evercast.ClipVoiced:
		return tasks.TypeRender
	}
	return ""
}

// redispatch enqueues again the task of every in-flight clip that has not
// moved for StuckAfter (or of every one, after a take-over or restart). Task
// ids are derived from clip ids, so a task still queued is not duplicated.
// inFlight is the session's count of regular clips in flight: a live
// session with none (its standby template is rendered before it goes live)
// has nothing to look at.
func (x *Orchestrator) redispatch(ctx context.Context, s *evercast.Session, all bool, inFlight int) error {
	if !all && (inFlight == 0 && s.State == evercast.SessionLive || !x.stuckCheckDue(s.ID)) {
		return nil
	}
	clips, err := x.o.Store.ListClips(ctx, store.ClipFilter{SessionID: s.ID, States: []evercast.ClipState{
		evercast.ClipPlanned, evercast.ClipScripted, evercast.ClipVoiced}})
	if err != nil {
		return err
	}
	now := x.o.Clock.Now()
	for _, c := range clips {
		if !all && now.Sub(lastMoved(c)) < x.o.StuckAfter {
			continue
		}
		if c.Verdict == audit.VerdictPendingApproval {
			continue // waits for a person, not for a worker
		}
		q := tasks.QueueDefault
		if c.Priority {
			q = tasks.QueueCritical
		}
		x.dispatch(ctx, taskFor(c.State), c, q)
	}
	return nil
}

var stuckEvery = 10 * time.Second

// stuckCheckDue limits the scan for stuck clips to once every 10 s per
// session.
func (x *Orchestrator) stuckCheckDue(sessionID string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.lastStuck == nil {
		x.lastStuck = map[string]time.Time{}
	}
	now := x.o.Clock.Now()
	if now.Sub(x.lastStuck[sessionID]) < stuckEvery {
		return false
	}
	x.lastStuck[sessionID] = now
	return true
}

func lastMoved(c *evercast.Clip) time.Time {
	t := c.PlannedAt
	for _, p := range []*time.Time{c.ScriptedAt, c.VoicedAt} {
		if p != nil && p.After(t) {
			t = *p
		}
	}
	return t
}

func (x *Orchestrator) publish(sessionID, name string, data any) {
	if x.o.Events != nil {
		x.o.Events.Publish(control.Event{SessionID: sessionID, Name: name, At: x.o.Clock.Now(), Data: data})
	}
}

// publishBuffer sends a session's buffer-ahead when it moved by a second
// or more, or every 5 s.
func (x *Orchestrator) publishBuffer(s *evercast.Session, st store.ClipStats, now time.Time) {
	if x.o.Events == nil {
		return
	}
	x.mu.Lock()
	if x.buffers == nil {
		x.buffers = map[string]bufferSeen{}
	}
	last := x.buffers[s.ID]
	due := now.Sub(last.at) >= 5*time.Second || abs(st.ReadyMS-last.readyMS) >= 1000
	if due {
		x.buffers[s.ID] = bufferSeen{readyMS: st.ReadyMS, at: now}
	}
	x.mu.Unlock()
	if due {
		x.publish(s.ID, control.EventBuffer, control.BufferData{BufferAheadSeconds: float64(st.ReadyMS) / 1000,
			TargetSeconds: float64(s.LookaheadSeconds), InFlight: st.InFlight})
	}
}

func abs(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// clipData is a clip as the clip.* events show it.
func clipData(c *evercast.Clip) control.ClipData {
	return control.ClipData{ClipID: c.ID, Seq: c.Seq, Kind: c.Kind, ProductID: c.ProductID, Language: c.Language, Text: c.Text,
		CommentID: c.CommentID, Priority: c.Priority, DurationMS: c.DurationMS, StartMS: c.StartMS}
}

// record appends to the audit log; a failure is logged, never fatal to the
// stream (the archive check reports gaps).
func (x *Orchestrator) record(ctx context.Context, sessionID, kind string, data any) {
	if x.o.Recorder == nil {
		return
	}
	if err := x.o.Recorder.Record(context.WithoutCancel(ctx), sessionID, kind, data); err != nil {
		x.o.Log.Error("audit record", "session_id", sessionID, "kind", kind, "err", err)
	}
}

func (x *Orchestrator) dispatch(ctx context.Context, taskType string, c *evercast.Clip, queue string) {
	if taskType == "" {
		return
	}
	t, err := tasks.New(taskType, tasks.Payload{ClipID: c.ID, SessionID: c.SessionID}, queue)
	if err != nil {
		x.o.Log.Error("build task", "clip_id", c.ID, "err", err)
		return
	}
	if _, err := x.o.Queue.EnqueueContext(ctx, t); err != nil {
		if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
			return
		}
		x.metrics.enqueueErr.Inc()
		x.o.Log.Warn("enqueue failed; will retry", "clip_id", c.ID, "task", taskType, "err", err)
	}
}
