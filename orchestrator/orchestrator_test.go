package orchestrator

import (
	"context"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/clock"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/tasks"
	"github.com/hibiken/asynq"
)

// recorder is an Enqueuer that keeps tasks and refuses duplicate ids, as
// asynq does.
type recorder struct {
	mu    sync.Mutex
	ids   map[string]bool
	tasks []*asynq.Task
	fail  bool
}

func (r *recorder) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return nil, context.DeadlineExceeded
	}
	p, _ := tasks.Decode(t)
	id := tasks.TaskID(t.Type(), p.ClipID)
	if r.ids == nil {
		r.ids = map[string]bool{}
	}
	if r.ids[id] {
		return nil, asynq.ErrTaskIDConflict
	}
	r.ids[id] = true
	r.tasks = append(r.tasks, t)
	return &asynq.TaskInfo{ID: id}, nil
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.tasks)
}

// forget drops the recorded ids, as a restarted in-process Redis would.
func (r *recorder) forget() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ids = map[string]bool{}
}

type fixture struct {
	ctx     context.Context
	st      *store.Store
	session *evercast.Session
	clk     *clock.Manual
}

func newFixture(t *testing.T, mutate func(*evercast.Session)) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "e.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	m := &evercast.Merchant{Name: "m"}
	must(t, st.CreateMerchant(ctx, m))
	a := &evercast.Anchor{MerchantID: m.ID, Name: "A", Language: evercast.LangZH}
	must(t, a.Validate())
	must(t, st.CreateAnchor(ctx, a))
	var ids []string
	for _, sku := range []string{"A1", "B2", "C3"} {
		p := &evercast.Product{MerchantID: m.ID, SKU: sku, Title: evercast.Text{"zh": sku}, Price: 100}
		must(t, p.Validate())
		must(t, st.CreateProduct(ctx, p))
		ids = append(ids, p.ID)
	}
	s := &evercast.Session{MerchantID: m.ID, AnchorID: a.ID, Title: "t", ProductIDs: ids, ClipsPerProduct: 3}
	if mutate != nil {
		mutate(s)
	}
	must(t, s.Validate())
	must(t, st.CreateSession(ctx, s))
	clk := clock.NewManual(time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC))
	st.SetClock(clk.Now)
	return &fixture{ctx: ctx, st: st, session: s, clk: clk}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) orch(q Enqueuer, owner string) *Orchestrator {
	return New(Options{Store: f.st, Queue: q, Clock: f.clk, Owner: owner})
}

// renderAll takes every clip in flight to rendered with the given duration.
func (f *fixture) renderAll(t *testing.T, ms int64) {
	t.Helper()
	clips, err := f.st.ListClips(f.ctx, store.ClipFilter{SessionID: f.session.ID, States: []evercast.ClipState{evercast.ClipPlanned}})
	must(t, err)
	for _, c := range clips {
		text, key, sha := "text "+c.ID, "clips/"+c.ID, "00"
		_, err := f.st.AdvanceClip(f.ctx, c.ID, evercast.ClipPlanned, store.ClipUpdate{State: evercast.ClipScripted, Text: &text})
		must(t, err)
		_, err = f.st.AdvanceClip(f.ctx, c.ID, evercast.ClipScripted, store.ClipUpdate{State: evercast.ClipVoiced, AudioKey: &key})
		must(t, err)
		_, err = f.st.AdvanceClip(f.ctx, c.ID, evercast.ClipVoiced, store.ClipUpdate{State: evercast.ClipRendered, VideoKey: &key, VideoSHA256: &sha, DurationMS: &ms})
		must(t, err)
	}
}

func TestPlanRotation(t *testing.T) {
	s := &evercast.Session{ID: "ses_x", ProductIDs: []string{"p1", "p2"}, ClipsPerProduct: 3, DisclosureSeconds: 60}
	var p plan
	var got []string
	for i := 0; i < 14; i++ {
		c := p.next(s, evercast.LangZH)
		got = append(got, string(c.Kind)+":"+c.ProductID)
	}
	// 60 s disclosure interval at 5 s per clip: due once 48 s are planned
	// (80%), i.e. after the tenth clip.
	want := []string{"pitch:p1", "pitch:p1", "promotion:p1", "pitch:p2", "pitch:p2", "promotion:p2", "pitch:p1", "pitch:p1", "promotion:p1",
		"pitch:p2", "disclosure:", "pitch:p2", "promotion:p2", "pitch:p1"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("clip %d: got %s, want %s (all: %v)", i, got[i], want[i], got)
		}
	}
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t, nil)
	q := &recorder{}
	o := f.orch(q, "o1")
	sid := f.session.ID

	s, err := o.Start(f.ctx, sid)
	must(t, err)
	if s.State != evercast.SessionWarming {
		t.Fatalf("state after start: %s", s.State)
	}
	o.Tick(f.ctx)
	raw, _ := f.st.PlannerState(f.ctx, sid)
	p, _ := loadPlan(raw)
	if !p.Started || p.StandbyClipID == "" {
		t.Fatalf("standby not planned: %+v", p)
	}
	n := q.count()
	if n != 9 { // standby + opening + 7 more (MaxInFlight 8 content clips)
		t.Fatalf("enqueued %d script tasks, want 9", n)
	}
	for _, tk := range q.tasks {
		if tk.Type() != tasks.TypeScript {
			t.Fatalf("task type %s", tk.Type())
		}
	}
	// Nothing rendered: still warming, nothing more planned (in-flight cap).
	o.Tick(f.ctx)
	if q.count() != n {
		t.Fatalf("planned beyond the in-flight cap")
	}
	cur, _ := f.st.GetSession(f.ctx, sid)
	if cur.State != evercast.SessionWarming {
		t.Fatalf("went %s before anything rendered", cur.State)
	}
	f.renderAll(t, 5120)
	o.Tick(f.ctx)
	cur, _ = f.st.GetSession(f.ctx, sid)
	if cur.State != evercast.SessionLive {
		t.Fatalf("state after standby and first clips rendered: %s", cur.State)
	}
	// 7 rendered clips (35.84 s) are below the 60 s lookahead: more planned.
	if q.count() <= n {
		t.Fatalf("did not refill the lookahead")
	}
	st, _ := o.Status(f.ctx, sid)
	if st.BufferAheadSeconds < 35 || st.State != evercast.SessionLive || len(st.Next) == 0 {
		t.Fatalf("status %+v", st)
	}
	if st.Next[0].Kind != evercast.KindOpening {
		t.Fatalf("first clip to air is %s, want opening", st.Next[0].Kind)
	}

	// Stop: a closing clip jumps the queue once rendered.
	_, err = o.Stop(f.ctx, sid)
	must(t, err)
	closing := ""
	for _, c := range mustList(t, f, evercast.ClipPlanned) {
		if c.Kind == evercast.KindClosing {
			closing = c.ID
			if !c.Priority {
				t.Fatal("closing clip is not priority")
			}
		}
	}
	if closing == "" {
		t.Fatal("no closing clip planned")
	}
	before := q.count()
	o.Tick(f.ctx)
	f.renderAll(t, 3200)
	o.Tick(f.ctx)
	if c, err := f.st.Peek(f.ctx, sid); err != nil || c.ID != closing {
		t.Fatalf("next to air is %v (%v), want the closing clip", c, err)
	}
	if q.count() > before+0 {
		// Planning stops once closing: nothing but in-flight work moves.
		for _, tk := range q.tasks[before:] {
			pl, _ := tasks.Decode(tk)
			c, _ := f.st.GetClip(f.ctx, pl.ClipID)
			if c.Kind != evercast.KindClosing {
				t.Fatalf("planned %s after stop", c.Kind)
			}
		}
	}
}

func mustList(t *testing.T, f *fixture, states ...evercast.ClipState) []*evercast.Clip {
	t.Helper()
	cs, err := f.st.ListClips(f.ctx, store.ClipFilter{SessionID: f.session.ID, States: states})
	must(t, err)
	return cs
}

func TestTakeOverRedispatches(t *testing.T) {
	f := newFixture(t, nil)
	q := &recorder{}
	a := f.orch(q, "a")
	b := f.orch(q, "b")
	_, err := a.Start(f.ctx, f.session.ID)
	must(t, err)
	a.Tick(f.ctx)
	b.Tick(f.ctx)
	if b.Owns(f.session.ID) || !a.Owns(f.session.ID) {
		t.Fatalf("ownership: a=%v b=%v", a.Owns(f.session.ID), b.Owns(f.session.ID))
	}
	n := q.count()
	// a dies; its queue entries are lost with it (in-process Redis).
	q.forget()
	f.clk.Advance(9 * time.Second)
	b.Tick(f.ctx)
	if !b.Owns(f.session.ID) {
		t.Fatal("b did not take over after the lease expired")
	}
	if got := q.count() - n; got != len(mustList(t, f, evercast.ClipPlanned)) {
		t.Fatalf("re-dispatched %d tasks, want every planned clip (%d)", got, len(mustList(t, f, evercast.ClipPlanned)))
	}
	s, _ := f.st.GetSession(f.ctx, f.session.ID)
	if s.Owner != "b" {
		t.Fatalf("owner shown as %q", s.Owner)
	}
}

func TestMaxAirPlansClosing(t *testing.T) {
	f := newFixture(t, func(s *evercast.Session) { s.MaxAirSeconds = 20 })
	q := &recorder{}
	o := f.orch(q, "o")
	_, err := o.Start(f.ctx, f.session.ID)
	must(t, err)
	for i := 0; i < 5; i++ {
		o.Tick(f.ctx)
		f.renderAll(t, 5120)
	}
	o.Tick(f.ctx)
	kinds := map[evercast.ClipKind]int{}
	var total int64
	for _, c := range mustList(t, f, evercast.ClipPlanned, evercast.ClipRendered) {
		kinds[c.Kind]++
		if c.Kind != evercast.KindStandby && c.Kind != evercast.KindClosing {
			total += c.DurationMS
		}
	}
	if kinds[evercast.KindClosing] != 1 {
		t.Fatalf("closing clips: %d (kinds %v)", kinds[evercast.KindClosing], kinds)
	}
	if total < 20000 || total > 20000+8*5120 {
		t.Fatalf("content before closing: %d ms for a 20 s limit", total)
	}
}

func TestEnqueueFailureRecovers(t *testing.T) {
	f := newFixture(t, nil)
	q := &recorder{fail: true}
	o := f.orch(q, "o")
	_, err := o.Start(f.ctx, f.session.ID)
	must(t, err)
	o.Tick(f.ctx) // plans, cannot enqueue (Redis down)
	if q.count() != 0 {
		t.Fatal("recorded while failing")
	}
	q.mu.Lock()
	q.fail = false
	q.mu.Unlock()
	f.clk.Advance(time.Minute)
	o.Tick(f.ctx)
	if q.count() == 0 {
		t.Fatal("stuck clips were not re-dispatched after Redis came back")
	}
}
