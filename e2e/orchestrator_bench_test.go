package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/app"
	"github.com/evercast/evercast/internal/queue"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/tasks"
	"github.com/hibiken/asynq"
	_ "github.com/jackc/pgx/v5/stdlib" // reads lease times for the tick rate
)

func envInt(b *testing.B, key string, def int) int {
	if v := os.Getenv(key); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			b.Fatalf("%s: %v", key, err)
		}
		return n
	}
	return def
}

// envOf returns the value of key in a KEY=VALUE list.
func envOf(env []string, key string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, key+"="); ok {
			return v
		}
	}
	return ""
}

// BenchmarkOrchestrator1000Sessions measures what the orchestrator costs
// with 1,000 live sessions (EVERCAST_BENCH_SESSIONS): a real
// `evercast serve --roles orchestrator` process on the real clock, planning
// against PostgreSQL and enqueueing on Redis; in this process, a fake worker
// that takes every pipeline task and moves the clip straight to rendered
// with a pre-rendered clip's key and duration
// (EVERCAST_BENCH_CLIP_SECONDS, default 10), and a simulated playout that
// cues each live session's next clip when the last one has played out (real
// time) and marks it aired, through the store. Once every session is live
// it measures, over EVERCAST_BENCH_WINDOW (default 60 s), the orchestrator
// process's CPU time per clip planned and dispatched (target < 2 ms) and its
// resident memory (target < 150 MB), and counts the cues that found the
// next clip not ready (the orchestrator falling behind).
func BenchmarkOrchestrator1000Sessions(b *testing.B) {
	for i := 0; i < b.N; i++ {
		benchOrchestrator(b)
	}
}

func benchOrchestrator(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nSessions := envInt(b, "EVERCAST_BENCH_SESSIONS", 1000)
	clipMS := int64(envInt(b, "EVERCAST_BENCH_CLIP_SECONDS", 10)) * 1000
	window := benchWindow(b)
	d, _, _ := newDeployment(b)
	dbURL := envOf(d.env, "EVERCAST_DATABASE_URL")
	st, err := store.Open(ctx, dbURL, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()

	// The sessions, created through the store, waiting to be started.
	first, err := app.SeedStore(ctx, st, 0)
	if err != nil {
		b.Fatal(err)
	}
	ids := []string{first.ID}
	for len(ids) < nSessions {
		s := *first
		s.ID, s.Title = "", fmt.Sprintf("bench session %d", len(ids))
		if err := st.CreateSession(ctx, &s); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, s.ID)
	}

	// The fake worker: every stage task moves its clip to rendered.
	key, sha := "clips/bench/prerendered.ts", strings.Repeat("ab", 32)
	var handled atomic.Int64
	handler := func(ctx context.Context, t *asynq.Task) error {
		p, err := tasks.Decode(t)
		if err != nil {
			return err
		}
		handled.Add(1)
		c, err := st.GetClip(ctx, p.ClipID)
		if err != nil {
			return err
		}
		if !c.State.Pending() || c.State == evercast.ClipRendered {
			return nil
		}
		text, dur := "预渲染片段。", clipMS
		_, err = st.AdvanceClip(ctx, c.ID, c.State, store.ClipUpdate{State: evercast.ClipRendered,
			Text: &text, Writer: &text, VideoKey: &key, VideoSHA256: &sha, DurationMS: &dur})
		if errors.Is(err, evercast.ErrConflict) {
			return nil
		}
		return err
	}
	redisOpt, err := queue.ConnOpt(envOf(d.env, "EVERCAST_REDIS_URL"))
	if err != nil {
		b.Fatal(err)
	}
	srv := asynq.NewServer(redisOpt, asynq.Config{Concurrency: 16, Queues: tasks.Queues(), LogLevel: asynq.ErrorLevel})
	mux := asynq.NewServeMux()
	for _, typ := range []string{tasks.TypeScript, tasks.TypeSpeech, tasks.TypeRender, tasks.TypeStore} {
		mux.HandleFunc(typ, handler)
	}
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()

	orch := d.start("orch", "orchestrator")
	pid := orch.cmd.Process.Pid
	var peakRSS atomic.Int64 // kB
	var sampler sync.WaitGroup
	sampler.Add(1)
	go func() {
		defer sampler.Done()
		for ctx.Err() == nil {
			if mb, err := rssMB(pid); err == nil && int64(mb*1024) > peakRSS.Load() {
				peakRSS.Store(int64(mb * 1024))
			}
			time.Sleep(500 * time.Millisecond)
		}
	}()
	defer sampler.Wait()
	defer cancel()
	for _, id := range ids {
		if _, err := st.SetSessionState(ctx, id, evercast.SessionWarming, evercast.SessionScheduled); err != nil {
			b.Fatal(err)
		}
	}
	started := time.Now()

	// The simulated playout.
	var cued, dry atomic.Int64
	var liveN atomic.Int64
	var pw sync.WaitGroup
	const shards = 4
	for sh := range shards {
		pw.Add(1)
		go func() {
			defer pw.Done()
			airSessions(ctx, st, ids, sh, shards, &cued, &dry, &liveN)
		}()
	}
	defer pw.Wait()
	defer cancel()

	// Warm-up: every session live, then a minute of steady state.
	if !waitFor(ctx, 10*time.Minute, time.Second, func() bool { return liveN.Load() == int64(len(ids)) }) {
		b.Fatalf("%d of %d sessions live after 10 min:\n%s", liveN.Load(), len(ids), orch.logs(3000))
	}
	b.Logf("%d sessions live %s after start", len(ids), time.Since(started).Round(time.Second))
	time.Sleep(min(window, 30*time.Second))

	countPlanned := func(from, to time.Time) int {
		cs, err := st.ListClips(ctx, store.ClipFilter{})
		if err != nil {
			b.Fatal(err)
		}
		n := 0
		for _, c := range cs {
			if c.Kind != evercast.KindStandby && !c.PlannedAt.Before(from) && c.PlannedAt.Before(to) {
				n++
			}
		}
		return n
	}
	// How often the orchestrator gets round to each session: the renewals
	// of one session's lease, sampled through the window.
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	leaseUntil := func(id string) int64 {
		var v int64
		if err := db.QueryRowContext(ctx, "SELECT lease_until FROM sessions WHERE id = $1", id).Scan(&v); err != nil {
			b.Fatal(err)
		}
		return v
	}
	cpu0, err := procCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	t0, cued0, dry0, handled0 := time.Now(), cued.Load(), dry.Load(), handled.Load()
	b.ResetTimer()
	renewals, last, probe := 0, leaseUntil(ids[len(ids)/2]), ids[len(ids)/2]
	for time.Since(t0) < window {
		time.Sleep(100 * time.Millisecond)
		if v := leaseUntil(probe); v != last {
			renewals, last = renewals+1, v
		}
	}
	b.StopTimer()
	cpu1, err := procCPU(pid)
	if err != nil {
		b.Fatal(err)
	}
	t1 := time.Now()
	rss, err := rssMB(pid)
	if err != nil {
		b.Fatal(err)
	}
	planned := countPlanned(t0, t1)
	if planned == 0 {
		b.Fatalf("nothing planned in %s:\n%s", window, orch.logs(3000))
	}
	cpu := cpu1 - cpu0
	perClip := cpu.Seconds() * 1000 / float64(planned)
	b.ReportMetric(perClip, "cpu_ms/clip")
	b.ReportMetric(float64(peakRSS.Load())/1024, "rss_peak_MB")
	b.ReportMetric(rss, "rss_MB")
	b.ReportMetric(float64(planned)/t1.Sub(t0).Seconds(), "clips/s")
	b.ReportMetric(cpu.Seconds()/t1.Sub(t0).Seconds(), "orch_cores")
	b.ReportMetric(float64(dry.Load()-dry0), "dry_cues")
	tick := t1.Sub(t0).Seconds() / float64(max(renewals, 1))
	b.ReportMetric(tick, "s/tick")
	load, _ := os.ReadFile("/proc/loadavg")
	b.Logf("%d sessions, %.1f s clips: in %s the orchestrator planned %d clips (%d cued, %d dry cues, %d tasks handled) using %s CPU: %.3f ms per clip; each session planned every %.2f s; RSS %.1f MB (peak %.1f MB); load %s",
		len(ids), float64(clipMS)/1000, t1.Sub(t0).Round(time.Second), planned, cued.Load()-cued0, dry.Load()-dry0, handled.Load()-handled0,
		cpu.Round(time.Millisecond), perClip, tick, rss, float64(peakRSS.Load())/1024, strings.TrimSpace(string(load)))
	if !orch.alive() {
		b.Fatalf("the orchestrator died:\n%s", orch.logs(3000))
	}
}

// airSessions is a simulated playout for the sessions of one shard: each
// live session's clip plays out in real time, then the next is cued. A cue
// that finds the next clip not ready counts as dry and is tried again a
// second later (a real playout would air standby).
func airSessions(ctx context.Context, st *store.Store, ids []string, shard, shards int, cued, dry, liveN *atomic.Int64) {
	type head struct {
		live    bool
		checked time.Time
		onAir   string
		pos     int64
		due     time.Time
	}
	heads := map[string]*head{}
	for i, id := range ids {
		if i%shards == shard {
			heads[id] = &head{}
		}
	}
	for ctx.Err() == nil {
		now := time.Now()
		for id, h := range heads {
			if ctx.Err() != nil {
				return
			}
			if !h.live {
				if now.Sub(h.checked) < time.Second {
					continue
				}
				h.checked = now
				s, err := st.GetSession(ctx, id)
				if err != nil || s.State != evercast.SessionLive {
					continue
				}
				h.live, h.due = true, now
				liveN.Add(1)
			}
			if now.Before(h.due) {
				continue
			}
			if h.onAir != "" {
				if _, err := st.MarkAired(ctx, h.onAir, now); err != nil {
					continue
				}
				h.onAir = ""
			}
			c, err := st.Cue(ctx, id, h.pos, now)
			if err != nil {
				dry.Add(1)
				h.due = now.Add(time.Second)
				continue
			}
			cued.Add(1)
			h.onAir, h.pos = c.ID, h.pos+c.DurationMS
			h.due = h.due.Add(c.Duration())
			if h.due.Before(now) {
				h.due = now.Add(c.Duration())
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(100 * time.Millisecond):
		}
	}
}
