package store

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
)

// TestBatch runs the many-session queries on both backends.
func TestBatch(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				run  func(t *testing.T, e *env)
			}{
				{"AcquireLeases", testAcquireLeases},
				{"PlannerStates", testPlannerStates},
				{"PendingStats", testPendingStats},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, newEnv(t, b)) })
			}
		})
	}
}

// testAcquireLeases checks that one AcquireLeases call gives the answer
// AcquireLease gives session by session: free, expired and own leases are
// taken, unexpired ones of others are not, missing sessions are skipped,
// and more ids than a chunk holds work.
func testAcquireLeases(t *testing.T, e *env) {
	f := newFixture(t, e)
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ttl := 10 * time.Second
	newSession := func() string {
		s := &evercast.Session{MerchantID: f.merchant.ID, AnchorID: f.anchor.ID, Title: "s", ProductIDs: f.session.ProductIDs}
		must(t, e.s.CreateSession(e.ctx, s))
		return s.ID
	}
	free, heldByB, expiredB, own := f.session.ID, newSession(), newSession(), newSession()
	for _, l := range []struct {
		id, owner string
		at        time.Duration
	}{{heldByB, "b", 5 * time.Second}, {expiredB, "b", -20 * time.Second}, {own, "a", -5 * time.Second}} {
		ok, err := e.s.AcquireLease(e.ctx, l.id, l.owner, ttl, t0.Add(l.at))
		must(t, err)
		if !ok {
			t.Fatalf("set-up lease of %s not taken", l.id)
		}
	}
	ids := []string{free, heldByB, expiredB, own}
	for i := 0; len(ids) < batchSize+3; i++ {
		ids = append(ids, fmt.Sprintf("ses_missing%d", i))
	}
	held, err := e.s.AcquireLeases(e.ctx, ids, "a", ttl, t0)
	must(t, err)
	want := map[string]string{free: "a", heldByB: "b", expiredB: "a", own: "a"}
	for id, owner := range want {
		if held[id] != (owner == "a") {
			t.Errorf("held[%s] = %v, want %v", id, held[id], owner == "a")
		}
		s, err := e.s.GetSession(e.ctx, id)
		must(t, err)
		if s.Owner != owner {
			t.Errorf("session %s owner %q, want %q", id, s.Owner, owner)
		}
	}
	if len(held) != 3 {
		t.Errorf("held %d sessions, want 3: %v", len(held), held)
	}
	// The renewal counts: b cannot take own's lease before it expires.
	ok, err := e.s.AcquireLease(e.ctx, own, "b", ttl, t0.Add(9*time.Second))
	must(t, err)
	if ok {
		t.Error("b took a lease AcquireLeases had just renewed")
	}
	_, err = e.s.AcquireLeases(e.ctx, ids, "", ttl, t0)
	wantErr(t, err, evercast.ErrInvalid)
	held, err = e.s.AcquireLeases(e.ctx, nil, "a", ttl, t0)
	must(t, err)
	if len(held) != 0 {
		t.Errorf("no ids: held %v", held)
	}
}

func testPlannerStates(t *testing.T, e *env) {
	f := newFixture(t, e)
	other := &evercast.Session{MerchantID: f.merchant.ID, AnchorID: f.anchor.ID, Title: "s", ProductIDs: f.session.ProductIDs}
	must(t, e.s.CreateSession(e.ctx, other))
	state, _ := json.Marshal(map[string]any{"started": true, "product": 2})
	must(t, e.s.PlanClips(e.ctx, f.session.ID, nil, state))
	got, err := e.s.PlannerStates(e.ctx, []string{f.session.ID, other.ID, "ses_missing"})
	must(t, err)
	if len(got) != 1 || string(got[f.session.ID]) != string(state) {
		t.Fatalf("PlannerStates = %q, want only %s: %s", got, f.session.ID, state)
	}
	one, err := e.s.PlannerState(e.ctx, f.session.ID)
	must(t, err)
	if string(one) != string(got[f.session.ID]) {
		t.Fatalf("PlannerState %q, PlannerStates %q", one, got[f.session.ID])
	}
}

// testPendingStats compares PendingStats with ClipStats on a session with
// clips in every state, and a session with nothing pending but its standby
// template.
func testPendingStats(t *testing.T, e *env) {
	sid, _ := buildRundown(t, e)
	f := newFixture(t, e)
	sb := plan(t, e, f.session.ID, evercast.KindStandby)
	render(t, e, sb[0], 3200)
	got, err := e.s.PendingStats(e.ctx, []string{sid, f.session.ID, "ses_missing"})
	must(t, err)
	full, err := e.s.ClipStats(e.ctx, sid)
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("PendingStats has %d sessions, want only %s: %+v", len(got), sid, got)
	}
	if st := got[sid]; st.ReadyMS != full.ReadyMS || st.InFlight != full.InFlight || st.ReadyMS == 0 || st.InFlight == 0 {
		t.Fatalf("PendingStats %+v, ClipStats %+v", st, full)
	}
}

// TestPendingStatsPlan checks on SQLite that PendingStats searches the
// pending clips by session and state (through clips_pending or
// clips_state), never walking the aired history.
func TestPendingStatsPlan(t *testing.T) {
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "plans.db"), nil)
	must(t, err)
	defer s.Close()
	rows, err := s.db.Query("EXPLAIN QUERY PLAN "+pendingStatsQuery(2), "ses_x", "ses_y")
	must(t, err)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		must(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	must(t, rows.Err())
	got := strings.Join(plan, "; ")
	if !strings.Contains(got, "SEARCH clips USING INDEX clips_pending") && !strings.Contains(got, "SEARCH clips USING INDEX clips_state (session_id=? AND state=?)") ||
		strings.Contains(got, "SCAN clips") {
		t.Fatalf("plan %q: want a search by session and state", got)
	}
}
