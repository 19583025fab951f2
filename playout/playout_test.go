package playout

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/assets"
	"github.com/evercast/evercast/internal/mediatest"
	"github.com/evercast/evercast/internal/mpegts/mpegtstest"
	"github.com/evercast/evercast/internal/s3local"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/testenv"
)

var clips = &mpegtstest.Cache{}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "evercast-playout-clips-")
	if err != nil {
		panic(err)
	}
	clips.Dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type fixture struct {
	ctx  context.Context
	st   *store.Store
	objs *assets.Store
	sess *evercast.Session
}

func newFixture(t *testing.T, outputs []evercast.Output) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "p.db"), nil)
	must(t, err)
	t.Cleanup(func() { st.Close() })
	srv, err := s3local.Start(t.TempDir(), nil)
	must(t, err)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	objs, err := assets.Open(ctx, assets.Options{Endpoint: srv.Endpoint, AccessKey: "k", SecretKey: "s", Bucket: "playout"})
	must(t, err)
	m := &evercast.Merchant{Name: "m"}
	must(t, st.CreateMerchant(ctx, m))
	a := &evercast.Anchor{MerchantID: m.ID, Name: "A", Language: evercast.LangZH}
	must(t, a.Validate())
	must(t, st.CreateAnchor(ctx, a))
	p := &evercast.Product{MerchantID: m.ID, SKU: "P", Title: evercast.Text{"zh": "P"}, Price: 100}
	must(t, p.Validate())
	must(t, st.CreateProduct(ctx, p))
	s := &evercast.Session{MerchantID: m.ID, AnchorID: a.ID, Title: "t", ProductIDs: []string{p.ID}, Outputs: outputs}
	must(t, s.Validate())
	must(t, st.CreateSession(ctx, s))
	return &fixture{ctx: ctx, st: st, objs: objs, sess: s}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// plan plans clips of the given kinds (priority for closing).
func (f *fixture) plan(t *testing.T, standby bool, kinds ...evercast.ClipKind) []*evercast.Clip {
	t.Helper()
	var cs []*evercast.Clip
	for _, k := range kinds {
		cs = append(cs, &evercast.Clip{Kind: k, Language: evercast.LangZH, Priority: k == evercast.KindClosing})
	}
	var state []byte
	if standby {
		state, _ = json.Marshal(map[string]any{"started": true, "standby_clip_id": cs[0].ID})
		if cs[0].ID == "" {
			cs[0].ID = evercast.NewID(evercast.PrefixClip)
			state, _ = json.Marshal(map[string]any{"started": true, "standby_clip_id": cs[0].ID})
		}
	}
	must(t, f.st.PlanClips(f.ctx, f.sess.ID, cs, state))
	return cs
}

// render uploads a fixture clip of n quanta and marks c rendered.
func (f *fixture) render(t *testing.T, c *evercast.Clip, quanta int) {
	t.Helper()
	b := clips.Clip(t, mpegtstest.Spec{Quanta: quanta})
	sha := assets.SHA256(b)
	key := assets.ClipKey(sha)
	must(t, f.objs.Put(f.ctx, key, b, "video/mp2t", nil))
	text, ms := "text", int64(quanta*320)
	for _, step := range []struct {
		from evercast.ClipState
		u    store.ClipUpdate
	}{
		{evercast.ClipPlanned, store.ClipUpdate{State: evercast.ClipScripted, Text: &text}},
		{evercast.ClipScripted, store.ClipUpdate{State: evercast.ClipVoiced, AudioKey: &key}},
		{evercast.ClipVoiced, store.ClipUpdate{State: evercast.ClipRendered, VideoKey: &key, VideoSHA256: &sha, DurationMS: &ms}},
	} {
		_, err := f.st.AdvanceClip(f.ctx, c.ID, step.from, step.u)
		must(t, err)
	}
}

func (f *fixture) engine(t *testing.T, fast bool) (*Engine, string) {
	root := t.TempDir()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return New(Options{Source: f.st, Objects: f.objs, Fast: fast, Stall: 300 * time.Millisecond, HLSRoot: root,
		HLSWindow: 5, Poll: 50 * time.Millisecond, Log: log}), root
}

func (f *fixture) waitState(t *testing.T, want evercast.SessionState, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		s, err := f.st.GetSession(f.ctx, f.sess.ID)
		must(t, err)
		if s.State == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("session not %s after %s", want, d)
}

// TestAirsRundownWithStandbyAndCloses: clips air in order, a dry buffer is
// covered by standby, the closing clip ends the session, and the whole
// stream's timestamps are continuous.
func TestAirsRundownWithStandbyAndCloses(t *testing.T) {
	f := newFixture(t, nil)
	cs := f.plan(t, true, evercast.KindStandby, evercast.KindOpening, evercast.KindPitch, evercast.KindPitch, evercast.KindPitch)
	f.render(t, cs[0], 10) // standby 3.2 s
	f.render(t, cs[1], 14)
	f.render(t, cs[2], 22)
	f.render(t, cs[3], 11)
	// cs[4] stays planned: the buffer runs dry after three clips.
	_, err := f.st.SetSessionState(f.ctx, f.sess.ID, evercast.SessionWarming, evercast.SessionScheduled)
	must(t, err)
	_, err = f.st.SetSessionState(f.ctx, f.sess.ID, evercast.SessionLive, evercast.SessionWarming)
	must(t, err)

	e, root := f.engine(t, true)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()

	// Wait for standby to have aired at least twice, then fill the gap and close.
	deadline := time.Now().Add(20 * time.Second)
	for {
		rd, err := f.st.Rundown(f.ctx, f.sess.ID, store.RundownOptions{AiredOnly: true})
		must(t, err)
		n := 0
		for _, c := range rd {
			if c.Kind == evercast.KindStandby {
				n++
			}
		}
		if n >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("standby never aired; rundown %d aired", len(rd))
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.render(t, cs[4], 9)
	closing := f.plan(t, false, evercast.KindClosing)
	f.render(t, closing[0], 8)
	f.waitState(t, evercast.SessionEnded, 20*time.Second)
	cancel()
	must(t, <-done)

	rd, err := f.st.Rundown(f.ctx, f.sess.ID, store.RundownOptions{AiredOnly: true})
	must(t, err)
	var kinds []string
	var total int64
	for i, c := range rd {
		if c.Seq != int64(i+1) {
			t.Fatalf("aired seq %d at position %d", c.Seq, i)
		}
		if *c.StartMS != total {
			t.Fatalf("clip %d starts at %d ms, want %d", c.Seq, *c.StartMS, total)
		}
		total += c.DurationMS
		kinds = append(kinds, string(c.Kind))
	}
	got := strings.Join(kinds, ",")
	if !strings.HasPrefix(got, "opening,pitch,pitch,standby,standby") || !strings.HasSuffix(got, "closing") ||
		!strings.Contains(got, "standby,pitch") {
		t.Fatalf("aired %s", got)
	}
	// The live window holds the last segments and is closed with ENDLIST.
	pl, err := os.ReadFile(filepath.Join(root, f.sess.ID, "index.m3u8"))
	must(t, err)
	if !strings.Contains(string(pl), "#EXT-X-ENDLIST") {
		t.Fatalf("playlist not ended:\n%s", pl)
	}
	pk, err := mediatest.Probe(f.ctx, filepath.Join(root, f.sess.ID, "index.m3u8"), 30*time.Second)
	must(t, err)
	if _, err := pk.Continuous(); err != nil {
		t.Fatal(err)
	}
}

// TestRestartContinuesTimeline: a channel started over a session whose
// last clip was on air records it aired and continues after it.
func TestRestartContinuesTimeline(t *testing.T) {
	f := newFixture(t, nil)
	cs := f.plan(t, true, evercast.KindStandby, evercast.KindOpening, evercast.KindPitch)
	for i, q := range []int{10, 12, 9} {
		f.render(t, cs[i], q)
	}
	_, _ = f.st.SetSessionState(f.ctx, f.sess.ID, evercast.SessionWarming, evercast.SessionScheduled)
	_, _ = f.st.SetSessionState(f.ctx, f.sess.ID, evercast.SessionLive, evercast.SessionWarming)
	// The previous process cued the opening and died.
	on, err := f.st.Cue(f.ctx, f.sess.ID, 0, time.Now())
	must(t, err)
	f.render(t, f.plan(t, false, evercast.KindClosing)[0], 8)
	e, _ := f.engine(t, true)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	f.waitState(t, evercast.SessionEnded, 20*time.Second)
	cancel()
	must(t, <-done)
	rd, err := f.st.Rundown(f.ctx, f.sess.ID, store.RundownOptions{AiredOnly: true})
	must(t, err)
	// The closing clip is priority: it airs right after the interrupted
	// opening, on the timeline where the opening ended.
	if len(rd) != 2 || rd[0].ID != on.ID || rd[1].Seq != 2 || *rd[1].StartMS != 12*320 || rd[1].Kind != evercast.KindClosing {
		for _, c := range rd {
			t.Logf("seq %d %s start %v", c.Seq, c.Kind, *c.StartMS)
		}
		t.Fatalf("rundown after restart not continued")
	}
}

// TestRTMPTargets: two targets, one unreachable: the good one receives a
// readable stream, the bad one retries without disturbing it.
func TestRTMPTargets(t *testing.T) {
	rtmp := testenv.StartRTMP(t)
	bad := "rtmp://127.0.0.1:" + strconv.Itoa(testenv.FreePort(t)) + "/live/nothing"
	f := newFixture(t, []evercast.Output{{Name: "good", URL: rtmp.URL("s1")}, {Name: "bad", URL: bad}})
	kinds := []evercast.ClipKind{evercast.KindStandby}
	for i := 0; i < 6; i++ {
		kinds = append(kinds, evercast.KindPitch)
	}
	cs := f.plan(t, true, kinds...)
	for _, c := range cs {
		f.render(t, c, 10)
	}
	_, _ = f.st.SetSessionState(f.ctx, f.sess.ID, evercast.SessionWarming, evercast.SessionScheduled)
	_, _ = f.st.SetSessionState(f.ctx, f.sess.ID, evercast.SessionLive, evercast.SessionWarming)
	e, _ := f.engine(t, false) // real-time pacing
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	time.Sleep(3 * time.Second)
	st, err := mediatest.ProbeStreams(f.ctx, rtmp.URL("s1"), 20*time.Second)
	must(t, err)
	if st.VideoCodec != "h264" || st.AudioCodec != "aac" || st.Width != 1280 || st.SampleRate != 48000 {
		t.Fatalf("read back %+v", st)
	}
	outs := e.Outputs(f.sess.ID)
	if len(outs) != 2 {
		t.Fatalf("outputs %+v", outs)
	}
	for _, o := range outs {
		switch o.Name {
		case "good":
			if o.State != "pushing" || o.Reconnects != 0 {
				t.Errorf("good target %+v", o)
			}
		case "bad":
			if o.Reconnects == 0 || o.LastError == "" {
				t.Errorf("bad target did not report its failures: %+v", o)
			}
		}
		if strings.Contains(o.URL, "s1") || strings.Contains(o.URL, "nothing") {
			t.Errorf("stream key not redacted: %s", o.URL)
		}
	}
	cancel()
	must(t, <-done)
}

// TestReplyCutsInAtAPause: on the real clock, a clip with a pause at its
// seventh quantum gives way there to a live reply rendered meanwhile; a
// skip ends the next clip at once; the stream stays gapless.
func TestReplyCutsInAtAPause(t *testing.T) {
	f := newFixture(t, nil)
	cs := f.plan(t, true, evercast.KindStandby, evercast.KindPitch, evercast.KindPitch)
	f.render(t, cs[0], 10)
	f.render(t, cs[1], 20)
	f.render(t, cs[2], 20)
	breaks := []int{6, 14}
	clips.Clip(t, mpegtstest.Spec{Quanta: 8}) // the reply's bytes, made before the clock matters
	_, err := f.st.AdvanceClip(f.ctx, cs[1].ID, evercast.ClipRendered, store.ClipUpdate{Breaks: &breaks})
	must(t, err)
	_, _ = f.st.SetSessionState(f.ctx, f.sess.ID, evercast.SessionWarming, evercast.SessionScheduled)
	_, _ = f.st.SetSessionState(f.ctx, f.sess.ID, evercast.SessionLive, evercast.SessionWarming)
	e, root := f.engine(t, false)
	ctx, cancel := context.WithCancel(f.ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	// Once the first pitch is on air, a reply renders.
	waitOnAir := func(id string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			if c, _ := f.st.GetClip(f.ctx, id); c != nil && c.State.Rank() >= evercast.ClipOnAir.Rank() {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		t.Fatalf("clip %s never went on air", id)
	}
	waitOnAir(cs[1].ID)
	reply := &evercast.Clip{Kind: evercast.KindReply, Language: evercast.LangZH, Priority: true, CommentID: "c1"}
	must(t, f.st.PlanClips(f.ctx, f.sess.ID, []*evercast.Clip{reply}, nil))
	f.render(t, reply, 8)
	e.Notify(f.sess.ID)
	waitOnAir(reply.ID)
	first, _ := f.st.GetClip(f.ctx, cs[1].ID)
	if first.AiredMS == nil || *first.AiredMS != 6*320 {
		t.Fatalf("the pitch aired %v ms (of %d), want 1920 (cut at its first pause)", ptrv(first.AiredMS), first.DurationMS)
	}
	// Skip the second pitch as soon as it is on air.
	waitOnAir(cs[2].ID)
	if _, err := e.Command(f.ctx, f.sess.ID, "skip"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, _ := f.st.GetClip(f.ctx, cs[2].ID)
		if c.State == evercast.ClipAired {
			if c.AiredMS == nil || *c.AiredMS >= 20*320 || *c.AiredMS%320 != 0 {
				t.Fatalf("skipped clip aired %v ms", c.AiredMS)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the skipped clip never ended")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	must(t, <-done)
	// The cut clips' timeline is continuous (internal/mpegts proves the
	// bytes join gaplessly at any quantum).
	_ = root
	rd, _ := f.st.Rundown(f.ctx, f.sess.ID, store.RundownOptions{AiredOnly: true})
	var pos int64
	for _, c := range rd {
		if *c.StartMS != pos {
			t.Fatalf("clip %d starts at %d ms, want %d", c.Seq, *c.StartMS, pos)
		}
		pos += c.OnAirMS()
	}
}

func ptrv(p *int64) any {
	if p == nil {
		return "whole"
	}
	return *p
}
