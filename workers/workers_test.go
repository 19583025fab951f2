package workers

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/assets"
	"github.com/evercast/evercast/assets/avatars"
	"github.com/evercast/evercast/internal/aigc"
	"github.com/evercast/evercast/internal/llmtest"
	"github.com/evercast/evercast/internal/mpegts"
	"github.com/evercast/evercast/internal/s3local"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/tasks"
	"github.com/evercast/evercast/prompts"
	"github.com/evercast/evercast/workers/render"
	"github.com/evercast/evercast/workers/script"
	"github.com/evercast/evercast/workers/speech"
	"github.com/hibiken/asynq"
)

type queue struct {
	mu    sync.Mutex
	tasks []*asynq.Task
}

func (q *queue) EnqueueContext(_ context.Context, t *asynq.Task, _ ...asynq.Option) (*asynq.TaskInfo, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.tasks = append(q.tasks, t)
	return &asynq.TaskInfo{}, nil
}

func (q *queue) pop(t *testing.T) *asynq.Task {
	t.Helper()
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.tasks) == 0 {
		t.Fatal("no task enqueued")
	}
	tk := q.tasks[0]
	q.tasks = q.tasks[1:]
	return tk
}

type fixture struct {
	ctx  context.Context
	st   *store.Store
	objs *assets.Store
	q    *queue
	w    *Workers
	sess *evercast.Session
	prod *evercast.Product
}

type checkFunc func(ctx context.Context, in CheckInput) CheckResult

func (f checkFunc) Check(ctx context.Context, in CheckInput) CheckResult { return f(ctx, in) }

func newFixture(t *testing.T, writer script.Writer, checker Checker) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, filepath.Join(t.TempDir(), "w.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	srv, err := s3local.Start(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	objs, err := assets.Open(ctx, assets.Options{Endpoint: srv.Endpoint, AccessKey: "k", SecretKey: "s", Bucket: "workers"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := render.New(render.Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := &evercast.Merchant{Name: "m"}
	must(t, st.CreateMerchant(ctx, m))
	a := &evercast.Anchor{MerchantID: m.ID, Name: "A", Language: evercast.LangEN}
	must(t, a.Validate())
	must(t, st.CreateAnchor(ctx, a))
	promo := evercast.Money(4990)
	p := &evercast.Product{MerchantID: m.ID, SKU: "HONEY", Title: evercast.Text{"zh": "蜂蜜", "en": "Acacia honey"}, Price: 5990, PromoPrice: &promo, Stock: 50,
		SellingPoints: []evercast.Text{{"en": "a light, sweet taste"}}}
	must(t, p.Validate())
	must(t, st.CreateProduct(ctx, p))
	s := &evercast.Session{MerchantID: m.ID, AnchorID: a.ID, Title: "Test room", ProductIDs: []string{p.ID}}
	must(t, s.Validate())
	must(t, st.CreateSession(ctx, s))
	q := &queue{}
	w := New(Options{Store: st, Objects: objs, Queue: q, Writer: writer, Speech: speech.Router{"espeak": speech.Espeak{}},
		Renderer: r, Checker: checker, TempDir: t.TempDir(),
		Avatar: func(name string) (*render.Avatar, error) {
			pk, err := avatars.Load(name)
			if err != nil {
				return nil, err
			}
			return &render.Avatar{Body: pk.Body, Mouths: pk.Mouths, MouthPos: pk.MouthPos, EyesOpen: pk.EyesOpen, EyesClosed: pk.EyesClosed, EyesPos: pk.EyesPos}, nil
		}})
	return &fixture{ctx: ctx, st: st, objs: objs, q: q, w: w, sess: s, prod: p}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) plan(t *testing.T, kind evercast.ClipKind) *evercast.Clip {
	c := &evercast.Clip{Kind: kind, Language: evercast.LangEN, ProductID: f.prod.ID, Beat: 1}
	must(t, f.st.PlanClips(f.ctx, f.sess.ID, []*evercast.Clip{c}, nil))
	return c
}

// run runs one task through the mux as asynq would (first attempt).
func (f *fixture) run(t *testing.T, tk *asynq.Task) error {
	t.Helper()
	mux := asynq.NewServeMux()
	f.w.Register(mux)
	return mux.ProcessTask(f.ctx, tk)
}

func TestPipelineEndToEnd(t *testing.T) {
	f := newFixture(t, script.Offline{}, nil)
	c := f.plan(t, evercast.KindPitch)
	tk, err := tasks.New(tasks.TypeScript, tasks.Payload{ClipID: c.ID, SessionID: f.sess.ID}, tasks.QueueDefault)
	must(t, err)
	for _, want := range []string{tasks.TypeScript, tasks.TypeSpeech, tasks.TypeRender, tasks.TypeStore} {
		if tk.Type() != want {
			t.Fatalf("stage %s, want %s", tk.Type(), want)
		}
		must(t, f.run(t, tk))
		if want != tasks.TypeStore {
			tk = f.q.pop(t)
		}
	}
	got, err := f.st.GetClip(f.ctx, c.ID)
	must(t, err)
	if got.State != evercast.ClipRendered || got.DurationMS%320 != 0 || got.DurationMS < 1280 || got.Writer != script.OfflineName ||
		!strings.Contains(got.Text, "Acacia honey") || got.RenderedAt == nil || got.ScriptedAt == nil || got.VoicedAt == nil {
		t.Fatalf("clip after the pipeline: %+v", got)
	}
	if got.VideoKey != assets.ClipKey(got.VideoSHA256) {
		t.Fatalf("video key %s is not the content address of %s", got.VideoKey, got.VideoSHA256)
	}
	info, err := f.objs.Stat(f.ctx, got.VideoKey)
	must(t, err)
	for k, v := range map[string]string{"clip-id": c.ID, "session-id": f.sess.ID, "aigc": "1", "aigc-content-id": c.ID} {
		if info.Metadata[k] != v {
			t.Errorf("object metadata %s = %q, want %q (all %v)", k, info.Metadata[k], v, info.Metadata)
		}
	}
	b, err := f.objs.Get(f.ctx, got.VideoKey)
	must(t, err)
	if _, err := mpegts.Parse(b); err != nil {
		t.Fatal(err)
	}
	l, err := aigc.Read(strings.NewReader(string(b)))
	if err != nil || !l.AIGenerated || l.ContentID != c.ID {
		t.Fatalf("hidden label %+v %v", l, err)
	}
	if _, err := f.objs.Get(f.ctx, assets.StagingKey(c.ID)); !errors.Is(err, evercast.ErrNotFound) {
		t.Fatalf("staged clip not removed: %v", err)
	}
	// Every stage again: all no-ops, nothing enqueued, nothing changed.
	for _, typ := range []string{tasks.TypeScript, tasks.TypeSpeech, tasks.TypeRender} {
		tk, _ := tasks.New(typ, tasks.Payload{ClipID: c.ID, SessionID: f.sess.ID}, tasks.QueueDefault)
		must(t, f.run(t, tk))
	}
	if len(f.q.tasks) != 0 {
		t.Fatalf("a duplicate task did work again: %d enqueued", len(f.q.tasks))
	}
	again, _ := f.st.GetClip(f.ctx, c.ID)
	if again.VideoKey != got.VideoKey || !again.RenderedAt.Equal(*got.RenderedAt) {
		t.Fatal("a duplicate task changed the clip")
	}
}

func TestMalformedPayloadsFailPermanently(t *testing.T) {
	f := newFixture(t, script.Offline{}, nil)
	for _, payload := range []string{``, `{`, `[]`, `{"clip_id":"x","session_id":"y"}`, `{"clip_id":"clp_a","session_id":"ses_b","extra":1}`,
		`{"clip_id":"clp_a","session_id":"ses_b"}` /* unknown clip */, "\x00\xff"} {
		for _, typ := range []string{tasks.TypeScript, tasks.TypeSpeech, tasks.TypeRender, tasks.TypeStore} {
			err := f.run(t, asynq.NewTask(typ, []byte(payload)))
			if !errors.Is(err, asynq.SkipRetry) {
				t.Errorf("%s %q: want a permanent failure, got %v", typ, payload, err)
			}
		}
	}
	// A clip of another session is refused too.
	c := f.plan(t, evercast.KindPitch)
	tk, _ := tasks.New(tasks.TypeScript, tasks.Payload{ClipID: c.ID, SessionID: "ses_other"}, tasks.QueueDefault)
	if err := f.run(t, tk); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("cross-session payload: %v", err)
	}
}

type failingWriter struct{ err error }

func (w failingWriter) Write(context.Context, script.Request) (script.Script, error) {
	return script.Script{}, w.err
}

type fixedWriter struct {
	mu    sync.Mutex
	texts []string
	calls int
	fb    [][]string
}

func (w *fixedWriter) Write(_ context.Context, r script.Request) (script.Script, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fb = append(w.fb, r.Feedback)
	t := w.texts[min(w.calls, len(w.texts)-1)]
	w.calls++
	return script.Script{Text: t, Writer: "llm:test"}, nil
}

func TestCheckerRewritesThenFallsBack(t *testing.T) {
	bad := "The best honey in the world, No. 1!"
	checker := checkFunc(func(_ context.Context, in CheckInput) CheckResult {
		if strings.Contains(in.Text, "best") {
			return CheckResult{Verdict: "violation:absolute", Feedback: []string{"absolute: best"}}
		}
		return CheckResult{OK: true, Verdict: "ok"}
	})
	w := &fixedWriter{texts: []string{bad, bad, "Acacia honey, light and sweet."}}
	f := newFixture(t, w, checker)
	c := f.plan(t, evercast.KindPitch)
	tk, _ := tasks.New(tasks.TypeScript, tasks.Payload{ClipID: c.ID, SessionID: f.sess.ID}, tasks.QueueDefault)
	must(t, f.run(t, tk))
	got, _ := f.st.GetClip(f.ctx, c.ID)
	if got.Text != "Acacia honey, light and sweet." || got.Verdict != "ok" || got.Writer != "llm:test" {
		t.Fatalf("after rewrites: %+v", got)
	}
	if len(w.fb) != 3 || w.fb[1][0] != "absolute: best" {
		t.Fatalf("feedback not passed to the rewrite: %v", w.fb)
	}
	// A writer that never complies: the catalog-only writer takes over.
	w2 := &fixedWriter{texts: []string{bad}}
	f2 := newFixture(t, w2, checker)
	c2 := f2.plan(t, evercast.KindPitch)
	tk2, _ := tasks.New(tasks.TypeScript, tasks.Payload{ClipID: c2.ID, SessionID: f2.sess.ID}, tasks.QueueDefault)
	must(t, f2.run(t, tk2))
	got2, _ := f2.st.GetClip(f2.ctx, c2.ID)
	if got2.Writer != script.OfflineName || strings.Contains(got2.Text, "best") {
		t.Fatalf("fallback: %+v", got2)
	}
	// A checker that refuses everything: the clip fails, nothing is voiced.
	f3 := newFixture(t, script.Offline{}, checkFunc(func(context.Context, CheckInput) CheckResult {
		return CheckResult{Verdict: "violation"}
	}))
	c3 := f3.plan(t, evercast.KindPitch)
	tk3, _ := tasks.New(tasks.TypeScript, tasks.Payload{ClipID: c3.ID, SessionID: f3.sess.ID}, tasks.QueueDefault)
	if err := f3.run(t, tk3); !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("want a permanent failure, got %v", err)
	}
	got3, _ := f3.st.GetClip(f3.ctx, c3.ID)
	if got3.State != evercast.ClipFailed || got3.Text != "" || len(f3.q.tasks) != 0 {
		t.Fatalf("refused script: %+v", got3)
	}
}

func TestWriterErrors(t *testing.T) {
	// A permanent writer error falls back to the offline writer at once.
	f := newFixture(t, failingWriter{err: script.ErrPermanent}, nil)
	c := f.plan(t, evercast.KindPromotion)
	tk, _ := tasks.New(tasks.TypeScript, tasks.Payload{ClipID: c.ID, SessionID: f.sess.ID}, tasks.QueueDefault)
	must(t, f.run(t, tk))
	got, _ := f.st.GetClip(f.ctx, c.ID)
	if got.State != evercast.ClipScripted || got.Writer != script.OfflineName || !strings.Contains(got.Text, "49.9") {
		t.Fatalf("permanent writer error: %+v", got)
	}
	// A passing fault on the first attempt is retried by asynq (error out,
	// clip untouched).
	f2 := newFixture(t, failingWriter{err: errors.New("503")}, nil)
	c2 := f2.plan(t, evercast.KindPitch)
	tk2, _ := tasks.New(tasks.TypeScript, tasks.Payload{ClipID: c2.ID, SessionID: f2.sess.ID}, tasks.QueueDefault)
	ctx, cancel := context.WithTimeout(f2.ctx, time.Minute)
	defer cancel()
	mux := asynq.NewServeMux()
	f2.w.Register(mux)
	if err := mux.ProcessTask(ctx, tk2); err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("transient writer error: %v", err)
	}
}

func TestReplyStreamsInTwoClips(t *testing.T) {
	srv := llmtest.New()
	defer srv.Close()
	srv.TokensPerSecond = 200
	srv.Reply = func([]llmtest.Message) string { return "The promotion price is 49.9 yuan. Tap the cart to order." }
	set, err := prompts.Load()
	must(t, err)
	llm, err := script.NewLLM(script.LLMOptions{BaseURL: srv.BaseURL(), Model: "m"}, set)
	must(t, err)
	f := newFixture(t, llm, nil)
	c := &evercast.Clip{Kind: evercast.KindReply, Language: evercast.LangEN, ProductID: f.prod.ID, Priority: true, CommentID: "c1", Brief: "how much?"}
	must(t, f.st.PlanClips(f.ctx, f.sess.ID, []*evercast.Clip{c}, nil))
	tk, _ := tasks.New(tasks.TypeScript, tasks.Payload{ClipID: c.ID, SessionID: f.sess.ID}, tasks.QueueCritical)
	must(t, f.run(t, tk))
	got, _ := f.st.GetClip(f.ctx, c.ID)
	if got.State != evercast.ClipScripted || got.Text != "The promotion price is 49.9 yuan." {
		t.Fatalf("first clip %+v", got)
	}
	if n := len(f.q.tasks); n != 2 {
		t.Fatalf("%d tasks enqueued, want speech for the first clip and script for the continuation", n)
	}
	var cont *evercast.Clip
	clips, _ := f.st.ListClips(f.ctx, store.ClipFilter{SessionID: f.sess.ID})
	for _, x := range clips {
		if x.ID != c.ID {
			cont = x
		}
	}
	if cont == nil || cont.Beat != 1 || cont.CommentID != "c1" || !cont.Priority || cont.Brief != "Tap the cart to order." {
		t.Fatalf("continuation %+v", cont)
	}
	tk2, _ := tasks.New(tasks.TypeScript, tasks.Payload{ClipID: cont.ID, SessionID: f.sess.ID}, tasks.QueueCritical)
	must(t, f.run(t, tk2))
	got2, _ := f.st.GetClip(f.ctx, cont.ID)
	if got2.State != evercast.ClipScripted || got2.Text != "Tap the cart to order." {
		t.Fatalf("continuation after script %+v", got2)
	}
	if reqs := srv.Requests(); len(reqs) != 1 {
		t.Fatalf("the model was asked %d times, want once", len(reqs))
	}
}
