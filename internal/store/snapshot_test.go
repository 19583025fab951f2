package store

import (
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast"
)

// TestRundownSnapshot reads the rundown while another handle cues and airs
// clips as fast as it can: every read must show each clip exactly once,
// with seqs 1..n without a gap, as of one moment.
func TestRundownSnapshot(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			f := newFixture(t, e)
			sid := f.session.ID
			kinds := make([]evercast.ClipKind, 120)
			for i := range kinds {
				kinds[i] = evercast.KindPitch
			}
			cs := plan(t, e, sid, kinds...)
			for _, c := range cs {
				render(t, e, c, 320)
			}
			player := e.open()
			var wg sync.WaitGroup
			done, stop := make(chan struct{}), make(chan struct{})
			defer wg.Wait()
			defer close(stop)
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(done)
				var start int64
				for range cs {
					select {
					case <-stop:
						return
					default:
					}
					c, err := player.Cue(e.ctx, sid, start, time.Now())
					if err != nil {
						t.Error(err)
						return
					}
					start += c.DurationMS
					if _, err := player.MarkAired(e.ctx, c.ID, time.Now()); err != nil {
						t.Error(err)
						return
					}
				}
			}()
			reads := 0
			for {
				select {
				case <-done:
					if reads == 0 {
						t.Fatal("no rundown read while clips aired")
					}
					return
				default:
				}
				rd, err := e.s.Rundown(e.ctx, sid, RundownOptions{})
				must(t, err)
				reads++
				seen := map[string]bool{}
				for i, c := range rd {
					if c.Seq != int64(i+1) || seen[c.ID] {
						t.Fatalf("read %d: rundown[%d] is %s with seq %d (seen before: %v)", reads, i, c.ID, c.Seq, seen[c.ID])
					}
					seen[c.ID] = true
				}
				if len(rd) != len(cs) {
					t.Fatalf("read %d: rundown shows %d clips of %d", reads, len(rd), len(cs))
				}
			}
		})
	}
}
