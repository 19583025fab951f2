package playout

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/hls"
	"github.com/evercast/evercast/internal/media"
	"github.com/evercast/evercast/internal/mpegts"
	"github.com/evercast/evercast/internal/store"
)

// channel airs one session.
type channel struct {
	e      *Engine
	id     string
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	splicer *mpegts.Splicer
	segs    *mpegts.SegmentBuilder
	buf     []byte
	// standbyCheck counts quanta of standby between looks at the rundown.
	standbyCheck atomic.Int64
	// replyReady says a priority clip (a live reply, say-now) is rendered:
	// the clip on air gives way at its next pause.
	replyReady atomic.Bool
	window     *hls.Window
	pushers    []*pusher
	pwg        sync.WaitGroup

	startMS int64 // where the next clip starts on the session timeline
	// Real-time schedule: stream tick T airs at wallBase + (T-tickBase).
	wallBase time.Time
	tickBase int64

	// cut carries operator cuts (skip, standby, resume) to the air loop.
	cut chan cutRequest

	standby     *evercast.Clip // the session's standby template
	standbyData *mpegts.Clip
	cache       map[string]*mpegts.Clip // clip bytes by video key (prefetched)
}

const maxSegment = 2 * time.Second

// Reading a clip from the object store: each attempt is bounded, and so is
// the whole read (fetchBudget), except that on the real clock the next
// clip's read must end by the time it is due on air (never less than
// minFetch), or standby airs instead: a store that hangs must not freeze
// the picture.
const (
	fetchAttempt = 5 * time.Second
	fetchBudget  = 15 * time.Second
	minFetch     = 300 * time.Millisecond
)

func (e *Engine) newChannel(parent context.Context, s *evercast.Session) (*channel, error) {
	ctx, cancel := context.WithCancel(parent)
	c := &channel{e: e, id: s.ID, log: e.o.Log.With("session_id", s.ID), ctx: ctx, cancel: cancel,
		done: make(chan struct{}), cache: map[string]*mpegts.Clip{}, cut: make(chan cutRequest, 8)}
	stats, err := e.o.Source.ClipStats(ctx, s.ID)
	if err != nil {
		cancel()
		return nil, err
	}
	if stats.OnAir != nil {
		// The last process died while this clip was on air. It was (at
		// least partly) seen: record it as aired, never air it twice.
		end := time.Now()
		if stats.OnAir.OnAirAt != nil {
			end = stats.OnAir.OnAirAt.Add(stats.OnAir.Duration())
		}
		if _, err := e.o.Source.MarkAired(ctx, stats.OnAir.ID, end); err != nil && !errors.Is(err, evercast.ErrConflict) {
			cancel()
			return nil, fmt.Errorf("close interrupted clip: %w", err)
		}
		c.log.Warn("clip interrupted by a restart recorded as aired", "clip_id", stats.OnAir.ID)
		if stats.OnAir.Kind == evercast.KindClosing {
			// It was saying goodbye: the session is over.
			if err := e.endSession(ctx, s.ID); err != nil {
				cancel()
				return nil, err
			}
		}
	}
	c.startMS = stats.AiredMS
	c.splicer = mpegts.NewSplicer(streamTicks(c.startMS), mpegts.Options{MaxSegment: maxSegment})
	c.segs = &mpegts.SegmentBuilder{MaxSegment: maxSegment}
	c.window, err = hls.NewWindow(e.HLSDir(s.ID), hls.WindowOptions{Size: e.o.HLSWindow, TargetDuration: maxSegment})
	if err != nil {
		cancel()
		return nil, fmt.Errorf("hls window: %w", err)
	}
	for _, o := range s.Outputs {
		p := newPusher(o, e.o.FFmpeg, c.log)
		p.onState = func(st evercast.OutputStatus) { e.publish(s.ID, control.EventOutput, st) }
		c.pushers = append(c.pushers, p)
		c.pwg.Add(1)
		go func() {
			defer c.pwg.Done()
			p.run(ctx)
		}()
	}
	return c, nil
}

func (c *channel) stop() { c.cancel() }

// cutRequest is an operator's cut as the air loop receives it.
type cutRequest struct {
	what string
	at   time.Time
}

// request hands a cut to the air loop without waiting for it.
func (c *channel) request(what string) map[string]any {
	select {
	case c.cut <- cutRequest{what: what, at: time.Now()}:
	default: // a burst of cuts: one pending is as good as many
	}
	return map[string]any{"accepted": what, "session_id": c.id}
}

func (c *channel) outputs() []evercast.OutputStatus {
	out := make([]evercast.OutputStatus, 0, len(c.pushers))
	for _, p := range c.pushers {
		out = append(out, p.Status())
	}
	return out
}

func (c *channel) run() {
	defer close(c.done)
	ended := false
	defer func() {
		c.cancel()
		c.pwg.Wait()
		if err := c.window.Close(ended); err != nil {
			c.log.Warn("close hls window", "err", err)
		}
	}()
	c.log.Info("playout started", "start_ms", c.startMS)
	for c.ctx.Err() == nil {
		err := c.airNext()
		if errors.Is(err, errEnded) {
			ended = true
			c.log.Info("playout finished: session ended")
			return
		}
		if err != nil && c.ctx.Err() == nil {
			c.e.m.cueErrors.Inc()
			c.log.Error("playout", "err", err)
			// Stay on air: the next turn airs standby if need be.
			_ = c.e.o.Clock.Sleep(c.ctx, 200*time.Millisecond)
		}
	}
}

// boundaryWall is the wall time at which the next clip starts.
func (c *channel) boundaryWall() time.Time {
	if c.e.o.Fast || c.wallBase.IsZero() {
		return c.e.o.Clock.Now()
	}
	return c.wallBase.Add(ticksToDuration(streamTicks(c.startMS) - c.tickBase))
}

// replyStages breaks a reply's latency down: from the comment's arrival to
// scripted, voiced, rendered, and on air.
func replyStages(c *evercast.Clip) map[string]int64 {
	out := map[string]int64{}
	prev := *c.CommentAt
	for _, st := range []struct {
		name string
		at   *time.Time
	}{{"script", c.ScriptedAt}, {"speech", c.VoicedAt}, {"render", c.RenderedAt}, {"wait_boundary", c.OnAirAt}} {
		if st.at != nil {
			out[st.name] = st.at.Sub(prev).Milliseconds()
			prev = *st.at
		}
	}
	return out
}

// streamTicks maps a position on the session timeline (ms) to the stream's
// 90 kHz timestamps, which start at 1.4 s like ffmpeg's own muxer so that
// the PCR (which runs ahead of the timestamps) never starts by wrapping.
func streamTicks(ms int64) int64 { return mpegts.DefaultStart + ms*media.Clock/1000 }

func ticksToDuration(t int64) time.Duration { return time.Duration(t) * time.Second / media.Clock }

// airNext cues and airs one clip (or standby).
func (c *channel) airNext() error {
	src := c.e.o.Source
	s, err := src.GetSession(c.ctx, c.id)
	if err != nil {
		return err
	}
	if !s.State.OnAir() {
		return errEnded
	}
	if c.standbyData == nil {
		// Hold the standby clip in memory before it is needed: it is what
		// airs when the object store cannot be read.
		if _, _, err := c.loadStandby(); err != nil {
			c.log.Warn("standby clip not loaded yet", "err", err)
		}
	}
	at := c.boundaryWall()
	var clip *evercast.Clip
	var data *mpegts.Clip
	if s.State == evercast.SessionPaused {
		clip, data, err = c.cueStandby(at)
	} else {
		clip, data, err = c.cue(s, at)
	}
	if err != nil {
		return err
	}
	if clip.Priority {
		c.replyReady.Store(false) // the reply is on air now
	}
	c.e.publish(c.id, control.EventClipCued, clipData(clip))
	airedMS, cut, err := c.air(clip, data)
	if err != nil && !cut {
		return err
	}
	end := at.Add(time.Duration(airedMS) * time.Millisecond)
	if c.e.o.Fast {
		end = c.e.o.Clock.Now()
	}
	var airedClip *evercast.Clip
	if cut {
		airedClip, err = src.MarkAiredCut(context.WithoutCancel(c.ctx), clip.ID, end, airedMS)
	} else {
		airedClip, err = src.MarkAired(context.WithoutCancel(c.ctx), clip.ID, end)
	}
	if err != nil {
		return fmt.Errorf("mark aired: %w", err)
	}
	c.e.record(c.ctx, c.id, audit.KindClipAired, audit.ClipAiredOf(airedClip))
	c.e.publish(c.id, control.EventClipAired, clipData(airedClip))
	c.e.publish(c.id, control.EventPlayhead, control.PlayheadData{ClipID: airedClip.ID, Seq: airedClip.Seq, PositionMS: c.startMS, AiredSeconds: float64(c.startMS) / 1000})
	if airedClip.Kind == evercast.KindReply && airedClip.CommentAt != nil && airedClip.OnAirAt != nil {
		rd := control.ReplyData{CommentID: airedClip.CommentID, ClipID: airedClip.ID, State: "aired", Text: airedClip.Text,
			LatencyMS: airedClip.OnAirAt.Sub(*airedClip.CommentAt).Milliseconds(), Stages: replyStages(airedClip)}
		c.e.publish(c.id, control.EventReply, rd)
	}
	c.e.m.aired.WithLabelValues(string(clip.Kind)).Inc()
	if c.e.o.OnAired != nil {
		c.e.o.OnAired(clip)
	}
	if clip.Kind == evercast.KindClosing {
		if err := c.e.endSession(context.WithoutCancel(c.ctx), c.id); err != nil {
			return err
		}
		return errEnded
	}
	return nil
}

// cue takes the next clip of the rundown, or standby when none is ready
// (under the fast clock, after waiting up to the stall timeout for it).
func (c *channel) cue(s *evercast.Session, at time.Time) (*evercast.Clip, *mpegts.Clip, error) {
	src := c.e.o.Source
	deadline := time.Now().Add(c.e.o.Stall)
	for {
		// Read the clip before cueing it: a clip whose bytes cannot be read
		// now (object store down) stays in the rundown for later, and
		// standby covers; the record never claims a clip aired that did not.
		head, err := src.Peek(c.ctx, c.id)
		if err == nil {
			data, ferr := c.fetch(head, c.budget(at))
			if ferr != nil {
				c.log.Error("next clip unreadable; airing standby", "clip_id", head.ID, "err", ferr)
				if c.e.o.Fast {
					at = c.e.o.Clock.Now()
				}
				return c.cueStandby(at)
			}
			if c.e.o.Fast {
				at = c.e.o.Clock.Now() // unpaced: on air now, however long we waited
			}
			clip, cerr := src.Cue(c.ctx, c.id, c.startMS, at)
			if cerr == nil {
				if clip.ID != head.ID {
					// A priority clip overtook between peek and cue.
					if data, cerr = c.fetch(clip, c.budget(at)); cerr != nil {
						return nil, nil, fmt.Errorf("fetch cued clip %s: %w", clip.ID, cerr)
					}
				}
				return clip, data, nil
			}
			err = cerr
		}
		if !errors.Is(err, store.ErrNotReady) {
			return nil, nil, fmt.Errorf("cue: %w", err)
		}
		if !c.e.o.Fast || time.Now().After(deadline) {
			if c.e.o.Fast {
				at = c.e.o.Clock.Now()
			}
			return c.cueStandby(at)
		}
		// Fast clock: the pipeline, not the wall, sets the pace.
		if err := c.e.o.Clock.Sleep(c.ctx, 50*time.Millisecond); err != nil {
			return nil, nil, err
		}
		if s2, err := src.GetSession(c.ctx, c.id); err == nil && !s2.State.OnAir() {
			return nil, nil, errEnded
		}
	}
}

func (c *channel) loadStandby() (*evercast.Clip, *mpegts.Clip, error) {
	if c.standby != nil && c.standbyData != nil {
		return c.standby, c.standbyData, nil
	}
	raw, err := c.e.o.Source.PlannerState(c.ctx, c.id)
	if err != nil {
		return nil, nil, err
	}
	id := standbyID(raw)
	if id == "" {
		return nil, nil, errors.New("session has no standby clip")
	}
	tmpl, err := c.e.o.Source.GetClip(c.ctx, id)
	if err != nil {
		return nil, nil, fmt.Errorf("standby clip: %w", err)
	}
	if tmpl.State != evercast.ClipRendered || tmpl.VideoKey == "" {
		return nil, nil, fmt.Errorf("standby clip %s is %s, not rendered", id, tmpl.State)
	}
	data, err := c.fetch(tmpl, fetchBudget)
	if err != nil {
		return nil, nil, err
	}
	c.standby, c.standbyData = tmpl, data
	return tmpl, data, nil
}

func (c *channel) cueStandby(at time.Time) (*evercast.Clip, *mpegts.Clip, error) {
	tmpl, data, err := c.loadStandby()
	if err != nil {
		return nil, nil, err
	}
	clip, err := c.e.o.Source.CueStandby(c.ctx, c.id, &evercast.Clip{
		ID: evercast.NewID(evercast.PrefixClip), SessionID: c.id, Kind: evercast.KindStandby,
		Language: tmpl.Language, Text: tmpl.Text, VideoKey: tmpl.VideoKey, VideoSHA256: tmpl.VideoSHA256,
		DurationMS: tmpl.DurationMS, Writer: tmpl.Writer, Verdict: tmpl.Verdict, PlannedAt: at,
	}, c.startMS, at)
	if err != nil {
		return nil, nil, fmt.Errorf("cue standby: %w", err)
	}
	c.e.m.standby.Inc()
	return clip, data, nil
}

// budget is how long the read of a clip due on air at at may take: until
// it is due on the real clock (once the schedule is anchored), else
// fetchBudget.
func (c *channel) budget(at time.Time) time.Duration {
	if c.e.o.Fast || c.wallBase.IsZero() {
		return fetchBudget
	}
	return min(fetchBudget, max(at.Sub(c.e.o.Clock.Now()), minFetch))
}

// fetch reads and parses a clip, with a few quick retries within budget.
func (c *channel) fetch(clip *evercast.Clip, budget time.Duration) (*mpegts.Clip, error) {
	if d, ok := c.cache[clip.VideoKey]; ok {
		return d, nil
	}
	bctx, bcancel := context.WithTimeout(c.ctx, budget)
	defer bcancel()
	var lastErr error
	for i := 0; i < 3; i++ {
		ctx, cancel := context.WithTimeout(bctx, fetchAttempt)
		b, err := c.e.o.Objects.Get(ctx, clip.VideoKey)
		cancel()
		if err == nil {
			d, err := mpegts.Parse(b)
			if err != nil {
				return nil, fmt.Errorf("clip %s: %w", clip.ID, err)
			}
			if clip.Kind == evercast.KindStandby {
				c.cache[clip.VideoKey] = d
			}
			return d, nil
		}
		lastErr = err
		if bctx.Err() != nil || c.e.o.Clock.Sleep(bctx, 200*time.Millisecond) != nil {
			break
		}
	}
	return nil, lastErr
}

// air splices the clip onto the stream 320 ms at a time and writes it to
// the outputs, paced to the wall clock unless the clock is fast. Between
// quanta it takes operators' cuts: a cut ends the clip there (gaplessly:
// every quantum holds exactly 8 video and 15 audio frames), and air returns
// how much of the clip aired.
func (c *channel) air(clip *evercast.Clip, data *mpegts.Clip) (airedMS int64, cut bool, err error) {
	cur, err := c.splicer.Begin(data)
	if err != nil {
		return 0, false, fmt.Errorf("splice %s: %w", clip.ID, err)
	}
	for {
		if req, ok := c.takeCut(clip, cur.Taken()); ok {
			if cur.Taken() > 0 && cur.Taken() < cur.Chunks() {
				cur.Stop()
				cut = true
				c.e.m.cutLatency.Observe(time.Since(req.at).Seconds())
				c.log.Info("clip cut", "clip_id", clip.ID, "why", req.what, "after_ms", cur.Taken()*320)
				break
			}
		}
		var ch mpegts.Chunk
		var ok bool
		c.buf, ch, ok = cur.AppendNext(c.buf[:0])
		if !ok {
			break
		}
		if !c.e.o.Fast {
			if err := c.pace(ch.Start); err != nil {
				cur.Stop()
				return int64(cur.Taken()-1) * 320, true, err
			}
		}
		for _, p := range c.pushers {
			p.Write(append([]byte(nil), ch.Data...))
		}
		if seg, done := c.segs.Add(ch); done {
			c.appendHLS(seg)
		}
	}
	if seg, done := c.segs.Flush(); done {
		c.appendHLS(seg)
	}
	airedMS = int64(cur.Taken()) * 320
	c.startMS += airedMS
	if !c.e.o.Fast {
		// Hold the next cue until shortly before this clip ends, so that a
		// reply or command lands at the very next boundary.
		return airedMS, cut, c.pace(streamTicks(c.startMS))
	}
	return airedMS, cut, nil
}

func (c *channel) appendHLS(seg mpegts.Segment) {
	if _, err := c.window.Append(seg.Data, ticksToDuration(seg.Ticks), false); err != nil {
		c.log.Error("hls append", "err", err)
	}
}

// takeCut returns a pending cut that applies to the clip on air: skip ends
// any clip; standby ends anything but standby; resume ends standby. A
// standby clip also ends early once the rundown has a clip ready (the
// buffer refilled), unless the session is paused.
func (c *channel) takeCut(clip *evercast.Clip, taken int) (cutRequest, bool) {
	for {
		select {
		case req := <-c.cut:
			switch {
			case req.what == "skip",
				req.what == "standby" && clip.Kind != evercast.KindStandby,
				req.what == "resume" && clip.Kind == evercast.KindStandby:
				return req, true
			}
			continue
		default:
		}
		break
	}
	if c.replyReady.Load() && !clip.Priority && clip.Kind != evercast.KindClosing {
		// A live reply is waiting: cut in at the voice's next pause, or at
		// once into standby.
		if clip.Kind == evercast.KindStandby || slices.Contains(clip.Breaks, taken) {
			c.replyReady.Store(false)
			return cutRequest{what: "reply", at: time.Now()}, true
		}
	}
	if clip.Kind == evercast.KindStandby && c.standbyCheck.Add(1)%3 == 0 {
		// Every ~1 s of standby: is there something to air instead?
		if s, err := c.e.o.Source.GetSession(c.ctx, c.id); err == nil && s.State == evercast.SessionLive {
			if _, err := c.e.o.Source.Peek(c.ctx, c.id); err == nil {
				return cutRequest{what: "ready", at: time.Now()}, true
			}
		}
	}
	return cutRequest{}, false
}

// pace waits until stream tick t is due (less the lead). The first call
// anchors the schedule; falling behind by more than two seconds re-anchors
// it (the viewer sees a pause, the timestamps stay continuous).
func (c *channel) pace(t int64) error {
	now := c.e.o.Clock.Now()
	if c.wallBase.IsZero() {
		c.wallBase, c.tickBase = now, t
		return nil
	}
	due := c.wallBase.Add(ticksToDuration(t - c.tickBase)).Add(-c.e.o.Lead)
	if late := now.Sub(due); late > 0 {
		c.e.m.late.Observe(late.Seconds())
		if late > 2*time.Second {
			c.log.Warn("playout behind schedule; re-anchoring", "late", late)
			c.wallBase, c.tickBase = now.Add(c.e.o.Lead), t
		}
		return nil
	}
	return c.e.o.Clock.Sleep(c.ctx, due.Sub(now))
}
