package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/assets"
	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/mpegts"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/tasks"
	"github.com/evercast/evercast/workers/render"
	"github.com/evercast/evercast/workers/script"
	"github.com/evercast/evercast/workers/speech"
	"github.com/hibiken/asynq"
)

// Script writes and checks the clip's text.
func (w *Workers) Script(ctx context.Context, p tasks.Payload) error {
	c, err := w.load(ctx, p, evercast.ClipPlanned)
	if c == nil || err != nil {
		return err
	}
	s, anchor, products, product, err := w.context(ctx, c)
	if err != nil {
		return err
	}
	req := script.Request{
		ClipID: c.ID, Kind: c.Kind, Beat: c.Beat, Language: c.Language, Anchor: anchor,
		Title: s.Title, Product: product, Products: products,
	}
	switch c.Kind {
	case evercast.KindReply:
		req.Comment = c.Brief
	case evercast.KindSay:
		req.Say = c.Brief
	}
	if c.Kind == evercast.KindReply && c.Beat > 0 {
		// A reply's continuation: the model already wrote it.
		req.Kind, req.Say = evercast.KindSay, c.Brief
	}
	if st, ok := w.o.Writer.(streamer); ok && c.Kind == evercast.KindReply && c.Beat == 0 {
		if done, err := w.replyStreaming(ctx, c, p, req, st); done || err != nil {
			return err
		}
	}
	text, writer, verdict, err := w.write(ctx, c, req)
	if err != nil {
		return err
	}
	return w.scripted(ctx, c, p, text, writer, verdict)
}

// streamer writes an answer sentence by sentence (the LLM writer).
type streamer interface {
	Stream(ctx context.Context, r script.Request) (*script.Stream, error)
}

// replyStreaming voices a reply's first sentence while the model still
// writes the second, which becomes a continuation clip airing right after.
// done is false when the caller should write the reply the ordinary way
// (the model failed, or its first sentence did not pass the check).
func (w *Workers) replyStreaming(ctx context.Context, c *evercast.Clip, p tasks.Payload, req script.Request, st streamer) (bool, error) {
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := st.Stream(sctx, req)
	if err != nil {
		w.o.Log.Warn("reply stream failed; writing it whole", "clip_id", c.ID, "err", err)
		return false, nil
	}
	first, err := stream.First(sctx)
	if err != nil {
		return false, nil
	}
	chk := w.checkFn(ctx, c, req)
	r := chk(first.Text, first.Writer)
	if !r.OK {
		return false, nil
	}
	if err := w.scripted(ctx, c, p, first.Text, first.Writer, r.Verdict); err != nil {
		return true, err
	}
	rest, err := stream.Rest(sctx)
	if err != nil || rest.Text == "" {
		return true, nil
	}
	if r := chk(rest.Text, rest.Writer); !r.OK {
		return true, nil // the second sentence is dropped, never voiced
	}
	cont := &evercast.Clip{ID: evercast.NewID(evercast.PrefixClip), SessionID: c.SessionID, Kind: evercast.KindReply, Beat: 1,
		Priority: true, Language: c.Language, ProductID: c.ProductID, CommentID: c.CommentID, CommentAt: c.CommentAt,
		Brief: rest.Text, State: evercast.ClipPlanned, PlannedAt: w.o.Now()}
	if err := w.o.Store.PlanClips(ctx, c.SessionID, []*evercast.Clip{cont}, nil); err != nil {
		w.o.Log.Warn("plan reply continuation", "clip_id", c.ID, "err", err)
		return true, nil
	}
	t, err := tasks.New(tasks.TypeScript, tasks.Payload{ClipID: cont.ID, SessionID: c.SessionID}, tasks.QueueCritical)
	if err == nil {
		_, err = w.o.Queue.EnqueueContext(ctx, t)
	}
	if err != nil {
		w.o.Log.Warn("enqueue reply continuation", "clip_id", cont.ID, "err", err)
	}
	return true, nil
}

// scripted stores the checked text and sends the clip on to speech, or
// to a person when the session requires approval.
func (w *Workers) scripted(ctx context.Context, c *evercast.Clip, p tasks.Payload, text, writer, verdict string) error {
	ok, err := w.advance(ctx, c, store.ClipUpdate{State: evercast.ClipScripted, Text: &text, Writer: &writer, Verdict: &verdict})
	if err != nil || !ok {
		return err
	}
	if w.o.Approvals != nil && c.Kind != evercast.KindStandby {
		required, err := w.o.Approvals.Required(ctx, c.SessionID)
		if err != nil {
			return err
		}
		if required {
			scripted, err := w.o.Store.GetClip(ctx, c.ID)
			if err != nil {
				return err
			}
			// The clip waits for a person; approving it enqueues speech.
			_, err = w.o.Approvals.Request(ctx, scripted)
			return err
		}
	}
	return w.next(ctx, tasks.TypeSpeech, p)
}

// write asks the writer, checks the result, and sends failing drafts back
// with the findings a bounded number of times; then falls back to a script
// composed only from catalog facts. Nothing that fails the check is
// returned.
// checkFn returns the claims check of a clip's drafts, which records every
// verdict with its attempt number.
func (w *Workers) checkFn(ctx context.Context, c *evercast.Clip, req script.Request) func(t, by string) CheckResult {
	attempt := 0
	return func(t, by string) CheckResult {
		var r CheckResult
		if w.o.Checker == nil {
			r = CheckResult{OK: true, Verdict: "unchecked"}
		} else {
			r = w.o.Checker.Check(ctx, CheckInput{Language: req.Language, Text: t, Product: req.Product, Catalog: req.Products, At: w.o.Now()})
		}
		attempt++
		w.recordVerdict(ctx, c, attempt, by, t, r)
		return r
	}
}

func (w *Workers) write(ctx context.Context, c *evercast.Clip, req script.Request) (text, writer, verdict string, err error) {
	check := w.checkFn(ctx, c, req)
	primary := w.o.Writer
	if primary == nil {
		primary = w.o.Fallback
	}
	for attempt := 0; attempt <= w.o.Rewrites; attempt++ {
		sc, werr := primary.Write(ctx, req)
		if werr != nil {
			if ctx.Err() != nil {
				return "", "", "", ctx.Err()
			}
			retry, _ := asynq.GetRetryCount(ctx)
			maxRetry, inTask := asynq.GetMaxRetry(ctx)
			if !errors.Is(werr, script.ErrPermanent) && (!inTask || retry < maxRetry) {
				return "", "", "", werr // a passing fault: let asynq retry with backoff
			}
			w.o.Log.Warn("script writer failed; using the catalog-only writer", "clip_id", req.ClipID, "err", werr)
			break
		}
		r := check(sc.Text, sc.Writer)
		if r.OK {
			return sc.Text, sc.Writer, r.Verdict, nil
		}
		w.o.Log.Info("script failed the check", "clip_id", req.ClipID, "attempt", attempt, "verdict", r.Verdict)
		req.Feedback = r.Feedback
		if primary == w.o.Fallback {
			break // the offline writer does not take feedback; rewriting is pointless
		}
	}
	// Catalog-only fallback, then the plainest line, each checked.
	req.Feedback = nil
	candidates := []script.Request{req}
	if req.Kind == evercast.KindPitch && req.Beat > 0 {
		intro := req
		intro.Beat = 0
		candidates = append(candidates, intro)
	}
	for _, r := range candidates {
		sc, ferr := w.o.Fallback.Write(ctx, r)
		if ferr != nil {
			continue
		}
		if res := check(sc.Text, sc.Writer); res.OK {
			return sc.Text, sc.Writer, res.Verdict, nil
		}
	}
	return "", "", "", fmt.Errorf("no script passed the claims check: %w", asynq.SkipRetry)
}

// recordVerdict puts one judged draft on the record.
func (w *Workers) recordVerdict(ctx context.Context, c *evercast.Clip, attempt int, writer, text string, r CheckResult) {
	if w.o.Recorder == nil {
		return
	}
	v := audit.Verdict{ClipID: c.ID, Attempt: attempt, Writer: writer, Text: text, OK: r.OK, Outcome: "voiced"}
	if !r.OK {
		v.Outcome = "rewrite"
		var d struct{ Category, Span, Reason string }
		if json.Unmarshal([]byte(r.Verdict), &d) == nil {
			v.Category, v.Span, v.Reason = d.Category, d.Span, d.Reason
		}
	}
	if err := w.o.Recorder.Record(context.WithoutCancel(ctx), c.SessionID, audit.KindVerdict, v); err != nil {
		w.o.Log.Error("audit record", "clip_id", c.ID, "err", err)
	}
}

// Speech voices the script and stores the audio under its content address.
func (w *Workers) Speech(ctx context.Context, p tasks.Payload) error {
	c, err := w.load(ctx, p, evercast.ClipScripted)
	if c == nil || err != nil {
		return err
	}
	if w.o.Approvals != nil && c.Kind != evercast.KindStandby {
		ok, err := w.o.Approvals.Cleared(ctx, c)
		if err != nil {
			return err
		}
		if !ok {
			return nil // waiting for approval (or rejected): nothing to voice yet
		}
	}
	key := ""
	if c.Kind != evercast.KindStandby {
		_, anchor, _, _, err := w.context(ctx, c)
		if err != nil {
			return err
		}
		wav, err := w.o.Speech.Synthesize(ctx, c.Text, c.Language, anchor.Voice)
		if err != nil {
			if errors.Is(err, speech.ErrPermanent) {
				return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
			}
			return err
		}
		sha := assets.SHA256(wav)
		key = assets.AudioKey(sha)
		if err := w.o.Objects.Put(ctx, key, wav, "audio/wav", map[string]string{
			"clip-id": c.ID, "session-id": c.SessionID, "aigc": "1", "aigc-provider": w.o.Provider}); err != nil {
			return err
		}
	}
	ok, err := w.advance(ctx, c, store.ClipUpdate{State: evercast.ClipVoiced, AudioKey: &key})
	if err != nil || !ok {
		return err
	}
	return w.next(ctx, tasks.TypeRender, p)
}

// Render renders the avatar speaking the clip and leaves the result in the
// staging area for the store stage.
func (w *Workers) Render(ctx context.Context, p tasks.Payload) error {
	c, err := w.load(ctx, p, evercast.ClipVoiced)
	if c == nil || err != nil {
		return err
	}
	s, anchor, _, product, err := w.context(ctx, c)
	if err != nil {
		return err
	}
	dir, err := w.tempDir()
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	avatar, err := w.o.Avatar(anchor.AvatarPack)
	if err != nil {
		return fmt.Errorf("avatar pack %q: %w: %w", anchor.AvatarPack, err, asynq.SkipRetry)
	}
	job := render.Job{
		Format: formatOf(s), Text: c.Text, Language: c.Language, Avatar: avatar,
		Seed: seed(c.ID), AIGC: w.label(c),
		// Lookahead clips have time to spare; replies and say-now do not.
		Background: !c.Priority,
	}
	if product != nil {
		job.Card = card(product, c.Language)
	}
	if c.Kind == evercast.KindStandby {
		job.Idle = true
		job.MinDuration = standbyDuration
		job.Caption = c.Text
		job.Text = ""
	} else {
		wav, err := w.o.Objects.Get(ctx, c.AudioKey)
		if err != nil {
			return fmt.Errorf("audio: %w", err)
		}
		job.AudioPath = filepath.Join(dir, "speech.wav")
		if err := os.WriteFile(job.AudioPath, wav, 0o600); err != nil {
			return err
		}
	}
	out := filepath.Join(dir, "clip.ts")
	res, err := w.o.Renderer.Render(ctx, job, out)
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return err
	}
	staging := assets.StagingKey(c.ID)
	if err := w.o.Objects.Put(ctx, staging, b, "video/mp2t", map[string]string{"clip-id": c.ID}); err != nil {
		return err
	}
	p.StagingKey = staging
	p.DurationMS = res.Duration.Milliseconds()
	p.Breaks = res.Breaks
	return w.next(ctx, tasks.TypeStore, p)
}

// Store verifies the staged clip, stores it under its content address with
// its metadata, and marks the clip rendered.
func (w *Workers) Store(ctx context.Context, p tasks.Payload) error {
	c, err := w.load(ctx, p, evercast.ClipVoiced)
	if c == nil || err != nil {
		return err
	}
	b, err := w.o.Objects.Get(ctx, p.StagingKey)
	if errors.Is(err, evercast.ErrNotFound) {
		return fmt.Errorf("staged clip %s is gone: %w", p.StagingKey, asynq.SkipRetry)
	}
	if err != nil {
		return err
	}
	parsed, err := mpegts.Parse(b)
	if err != nil {
		return fmt.Errorf("staged clip: %w: %w", err, asynq.SkipRetry)
	}
	if got := parsed.Duration().Milliseconds(); got != p.DurationMS {
		return fmt.Errorf("staged clip lasts %d ms, render said %d ms: %w", got, p.DurationMS, asynq.SkipRetry)
	}
	sha := assets.SHA256(b)
	key := assets.ClipKey(sha)
	l := w.label(c)
	if err := w.o.Objects.Put(ctx, key, b, "video/mp2t", map[string]string{
		"clip-id": c.ID, "session-id": c.SessionID, "sha256": sha,
		"aigc": "1", "aigc-label": "AI-generated", "aigc-provider": l.Provider, "aigc-content-id": l.ContentID, "aigc-producer": l.Producer,
	}); err != nil {
		return err
	}
	dur := p.DurationMS
	breaks := p.Breaks
	ok, err := w.advance(ctx, c, store.ClipUpdate{State: evercast.ClipRendered, VideoKey: &key, VideoSHA256: &sha, DurationMS: &dur, Breaks: &breaks})
	if err != nil {
		return err
	}
	if ok {
		if done, err := w.o.Store.GetClip(ctx, c.ID); err == nil {
			d := clipData(done)
			d.Timings = timings(done, w.o.Now())
			w.publish(c.SessionID, control.EventClipReady, d)
		}
		if err := w.o.Objects.Remove(ctx, p.StagingKey); err != nil {
			w.o.Log.Warn("remove staged clip", "key", p.StagingKey, "err", err)
		}
	}
	return nil
}
