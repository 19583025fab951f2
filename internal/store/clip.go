package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/evercast/evercast"
)

// ClipUpdate is what AdvanceClip changes: the new state, every non-nil
// field, and the timestamp matching the new state.
type ClipUpdate struct {
	// State is the new state; empty keeps the current one (a field update
	// guarded by the state).
	State                                                  evercast.ClipState
	Text, Writer, Verdict, AudioKey, VideoKey, VideoSHA256 *string
	// Breaks, when set, replaces the clip's pause breaks.
	Breaks     *[]int
	Error      *string
	DurationMS *int64
	ProductID  *string
	// At is the time of the new state (ScriptedAt, VoicedAt, RenderedAt,
	// AiredAt); zero means the store's clock.
	At time.Time
}

// StateError is the ErrConflict of a clip compare-and-set: the clip was not
// in the expected state. Get it with errors.As.
type StateError struct {
	ClipID   string
	Current  evercast.ClipState
	Expected []evercast.ClipState
}

func (e *StateError) Error() string {
	return fmt.Sprintf("clip %s is %s, not %s", e.ClipID, e.Current, joinStates(e.Expected))
}

// Unwrap lets errors.Is(err, evercast.ErrConflict) match.
func (e *StateError) Unwrap() error { return evercast.ErrConflict }

// RundownOptions shape a Rundown.
type RundownOptions struct {
	// AiredOnly returns only the aired clips.
	AiredOnly bool
	// Limit keeps the most recent Limit aired (and on-air) clips, and the
	// most recent Limit failed ones; 0 keeps all.
	Limit int
}

// ClipStats sums up a session's clips for the planner.
type ClipStats struct {
	// LastSeq is the highest Seq given so far (0 before the first cue).
	LastSeq int64
	// AiredMS is the end of the last cued (on-air or aired) clip on the
	// session's timeline: StartMS+DurationMS of the clip with LastSeq.
	AiredMS int64
	// ReadyMS is the total duration of rendered clips not cued yet.
	ReadyMS int64
	// InFlight counts clips planned, scripted or voiced.
	InFlight int
	// Failed counts failed clips.
	Failed int
	// OnAir is the on-air clip with the lowest Seq (the one playing when
	// the next is cued early), nil when none.
	OnAir *evercast.Clip
}

// ClipFilter selects clips for ListClips. Zero fields match all.
type ClipFilter struct {
	SessionID string
	States    []evercast.ClipState
	// Limit returns at most this many clips; 0 means no limit.
	Limit int
}

func pendingStates() []evercast.ClipState {
	return []evercast.ClipState{evercast.ClipPlanned, evercast.ClipScripted, evercast.ClipVoiced, evercast.ClipRendered}
}

// stateTimeColumn is the column holding the time a clip entered st.
func stateTimeColumn(st evercast.ClipState) string {
	switch st {
	case evercast.ClipScripted:
		return "scripted_at"
	case evercast.ClipVoiced:
		return "voiced_at"
	case evercast.ClipRendered:
		return "rendered_at"
	case evercast.ClipOnAir:
		return "on_air_at"
	case evercast.ClipAired:
		return "aired_at"
	case evercast.ClipFailed:
		return "failed_at"
	}
	return ""
}

const clipCols = `id, session_id, seq, kind, product_id, language, text, state, comment_id, priority, beat, brief,
	duration_ms, start_ms, audio_key, video_key, video_sha256, writer, verdict, error,
	planned_at, scripted_at, voiced_at, rendered_at, on_air_at, aired_at, comment_at, aired_ms, breaks`

func scanClip(r scanner) (*evercast.Clip, error) {
	var (
		c                                     evercast.Clip
		kind, lang, state                     string
		priority                              int64
		start                                 sql.NullInt64
		planned                               int64
		scripted, voiced, rendered, onAir, ai sql.NullInt64
		commentAt, airedMS                    sql.NullInt64
		breaks                                string
	)
	if err := r.Scan(&c.ID, &c.SessionID, &c.Seq, &kind, &c.ProductID, &lang, &c.Text, &state, &c.CommentID, &priority,
		&c.Beat, &c.Brief, &c.DurationMS, &start, &c.AudioKey, &c.VideoKey, &c.VideoSHA256, &c.Writer, &c.Verdict, &c.Error,
		&planned, &scripted, &voiced, &rendered, &onAir, &ai, &commentAt, &airedMS, &breaks); err != nil {
		return nil, err
	}
	c.Kind, c.Language, c.State, c.Priority = evercast.ClipKind(kind), evercast.Language(lang), evercast.ClipState(state), priority != 0
	if start.Valid {
		v := start.Int64
		c.StartMS = &v
	}
	c.PlannedAt = fromMS(planned)
	c.ScriptedAt, c.VoicedAt, c.RenderedAt, c.OnAirAt, c.AiredAt =
		timePtr(scripted), timePtr(voiced), timePtr(rendered), timePtr(onAir), timePtr(ai)
	c.CommentAt = timePtr(commentAt)
	if airedMS.Valid {
		v := airedMS.Int64
		c.AiredMS = &v
	}
	c.Breaks = ParseBreaks(breaks)
	return &c, nil
}

func scanClips(rows *sql.Rows) ([]*evercast.Clip, error) {
	defer rows.Close()
	var out []*evercast.Clip
	for rows.Next() {
		c, err := scanClip(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (s *Store) getClip(ctx context.Context, q querier, id string) (*evercast.Clip, error) {
	c, err := scanClip(s.queryRow(ctx, q, "SELECT "+clipCols+" FROM clips WHERE id = ?", id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("clip %s: %w", id, evercast.ErrNotFound)
	}
	return c, err
}

// insertClip stores c with order key ord.
func (s *Store) insertClip(ctx context.Context, q querier, c *evercast.Clip, ord int64) error {
	var start sql.NullInt64
	if c.StartMS != nil {
		start = sql.NullInt64{Int64: *c.StartMS, Valid: true}
	}
	priority := 0
	if c.Priority {
		priority = 1
	}
	_, err := s.exec(ctx, q, `INSERT INTO clips (id, session_id, ord, seq, kind, product_id, language, text, state,
		comment_id, priority, beat, brief, duration_ms, start_ms, audio_key, video_key, video_sha256, writer, verdict, error,
		planned_at, scripted_at, voiced_at, rendered_at, on_air_at, aired_at, comment_at, breaks)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.SessionID, ord, c.Seq, string(c.Kind), c.ProductID, string(c.Language), c.Text, string(c.State),
		c.CommentID, priority, c.Beat, c.Brief, c.DurationMS, start, c.AudioKey, c.VideoKey, c.VideoSHA256, c.Writer, c.Verdict, c.Error,
		msOf(c.PlannedAt), nullMS(c.ScriptedAt), nullMS(c.VoicedAt), nullMS(c.RenderedAt), nullMS(c.OnAirAt), nullMS(c.AiredAt), nullMS(c.CommentAt), FormatBreaks(c.Breaks))
	if isUniqueViolation(err) {
		return fmt.Errorf("clip %s exists: %w", c.ID, evercast.ErrConflict)
	}
	return err
}

// maxClipOrd returns the highest order key of the session's clips (0 when
// none).
func (s *Store) maxClipOrd(ctx context.Context, q querier, sessionID string) (int64, error) {
	var ord int64
	err := s.queryRow(ctx, q, "SELECT COALESCE(MAX(ord), 0) FROM clips WHERE session_id = ?", sessionID).Scan(&ord)
	return ord, err
}

// lastSeq returns the highest Seq of the session (0 when none is cued).
func (s *Store) lastSeq(ctx context.Context, q querier, sessionID string) (int64, error) {
	var seq int64
	err := s.queryRow(ctx, q, lastSeqQuery, sessionID).Scan(&seq)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	return seq, err
}

// PlanClips inserts clips into the session in state planned, in one
// transaction, each with an order key after every earlier clip of the
// session, and saves plannerState on the session (nil leaves the saved
// state alone). Each clip gets an ID ("clp_...") when empty, its SessionID,
// Seq 0, and PlannedAt (when zero: now). A clip of another session is
// ErrInvalid; a missing session is ErrNotFound.
func (s *Store) PlanClips(ctx context.Context, sessionID string, clips []*evercast.Clip, plannerState []byte) error {
	now := s.clock()
	for i, c := range clips {
		switch {
		case c == nil:
			return fmt.Errorf("plan clips: %w", evercast.Invalid(fmt.Sprintf("clips[%d]", i), "is nil"))
		case c.SessionID != "" && c.SessionID != sessionID:
			return fmt.Errorf("plan clips: %w", evercast.Invalid(fmt.Sprintf("clips[%d].session_id", i), "is %s, not %s", c.SessionID, sessionID))
		case c.Kind == "":
			return fmt.Errorf("plan clips: %w", evercast.Invalid(fmt.Sprintf("clips[%d].kind", i), "is required"))
		}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockSession(ctx, tx, sessionID); err != nil {
			return err
		}
		ord, err := s.maxClipOrd(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		for _, c := range clips {
			ord++
			if c.ID == "" {
				c.ID = evercast.NewID(evercast.PrefixClip)
			}
			c.SessionID, c.State, c.Seq, c.StartMS, c.OnAirAt, c.AiredAt = sessionID, evercast.ClipPlanned, 0, nil, nil, nil
			if c.PlannedAt.IsZero() {
				c.PlannedAt = now
			}
			c.PlannedAt = truncMS(c.PlannedAt)
			if err := s.insertClip(ctx, tx, c, ord); err != nil {
				return err
			}
		}
		if plannerState != nil {
			if _, err := s.exec(ctx, tx, "UPDATE sessions SET planner_state = ? WHERE id = ?", plannerState, sessionID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("plan clips: %w", err)
	}
	return nil
}

// GetClip returns the clip id. A clip not yet cued has Seq 0.
func (s *Store) GetClip(ctx context.Context, id string) (*evercast.Clip, error) {
	c, err := s.getClip(ctx, s.db, id)
	if err != nil {
		return nil, fmt.Errorf("get clip: %w", err)
	}
	return c, nil
}

// stateError returns the error of a failed compare-and-set on clip id:
// ErrNotFound, or a *StateError with its current state.
func (s *Store) stateError(ctx context.Context, q querier, id string, expected ...evercast.ClipState) error {
	c, err := s.getClip(ctx, q, id)
	if err != nil {
		return err
	}
	return &StateError{ClipID: id, Current: c.State, Expected: expected}
}

// AdvanceClip moves the clip id from state from to u.State, atomically,
// setting every non-nil field of u and the timestamp of the new state (u.At,
// or now when zero). When the clip is not in state from it is a
// *StateError (an ErrConflict) naming the current state. Moving a clip on
// air is Cue's job (it assigns Seq and StartMS): u.State on_air is
// ErrInvalid.
func (s *Store) AdvanceClip(ctx context.Context, id string, from evercast.ClipState, u ClipUpdate) (*evercast.Clip, error) {
	to := u.State
	if to == "" {
		to = from
	}
	if to.Rank() < 0 || from.Rank() < 0 {
		return nil, fmt.Errorf("advance clip %s: %w", id, evercast.Invalid("state", "unknown clip state %q", to))
	}
	if to == evercast.ClipOnAir && from != evercast.ClipOnAir {
		return nil, fmt.Errorf("advance clip %s: %w", id, evercast.Invalid("state", "clips go on air through Cue"))
	}
	set := []string{"state = ?"}
	args := []any{string(to)}
	for _, f := range []struct {
		col string
		v   *string
	}{
		{"text", u.Text}, {"writer", u.Writer}, {"verdict", u.Verdict}, {"audio_key", u.AudioKey},
		{"video_key", u.VideoKey}, {"video_sha256", u.VideoSHA256}, {"error", u.Error}, {"product_id", u.ProductID},
	} {
		if f.v != nil {
			set = append(set, f.col+" = ?")
			args = append(args, *f.v)
		}
	}
	if u.DurationMS != nil {
		set = append(set, "duration_ms = ?")
		args = append(args, *u.DurationMS)
	}
	if u.Breaks != nil {
		set = append(set, "breaks = ?")
		args = append(args, FormatBreaks(*u.Breaks))
	}
	if col := stateTimeColumn(to); col != "" && (to != from || !u.At.IsZero()) {
		at := u.At
		if at.IsZero() {
			at = s.now()
		}
		set = append(set, col+" = ?")
		args = append(args, msOf(at))
	}
	args = append(args, id, string(from))
	var out *evercast.Clip
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ok, err := s.execOne(ctx, tx, "UPDATE clips SET "+strings.Join(set, ", ")+" WHERE id = ? AND state = ?", args...)
		if err != nil {
			return err
		}
		if !ok {
			return s.stateError(ctx, tx, id, from)
		}
		out, err = s.getClip(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("advance clip: %w", err)
	}
	return out, nil
}

// FailClip moves the clip id from any pending state (planned, scripted,
// voiced, rendered) to failed with Error msg. Otherwise it is a *StateError.
func (s *Store) FailClip(ctx context.Context, id string, msg string, at time.Time) (*evercast.Clip, error) {
	pending := pendingStates()
	args := []any{string(evercast.ClipFailed), msg, msOf(at), id}
	for _, st := range pending {
		args = append(args, string(st))
	}
	var out *evercast.Clip
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ok, err := s.execOne(ctx, tx, "UPDATE clips SET state = ?, error = ?, failed_at = ? WHERE id = ? AND state IN ("+
			placeholders(len(pending))+")", args...)
		if err != nil {
			return err
		}
		if !ok {
			return s.stateError(ctx, tx, id, pending...)
		}
		out, err = s.getClip(ctx, tx, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("fail clip: %w", err)
	}
	return out, nil
}

// pendingCond selects the pending clips. It repeats, with the same
// literals, the WHERE term of the partial index clips_pending, so that both
// SQLite and PostgreSQL use that index and never walk the aired history.
const pendingCond = "state IN ('planned', 'scripted', 'voiced', 'rendered')"

// queuedCond leaves out a session's standby template: it goes through the
// pipeline like any clip but never airs from the queue (playout airs copies
// of it through CueStandby).
const queuedCond = pendingCond + " AND kind <> 'standby'"

// Cue's queries, kept as constants so that a test can check their plans.
const (
	// nextPriorityQuery: the rendered priority clip with the lowest order key.
	nextPriorityQuery = "SELECT " + clipCols + " FROM clips WHERE session_id = ? AND " + queuedCond +
		" AND priority = 1 AND state = 'rendered' ORDER BY ord LIMIT 1"
	// nextNormalQuery: the pending non-priority clip with the lowest order key.
	nextNormalQuery = "SELECT " + clipCols + " FROM clips WHERE session_id = ? AND " + queuedCond +
		" AND priority = 0 ORDER BY ord LIMIT 1"
	// nextRenderedNormalQuery: the rendered non-priority clip with the
	// lowest order key.
	nextRenderedNormalQuery = "SELECT " + clipCols + " FROM clips WHERE session_id = ? AND " + queuedCond +
		" AND priority = 0 AND state = 'rendered' ORDER BY ord LIMIT 1"
	// lastSeqQuery: the highest Seq of a session.
	lastSeqQuery = "SELECT seq FROM clips WHERE session_id = ? AND seq > 0 ORDER BY seq DESC LIMIT 1"
)

// nextClip returns the clip Cue would take next: the rendered priority clip
// with the lowest order key, else the pending non-priority clip with the
// lowest order key; nil when there is none.
func (s *Store) nextClip(ctx context.Context, q querier, sessionID string, now time.Time) (*evercast.Clip, error) {
	c, err := scanClip(s.queryRow(ctx, q, nextPriorityQuery, sessionID))
	if err == nil || !errors.Is(err, sql.ErrNoRows) {
		return c, err
	}
	c, err = scanClip(s.queryRow(ctx, q, nextNormalQuery, sessionID))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil || c.State == evercast.ClipRendered || now.Sub(lastMoved(c)) < StuckAfter {
		return c, err
	}
	// The clip at the head has not moved for a while (its worker died
	// mid-render, say): rather than hold everything behind it, take the
	// first rendered clip after it. The stuck one airs once it is done.
	r, err := scanClip(s.queryRow(ctx, q, nextRenderedNormalQuery, sessionID))
	if errors.Is(err, sql.ErrNoRows) {
		return c, nil
	}
	return r, err
}

// StuckAfter is how long the clip at the head of the queue may sit in one
// pipeline state before rendered clips behind it go first.
const StuckAfter = 15 * time.Second

// lastMoved is when the clip last changed state on its way to rendered.
func lastMoved(c *evercast.Clip) time.Time {
	t := c.PlannedAt
	for _, p := range []*time.Time{c.ScriptedAt, c.VoicedAt} {
		if p != nil && p.After(t) {
			t = *p
		}
	}
	return t
}

// Peek returns the clip Cue would put on air now, changing nothing. When
// that clip is not rendered yet (or nothing is pending) it is ErrNotReady,
// with the blocking clip when there is one.
func (s *Store) Peek(ctx context.Context, sessionID string) (*evercast.Clip, error) {
	c, err := s.nextClip(ctx, s.db, sessionID, s.now())
	if err != nil {
		return nil, fmt.Errorf("peek: %w", err)
	}
	if c == nil {
		return nil, fmt.Errorf("peek: session %s has no pending clip: %w", sessionID, ErrNotReady)
	}
	if c.State != evercast.ClipRendered {
		return c, fmt.Errorf("peek: session %s: clip %s is %s: %w", sessionID, c.ID, c.State, ErrNotReady)
	}
	return c, nil
}

// Cue puts the session's next clip on air, in one transaction serialised
// per session: the rendered priority clip with the lowest order key, else
// the non-priority clip with the lowest order key among the pending ones.
// When that clip is rendered it becomes on_air with Seq one after the
// session's highest, StartMS startMS and OnAirAt now, and is returned.
// Otherwise Cue returns ErrNotReady together with the clip that blocks
// (nil when nothing is pending). A missing session is ErrNotFound.
func (s *Store) Cue(ctx context.Context, sessionID string, startMS int64, now time.Time) (*evercast.Clip, error) {
	var out *evercast.Clip
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockSession(ctx, tx, sessionID); err != nil {
			return err
		}
		// A clip may fail between the choice and the update (FailClip does
		// not lock the session): then choose again.
		for range 8 {
			c, err := s.nextClip(ctx, tx, sessionID, now)
			if err != nil {
				return err
			}
			if c == nil {
				return fmt.Errorf("session %s has no pending clip: %w", sessionID, ErrNotReady)
			}
			if c.State != evercast.ClipRendered {
				out = c
				return fmt.Errorf("session %s: clip %s (%s) is %s: %w", sessionID, c.ID, c.Kind, c.State, ErrNotReady)
			}
			seq, err := s.lastSeq(ctx, tx, sessionID)
			if err != nil {
				return err
			}
			seq++
			ok, err := s.execOne(ctx, tx, "UPDATE clips SET state = ?, seq = ?, start_ms = ?, on_air_at = ? WHERE id = ? AND state = ?",
				string(evercast.ClipOnAir), seq, startMS, msOf(now), c.ID, string(evercast.ClipRendered))
			if err != nil {
				return err
			}
			if ok {
				at := truncMS(now)
				c.State, c.Seq, c.StartMS, c.OnAirAt = evercast.ClipOnAir, seq, &startMS, &at
				out = c
				return nil
			}
		}
		return fmt.Errorf("session %s: clips keep changing under cue: %w", sessionID, evercast.ErrConflict)
	})
	if err != nil {
		return out, fmt.Errorf("cue: %w", err)
	}
	return out, nil
}

// CueStandby inserts c, a clip made by the caller (Kind standby when empty,
// VideoKey and DurationMS set), directly on air as the session's next Seq
// with StartMS startMS and OnAirAt now. c gets an ID when empty and is
// updated to match what is stored.
func (s *Store) CueStandby(ctx context.Context, sessionID string, c *evercast.Clip, startMS int64, now time.Time) (*evercast.Clip, error) {
	if c.SessionID != "" && c.SessionID != sessionID {
		return nil, fmt.Errorf("cue standby: %w", evercast.Invalid("session_id", "is %s, not %s", c.SessionID, sessionID))
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := s.lockSession(ctx, tx, sessionID); err != nil {
			return err
		}
		ord, err := s.maxClipOrd(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		seq, err := s.lastSeq(ctx, tx, sessionID)
		if err != nil {
			return err
		}
		if c.ID == "" {
			c.ID = evercast.NewID(evercast.PrefixClip)
		}
		if c.Kind == "" {
			c.Kind = evercast.KindStandby
		}
		if c.PlannedAt.IsZero() {
			c.PlannedAt = now
		}
		c.PlannedAt = truncMS(c.PlannedAt)
		at := truncMS(now)
		start := startMS
		c.SessionID, c.State, c.Seq, c.StartMS, c.OnAirAt, c.AiredAt = sessionID, evercast.ClipOnAir, seq+1, &start, &at, nil
		return s.insertClip(ctx, tx, c, ord+1)
	})
	if err != nil {
		return nil, fmt.Errorf("cue standby: %w", err)
	}
	return c, nil
}

// MarkAired moves the clip id from on_air to aired at now; otherwise it is
// a *StateError.
func (s *Store) MarkAired(ctx context.Context, clipID string, now time.Time) (*evercast.Clip, error) {
	c, err := s.AdvanceClip(ctx, clipID, evercast.ClipOnAir, ClipUpdate{State: evercast.ClipAired, At: now})
	if err != nil {
		return nil, fmt.Errorf("mark aired: %w", err)
	}
	return c, nil
}

// MarkAiredCut is MarkAired for a clip a cut ended early: airedMS of it
// aired (a whole multiple of 320 ms, less than its duration).
func (s *Store) MarkAiredCut(ctx context.Context, clipID string, now time.Time, airedMS int64) (*evercast.Clip, error) {
	var out *evercast.Clip
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		ok, err := s.execOne(ctx, tx, "UPDATE clips SET state = ?, aired_at = ?, aired_ms = ? WHERE id = ? AND state = ?",
			string(evercast.ClipAired), msOf(now), airedMS, clipID, string(evercast.ClipOnAir))
		if err != nil {
			return err
		}
		if !ok {
			return s.stateError(ctx, tx, clipID, evercast.ClipOnAir)
		}
		out, err = s.getClip(ctx, tx, clipID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("mark aired: %w", err)
	}
	return out, nil
}

// sessionExists returns ErrNotFound unless the session exists.
func (s *Store) sessionExists(ctx context.Context, q querier, id string) error {
	var one int
	err := s.queryRow(ctx, q, "SELECT 1 FROM sessions WHERE id = ?", id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("session %s: %w", id, evercast.ErrNotFound)
	}
	return err
}

// Rundown returns the session's clips in air order: the on-air and aired
// ones by Seq; then the pending ones in the order Cue would take them (the
// rendered priority clips, the other priority clips, then the rest, each by
// order key) with Seq set to their tentative place after the last Seq; then
// the failed ones (Seq 0) by order key.
func (s *Store) Rundown(ctx context.Context, sessionID string, opts RundownOptions) ([]*evercast.Clip, error) {
	out, err := s.rundown(ctx, sessionID, opts)
	if err != nil {
		return nil, fmt.Errorf("rundown: %w", err)
	}
	return out, nil
}

func (s *Store) rundown(ctx context.Context, sessionID string, opts RundownOptions) ([]*evercast.Clip, error) {
	// One snapshot: a clip cued between two of the reads below would
	// otherwise be in neither the aired nor the pending part.
	var out []*evercast.Clip
	err := s.readTx(ctx, func(q querier) error {
		var err error
		out, err = s.rundownIn(ctx, q, sessionID, opts)
		return err
	})
	return out, err
}

func (s *Store) rundownIn(ctx context.Context, db querier, sessionID string, opts RundownOptions) ([]*evercast.Clip, error) {
	if err := s.sessionExists(ctx, db, sessionID); err != nil {
		return nil, err
	}
	cond, args := "seq > 0", []any{sessionID}
	if opts.AiredOnly {
		cond, args = "state = ?", []any{sessionID, string(evercast.ClipAired)}
	}
	q := "SELECT " + clipCols + " FROM clips WHERE session_id = ? AND " + cond + " ORDER BY seq"
	if opts.Limit > 0 {
		q += " DESC LIMIT ?"
		args = append(args, opts.Limit)
	}
	rows, err := s.query(ctx, db, q, args...)
	if err != nil {
		return nil, err
	}
	aired, err := scanClips(rows)
	if err != nil {
		return nil, err
	}
	if opts.Limit > 0 {
		slices.Reverse(aired)
	}
	if opts.AiredOnly {
		return aired, nil
	}

	last, err := s.lastSeq(ctx, db, sessionID)
	if err != nil {
		return nil, err
	}
	rows, err = s.query(ctx, db, "SELECT "+clipCols+" FROM clips WHERE session_id = ? AND "+queuedCond+" ORDER BY ord", sessionID)
	if err != nil {
		return nil, err
	}
	next, err := scanClips(rows)
	if err != nil {
		return nil, err
	}
	rank := func(c *evercast.Clip) int {
		switch {
		case c.Priority && c.State == evercast.ClipRendered:
			return 0
		case c.Priority:
			return 1
		}
		return 2
	}
	slices.SortStableFunc(next, func(a, b *evercast.Clip) int { return rank(a) - rank(b) })
	for i, c := range next {
		c.Seq = last + int64(i) + 1
	}

	q = "SELECT " + clipCols + " FROM clips WHERE session_id = ? AND state = ? ORDER BY ord"
	args = []any{sessionID, string(evercast.ClipFailed)}
	if opts.Limit > 0 {
		q = "SELECT " + clipCols + " FROM clips WHERE session_id = ? AND state = ? ORDER BY ord DESC LIMIT ?"
		args = append(args, opts.Limit)
	}
	rows, err = s.query(ctx, db, q, args...)
	if err != nil {
		return nil, err
	}
	failed, err := scanClips(rows)
	if err != nil {
		return nil, err
	}
	if opts.Limit > 0 {
		slices.Reverse(failed)
	}
	for _, c := range failed {
		c.Seq = 0
	}
	return slices.Concat(aired, next, failed), nil
}

// ClipStats sums up the session's clips.
func (s *Store) ClipStats(ctx context.Context, sessionID string) (ClipStats, error) {
	st, err := s.clipStats(ctx, sessionID)
	if err != nil {
		return ClipStats{}, fmt.Errorf("clip stats: %w", err)
	}
	return st, nil
}

func (s *Store) clipStats(ctx context.Context, sessionID string) (ClipStats, error) {
	var st ClipStats
	if err := s.sessionExists(ctx, s.db, sessionID); err != nil {
		return st, err
	}
	var start sql.NullInt64
	var dur int64
	err := s.queryRow(ctx, s.db, "SELECT seq, start_ms, COALESCE(aired_ms, duration_ms) FROM clips WHERE session_id = ? AND seq > 0 ORDER BY seq DESC LIMIT 1",
		sessionID).Scan(&st.LastSeq, &start, &dur)
	switch {
	case err == nil:
		st.AiredMS = start.Int64 + dur
	case !errors.Is(err, sql.ErrNoRows):
		return st, err
	}

	// Clips retired on purpose (the session ended, the operator focused
	// another product) are not failures.
	rows, err := s.query(ctx, s.db, `SELECT state, COUNT(*), CAST(COALESCE(SUM(duration_ms), 0) AS BIGINT) FROM clips
		WHERE session_id = ? AND state IN (?, ?, ?, ?, ?) AND kind <> 'standby' AND error NOT LIKE 'retired:%' GROUP BY state`, sessionID,
		string(evercast.ClipPlanned), string(evercast.ClipScripted), string(evercast.ClipVoiced),
		string(evercast.ClipRendered), string(evercast.ClipFailed))
	if err != nil {
		return st, err
	}
	// Read to the end (closing rows) before the next query: SQLite has one
	// connection.
	if err := func() error {
		defer rows.Close()
		for rows.Next() {
			var state string
			var n, sum int64
			if err := rows.Scan(&state, &n, &sum); err != nil {
				return err
			}
			switch evercast.ClipState(state) {
			case evercast.ClipRendered:
				st.ReadyMS = sum
			case evercast.ClipFailed:
				st.Failed = int(n)
			default:
				st.InFlight += int(n)
			}
		}
		return rows.Err()
	}(); err != nil {
		return st, err
	}

	c, err := scanClip(s.queryRow(ctx, s.db, "SELECT "+clipCols+" FROM clips WHERE session_id = ? AND state = ? ORDER BY seq LIMIT 1",
		sessionID, string(evercast.ClipOnAir)))
	switch {
	case err == nil:
		st.OnAir = c
	case !errors.Is(err, sql.ErrNoRows):
		return st, err
	}
	return st, nil
}

// ListClips returns the clips f selects, by session and order key.
func (s *Store) ListClips(ctx context.Context, f ClipFilter) ([]*evercast.Clip, error) {
	var where []string
	var args []any
	if f.SessionID != "" {
		where = append(where, "session_id = ?")
		args = append(args, f.SessionID)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+placeholders(len(f.States))+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	q := "SELECT " + clipCols + " FROM clips"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY session_id, ord"
	if f.Limit > 0 {
		q += " LIMIT ?"
		args = append(args, f.Limit)
	}
	rows, err := s.query(ctx, s.db, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list clips: %w", err)
	}
	out, err := scanClips(rows)
	if err != nil {
		return nil, fmt.Errorf("list clips: %w", err)
	}
	return out, nil
}

// FormatBreaks writes quantum indices as "3,9,14".
func FormatBreaks(qs []int) string {
	parts := make([]string, len(qs))
	for i, q := range qs {
		parts[i] = strconv.Itoa(q)
	}
	return strings.Join(parts, ",")
}

// ParseBreaks reads what FormatBreaks wrote; malformed parts are skipped.
func ParseBreaks(s string) []int {
	if s == "" {
		return nil
	}
	var out []int
	for _, p := range strings.Split(s, ",") {
		if q, err := strconv.Atoi(p); err == nil && q > 0 {
			out = append(out, q)
		}
	}
	return out
}
