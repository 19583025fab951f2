// Package workers holds Evercast's asynq task handlers, one per pipeline
// stage: script (LLM or offline writer, then the claims check), speech,
// render and store. Handlers are stateless and idempotent: each loads the
// clip, does nothing if the clip is already past its stage, and advances the
// clip with a compare-and-set, so a retried or duplicated task is harmless.
package workers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/aigc"
	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/tasks"
	"github.com/evercast/evercast/workers/render"
	"github.com/evercast/evercast/workers/script"
	"github.com/evercast/evercast/workers/speech"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
)

// Store is what the workers need of the metadata store.
type Store interface {
	GetClip(ctx context.Context, id string) (*evercast.Clip, error)
	GetSession(ctx context.Context, id string) (*evercast.Session, error)
	GetAnchor(ctx context.Context, id string) (*evercast.Anchor, error)
	GetProducts(ctx context.Context, ids []string) ([]*evercast.Product, error)
	AdvanceClip(ctx context.Context, id string, from evercast.ClipState, u store.ClipUpdate) (*evercast.Clip, error)
	FailClip(ctx context.Context, id string, msg string, at time.Time) (*evercast.Clip, error)
	PlanClips(ctx context.Context, sessionID string, clips []*evercast.Clip, plannerState []byte) error
}

// Objects is what the workers need of the object store.
type Objects interface {
	Put(ctx context.Context, key string, b []byte, contentType string, meta map[string]string) error
	Get(ctx context.Context, key string) ([]byte, error)
	Remove(ctx context.Context, key string) error
}

// Renderer renders a clip to a file.
type Renderer interface {
	Render(ctx context.Context, job render.Job, outPath string) (render.Result, error)
}

// Enqueuer enqueues the next stage.
type Enqueuer interface {
	EnqueueContext(ctx context.Context, task *asynq.Task, opts ...asynq.Option) (*asynq.TaskInfo, error)
}

// Checker judges a script before it is voiced. It returns whether the text
// may air, the verdict to record, and findings to feed back to the writer.
type Checker interface {
	Check(ctx context.Context, in CheckInput) CheckResult
}

// CheckInput is one script to judge.
type CheckInput struct {
	Language evercast.Language
	Text     string
	Product  *evercast.Product
	Catalog  []*evercast.Product
	At       time.Time
}

// CheckResult is the checker's verdict.
type CheckResult struct {
	OK       bool
	Verdict  string   // recorded on the clip, e.g. "ok" or "violation:absolute:最好"
	Feedback []string // for the writer's rewrite
}

// Recorder keeps the tamper-evident record: every judged script.
type Recorder interface {
	Record(ctx context.Context, sessionID, kind string, data any) error
}

// Publisher sends live events to consoles and platforms.
type Publisher interface {
	Publish(e control.Event)
}

// Approvals is the human approval gate a merchant may require on a
// session's new scripts.
type Approvals interface {
	Required(ctx context.Context, sessionID string) (bool, error)
	Request(ctx context.Context, clip *evercast.Clip) (*audit.Approval, error)
	Cleared(ctx context.Context, clip *evercast.Clip) (bool, error)
}

// Options wire the workers.
type Options struct {
	Store    Store
	Objects  Objects
	Queue    Enqueuer
	Writer   script.Writer
	Fallback script.Writer // used when the primary writer fails for good; default offline
	Speech   speech.Synthesizer
	Renderer Renderer
	Checker  Checker
	Recorder Recorder
	Events   Publisher
	// Approvals, when set, holds scripts of sessions that require human
	// approval until someone approves them.
	Approvals Approvals
	// Avatar loads an avatar pack by name.
	Avatar func(name string) (*render.Avatar, error)
	// Rewrites bounds how often a failing script goes back to the writer.
	Rewrites int
	Provider string // AIGC provider name recorded in every clip
	TempDir  string
	Log      *slog.Logger
	Registry prometheus.Registerer
	Now      func() time.Time
}

// Workers are the stage handlers.
type Workers struct {
	o        Options
	stageDur *prometheus.HistogramVec
	failures *prometheus.CounterVec
}

// New returns the handlers.
func New(o Options) *Workers {
	if o.Fallback == nil {
		o.Fallback = script.Offline{}
	}
	if o.Rewrites == 0 {
		o.Rewrites = 2
	}
	if o.Provider == "" {
		o.Provider = "Evercast"
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	w := &Workers{
		o: o,
		stageDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "evercast_stage_seconds", Help: "Time a pipeline stage took, by stage.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}, []string{"stage"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "evercast_stage_failures_total", Help: "Stage attempts that failed, by stage and whether final."}, []string{"stage", "final"}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(w.stageDur, w.failures)
	}
	return w
}

// Register installs the handlers on an asynq mux.
func (w *Workers) Register(mux *asynq.ServeMux) {
	mux.HandleFunc(tasks.TypeScript, w.wrap(tasks.TypeScript, w.Script))
	mux.HandleFunc(tasks.TypeSpeech, w.wrap(tasks.TypeSpeech, w.Speech))
	mux.HandleFunc(tasks.TypeRender, w.wrap(tasks.TypeRender, w.Render))
	mux.HandleFunc(tasks.TypeStore, w.wrap(tasks.TypeStore, w.Store))
}

type handler func(ctx context.Context, p tasks.Payload) error

// wrap decodes the payload, times the stage, and on a final failure (no
// retry left, or a permanent error) marks the clip failed so that the
// orchestrator and playout move on.
func (w *Workers) wrap(stage string, h handler) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) (err error) {
		p, err := tasks.Decode(t)
		if err != nil {
			w.failures.WithLabelValues(stage, "true").Inc()
			w.o.Log.Error("malformed task payload", "task", stage, "err", err)
			return err // wraps SkipRetry: archived, never retried
		}
		log := w.o.Log.With("task", stage, "clip_id", p.ClipID, "session_id", p.SessionID)
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%s: panic: %v: %w", stage, r, asynq.SkipRetry)
			}
			if err == nil {
				return
			}
			retry, _ := asynq.GetRetryCount(ctx)
			maxRetry, ok := asynq.GetMaxRetry(ctx)
			final := errors.Is(err, asynq.SkipRetry) || !ok || retry >= maxRetry
			w.failures.WithLabelValues(stage, fmt.Sprint(final)).Inc()
			if !final {
				log.Warn("stage failed; will retry", "retry", retry, "err", err)
				return
			}
			log.Error("stage failed for good", "err", err)
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			failed, ferr := w.o.Store.FailClip(fctx, p.ClipID, fmt.Sprintf("%s: %v", stage, err), w.o.Now())
			if ferr != nil && !errors.Is(ferr, evercast.ErrConflict) {
				log.Error("mark clip failed", "err", ferr)
			}
			if ferr == nil {
				d := clipData(failed)
				d.Stage, d.Error, d.Attempt, d.Timings = strings.TrimPrefix(stage, "clip:"), err.Error(), retry+1, timings(failed, w.o.Now())
				w.publish(p.SessionID, control.EventClipFailed, d)
			}
		}()
		start := time.Now()
		err = h(ctx, p)
		w.stageDur.WithLabelValues(stage).Observe(time.Since(start).Seconds())
		return err
	}
}

// load returns the clip if it is in state want; (nil, nil) when the stage
// is already done or the clip failed, which makes the task a no-op.
func (w *Workers) load(ctx context.Context, p tasks.Payload, want evercast.ClipState) (*evercast.Clip, error) {
	c, err := w.o.Store.GetClip(ctx, p.ClipID)
	if errors.Is(err, evercast.ErrNotFound) {
		return nil, fmt.Errorf("clip %s: %w: %w", p.ClipID, err, asynq.SkipRetry)
	}
	if err != nil {
		return nil, err
	}
	if c.SessionID != p.SessionID {
		return nil, fmt.Errorf("clip %s belongs to session %s, not %s: %w", c.ID, c.SessionID, p.SessionID, asynq.SkipRetry)
	}
	if c.State != want {
		return nil, nil
	}
	return c, nil
}

func (w *Workers) next(ctx context.Context, taskType string, p tasks.Payload) error {
	q, ok := asynq.GetQueueName(ctx)
	if !ok {
		q = tasks.QueueDefault
	}
	t, err := tasks.New(taskType, p, q)
	if err != nil {
		return fmt.Errorf("next stage: %w: %w", err, asynq.SkipRetry)
	}
	if _, err := w.o.Queue.EnqueueContext(ctx, t); err != nil {
		if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
			return nil
		}
		return fmt.Errorf("enqueue %s: %w", taskType, err)
	}
	return nil
}

// advance moves the clip on; a conflict means another attempt already did.
func (w *Workers) advance(ctx context.Context, c *evercast.Clip, u store.ClipUpdate) (bool, error) {
	u.At = w.o.Now()
	_, err := w.o.Store.AdvanceClip(ctx, c.ID, c.State, u)
	if errors.Is(err, evercast.ErrConflict) {
		return false, nil
	}
	return err == nil, err
}

func (w *Workers) context(ctx context.Context, c *evercast.Clip) (*evercast.Session, *evercast.Anchor, []*evercast.Product, *evercast.Product, error) {
	s, err := w.o.Store.GetSession(ctx, c.SessionID)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("session: %w", err)
	}
	a, err := w.o.Store.GetAnchor(ctx, s.AnchorID)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("anchor: %w", err)
	}
	products, err := w.o.Store.GetProducts(ctx, s.ProductIDs)
	if err != nil {
		return nil, nil, nil, nil, fmt.Errorf("products: %w", err)
	}
	var current *evercast.Product
	for _, pr := range products {
		if pr.ID == c.ProductID {
			current = pr
		}
	}
	return s, a, products, current, nil
}

func (w *Workers) tempDir() (string, error) {
	return os.MkdirTemp(w.o.TempDir, "evercast-render-")
}

func (w *Workers) publish(sessionID, name string, data any) {
	if w.o.Events != nil {
		w.o.Events.Publish(control.Event{SessionID: sessionID, Name: name, At: w.o.Now(), Data: data})
	}
}

func clipData(c *evercast.Clip) control.ClipData {
	return control.ClipData{ClipID: c.ID, Kind: c.Kind, ProductID: c.ProductID, Language: c.Language, Text: c.Text,
		CommentID: c.CommentID, Priority: c.Priority, DurationMS: c.DurationMS}
}

// timings breaks a clip's way through the pipeline down by stage.
func timings(c *evercast.Clip, now time.Time) *control.ClipTimings {
	ms := func(a time.Time, b *time.Time) int64 {
		if b == nil || b.Before(a) {
			return 0
		}
		return b.Sub(a).Milliseconds()
	}
	t := &control.ClipTimings{TotalMS: now.Sub(c.PlannedAt).Milliseconds()}
	t.ScriptMS = ms(c.PlannedAt, c.ScriptedAt)
	if c.ScriptedAt != nil {
		t.SpeechMS = ms(*c.ScriptedAt, c.VoicedAt)
	}
	if c.VoicedAt != nil {
		t.RenderMS = ms(*c.VoicedAt, c.RenderedAt)
	}
	return t
}

// label is the hidden AIGC label of a clip.
func (w *Workers) label(c *evercast.Clip) aigc.Label {
	return aigc.Label{AIGenerated: true, Provider: w.o.Provider, ContentID: c.ID, Producer: "Evercast"}
}
