package control

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"
)

type counterData struct {
	N int `json:"n"`
}

// A client whose connection is cut mid-stream reconnects and resumes: it
// gets every event of its session exactly once, in order, including those
// published while it was away, and none of other sessions.
func TestClientResumesAfterDrop(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{})
	c := ts.dialClient(t, tokOperator, ClientOptions{Reconnect: true, MinBackoff: 200 * time.Millisecond, MaxBackoff: 400 * time.Millisecond})
	if err := c.Subscribe(t.Context(), []string{"ses_a1"}, 0); err != nil {
		t.Fatal(err)
	}

	const total, dropAt, gap = 600, 200, 100
	var (
		mu        sync.Mutex
		published []uint64
	)
	received := make(chan struct{}, total)
	pubDone := make(chan error, 1)
	go func() {
		n := 0
		publish := func() {
			n++
			seq := ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventPlayhead, Data: counterData{N: n}})
			ts.hub.Publish(Event{SessionID: "ses_b1", Name: EventPlayhead, Data: counterData{N: -n}}) // noise
			mu.Lock()
			published = append(published, seq)
			mu.Unlock()
		}
		for n < dropAt {
			publish()
			if n%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		// Let the client receive some, then cut its socket.
		for range 50 {
			select {
			case <-received:
			case <-time.After(10 * time.Second):
				pubDone <- fmt.Errorf("the client received nothing before the drop")
				return
			}
		}
		ts.hub.dropConnections()
		deadline := time.Now().Add(5 * time.Second)
		for ts.hub.connections() != 0 {
			if time.Now().After(deadline) {
				pubDone <- fmt.Errorf("the server never noticed the drop")
				return
			}
			time.Sleep(time.Millisecond)
		}
		// Published while the client is away (it waits 100 ms or more).
		for range gap {
			publish()
		}
		for n < total {
			publish()
			if n%10 == 0 {
				time.Sleep(time.Millisecond)
			}
		}
		pubDone <- nil
	}()

	var got []Event
	timeout := time.After(30 * time.Second)
	for len(got) < total {
		select {
		case e, ok := <-c.Events():
			if !ok {
				t.Fatalf("Events closed after %d events", len(got))
			}
			if e.Name == EventResync {
				t.Fatalf("resync after a short drop: %s", e.Data)
			}
			got = append(got, e)
			select {
			case received <- struct{}{}:
			default:
			}
		case <-timeout:
			t.Fatalf("received %d of %d events", len(got), total)
		}
	}
	if err := <-pubDone; err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, e := range got {
		var d counterData
		if err := e.DecodeData(&d); err != nil {
			t.Fatal(err)
		}
		if e.SessionID != "ses_a1" || d.N != i+1 || e.Seq != published[i] {
			t.Fatalf("event %d: session %s n %d seq %d, want ses_a1 n %d seq %d", i, e.SessionID, d.N, e.Seq, i+1, published[i])
		}
	}
	select {
	case e := <-c.Events():
		t.Fatalf("extra event %+v", e)
	case <-time.After(50 * time.Millisecond):
	}
	if got := counterValue(t, ts.hub.m.disconnects.WithLabelValues(reasonReadError)); got < 1 {
		t.Errorf("no disconnect was recorded; the drop did not happen")
	}
	if c.LastSeq() < published[total-1] {
		t.Errorf("LastSeq %d, want at least %d", c.LastSeq(), published[total-1])
	}
}

// A subscribe with since, racing a publisher, yields every event after
// since exactly once and in order: the buffered ones, then the live ones,
// with neither gap nor duplicate at the seam.
func TestResumeRacingPublisher(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{})
	for iter := range 20 {
		session := fmt.Sprintf("ses_r%d", iter)
		rc := ts.dial(t, tokOperator)
		base := ts.hub.LastSeq()
		stop := make(chan struct{})
		last := make(chan uint64, 1)
		go func() {
			var seq uint64
			for {
				select {
				case <-stop:
					last <- seq
					return
				default:
				}
				seq = ts.hub.Publish(Event{SessionID: session, Name: EventBuffer})
				if seq%5 == 0 {
					time.Sleep(20 * time.Microsecond) // fast, yet a reader keeps up
				}
			}
		}()
		waitFor(t, "events to publish", 5*time.Second, func() bool { return ts.hub.LastSeq() >= base+100 })
		since := ts.hub.LastSeq() - 20
		rc.send(map[string]any{"type": "subscribe", "id": "s", "sessions": []string{session}, "since": since})
		time.Sleep(time.Duration(iter%4) * time.Millisecond)
		close(stop)
		final := <-last

		want := since + 1
		ackSeen := false
		for want <= final {
			m := rc.read()
			switch m.Type {
			case TypeAck:
				var res struct {
					LastSeq uint64 `json:"last_seq"`
				}
				_ = json.Unmarshal(m.Result, &res)
				if res.LastSeq != want-1 {
					t.Fatalf("iteration %d: ack last_seq %d after replaying up to %d", iter, res.LastSeq, want-1)
				}
				ackSeen = true
			case TypeEvent:
				if m.Seq != want || m.SessionID != session {
					t.Fatalf("iteration %d: got seq %d (%s), want %d", iter, m.Seq, m.SessionID, want)
				}
				want++
			default:
				t.Fatalf("iteration %d: unexpected %+v", iter, m)
			}
		}
		if !ackSeen {
			rc.readUntil(TypeAck, "s")
		}
		if ev := rc.sync(); len(ev) != 0 {
			t.Fatalf("iteration %d: %d events after the last one published", iter, len(ev))
		}
		_ = rc.ws.Close()
	}
}

func TestResync(t *testing.T) {
	tests := []struct {
		name     string
		since    uint64
		resync   string
		replayed int
	}{
		{"oldest kept", 20, "", 10},
		{"latest", 30, "", 0},
		{"one too old", 19, ResyncTooOld, 0},
		{"far too old", 1, ResyncTooOld, 0},
		{"from zero", 0, ResyncTooOld, 0},
		{"from the future", 100, ResyncUnknown, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ts := newTestServer(t, HubOptions{Buffer: 10}, HandlerOptions{})
			for range 30 {
				ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventBuffer})
			}
			rc := ts.dial(t, tokOperator)
			ack, events := rc.request(map[string]any{"type": "subscribe", "id": "s", "sessions": []string{"ses_a1"}, "since": tt.since})
			mustAck(t, ack)
			var res struct {
				Replayed int    `json:"replayed"`
				Resync   string `json:"resync"`
				LastSeq  uint64 `json:"last_seq"`
			}
			if err := json.Unmarshal(ack.Result, &res); err != nil {
				t.Fatal(err)
			}
			if res.Resync != tt.resync || res.Replayed != tt.replayed || res.LastSeq != 30 {
				t.Errorf("ack result %+v", res)
			}
			if tt.resync != "" {
				if len(events) != 1 || events[0].Type != TypeResync || events[0].Reason != tt.resync || events[0].SessionID != "ses_a1" {
					t.Fatalf("before the ack: %+v, want one resync", events)
				}
			} else if len(events) != tt.replayed {
				t.Fatalf("replayed %d events, want %d", len(events), tt.replayed)
			}
			// Live events follow either way.
			seq := ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventBuffer})
			if ev := rc.sync(); len(ev) != 1 || ev[0].Seq != seq {
				t.Fatalf("live events after the subscribe: %+v", ev)
			}
		})
	}
}

// A client away for longer than the buffer lasts is told to resync.
func TestClientResync(t *testing.T) {
	ts := newTestServer(t, HubOptions{Buffer: 10}, HandlerOptions{})
	c := ts.dialClient(t, tokOperator, ClientOptions{Reconnect: true, MinBackoff: 200 * time.Millisecond})
	if err := c.Subscribe(t.Context(), []string{"ses_a1"}, 0); err != nil {
		t.Fatal(err)
	}
	first := ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventBuffer})
	if e := <-c.Events(); e.Seq != first {
		t.Fatalf("got %+v", e)
	}
	ts.hub.dropConnections()
	waitFor(t, "the drop", 5*time.Second, func() bool { return ts.hub.connections() == 0 })
	for range 30 {
		ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventBuffer})
	}
	e := <-c.Events()
	var d ResyncData
	if err := e.DecodeData(&d); err != nil {
		t.Fatal(err)
	}
	if e.Name != EventResync || e.SessionID != "ses_a1" || d.Reason != ResyncTooOld {
		t.Fatalf("after a long absence: %+v %+v, want resync too_old", e, d)
	}
	live := ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventBuffer})
	if e := <-c.Events(); e.Seq != live {
		t.Fatalf("after the resync: %+v, want seq %d", e, live)
	}
}

// A subscribe with since on a connection already subscribed to other
// sessions replays only the sessions it adds.
func TestReplayOnlyAddedSessions(t *testing.T) {
	ts := newTestServer(t, HubOptions{}, HandlerOptions{})
	rc := ts.dial(t, tokOperator)
	r, _ := rc.request(map[string]any{"type": "subscribe", "id": "1", "sessions": []string{"ses_a1"}})
	mustAck(t, r)
	a := ts.hub.Publish(Event{SessionID: "ses_a1", Name: EventBuffer})
	b := ts.hub.Publish(Event{SessionID: "ses_b1", Name: EventBuffer})
	r, events := rc.request(map[string]any{"type": "subscribe", "id": "2", "sessions": []string{"ses_a1", "ses_b1"}, "since": 0})
	mustAck(t, r)
	// a arrived live before the second subscribe; only b is replayed.
	if len(events) != 2 || events[0].Seq != a || events[1].Seq != b {
		t.Fatalf("events %+v, want live %d then replayed %d", events, a, b)
	}
	r, events = rc.request(map[string]any{"type": "subscribe", "id": "3", "sessions": []string{"*"}, "since": 0})
	mustAck(t, r)
	if len(events) != 0 {
		t.Fatalf("subscribing to * replayed sessions already subscribed: %+v", events)
	}
}
