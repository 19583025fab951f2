package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/config"
)

// benchWindow is how long a scale benchmark measures (after its warm-up),
// EVERCAST_BENCH_WINDOW or 60 s.
func benchWindow(b *testing.B) time.Duration {
	d := 60 * time.Second
	if v := os.Getenv("EVERCAST_BENCH_WINDOW"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			b.Fatalf("EVERCAST_BENCH_WINDOW: %v", err)
		}
	}
	return d
}

// procCPU returns the CPU time a process and its waited-for children (the
// ffmpeg and espeak-ng it ran) have used, from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	self, children, err := procCPUSplit(pid)
	return self + children, err
}

// procCPUSplit returns the CPU time of a process itself and of its
// waited-for children.
func procCPUSplit(pid int) (self, children time.Duration, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, 0, err
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	// After "pid (comm) ": state is f[0]; utime, stime, cutime, cstime are
	// fields 14-17 of the line, f[11..14] here, in clock ticks (USER_HZ,
	// 100 on Linux).
	var ticks [4]int64
	for i, v := range f[11:15] {
		if ticks[i], err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0, 0, err
		}
	}
	tick := 10 * time.Millisecond
	return time.Duration(ticks[0]+ticks[1]) * tick, time.Duration(ticks[2]+ticks[3]) * tick, nil
}

// machineIdle returns the idle and total CPU time of the whole machine
// (every core), in clock ticks, from /proc/stat.
func machineIdle() (idle, total int64, err error) {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0, 0, err
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	for i, v := range f[1:] {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, 0, err
		}
		if i < 8 {
			total += n
		}
		if i == 3 || i == 4 {
			idle += n
		}
	}
	return idle, total, nil
}

// BenchmarkWorkersClipsPerMinute measures how many clips 1, 2 and 4 worker
// processes render per minute: a real api+orchestrator process on
// PostgreSQL, Redis and MinIO of the benchmark's own, the fast clock, the
// offline writer and espeak-ng, two demo sessions whose lookahead is an
// hour (so that planning never waits for airing and the workers are the
// bottleneck; no playout runs). After a warm-up it counts the clips that
// reach rendered over EVERCAST_BENCH_WINDOW (default 60 s), the CPU the
// worker processes used meanwhile (and the share of it in their ffmpeg and
// espeak-ng children), and how idle the machine was. Each worker runs
// EVERCAST_BENCH_WORKER_CONCURRENCY tasks at once (default: the product's
// default, 3).
func BenchmarkWorkersClipsPerMinute(b *testing.B) {
	for _, n := range []int{1, 2, 4} {
		b.Run(fmt.Sprintf("workers=%d", n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				benchWorkers(b, n)
			}
		})
	}
}

func benchWorkers(b *testing.B, n int) {
	ctx := context.Background()
	window := benchWindow(b)
	d, _, _ := newDeployment(b)
	fast := "EVERCAST_CLOCK=fast"
	orch := d.start("orch", "api,orchestrator", fast, "EVERCAST_LOG_LEVEL=warn")
	var ids []string
	for range 2 {
		id := d.seed(orch.api)
		// Only a stopped session takes a new configuration: stop it
		// (no worker runs yet, so it is still warming), raise the
		// lookahead to an hour, start it again.
		orch.api.must(b, http.MethodPost, "/v1/sessions/"+id+"/stop", nil, nil)
		var ses map[string]any
		orch.api.must(b, http.MethodGet, "/v1/sessions/"+id, nil, &ses)
		delete(ses, "status")
		ses["lookahead_seconds"] = 3600
		orch.api.must(b, http.MethodPut, "/v1/sessions/"+id, ses, nil)
		orch.api.must(b, http.MethodPost, "/v1/sessions/"+id+"/start", nil, nil)
		ids = append(ids, id)
	}
	var workers []*proc
	conc := "EVERCAST_WORKER_CONCURRENCY=" + strconv.Itoa(envInt(b, "EVERCAST_BENCH_WORKER_CONCURRENCY", config.Defaults().WorkerConcurrency))
	for w := range n {
		workers = append(workers, d.start(fmt.Sprintf("worker-%d", w+1), "worker", fast, conc))
	}
	count := func() (clips int, content float64) {
		for _, id := range ids {
			for _, c := range orch.api.rundown(b, id).Clips {
				if c.Kind != evercast.KindStandby && (c.State == evercast.ClipRendered || c.State == evercast.ClipOnAir || c.State == evercast.ClipAired) {
					clips++
					content += c.Duration
				}
			}
		}
		return clips, content
	}
	// cpu returns the workers' CPU time: their own, and their children's.
	cpu := func() (self, children time.Duration) {
		for _, w := range workers {
			s, c, err := procCPUSplit(w.cmd.Process.Pid)
			if err != nil {
				b.Fatal(err)
			}
			self, children = self+s, children+c
		}
		return self, children
	}
	// Warm-up: every worker has started rendering, then 15 s more.
	if !waitFor(ctx, 5*time.Minute, time.Second, func() bool { c, _ := count(); return c >= 2*n }) {
		d.dumpLogs(3000)
		b.Fatalf("fewer than %d clips rendered in 5 min", 2*n)
	}
	time.Sleep(15 * time.Second)
	c0, s0 := count()
	idle0, total0, err := machineIdle()
	if err != nil {
		b.Fatal(err)
	}
	self0, child0 := cpu()
	t0 := time.Now()
	b.ResetTimer()
	time.Sleep(window)
	c1, s1 := count()
	self1, child1 := cpu()
	wall := time.Since(t0)
	idle1, total1, err := machineIdle()
	if err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	for _, w := range workers {
		if !w.alive() {
			b.Fatalf("%s died:\n%s", w.name, w.logs(3000))
		}
	}
	perMin := float64(c1-c0) / wall.Minutes()
	b.ReportMetric(perMin, "clips/min")
	b.ReportMetric((s1-s0)/wall.Minutes()/60, "content_x_realtime")
	used := self1 - self0 + child1 - child0
	cores := used.Seconds() / wall.Seconds()
	b.ReportMetric(100*(child1-child0).Seconds()/used.Seconds(), "in_ffmpeg_espeak_%")
	b.ReportMetric(cores, "worker_cores")
	b.ReportMetric(perMin/cores, "clips/core-min")
	idle := 100 * float64(idle1-idle0) / float64(max(total1-total0, 1))
	b.ReportMetric(idle, "machine_idle_%")
	load, _ := os.ReadFile("/proc/loadavg")
	b.Logf("%d worker(s): %d clips (%.0f s of content) rendered in %s; workers used %.2f cores (%.1f clips per core-minute); machine idle %.0f%%; load %s",
		n, c1-c0, s1-s0, wall.Round(time.Second), cores, perMin/cores, idle, strings.TrimSpace(string(load)))
	d.killAll()
}
