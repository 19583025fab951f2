package store

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast"
)

// plan plans clips of the given kinds ("reply" ones get Priority) and
// returns them with their IDs.
func plan(t testing.TB, e *env, sessionID string, kinds ...evercast.ClipKind) []*evercast.Clip {
	t.Helper()
	clips := make([]*evercast.Clip, len(kinds))
	for i, k := range kinds {
		clips[i] = &evercast.Clip{Kind: k, Language: evercast.LangZH, Priority: k == evercast.KindReply || k == evercast.KindSay}
	}
	must(t, e.s.PlanClips(e.ctx, sessionID, clips, nil))
	return clips
}

// render takes a planned clip through the pipeline to rendered with a
// duration of durMS.
func render(t testing.TB, e *env, c *evercast.Clip, durMS int64) *evercast.Clip {
	t.Helper()
	steps := []struct {
		from evercast.ClipState
		u    ClipUpdate
	}{
		{evercast.ClipPlanned, ClipUpdate{State: evercast.ClipScripted, Text: ptr("大家好，" + c.ID), Writer: ptr("offline")}},
		{evercast.ClipScripted, ClipUpdate{State: evercast.ClipVoiced, AudioKey: ptr("audio/" + c.ID + ".wav"), Verdict: ptr("pass")}},
		{evercast.ClipVoiced, ClipUpdate{State: evercast.ClipRendered, VideoKey: ptr("video/" + c.ID + ".ts"),
			VideoSHA256: ptr(strings.Repeat("ab", 32)), DurationMS: ptr(durMS)}},
	}
	var out *evercast.Clip
	for _, s := range steps {
		var err error
		out, err = e.s.AdvanceClip(e.ctx, c.ID, s.from, s.u)
		must(t, err)
	}
	return out
}

func testPlanClips(t *testing.T, e *env) {
	f := newFixture(t, e)
	id := f.session.ID
	st, err := e.s.PlannerState(e.ctx, id)
	must(t, err)
	if st != nil {
		t.Fatalf("planner state of a new session = %q, want nil", st)
	}
	planned := time.Date(2025, 3, 1, 9, 0, 0, 123456789, time.UTC)
	clips := []*evercast.Clip{
		{Kind: evercast.KindOpening, Language: evercast.LangZH, Text: "欢迎", PlannedAt: planned},
		{ID: "clp_given", SessionID: id, Kind: evercast.KindPitch, ProductID: f.products[0].ID, Language: evercast.LangEN,
			State: evercast.ClipRendered, Seq: 7, StartMS: ptr(int64(5))},
		{Kind: evercast.KindReply, CommentID: "cmt_1", Priority: true, Language: evercast.LangZH},
	}
	state1 := []byte{0, 1, 2, 0xff, 'x', 0}
	must(t, e.s.PlanClips(e.ctx, id, clips, state1))
	for i, c := range clips {
		if !strings.HasPrefix(c.ID, "clp_") || c.SessionID != id || c.State != evercast.ClipPlanned || c.Seq != 0 ||
			c.StartMS != nil || c.PlannedAt.IsZero() {
			t.Fatalf("clip %d after PlanClips: %+v", i, c)
		}
		got, err := e.s.GetClip(e.ctx, c.ID)
		must(t, err)
		sameJSON(t, "clip", got, c)
	}
	if !clips[0].PlannedAt.Equal(planned.Truncate(time.Millisecond)) {
		t.Fatalf("PlannedAt %v, want the given one to the millisecond", clips[0].PlannedAt)
	}
	st, err = e.s.PlannerState(e.ctx, id)
	must(t, err)
	if !bytes.Equal(st, state1) {
		t.Fatalf("planner state %v, want %v", st, state1)
	}

	// More clips go after the earlier ones; nil state keeps the saved one.
	more := plan(t, e, id, evercast.KindPitch, evercast.KindPromotion)
	st, err = e.s.PlannerState(e.ctx, id)
	must(t, err)
	if !bytes.Equal(st, state1) {
		t.Fatalf("planner state after nil %v, want %v", st, state1)
	}
	state2 := []byte(`{"rotation":2}`)
	must(t, e.s.PlanClips(e.ctx, id, nil, state2))
	st, err = e.s.PlannerState(e.ctx, id)
	must(t, err)
	if !bytes.Equal(st, state2) {
		t.Fatalf("planner state %q, want %q", st, state2)
	}
	list, err := e.s.ListClips(e.ctx, ClipFilter{SessionID: id})
	must(t, err)
	want := slices.Concat(clips, more)
	sameJSON(t, "clips in order", ids(list), ids(want))
	list, err = e.s.ListClips(e.ctx, ClipFilter{SessionID: id, Limit: 2})
	must(t, err)
	sameJSON(t, "first two", ids(list), ids(want[:2]))

	// Another session's clips stay apart.
	other := &evercast.Session{MerchantID: f.merchant.ID, AnchorID: f.anchor.ID, ProductIDs: []string{f.products[0].ID}}
	must(t, e.s.CreateSession(e.ctx, other))
	theirs := plan(t, e, other.ID, evercast.KindOpening)
	list, err = e.s.ListClips(e.ctx, ClipFilter{SessionID: other.ID})
	must(t, err)
	sameJSON(t, "other session's clips", ids(list), ids(theirs))
	render(t, e, theirs[0], 320)
	list, err = e.s.ListClips(e.ctx, ClipFilter{States: []evercast.ClipState{evercast.ClipRendered}})
	must(t, err)
	sameJSON(t, "rendered clips", ids(list), ids(theirs))

	wantErr(t, e.s.PlanClips(e.ctx, id, []*evercast.Clip{{SessionID: other.ID, Kind: evercast.KindPitch}}, nil), evercast.ErrInvalid)
	wantErr(t, e.s.PlanClips(e.ctx, id, []*evercast.Clip{{}}, nil), evercast.ErrInvalid)
	wantErr(t, e.s.PlanClips(e.ctx, "ses_missing", []*evercast.Clip{{Kind: evercast.KindPitch}}, nil), evercast.ErrNotFound)
	wantErr(t, e.s.PlanClips(e.ctx, id, []*evercast.Clip{{ID: clips[0].ID, Kind: evercast.KindPitch}}, nil), evercast.ErrConflict)
	_, err = e.s.PlannerState(e.ctx, "ses_missing")
	wantErr(t, err, evercast.ErrNotFound)
	_, err = e.s.GetClip(e.ctx, "clp_missing")
	wantErr(t, err, evercast.ErrNotFound)
}

func ids(cs []*evercast.Clip) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.ID
	}
	return out
}

func testAdvanceClip(t *testing.T, e *env) {
	f := newFixture(t, e)
	cs := plan(t, e, f.session.ID, evercast.KindPitch, evercast.KindPitch)
	c := cs[0]
	at := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)

	got, err := e.s.AdvanceClip(e.ctx, c.ID, evercast.ClipPlanned, ClipUpdate{State: evercast.ClipScripted,
		Text: ptr("这款龙井..."), Writer: ptr("gpt-4o-mini"), ProductID: ptr(f.products[1].ID), At: at})
	must(t, err)
	if got.State != evercast.ClipScripted || got.Text != "这款龙井..." || got.Writer != "gpt-4o-mini" ||
		got.ProductID != f.products[1].ID || got.ScriptedAt == nil || !got.ScriptedAt.Equal(at) || got.VoicedAt != nil {
		t.Fatalf("after scripted: %+v", got)
	}

	// A stale compare-and-set fails and names the current state.
	_, err = e.s.AdvanceClip(e.ctx, c.ID, evercast.ClipPlanned, ClipUpdate{State: evercast.ClipScripted, Text: ptr("lost")})
	wantErr(t, err, evercast.ErrConflict)
	var se *StateError
	if !errors.As(err, &se) || se.Current != evercast.ClipScripted || se.ClipID != c.ID {
		t.Fatalf("err %v: want a *StateError with Current scripted", err)
	}
	if !strings.Contains(err.Error(), "scripted") {
		t.Fatalf("conflict %q does not name the current state", err)
	}
	again, err := e.s.GetClip(e.ctx, c.ID)
	must(t, err)
	if again.Text != "这款龙井..." {
		t.Fatalf("a failed compare-and-set changed the clip: %+v", again)
	}

	// A field update guarded by the state (no State): timestamps stay.
	got, err = e.s.AdvanceClip(e.ctx, c.ID, evercast.ClipScripted, ClipUpdate{Verdict: ptr("rewrite: 最")})
	must(t, err)
	if got.State != evercast.ClipScripted || got.Verdict != "rewrite: 最" || !got.ScriptedAt.Equal(at) {
		t.Fatalf("after field update: %+v", got)
	}

	got, err = e.s.AdvanceClip(e.ctx, c.ID, evercast.ClipScripted, ClipUpdate{State: evercast.ClipVoiced,
		AudioKey: ptr("a.wav"), At: at.Add(time.Second)})
	must(t, err)
	if got.State != evercast.ClipVoiced || got.RenderedAt != nil {
		t.Fatalf("after voiced: %+v", got)
	}
	got, err = e.s.AdvanceClip(e.ctx, c.ID, evercast.ClipVoiced, ClipUpdate{State: evercast.ClipRendered,
		VideoKey: ptr("v.ts"), VideoSHA256: ptr("00ff"), DurationMS: ptr(int64(15360))})
	must(t, err)
	if got.RenderedAt == nil || got.DurationMS != 15360 || got.VideoKey != "v.ts" || got.VideoSHA256 != "00ff" ||
		got.AudioKey != "a.wav" || !got.VoicedAt.Equal(at.Add(time.Second)) {
		t.Fatalf("after rendered: %+v", got)
	}

	_, err = e.s.AdvanceClip(e.ctx, c.ID, evercast.ClipRendered, ClipUpdate{State: evercast.ClipOnAir})
	wantErr(t, err, evercast.ErrInvalid)
	_, err = e.s.AdvanceClip(e.ctx, c.ID, evercast.ClipRendered, ClipUpdate{State: "lost"})
	wantErr(t, err, evercast.ErrInvalid)
	_, err = e.s.AdvanceClip(e.ctx, "clp_missing", evercast.ClipPlanned, ClipUpdate{State: evercast.ClipScripted})
	wantErr(t, err, evercast.ErrNotFound)

	// FailClip: from any pending state; not once on air.
	failAt := at.Add(time.Minute)
	failed, err := e.s.FailClip(e.ctx, cs[1].ID, "tts: espeak-ng exited 1", failAt)
	must(t, err)
	if failed.State != evercast.ClipFailed || failed.Error != "tts: espeak-ng exited 1" {
		t.Fatalf("failed clip %+v", failed)
	}
	_, err = e.s.FailClip(e.ctx, cs[1].ID, "again", failAt)
	if !errors.As(err, &se) || se.Current != evercast.ClipFailed {
		t.Fatalf("failing a failed clip: %v", err)
	}
	on, err := e.s.Cue(e.ctx, f.session.ID, 0, at)
	must(t, err)
	_, err = e.s.FailClip(e.ctx, on.ID, "late", failAt)
	wantErr(t, err, evercast.ErrConflict)
	_, err = e.s.FailClip(e.ctx, "clp_missing", "x", failAt)
	wantErr(t, err, evercast.ErrNotFound)

	aired, err := e.s.MarkAired(e.ctx, on.ID, at.Add(16*time.Second))
	must(t, err)
	if aired.State != evercast.ClipAired || !aired.AiredAt.Equal(at.Add(16*time.Second)) {
		t.Fatalf("aired clip %+v", aired)
	}
	_, err = e.s.MarkAired(e.ctx, on.ID, at)
	if !errors.As(err, &se) || se.Current != evercast.ClipAired {
		t.Fatalf("MarkAired twice: %v", err)
	}
}

func testCueOrder(t *testing.T, e *env) {
	f := newFixture(t, e)
	sid := f.session.ID
	// Cues happen as the clips move (no clip is stuck: see testStuckHead).
	t0 := e.clk.Now()
	K := evercast.KindPitch
	cs := plan(t, e, sid, K, K, K, evercast.KindReply, K, evercast.KindReply, evercast.KindReply, K)
	n1, n2, n3, p1, n4, p2, p3, n5 := cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], cs[6], cs[7]
	name := map[string]string{}
	for i, c := range cs {
		name[c.ID] = []string{"n1", "n2", "n3", "p1", "n4", "p2", "p3", "n5"}[i]
	}
	var startMS int64
	cue := func(step string, want *evercast.Clip, blocking *evercast.Clip, seq int64) {
		t.Helper()
		now := t0.Add(time.Duration(startMS) * time.Millisecond)
		got, err := e.s.Cue(e.ctx, sid, startMS, now)
		if want == nil {
			wantErr(t, err, ErrNotReady)
			switch {
			case blocking == nil && got != nil:
				t.Fatalf("%s: blocked by %s, want nothing pending", step, name[got.ID])
			case blocking != nil && (got == nil || got.ID != blocking.ID):
				t.Fatalf("%s: blocking clip %v, want %s", step, got, name[blocking.ID])
			}
			return
		}
		must(t, err)
		if got.ID != want.ID || got.Seq != seq || got.State != evercast.ClipOnAir || got.StartMS == nil ||
			*got.StartMS != startMS || got.OnAirAt == nil || !got.OnAirAt.Equal(now) {
			t.Fatalf("%s: cued %s seq %d %+v, want %s seq %d at %d", step, name[got.ID], got.Seq, got, name[want.ID], seq, startMS)
		}
		startMS += got.DurationMS
	}

	cue("all planned", nil, n1, 0)
	render(t, e, n2, 3200)
	render(t, e, n3, 3200)
	cue("later rendered clips do not jump the head", nil, n1, 0)
	render(t, e, p3, 1600)
	render(t, e, p2, 960)
	cue("rendered priority clips go first, lowest order key first", p2, nil, 1)
	cue("the next rendered priority clip", p3, nil, 2)
	cue("unrendered priority clips do not block", nil, n1, 0)
	render(t, e, n1, 6400)
	cue("head rendered", n1, nil, 3)
	cue("in order", n2, nil, 4)

	sb, err := e.s.CueStandby(e.ctx, sid, &evercast.Clip{VideoKey: "standby/loop.ts", DurationMS: 2560, Language: evercast.LangZH},
		startMS, t0.Add(time.Hour))
	must(t, err)
	if sb.Seq != 5 || sb.Kind != evercast.KindStandby || sb.State != evercast.ClipOnAir || *sb.StartMS != startMS {
		t.Fatalf("standby %+v: want seq 5 on air", sb)
	}
	stored, err := e.s.GetClip(e.ctx, sb.ID)
	must(t, err)
	sameJSON(t, "standby clip", stored, sb)
	startMS += sb.DurationMS

	cue("after standby", n3, nil, 6)
	_, err = e.s.FailClip(e.ctx, n4.ID, "script rejected twice", t0)
	must(t, err)
	cue("failed skipped, planned blocks", nil, n5, 0)
	render(t, e, p1, 640)
	render(t, e, n5, 320)
	cue("priority before the head", p1, nil, 7)
	cue("last", n5, nil, 8)
	cue("nothing pending", nil, nil, 0)

	_, err = e.s.Cue(e.ctx, "ses_missing", 0, t0)
	wantErr(t, err, evercast.ErrNotFound)
	_, err = e.s.CueStandby(e.ctx, "ses_missing", &evercast.Clip{}, 0, t0)
	wantErr(t, err, evercast.ErrNotFound)

	// Seq is contiguous in air order, and the timeline has no gaps.
	rd, err := e.s.Rundown(e.ctx, sid, RundownOptions{})
	must(t, err)
	var end int64
	for i, c := range rd[:8] {
		if c.Seq != int64(i+1) || *c.StartMS != end {
			t.Fatalf("rundown[%d] seq %d start %v, want seq %d start %d", i, c.Seq, *c.StartMS, i+1, end)
		}
		end += c.DurationMS
	}
	if len(rd) != 9 || rd[8].ID != n4.ID || rd[8].Seq != 0 {
		t.Fatalf("rundown tail %v, want only the failed n4", ids(rd[8:]))
	}
}

// buildRundown makes a session with clips in every state:
// aired a1 a2, on air o3, pending r (priority rendered), q (priority
// planned), n (rendered), m (planned), failed x.
func buildRundown(t *testing.T, e *env) (sid string, c map[string]*evercast.Clip) {
	f := newFixture(t, e)
	sid = f.session.ID
	K, R := evercast.KindPitch, evercast.KindReply
	cs := plan(t, e, sid, K, K, K, K, R, K, R, K)
	c = map[string]*evercast.Clip{}
	for i, n := range []string{"a1", "a2", "o3", "n", "q", "m", "r", "x"} {
		c[n] = cs[i]
	}
	t0 := time.Date(2025, 3, 1, 20, 0, 0, 0, time.UTC)
	var start int64
	for _, n := range []string{"a1", "a2", "o3"} {
		render(t, e, c[n], 1000)
		on, err := e.s.Cue(e.ctx, sid, start, t0)
		must(t, err)
		if on.ID != c[n].ID {
			t.Fatalf("cued %s, want %s", on.ID, n)
		}
		start += 1000
		if n != "o3" {
			_, err = e.s.MarkAired(e.ctx, on.ID, t0)
			must(t, err)
		}
	}
	render(t, e, c["n"], 2000)
	render(t, e, c["r"], 500)
	_, err := e.s.FailClip(e.ctx, c["x"].ID, "render: ffmpeg exited 1", t0)
	must(t, err)
	return sid, c
}

func testRundown(t *testing.T, e *env) {
	sid, c := buildRundown(t, e)
	type row struct {
		Name  string
		Seq   int64
		State evercast.ClipState
	}
	names := map[string]string{}
	for n, cl := range c {
		names[cl.ID] = n
	}
	tests := []struct {
		name string
		opts RundownOptions
		want []row
	}{
		{"all", RundownOptions{}, []row{
			{"a1", 1, "aired"}, {"a2", 2, "aired"}, {"o3", 3, "on_air"},
			{"r", 4, "rendered"}, {"q", 5, "planned"}, {"n", 6, "rendered"}, {"m", 7, "planned"},
			{"x", 0, "failed"},
		}},
		{"limit", RundownOptions{Limit: 2}, []row{
			{"a2", 2, "aired"}, {"o3", 3, "on_air"},
			{"r", 4, "rendered"}, {"q", 5, "planned"}, {"n", 6, "rendered"}, {"m", 7, "planned"},
			{"x", 0, "failed"},
		}},
		{"aired only", RundownOptions{AiredOnly: true}, []row{{"a1", 1, "aired"}, {"a2", 2, "aired"}}},
		{"aired only, limit", RundownOptions{AiredOnly: true, Limit: 1}, []row{{"a2", 2, "aired"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rd, err := e.s.Rundown(e.ctx, sid, tc.opts)
			must(t, err)
			got := make([]row, len(rd))
			for i, cl := range rd {
				got[i] = row{names[cl.ID], cl.Seq, cl.State}
			}
			sameJSON(t, "rundown", got, tc.want)
		})
	}
	// The tentative place is the one Cue then gives.
	on, err := e.s.Cue(e.ctx, sid, 3000, time.Now())
	must(t, err)
	if on.ID != c["r"].ID || on.Seq != 4 {
		t.Fatalf("cued %s seq %d, want r seq 4", names[on.ID], on.Seq)
	}
	_, err = e.s.Rundown(e.ctx, "ses_missing", RundownOptions{})
	wantErr(t, err, evercast.ErrNotFound)
}

func testClipStats(t *testing.T, e *env) {
	f := newFixture(t, e)
	st, err := e.s.ClipStats(e.ctx, f.session.ID)
	must(t, err)
	sameJSON(t, "stats of an empty session", st, ClipStats{})

	sid, c := buildRundown(t, e)
	st, err = e.s.ClipStats(e.ctx, sid)
	must(t, err)
	onAir, err := e.s.GetClip(e.ctx, c["o3"].ID)
	must(t, err)
	sameJSON(t, "stats", st, ClipStats{LastSeq: 3, AiredMS: 3000, ReadyMS: 2500, InFlight: 2, Failed: 1, OnAir: onAir})

	// The next clip cued early: OnAir stays the one playing.
	_, err = e.s.Cue(e.ctx, sid, 3000, time.Now())
	must(t, err)
	st, err = e.s.ClipStats(e.ctx, sid)
	must(t, err)
	if st.LastSeq != 4 || st.AiredMS != 3500 || st.ReadyMS != 2000 || st.OnAir == nil || st.OnAir.ID != c["o3"].ID {
		t.Fatalf("stats after an early cue: %+v", st)
	}
	_, err = e.s.ClipStats(e.ctx, "ses_missing")
	wantErr(t, err, evercast.ErrNotFound)
}

// testConcurrentCue cues one session from 8 goroutines, each through its
// own Store handle (its own connections), mixing in standby clips and
// MarkAired: no clip airs twice and Seq runs 1..N without a gap or repeat.
func testConcurrentCue(t *testing.T, e *env) {
	f := newFixture(t, e)
	sid := f.session.ID
	const clips = 48
	kinds := make([]evercast.ClipKind, clips)
	for i := range kinds {
		kinds[i] = evercast.KindPitch
		if i%6 == 5 {
			kinds[i] = evercast.KindReply
		}
	}
	cs := plan(t, e, sid, kinds...)
	for _, c := range cs {
		render(t, e, c, 320)
	}
	const workers = 8
	stores := make([]*Store, workers)
	for i := range stores {
		stores[i] = e.open()
	}
	var (
		mu      sync.Mutex
		aired   = map[string]int{}
		bySeq   = map[int64]string{}
		standby int
		wg      sync.WaitGroup
	)
	t0 := time.Date(2025, 3, 1, 20, 0, 0, 0, time.UTC)
	record := func(c *evercast.Clip) error {
		mu.Lock()
		defer mu.Unlock()
		aired[c.ID]++
		if prev, dup := bySeq[c.Seq]; dup {
			return fmt.Errorf("seq %d given to %s and %s", c.Seq, prev, c.ID)
		}
		bySeq[c.Seq] = c.ID
		return nil
	}
	for w, s := range stores {
		wg.Go(func() {
			for i := 0; ; i++ {
				var c *evercast.Clip
				var err error
				if w == 0 && i%4 == 3 {
					c, err = s.CueStandby(e.ctx, sid, &evercast.Clip{VideoKey: "standby.ts", DurationMS: 320}, 0, t0)
					mu.Lock()
					standby++
					mu.Unlock()
				} else {
					c, err = s.Cue(e.ctx, sid, 0, t0)
				}
				if errors.Is(err, ErrNotReady) && c == nil {
					return
				}
				if err != nil {
					t.Errorf("worker %d: %v", w, err)
					return
				}
				if err := record(c); err != nil {
					t.Error(err)
					return
				}
				if _, err := s.MarkAired(e.ctx, c.ID, t0); err != nil {
					t.Errorf("worker %d: mark aired: %v", w, err)
					return
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	for _, c := range cs {
		if aired[c.ID] != 1 {
			t.Errorf("clip %s aired %d times", c.ID, aired[c.ID])
		}
	}
	total := int64(clips + standby)
	if int64(len(bySeq)) != total {
		t.Fatalf("%d seqs for %d clips", len(bySeq), total)
	}
	for seq := int64(1); seq <= total; seq++ {
		if bySeq[seq] == "" {
			t.Fatalf("seq %d missing (of %d)", seq, total)
		}
	}
	st, err := e.s.ClipStats(e.ctx, sid)
	must(t, err)
	if st.LastSeq != total || st.InFlight != 0 || st.ReadyMS != 0 || st.OnAir != nil {
		t.Fatalf("stats after the run: %+v", st)
	}
}

// testStandbyTemplate: a session's standby template goes through the
// pipeline but never airs from the queue, never counts as buffer, and Peek
// agrees with Cue.
func testStandbyTemplate(t *testing.T, e *env) {
	f := newFixture(t, e)
	sid := f.session.ID
	sb := &evercast.Clip{Kind: evercast.KindStandby, Language: evercast.LangZH}
	p := &evercast.Clip{Kind: evercast.KindPitch, Language: evercast.LangZH, Beat: 2, Brief: "brief text"}
	must(t, e.s.PlanClips(e.ctx, sid, []*evercast.Clip{sb, p}, nil))
	got, err := e.s.GetClip(e.ctx, p.ID)
	must(t, err)
	if got.Beat != 2 || got.Brief != "brief text" {
		t.Fatalf("beat/brief not stored: %+v", got)
	}
	render(t, e, sb, 3200)
	st, err := e.s.ClipStats(e.ctx, sid)
	must(t, err)
	if st.ReadyMS != 0 || st.InFlight != 1 {
		t.Fatalf("standby template counted as buffer: %+v", st)
	}
	if _, err := e.s.Peek(e.ctx, sid); !errors.Is(err, ErrNotReady) {
		t.Fatalf("peek with only the template rendered: %v", err)
	}
	if _, err := e.s.Cue(e.ctx, sid, 0, time.Now()); !errors.Is(err, ErrNotReady) {
		t.Fatalf("cue aired the standby template: %v", err)
	}
	render(t, e, p, 4800)
	peeked, err := e.s.Peek(e.ctx, sid)
	must(t, err)
	cued, err := e.s.Cue(e.ctx, sid, 0, time.Now())
	must(t, err)
	if peeked.ID != p.ID || cued.ID != p.ID || cued.Seq != 1 {
		t.Fatalf("peek %s cue %s, want %s", peeked.ID, cued.ID, p.ID)
	}
	rd, err := e.s.Rundown(e.ctx, sid, RundownOptions{})
	must(t, err)
	for _, c := range rd {
		if c.ID == sb.ID {
			t.Fatalf("standby template listed in the rundown")
		}
	}
}

// testStuckHead: a clip at the head of the queue that has not moved for
// StuckAfter (its worker died mid-render) no longer holds rendered clips
// behind it; it airs once it is done.
func testStuckHead(t *testing.T, e *env) {
	f := newFixture(t, e)
	sid := f.session.ID
	cs := plan(t, e, sid, evercast.KindPitch, evercast.KindPitch, evercast.KindPitch)
	render(t, e, cs[1], 3200)
	fresh := e.clk.Now()
	if _, err := e.s.Cue(e.ctx, sid, 0, fresh); !errors.Is(err, ErrNotReady) {
		t.Fatalf("a head that is moving blocks: got %v", err)
	}
	later := fresh.Add(StuckAfter + time.Second)
	got, err := e.s.Cue(e.ctx, sid, 0, later)
	must(t, err)
	if got.ID != cs[1].ID || got.Seq != 1 {
		t.Fatalf("after the head was stuck: cued %s seq %d, want the rendered one", got.ID, got.Seq)
	}
	render(t, e, cs[0], 3200)
	got, err = e.s.Cue(e.ctx, sid, 3200, later.Add(time.Second))
	must(t, err)
	if got.ID != cs[0].ID || got.Seq != 2 {
		t.Fatalf("the once-stuck head airs when done: got %s seq %d", got.ID, got.Seq)
	}
}
