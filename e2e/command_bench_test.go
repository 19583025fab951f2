package e2e

import (
	"bufio"
	"context"

	"math"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast/internal/control"
)

// BenchmarkCommandToPlayout sends 1,000 operator commands (pause, resume
// and skip in turn) over the control channel to a live session on the real
// clock and measures how long each takes to be executed and acknowledged
// (the command has reached playout when the ack returns), and, from
// playout's own histogram, how long the resulting cuts took to land on the
// stream (the next 320 ms boundary, data 0.5 s ahead of air).
func BenchmarkCommandToPlayout(b *testing.B) {
	for i := 0; i < b.N; i++ {
		s := startServe(b, b.TempDir(), "bench-token-0123456789abcdef")
		id := seedDemo(b, s)
		waitAired(b, s, id, 2, 4*time.Minute)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cl, err := control.Dial(ctx, "ws"+strings.TrimPrefix(s.base, "http")+"/v1/ws/control", s.token, control.ClientOptions{})
		if err != nil {
			b.Fatal(err)
		}
		cmds := []string{control.CmdPause, control.CmdResume, control.CmdSkip}
		var lat []float64
		for k := 0; k < 1000; k++ {
			name := cmds[k%len(cmds)]
			start := time.Now()
			if _, err := cl.Command(ctx, id, control.Command{Name: name}); err != nil && !strings.Contains(err.Error(), "conflict") {
				b.Fatalf("%s: %v", name, err)
			}
			lat = append(lat, float64(time.Since(start).Microseconds())/1000)
			time.Sleep(25 * time.Millisecond) // within the per-connection command rate (50/s)
		}
		cl.Close()
		cancel()
		p50cut, p99cut, n := histogramQuantiles(b, s, "evercast_playout_cut_seconds")
		s.kill()
		b.ReportMetric(percentile(lat, 0.5), "ack_p50_ms")
		b.ReportMetric(percentile(lat, 0.99), "ack_p99_ms")
		b.ReportMetric(p50cut*1000, "cut_p50_ms")
		b.ReportMetric(p99cut*1000, "cut_p99_ms")
		b.ReportMetric(float64(n), "cuts")
	}
}

// histogramQuantiles reads a Prometheus histogram from /metrics and returns
// its p50 and p99 (bucket upper bounds) and count.
func histogramQuantiles(t testing.TB, s *server, name string) (p50, p99 float64, count int) {
	t.Helper()
	req, _ := http.NewRequest("GET", s.base+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+s.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	type bucket struct {
		le float64
		n  int
	}
	var bs []bucket
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, name+"_bucket{") {
			continue
		}
		i := strings.Index(line, `le="`)
		j := strings.Index(line[i+4:], `"`)
		le, err := strconv.ParseFloat(line[i+4:i+4+j], 64)
		if err != nil {
			le = math.Inf(1)
		}
		n, _ := strconv.Atoi(strings.TrimSpace(line[strings.LastIndex(line, " ")+1:]))
		bs = append(bs, bucket{le, n})
	}
	if len(bs) == 0 {
		t.Fatalf("no %s in /metrics", name)
	}
	count = bs[len(bs)-1].n
	q := func(p float64) float64 {
		for _, b := range bs {
			if float64(b.n) >= p*float64(count) {
				return b.le
			}
		}
		return math.Inf(1)
	}
	return q(0.5), q(0.99), count
}
