//go:build unix

package control

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkFanout1000 publishes events to one session watched by 1000 real
// websocket connections and measures, per event, the time from Publish to
// its arrival at each connection (p50-ms, p99-ms) and at the last of the
// 1000 (all-p50-ms, all-p99-ms). Events are published one at a time, the
// next once the last connection has the previous one.
//
//	go test ./internal/control -run '^$' -bench Fanout1000 -benchtime 300x
func BenchmarkFanout1000(b *testing.B) {
	const conns = 1000
	raiseFileLimit(b, 2*conns+256)
	ts := newTestServer(b, HubOptions{}, HandlerOptions{})

	type arrival struct {
		seq uint64
		at  time.Time
	}
	var (
		current  atomic.Pointer[sync.WaitGroup]
		arrivals = make([][]arrival, conns)
		readers  sync.WaitGroup
	)
	hdr := http.Header{"Authorization": {"Bearer " + tokOperator}}
	sub, _ := json.Marshal(map[string]any{"type": "subscribe", "id": "s", "sessions": []string{"ses_bench"}})
	wss := make([]*websocket.Conn, conns)
	for i := range conns {
		ws, _, err := websocket.DefaultDialer.Dial(ts.url, hdr)
		if err != nil {
			b.Fatalf("dial %d: %v", i, err)
		}
		wss[i] = ws
		if _, _, err := ws.ReadMessage(); err != nil { // hello
			b.Fatal(err)
		}
		if err := ws.WriteMessage(websocket.TextMessage, sub); err != nil {
			b.Fatal(err)
		}
		if _, _, err := ws.ReadMessage(); err != nil { // ack
			b.Fatal(err)
		}
		readers.Add(1)
		go func() {
			defer readers.Done()
			var m struct {
				Type string `json:"type"`
				Seq  uint64 `json:"seq"`
			}
			for {
				_, data, err := ws.ReadMessage()
				if err != nil {
					return
				}
				at := time.Now()
				if json.Unmarshal(data, &m) != nil || m.Type != TypeEvent {
					continue
				}
				arrivals[i] = append(arrivals[i], arrival{m.Seq, at})
				current.Load().Done()
			}
		}()
	}

	published := map[uint64]time.Time{}
	var all []time.Duration
	data := BufferData{BufferAheadSeconds: 42.5, TargetSeconds: 60, ReadyClips: 7, InFlight: 3}
	for b.Loop() {
		var wg sync.WaitGroup
		wg.Add(conns)
		current.Store(&wg)
		t0 := time.Now()
		seq := ts.hub.Publish(Event{SessionID: "ses_bench", Name: EventBuffer, Data: data})
		wg.Wait()
		all = append(all, time.Since(t0))
		published[seq] = t0
	}
	b.StopTimer()
	for _, ws := range wss {
		_ = ws.Close()
	}
	readers.Wait()

	var each []time.Duration
	for _, as := range arrivals {
		for _, a := range as {
			if t0, ok := published[a.seq]; ok {
				each = append(each, a.at.Sub(t0))
			}
		}
	}
	if len(each) != conns*len(all) {
		b.Fatalf("%d deliveries, want %d", len(each), conns*len(all))
	}
	b.ReportMetric(percentileMS(each, 50), "p50-ms")
	b.ReportMetric(percentileMS(each, 99), "p99-ms")
	b.ReportMetric(percentileMS(all, 50), "all-p50-ms")
	b.ReportMetric(percentileMS(all, 99), "all-p99-ms")
}

// BenchmarkCommandRoundTrip sends commands from a Client through the Hub to
// a Commander that answers at once, and measures the round trip to the ack
// (p50-ms, p99-ms).
//
//	go test ./internal/control -run '^$' -bench CommandRoundTrip -benchtime 1000x
func BenchmarkCommandRoundTrip(b *testing.B) {
	cmdr := commanderFunc(func(_ context.Context, _ Principal, _ string, c Command) (map[string]any, error) {
		return map[string]any{"state": "paused"}, nil
	})
	ts := newTestServer(b, HubOptions{}, HandlerOptions{Commands: cmdr, CommandRate: 1e6, CommandBurst: 1e6})
	c := ts.dialClient(b, tokOperator, ClientOptions{})
	ctx := context.Background()
	var lat []time.Duration
	for b.Loop() {
		t0 := time.Now()
		if _, err := c.Command(ctx, "ses_bench", Command{Name: CmdPause}); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(t0))
	}
	b.ReportMetric(percentileMS(lat, 50), "p50-ms")
	b.ReportMetric(percentileMS(lat, 99), "p99-ms")
}

// percentileMS returns the p-th percentile of ds in milliseconds.
func percentileMS(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p / 100)
	return float64(s[i].Microseconds()) / 1000
}

// raiseFileLimit lifts the soft limit on open files to at least n (within
// the hard limit): each connection costs two descriptors in one process.
func raiseFileLimit(tb testing.TB, n uint64) {
	tb.Helper()
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		tb.Fatalf("getrlimit: %v", err)
	}
	if rl.Cur >= n {
		return
	}
	if rl.Max < n {
		tb.Fatalf("open files hard limit %d < %d needed; raise it (ulimit -Hn)", rl.Max, n)
	}
	rl.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil {
		tb.Fatalf("setrlimit: %v", err)
	}
}
