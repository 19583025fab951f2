package events

import (
	"context"
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/queue"
	"github.com/evercast/evercast/internal/testenv"
)

// collector gathers the messages a subscription receives.
type collector struct {
	mu   sync.Mutex
	msgs []Message
}

func (c *collector) add(m Message) {
	c.mu.Lock()
	c.msgs = append(c.msgs, m)
	c.mu.Unlock()
}

// count returns how many messages arrived.
func (c *collector) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// waitNamed waits for n messages other than probes and returns them.
func (c *collector) waitNamed(t *testing.T, n int) []Message {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got []Message
		c.mu.Lock()
		for _, m := range c.msgs {
			if m.Event.Name != "probe" {
				got = append(got, m)
			}
		}
		c.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("received %d events, want %d", len(got), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestEventIDs: every published event carries a fresh id, and every
// subscriber (another process, here another Bus) sees the same id and the
// publisher's data unchanged.
func TestEventIDs(t *testing.T) {
	opt, err := queue.ConnOpt(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := New(opt, "publisher", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var subs [2]collector
	var wg sync.WaitGroup
	for i := range subs {
		b, err := New(opt, "subscriber", nil)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		wg.Go(func() { _ = b.Subscribe(ctx, subs[i].add) })
	}
	defer wg.Wait()
	defer cancel()
	// Wait until both subscriptions are live: publish probes until each
	// subscriber has one.
	for deadline := time.Now().Add(10 * time.Second); subs[0].count() == 0 || subs[1].count() == 0; {
		if time.Now().After(deadline) {
			t.Fatal("the subscriptions received no probe")
		}
		pub.Publish(control.Event{Name: "probe"})
		time.Sleep(50 * time.Millisecond)
	}
	at := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	const n = 5
	for i := range n {
		pub.Publish(control.Event{SessionID: "ses_1", Name: control.EventClipAired, At: at.Add(time.Duration(i) * time.Second),
			Data: control.ClipData{ClipID: "clp_1", Seq: int64(i + 1), DurationMS: 9007199254740993}})
	}
	pub.Publish(control.Event{SessionID: "ses_1", Name: control.EventAlert})

	var lists [2][]Message
	for i := range subs {
		lists[i] = subs[i].waitNamed(t, n+1)
	}
	seen := map[string]bool{}
	for i, m := range lists[0] {
		if !strings.HasPrefix(m.ID, IDPrefix+"_") || len(m.ID) != len(IDPrefix)+21 {
			t.Fatalf("event %d: id %q", i, m.ID)
		}
		if seen[m.ID] {
			t.Fatalf("event %d: id %s repeated", i, m.ID)
		}
		seen[m.ID] = true
		if other := lists[1][i]; other.ID != m.ID {
			t.Fatalf("event %d: subscribers saw ids %s and %s", i, m.ID, other.ID)
		}
		if m.Source != "publisher" {
			t.Errorf("event %d: source %q", i, m.Source)
		}
	}
	first := lists[0][0]
	if first.Event.SessionID != "ses_1" || first.Event.Name != control.EventClipAired || !first.Event.At.Equal(at) {
		t.Fatalf("event %+v", first.Event)
	}
	raw, ok := first.Event.Data.(json.RawMessage)
	if !ok {
		t.Fatalf("data is %T, want json.RawMessage", first.Event.Data)
	}
	// An int64 beyond float64's precision survives: the data is not
	// decoded and re-encoded on the way.
	if !strings.Contains(string(raw), `"duration_ms":9007199254740993`) {
		t.Fatalf("data %s", raw)
	}
	var d control.ClipData
	if err := first.Event.DecodeData(&d); err != nil || d.ClipID != "clp_1" || d.Seq != 1 {
		t.Fatalf("DecodeData: %+v %v", d, err)
	}
	if last := lists[0][n]; last.Event.Data != nil {
		t.Fatalf("an event without data arrived with %#v", last.Event.Data)
	}
}

func TestDecodeRejectsGarbage(t *testing.T) {
	for _, in := range []string{``, `{`, `[]`, `{"event":{"at":"yesterday"}}`} {
		if _, err := decode([]byte(in)); err == nil {
			t.Errorf("decode(%q) succeeded", in)
		}
	}
}
