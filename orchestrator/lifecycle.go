package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/tasks"
	"github.com/hibiken/asynq"
)

// Start takes a scheduled (or ended) session on air: it warms up (standby
// and first clips are made) and goes live when they are ready.
func (x *Orchestrator) Start(ctx context.Context, id string) (*evercast.Session, error) {
	s, err := x.o.Store.GetSession(ctx, id)
	if err != nil {
		return nil, err
	}
	switch s.State {
	case evercast.SessionWarming, evercast.SessionLive:
		return s, nil // already on air: starting is idempotent
	case evercast.SessionPaused:
		return x.Resume(ctx, id)
	}
	if !s.Schedule.Open(x.o.Clock.Now()) {
		return nil, fmt.Errorf("session %s is outside its schedule windows: %w", id, evercast.ErrConflict)
	}
	s, err = x.o.Store.SetSessionState(ctx, id, evercast.SessionWarming, evercast.SessionScheduled, evercast.SessionEnded)
	if err != nil {
		return nil, err
	}
	if s.EndedAt != nil {
		// A restart after an end: plan afresh.
		if err := x.o.Store.PlanClips(ctx, id, nil, plan{}.bytes()); err != nil {
			return nil, err
		}
	}
	x.o.Log.Info("session starting", "session_id", id)
	x.command(ctx, id, "start", nil, nil)
	x.publish(id, control.EventSessionState, control.SessionStateData{State: evercast.SessionWarming, Previous: evercast.SessionScheduled, Reason: "command"})
	return s, nil
}

// Pause holds the session on air with its standby loop; planning pauses.
func (x *Orchestrator) Pause(ctx context.Context, id string) (*evercast.Session, error) {
	s, err := x.o.Store.SetSessionState(ctx, id, evercast.SessionPaused, evercast.SessionLive)
	x.command(ctx, id, "pause", nil, err)
	if err == nil {
		x.publish(id, control.EventSessionState, control.SessionStateData{State: evercast.SessionPaused, Previous: evercast.SessionLive, Reason: "command"})
	}
	return s, err
}

// Resume returns a paused session to its rundown.
func (x *Orchestrator) Resume(ctx context.Context, id string) (*evercast.Session, error) {
	s, err := x.o.Store.SetSessionState(ctx, id, evercast.SessionLive, evercast.SessionPaused)
	x.command(ctx, id, "resume", nil, err)
	if err == nil {
		x.publish(id, control.EventSessionState, control.SessionStateData{State: evercast.SessionLive, Previous: evercast.SessionPaused, Reason: "command"})
	}
	return s, err
}

// command records an operator's or merchant's command and its outcome.
func (x *Orchestrator) command(ctx context.Context, sessionID, name string, args map[string]string, err error) {
	result := "ok"
	if err != nil {
		result = err.Error()
	}
	x.record(ctx, sessionID, audit.KindCommand, audit.Command{Command: name, Scope: "session", Target: sessionID, Args: args, Result: result})
}

// Stop ends a session gracefully: its closing scene airs next (as soon as it
// is rendered), then the session ends. A session not yet live ends at once.
func (x *Orchestrator) Stop(ctx context.Context, id string) (*evercast.Session, error) {
	s, err := x.o.Store.GetSession(ctx, id)
	if err != nil {
		return nil, err
	}
	switch s.State {
	case evercast.SessionEnded:
		return s, nil
	case evercast.SessionScheduled:
		x.command(ctx, id, "stop", nil, nil)
		return x.o.Store.SetSessionState(ctx, id, evercast.SessionEnded, evercast.SessionScheduled)
	case evercast.SessionWarming, evercast.SessionPaused:
		x.command(ctx, id, "stop", nil, nil)
		if err := x.end(ctx, id); err != nil {
			return nil, err
		}
		return x.o.Store.GetSession(ctx, id)
	}
	raw, err := x.o.Store.PlannerState(ctx, id)
	if err != nil {
		return nil, err
	}
	p, err := loadPlan(raw)
	if err != nil {
		return nil, err
	}
	if p.Closing {
		return s, nil
	}
	anchor, err := x.o.Store.GetAnchor(ctx, s.AnchorID)
	if err != nil {
		return nil, err
	}
	now := x.o.Clock.Now()
	c := &evercast.Clip{ID: evercast.NewID(evercast.PrefixClip), SessionID: id, Kind: evercast.KindClosing,
		Language: anchor.Language, State: evercast.ClipPlanned, Priority: true, PlannedAt: now}
	p.Closing, p.ClosingClipID, p.ClosingAt = true, c.ID, now
	if err := x.o.Store.PlanClips(ctx, id, []*evercast.Clip{c}, p.bytes()); err != nil {
		return nil, err
	}
	x.dispatch(ctx, tasks.TypeScript, c, tasks.QueueCritical)
	x.o.Log.Info("session stopping: closing scene planned", "session_id", id)
	x.command(ctx, id, "stop", nil, nil)
	return s, nil
}

// Cut takes a session off air at once, without a closing scene (the kill
// switch).
func (x *Orchestrator) Cut(ctx context.Context, id string) (*evercast.Session, error) {
	x.command(ctx, id, audit.CommandOffAir, nil, nil)
	if err := x.end(ctx, id); err != nil {
		return nil, err
	}
	return x.o.Store.GetSession(ctx, id)
}

// end marks the session ended and retires the clips that will never air.
func (x *Orchestrator) end(ctx context.Context, id string) error {
	_, err := x.o.Store.SetSessionState(ctx, id, evercast.SessionEnded,
		evercast.SessionWarming, evercast.SessionLive, evercast.SessionPaused)
	if err != nil && !errors.Is(err, evercast.ErrConflict) {
		return err
	}
	if err == nil {
		x.record(ctx, id, audit.KindSession, audit.SessionEvent{Event: "ended", To: string(evercast.SessionEnded)})
		x.publish(id, control.EventSessionState, control.SessionStateData{State: evercast.SessionEnded, Reason: "command"})
	}
	return RetirePending(ctx, x.o.Store, id, x.o.Clock.Now())
}

// RetirePending marks every clip of an ended session that never aired as
// failed, with the reason.
func RetirePending(ctx context.Context, st interface {
	ListClips(ctx context.Context, f store.ClipFilter) ([]*evercast.Clip, error)
	FailClip(ctx context.Context, id string, msg string, at time.Time) (*evercast.Clip, error)
}, sessionID string, now time.Time) error {
	clips, err := st.ListClips(ctx, store.ClipFilter{SessionID: sessionID, States: []evercast.ClipState{
		evercast.ClipPlanned, evercast.ClipScripted, evercast.ClipVoiced, evercast.ClipRendered}})
	if err != nil {
		return err
	}
	for _, c := range clips {
		if c.Kind == evercast.KindStandby {
			continue // the standby template is kept, not retired
		}
		if _, err := st.FailClip(ctx, c.ID, "retired: not aired, the session ended first", now); err != nil && !errors.Is(err, evercast.ErrConflict) {
			return err
		}
	}
	return nil
}

// Status reports what an operator needs at a glance.
func (x *Orchestrator) Status(ctx context.Context, id string) (*evercast.SessionStatus, error) {
	s, err := x.o.Store.GetSession(ctx, id)
	if err != nil {
		return nil, err
	}
	stats, err := x.o.Store.ClipStats(ctx, id)
	if err != nil {
		return nil, err
	}
	st := &evercast.SessionStatus{
		State: s.State, Owner: s.Owner, InFlight: stats.InFlight, Failed: stats.Failed,
		AiredSeconds:       float64(stats.AiredMS) / 1000,
		BufferAheadSeconds: float64(stats.ReadyMS) / 1000,
		HLS:                "/v1/sessions/" + id + "/hls/index.m3u8",
	}
	if stats.OnAir != nil {
		st.OnAir = stats.OnAir.Entry()
		if stats.OnAir.OnAirAt != nil {
			left := stats.OnAir.Duration() - x.o.Clock.Now().Sub(*stats.OnAir.OnAirAt)
			if left > 0 && left <= stats.OnAir.Duration() {
				st.BufferAheadSeconds += left.Seconds()
			}
		}
	}
	clips, err := x.o.Store.Rundown(ctx, id, store.RundownOptions{Limit: 1})
	if err != nil {
		return nil, err
	}
	for _, c := range clips {
		if c.State.Pending() && c.Kind != evercast.KindStandby && len(st.Next) < 5 {
			st.Next = append(st.Next, c.Entry())
		}
	}
	if x.o.Outputs != nil {
		st.Outputs = x.o.Outputs(id)
	}
	return st, nil
}

// Rundown returns the session's clips in air order.
func (x *Orchestrator) Rundown(ctx context.Context, id string) (*evercast.Rundown, error) {
	if _, err := x.o.Store.GetSession(ctx, id); err != nil {
		return nil, err
	}
	clips, err := x.o.Store.Rundown(ctx, id, store.RundownOptions{})
	if err != nil {
		return nil, err
	}
	r := &evercast.Rundown{SessionID: id, Clips: make([]*evercast.RundownEntry, 0, len(clips))}
	for _, c := range clips {
		r.Clips = append(r.Clips, c.Entry())
	}
	return r, nil
}

// MaxSayText bounds an operator's say-now text.
const MaxSayText = 500

// Say plans the operator's text as the next clip (critical lane): voiced
// and aired at the next boundary once rendered. It is checked like every
// script: text that breaks the rules is not aired.
func (x *Orchestrator) Say(ctx context.Context, id, text string) (*evercast.Clip, error) {
	text = strings.TrimSpace(strings.ToValidUTF8(text, ""))
	switch {
	case text == "":
		return nil, evercast.Invalid("args.text", "is required")
	case len(text) > MaxSayText:
		return nil, evercast.Invalid("args.text", "is longer than %d bytes", MaxSayText)
	}
	s, err := x.o.Store.GetSession(ctx, id)
	if err != nil {
		return nil, err
	}
	if s.State != evercast.SessionLive && s.State != evercast.SessionPaused {
		return nil, fmt.Errorf("session %s is %s, not live: %w", id, s.State, evercast.ErrConflict)
	}
	anchor, err := x.o.Store.GetAnchor(ctx, s.AnchorID)
	if err != nil {
		return nil, err
	}
	c := &evercast.Clip{ID: evercast.NewID(evercast.PrefixClip), SessionID: id, Kind: evercast.KindSay, Priority: true,
		Language: anchor.Language, State: evercast.ClipPlanned, Brief: text, PlannedAt: x.o.Clock.Now()}
	if err := x.o.Store.PlanClips(ctx, id, []*evercast.Clip{c}, nil); err != nil {
		return nil, err
	}
	x.dispatch(ctx, tasks.TypeScript, c, tasks.QueueCritical)
	d := clipData(c)
	d.Text = text
	x.publish(id, control.EventClipPlanned, d)
	x.command(ctx, id, "say", map[string]string{"text": text}, nil)
	return c, nil
}

// Focus turns the rotation to a product now: clips planned about other
// products and not yet rendered are retired (with the reason), keeping a
// few seconds of rendered ones so that nothing runs dry, and the planner
// continues from the focused product's introduction.
func (x *Orchestrator) Focus(ctx context.Context, id, productID string) error {
	s, err := x.o.Store.GetSession(ctx, id)
	if err != nil {
		return err
	}
	idx := -1
	for i, p := range s.ProductIDs {
		if p == productID {
			idx = i
		}
	}
	if idx < 0 {
		return evercast.Invalid("args.product_id", "is not in the session's rotation")
	}
	raw, err := x.o.Store.PlannerState(ctx, id)
	if err != nil {
		return err
	}
	p, err := loadPlan(raw)
	if err != nil {
		return err
	}
	if p.Closing {
		return fmt.Errorf("session %s is closing: %w", id, evercast.ErrConflict)
	}
	clips, err := x.o.Store.ListClips(ctx, store.ClipFilter{SessionID: id, States: []evercast.ClipState{
		evercast.ClipPlanned, evercast.ClipScripted, evercast.ClipVoiced, evercast.ClipRendered}})
	if err != nil {
		return err
	}
	var kept int64
	now := x.o.Clock.Now()
	for _, c := range clips {
		if c.Priority || c.Kind == evercast.KindStandby || c.Kind == evercast.KindOpening || c.ProductID == productID {
			continue
		}
		if c.State == evercast.ClipRendered && kept < 8000 {
			kept += c.DurationMS
			continue
		}
		if _, err := x.o.Store.FailClip(ctx, c.ID, "retired: the operator focused another product", now); err != nil && !errors.Is(err, evercast.ErrConflict) {
			return err
		}
	}
	p.Product, p.Beat = idx, 0
	if err := x.o.Store.PlanClips(ctx, id, nil, p.bytes()); err != nil {
		return err
	}
	x.command(ctx, id, "focus", map[string]string{"product_id": productID}, nil)
	return nil
}

// ErrNoApprovals is returned when approvals are not configured.
var ErrNoApprovals = errors.New("orchestrator: approvals are not available")

// RequireApproval sets whether a session's new scripts wait for a person.
func (x *Orchestrator) RequireApproval(ctx context.Context, id string, required bool) error {
	if x.o.Approvals == nil {
		return ErrNoApprovals
	}
	if _, err := x.o.Store.GetSession(ctx, id); err != nil {
		return err
	}
	return x.o.Approvals.SetRequired(ctx, id, required, evercast.ActorFrom(ctx))
}

// ApprovalRequired reports whether the session's scripts wait for a person.
func (x *Orchestrator) ApprovalRequired(ctx context.Context, id string) (bool, error) {
	if x.o.Approvals == nil {
		return false, nil
	}
	return x.o.Approvals.Required(ctx, id)
}

// PendingApprovals lists the session's scripts waiting for a decision.
func (x *Orchestrator) PendingApprovals(ctx context.Context, id string) ([]*audit.Approval, error) {
	if x.o.Approvals == nil {
		return nil, ErrNoApprovals
	}
	if _, err := x.o.Store.GetSession(ctx, id); err != nil {
		return nil, err
	}
	return x.o.Approvals.Pending(ctx, id)
}

// Decide approves a waiting script (it is then voiced) or rejects it (the
// clip fails and the planner replaces it).
func (x *Orchestrator) Decide(ctx context.Context, clipID string, approve bool, reason string) (*audit.Approval, error) {
	if x.o.Approvals == nil {
		return nil, ErrNoApprovals
	}
	a, err := x.o.Approvals.Decide(ctx, clipID, approve, evercast.ActorFrom(ctx), reason)
	if err != nil {
		return nil, err
	}
	if approve {
		c, err := x.o.Store.GetClip(ctx, clipID)
		if err != nil {
			return nil, err
		}
		q := tasks.QueueDefault
		if c.Priority {
			q = tasks.QueueCritical
		}
		t, err := tasks.NewVariant(tasks.TypeSpeech, tasks.Payload{ClipID: c.ID, SessionID: c.SessionID}, q, "approved")
		if err != nil {
			return nil, err
		}
		if _, err := x.o.Queue.EnqueueContext(ctx, t); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			x.o.Log.Warn("enqueue approved speech; the stuck-clip scan will retry", "clip_id", c.ID, "err", err)
		}
	}
	return a, nil
}
