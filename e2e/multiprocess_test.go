package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/mediatest"
)

// TestMultiProcessFailover runs Evercast as an operator deploys it: two
// api+orchestrator processes, two workers and one playout on a MinIO, a
// Redis and a PostgreSQL database of their own, one session live on the fast
// clock. It kills -9 a worker while ffmpeg renders in it, then the
// orchestrator that owns the session, and checks that the other
// orchestrator takes the session over within 10 s, that airing goes on,
// that the killed worker's clips are rendered by the other one (or failed
// and replaced: never stuck), and that the exported stream and rundown are
// continuous with no clip repeated and none missing.
func TestMultiProcessFailover(t *testing.T) {
	ctx := context.Background()
	d, _, _ := newDeployment(t)
	t.Cleanup(func() {
		if t.Failed() {
			d.dumpLogs(3000)
		}
	})
	fast := "EVERCAST_CLOCK=fast"
	orchs := []*proc{d.start("orch-a", "api,orchestrator", fast), d.start("orch-b", "api,orchestrator", fast)}
	workers := []*proc{d.start("worker-1", "worker", fast), d.start("worker-2", "worker", fast)}
	d.start("playout", "playout", fast)
	id := d.seed(orchs[0].api)

	// The session goes live under one owner, and airs.
	var st *evercast.SessionStatus
	if !waitFor(ctx, 3*time.Minute, 250*time.Millisecond, func() bool {
		st = orchs[1].api.status(t, id)
		return st.State == evercast.SessionLive && st.Owner != "" && st.AiredSeconds > 20
	}) {
		t.Fatalf("session not live and airing under an owner after 3 min: %+v", st)
	}
	owner := d.proc(st.Owner)
	if owner == nil {
		t.Fatalf("status names owner %q, not one of the orchestrators", st.Owner)
	}
	survivor := orchs[0]
	if survivor == owner {
		survivor = orchs[1]
	}
	t.Logf("session %s live, owned by %s", id, owner.name)

	// Kill -9 a worker while ffmpeg renders in it.
	var victim *proc
	if !waitFor(ctx, 3*time.Minute, 20*time.Millisecond, func() bool {
		for _, w := range workers {
			if groupHas(w.cmd.Process.Pid, "ffmpeg", "libx264") {
				victim = w
				return true
			}
		}
		return false
	}) {
		t.Fatal("no worker rendered within 3 min")
	}
	victim.kill(t)
	// The clips between voiced and rendered are the ones being rendered (or
	// about to be): each must leave that state for good.
	var rendering []string
	for _, c := range survivor.api.rundown(t, id).Clips {
		if c.State == evercast.ClipVoiced {
			rendering = append(rendering, c.ID)
		}
	}
	if len(rendering) == 0 {
		t.Fatal("a worker was rendering, yet no clip is voiced")
	}
	t.Logf("killed %s mid-render; clips voiced then: %v", victim.name, rendering)

	// Kill -9 the owning orchestrator: the other takes over within 10 s.
	airedAtKill := survivor.api.status(t, id).AiredSeconds
	owner.kill(t)
	killed := time.Now()
	if !waitFor(ctx, 10*time.Second, 100*time.Millisecond, func() bool {
		st = survivor.api.status(t, id)
		return st.Owner == survivor.name
	}) {
		t.Fatalf("owner still %q 10 s after %s was killed", st.Owner, owner.name)
	}
	t.Logf("%s took the session over %.1f s after %s died", survivor.name, time.Since(killed).Seconds(), owner.name)

	// Airing goes on: several minutes more content, and every clip the dead
	// worker held is rendered by the other one (or failed and replaced).
	const more = 180.0 // seconds of content after the kills
	var rd *evercast.Rundown
	settled := func() bool {
		state := map[string]evercast.ClipState{}
		for _, c := range rd.Clips {
			state[c.ID] = c.State
		}
		for _, id := range rendering {
			if state[id].Pending() && state[id] != evercast.ClipRendered {
				return false
			}
		}
		return true
	}
	if !waitFor(ctx, 15*time.Minute, time.Second, func() bool {
		rd = survivor.api.rundown(t, id)
		return airedSeconds(rd) >= airedAtKill+more && settled()
	}) {
		t.Fatalf("after 15 min: aired %.0f s (%.0f s at the kills), voiced-at-kill clips settled: %v", airedSeconds(rd), airedAtKill, settled())
	}
	if st := survivor.api.status(t, id); st.State != evercast.SessionLive || st.Owner != survivor.name {
		t.Fatalf("status after the run: %+v", st)
	}
	checkAiredTimeline(t, aired(rd))
	final := map[string]*evercast.RundownEntry{}
	for _, c := range rd.Clips {
		final[c.ID] = c
	}
	redone := 0
	for _, cid := range rendering {
		c := final[cid]
		t.Logf("clip %s voiced at the worker kill is now %s", cid, c.State)
		if c.State != evercast.ClipFailed {
			redone++
		}
	}
	if redone == 0 {
		t.Errorf("none of the clips voiced at the worker kill was rendered by the other worker")
	}
	standby := 0
	for _, c := range aired(rd) {
		if c.Kind == evercast.KindStandby {
			standby++
		}
	}
	t.Logf("aired %d clips (%d standby), %.0f s", len(aired(rd)), standby, airedSeconds(rd))

	// Export what aired, from the shared stores, and check it as a viewer.
	out := t.TempDir()
	d.run(5*time.Minute, "export", id, "--out", out)
	var ex evercast.Rundown
	b, err := os.ReadFile(filepath.Join(out, "rundown.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &ex); err != nil {
		t.Fatal(err)
	}
	if len(ex.Clips) < len(aired(rd))-1 {
		t.Fatalf("export has %d clips, the rundown had %d aired", len(ex.Clips), len(aired(rd)))
	}
	checkAiredTimeline(t, ex.Clips)
	for i, c := range ex.Clips {
		if i < len(rd.Clips) && rd.Clips[i].ID != c.ID && rd.Clips[i].State == evercast.ClipAired {
			t.Fatalf("seq %d is %s in the export, %s in the rundown", c.Seq, c.ID, rd.Clips[i].ID)
		}
	}
	pk, err := mediatest.Probe(ctx, filepath.Join(out, "index.m3u8"), 3*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	length, err := pk.Continuous()
	if err != nil {
		t.Fatal(err)
	}
	if err := pk.Aligned(); err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, c := range ex.Clips {
		sum += c.Duration
	}
	if got := time.Duration(sum * float64(time.Second)); got.Round(time.Millisecond) != length.Round(time.Millisecond) {
		t.Fatalf("exported rundown lasts %v, stream %v", got, length)
	}
	t.Logf("exported %d clips, %s of continuous stream", len(ex.Clips), length)
}
