package playout

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// flakyObjects is an object store that can be taken down: while down, a
// read hangs until its context ends, as minio-go does while it retries a
// server that refuses connections.
type flakyObjects struct {
	Objects
	down  atomic.Bool
	reads atomic.Int64
}

var errDown = errors.New("object store down")

func (f *flakyObjects) Get(ctx context.Context, key string) ([]byte, error) {
	f.reads.Add(1)
	if f.down.Load() {
		<-ctx.Done()
		return nil, errors.Join(errDown, ctx.Err())
	}
	return f.Objects.Get(ctx, key)
}

// TestObjectStoreOutageRealClock takes the object store away while a
// session airs on the real clock, before standby has ever aired: the
// timeline must keep up with the wall clock (standby covers, read from
// memory), and regular clips air again once the store is back.
func TestObjectStoreOutageRealClock(t *testing.T) {
	f := newFixture(t, nil)
	kinds := []evercast.ClipKind{evercast.KindStandby}
	for range 12 {
		kinds = append(kinds, evercast.KindPitch)
	}
	cs := f.plan(t, true, kinds...)
	f.render(t, cs[0], 9) // standby: 2.88 s, bytes of its own
	for _, c := range cs[1:] {
		f.render(t, c, 10) // 3.2 s each
	}
	_, err := f.st.SetSessionState(f.ctx, f.sess.ID, evercast.SessionWarming, evercast.SessionScheduled)
	must(t, err)
	_, err = f.st.SetSessionState(f.ctx, f.sess.ID, evercast.SessionLive, evercast.SessionWarming)
	must(t, err)

	objs := &flakyObjects{Objects: f.objs}
	e, _ := f.engine(t, false)
	e.o.Objects = objs
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()

	airedMS := func() int64 {
		st, err := f.st.ClipStats(f.ctx, f.sess.ID)
		must(t, err)
		return st.AiredMS
	}
	// Let the first regular clip go on air, then take the store down.
	deadline := time.Now().Add(10 * time.Second)
	for airedMS() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("nothing went on air in 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	start, from := time.Now(), airedMS()
	objs.down.Store(true)
	const outage = 10 * time.Second
	time.Sleep(outage)
	grown := time.Duration(airedMS()-from) * time.Millisecond
	objs.down.Store(false)
	wall := time.Since(start)
	// The aired end runs up to a clip (3.2 s) ahead of the playhead and
	// may lag it by the write lead.
	if grown < wall-4*time.Second {
		t.Fatalf("the object store was down %s and the aired timeline grew %s", wall.Round(time.Millisecond), grown)
	}
	rd, err := f.st.Rundown(f.ctx, f.sess.ID, store.RundownOptions{AiredOnly: true})
	must(t, err)
	standby := 0
	for _, c := range rd {
		if c.Kind == evercast.KindStandby {
			standby++
		}
	}
	if standby == 0 {
		t.Fatal("no standby clip aired while the object store was down")
	}
	// Back up: regular clips air again, in order, on one timeline.
	n := len(rd)
	deadline = time.Now().Add(15 * time.Second)
	for {
		rd, err = f.st.Rundown(f.ctx, f.sess.ID, store.RundownOptions{AiredOnly: true})
		must(t, err)
		if len(rd) > n+1 && rd[len(rd)-1].Kind == evercast.KindPitch {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("regular clips did not air again after the object store came back")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	must(t, <-done)
	var at int64
	for i, c := range rd {
		if c.Seq != int64(i+1) || *c.StartMS != at {
			t.Fatalf("aired clip %d: seq %d start %d, want seq %d start %d", i, c.Seq, *c.StartMS, i+1, at)
		}
		at += c.OnAirMS() // standby ends early once clips are ready again
	}
	t.Logf("store down %s: timeline grew %s with %d standby clips", wall.Round(time.Millisecond), grown, standby)
}
