package orchestrator

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// countingStore counts the store calls a tick can make.
type countingStore struct {
	*store.Store
	mu    sync.Mutex
	calls map[string]int
}

func (c *countingStore) count(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.calls[name]++
}

func (c *countingStore) reset() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.calls
	c.calls = map[string]int{}
	return old
}

func total(calls map[string]int) int {
	n := 0
	for _, v := range calls {
		n += v
	}
	return n
}

func (c *countingStore) ListSessions(ctx context.Context, f store.SessionFilter) ([]*evercast.Session, error) {
	c.count("ListSessions")
	return c.Store.ListSessions(ctx, f)
}

func (c *countingStore) GetSession(ctx context.Context, id string) (*evercast.Session, error) {
	c.count("GetSession")
	return c.Store.GetSession(ctx, id)
}

func (c *countingStore) GetAnchor(ctx context.Context, id string) (*evercast.Anchor, error) {
	c.count("GetAnchor")
	return c.Store.GetAnchor(ctx, id)
}

func (c *countingStore) AcquireLeases(ctx context.Context, ids []string, owner string, ttl time.Duration, now time.Time) (map[string]bool, error) {
	c.count("AcquireLeases")
	return c.Store.AcquireLeases(ctx, ids, owner, ttl, now)
}

func (c *countingStore) PlanClips(ctx context.Context, sessionID string, clips []*evercast.Clip, plannerState []byte) error {
	c.count("PlanClips")
	return c.Store.PlanClips(ctx, sessionID, clips, plannerState)
}

func (c *countingStore) PlannerState(ctx context.Context, sessionID string) ([]byte, error) {
	c.count("PlannerState")
	return c.Store.PlannerState(ctx, sessionID)
}

func (c *countingStore) PlannerStates(ctx context.Context, ids []string) (map[string][]byte, error) {
	c.count("PlannerStates")
	return c.Store.PlannerStates(ctx, ids)
}

func (c *countingStore) PendingStats(ctx context.Context, ids []string) (map[string]store.ClipStats, error) {
	c.count("PendingStats")
	return c.Store.PendingStats(ctx, ids)
}

func (c *countingStore) GetClip(ctx context.Context, id string) (*evercast.Clip, error) {
	c.count("GetClip")
	return c.Store.GetClip(ctx, id)
}

func (c *countingStore) ListClips(ctx context.Context, f store.ClipFilter) ([]*evercast.Clip, error) {
	c.count("ListClips")
	return c.Store.ListClips(ctx, f)
}

func (c *countingStore) ClipStats(ctx context.Context, sessionID string) (store.ClipStats, error) {
	c.count("ClipStats")
	return c.Store.ClipStats(ctx, sessionID)
}

var _ Store = (*countingStore)(nil)

// TestTickCostDoesNotGrowWithSessions runs 40 live sessions whose buffers
// are full: a tick must cost a fixed handful of store calls, not some per
// session; a session whose buffer drops costs only its own planning.
func TestTickCostDoesNotGrowWithSessions(t *testing.T) {
	f := newFixture(t, nil)
	ids := []string{f.session.ID}
	for len(ids) < 40 {
		s := *f.session
		s.ID = ""
		must(t, f.st.CreateSession(f.ctx, &s))
		ids = append(ids, s.ID)
	}
	cs := &countingStore{Store: f.st, calls: map[string]int{}}
	q := &recorder{}
	o := New(Options{Store: cs, Queue: q, Clock: f.clk, Owner: "o"})
	for _, id := range ids {
		_, err := o.Start(f.ctx, id)
		must(t, err)
	}
	renderAll := func() {
		clips, err := f.st.ListClips(f.ctx, store.ClipFilter{States: []evercast.ClipState{evercast.ClipPlanned}})
		must(t, err)
		for _, c := range clips {
			text, key, sha, ms := "text", "clips/"+c.ID, "00", int64(5120)
			_, err := f.st.AdvanceClip(f.ctx, c.ID, evercast.ClipPlanned, store.ClipUpdate{State: evercast.ClipRendered,
				Text: &text, VideoKey: &key, VideoSHA256: &sha, DurationMS: &ms})
			must(t, err)
		}
	}
	// Fill every buffer: tick and render until a tick plans nothing.
	for i := 0; ; i++ {
		cs.reset()
		o.Tick(f.ctx)
		f.clk.Advance(time.Second)
		if cs.reset()["PlanClips"] == 0 && i > 0 {
			break
		}
		if i > 10 {
			t.Fatal("buffers still filling after 10 ticks")
		}
		renderAll()
	}
	for _, id := range ids {
		s, err := f.st.GetSession(f.ctx, id)
		must(t, err)
		if s.State != evercast.SessionLive || s.Owner != "o" {
			t.Fatalf("session %s is %s owned by %q", id, s.State, s.Owner)
		}
	}

	// Full buffers: a fixed cost, whatever the number of sessions (and
	// including the stuck-clip check, due every 10 s).
	f.clk.Advance(11 * time.Second)
	o.Tick(f.ctx)
	if calls := cs.reset(); total(calls) > 4 {
		t.Fatalf("a tick over %d sessions with full buffers made %d store calls: %v", len(ids), total(calls), calls)
	}

	// One session's buffer drops: it alone is planned.
	for range 3 {
		c, err := f.st.Cue(f.ctx, ids[7], 0, f.clk.Now())
		must(t, err)
		_, err = f.st.MarkAired(f.ctx, c.ID, f.clk.Now())
		must(t, err)
	}
	before := q.count()
	f.clk.Advance(time.Second)
	o.Tick(f.ctx)
	calls := cs.reset()
	if calls["PlanClips"] != 1 || total(calls) > 6 {
		t.Fatalf("a tick with one session to refill made %d store calls: %v", total(calls), calls)
	}
	if q.count() <= before {
		t.Fatal("the drained session was not refilled")
	}
}
