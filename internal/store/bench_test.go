package store

import (
	"testing"
	"time"

	"github.com/evercast/evercast"
)

// BenchmarkCue measures Cue on a session whose clips are all rendered: one
// transaction that locks the session, picks the next clip and puts it on
// air with the next Seq.
func BenchmarkCue(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			e := newEnv(b, be)
			f := newFixture(b, e)
			sid := f.session.ID
			for planned := 0; planned < b.N; planned += 500 {
				batch := make([]*evercast.Clip, min(500, b.N-planned))
				for i := range batch {
					batch[i] = &evercast.Clip{Kind: evercast.KindPitch, Language: evercast.LangZH}
				}
				must(b, e.s.PlanClips(e.ctx, sid, batch, nil))
			}
			_, err := e.s.exec(e.ctx, e.s.db, "UPDATE clips SET state = ?, duration_ms = ? WHERE session_id = ?",
				string(evercast.ClipRendered), 15360, sid)
			must(b, err)
			now := time.Date(2025, 3, 1, 20, 0, 0, 0, time.UTC)
			b.ResetTimer()
			for i := range b.N {
				c, err := e.s.Cue(e.ctx, sid, int64(i)*15360, now)
				if err != nil {
					b.Fatal(err)
				}
				if c.Seq != int64(i+1) {
					b.Fatalf("seq %d, want %d", c.Seq, i+1)
				}
			}
		})
	}
}
