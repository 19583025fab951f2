package e2e

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rssMB reads a process's resident set size.
func rssMB(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// slope is the least-squares slope of ys over xs.
func slope(xs, ys []float64) float64 {
	n := float64(len(xs))
	var sx, sy, sxx, sxy float64
	for i := range xs {
		sx += xs[i]
		sy += ys[i]
		sxx += xs[i] * xs[i]
		sxy += xs[i] * ys[i]
	}
	d := n*sxx - sx*sx
	if d == 0 {
		return 0
	}
	return (n*sxy - sx*sy) / d
}

// BenchmarkSoak runs `evercast serve` (every role, embedded default) with
// one live demo session on the fast clock until it has aired
// EVERCAST_SOAK_MINUTES (default 30) minutes, sampling the process's RSS.
// It reports the peak RSS, the RSS trend over the second half (MB per 10
// aired minutes: no upward trend means no leak), and the speed.
func BenchmarkSoak(b *testing.B) {
	minutes := 30.0
	if v := os.Getenv("EVERCAST_SOAK_MINUTES"); v != "" {
		minutes, _ = strconv.ParseFloat(v, 64)
	}
	for i := 0; i < b.N; i++ {
		data := b.TempDir()
		token := "soak-token-0123456789abcdef"
		s := startServe(b, data, token, "--clock", "fast")
		id := seedDemo(b, s)
		start := time.Now()
		var xs, ys []float64
		peak := 0.0
		for {
			time.Sleep(5 * time.Second)
			rd := s.rundown(b, id)
			var airedSec float64
			for _, c := range aired(rd) {
				airedSec += c.Duration
			}
			mb, err := rssMB(s.cmd.Process.Pid)
			if err != nil {
				b.Fatal(err)
			}
			peak = max(peak, mb)
			xs = append(xs, airedSec/60)
			ys = append(ys, mb)
			if airedSec >= minutes*60 {
				wall := time.Since(start)
				half := len(xs) / 2
				b.ReportMetric(peak, "rss_peak_MB")
				b.ReportMetric(slope(xs[half:], ys[half:])*10, "rss_MB_per_10min")
				b.ReportMetric(airedSec/60, "aired_min")
				b.ReportMetric(airedSec/wall.Seconds(), "x_realtime")
				b.Logf("aired %.1f min in %s; RSS samples (aired min → MB): first %.1f→%.1f, last %.1f→%.1f, peak %.1f",
					airedSec/60, wall.Round(time.Second), xs[0], ys[0], xs[len(xs)-1], ys[len(ys)-1], peak)
				break
			}
			if time.Since(start) > 3*time.Hour {
				b.Fatalf("soak did not air %.0f minutes in 3 hours (aired %.1f)", minutes, airedSec/60)
			}
		}
		s.kill()
	}
}
