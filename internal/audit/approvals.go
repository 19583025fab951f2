package audit

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// VerdictPendingApproval is the verdict a scripted clip carries while it
// waits for a human decision. Nothing with it is voiced.
const VerdictPendingApproval = "pending-approval"

// ApprovalStore is what Approvals needs of the metadata store
// (*store.Store).
type ApprovalStore interface {
	// RequestApproval files a request and appends its audit record in one
	// transaction; an existing request is returned with created false.
	RequestApproval(ctx context.Context, a store.ApprovalRow, build func(head store.AuditHead) (*store.AuditRow, error)) (*store.ApprovalRow, bool, error)
	// DecideApproval records a decision and appends its audit record in
	// one transaction; ErrNotFound without a request, ErrConflict when
	// decided the other way.
	DecideApproval(ctx context.Context, clipID string, approved bool, actor, reason string, at time.Time,
		build func(a *store.ApprovalRow, head store.AuditHead) (*store.AuditRow, error)) (*store.ApprovalRow, bool, error)
	GetApproval(ctx context.Context, clipID string) (*store.ApprovalRow, error)
	PendingApprovals(ctx context.Context, sessionID string) ([]*store.ApprovalRow, error)
	SetApprovalRequired(ctx context.Context, sessionID string, required bool, actor string) error
	ApprovalRequired(ctx context.Context, sessionID string) (bool, error)
	GetSession(ctx context.Context, id string) (*evercast.Session, error)
	GetClip(ctx context.Context, id string) (*evercast.Clip, error)
	AdvanceClip(ctx context.Context, id string, from evercast.ClipState, u store.ClipUpdate) (*evercast.Clip, error)
	FailClip(ctx context.Context, id string, msg string, at time.Time) (*evercast.Clip, error)
}

var _ ApprovalStore = (*store.Store)(nil)

// Approval is a script put before a human, and the decision.
type Approval struct {
	ClipID     string `json:"clip_id"`
	SessionID  string `json:"session_id"`
	MerchantID string `json:"merchant_id"`
	// Text and Verdict are the script and its claims verdict the decision
	// is about.
	Text        string     `json:"text"`
	Verdict     string     `json:"verdict,omitempty"`
	RequestedAt time.Time  `json:"requested_at"`
	DecidedAt   *time.Time `json:"decided_at,omitempty"`
	// Approved is nil while the request is pending.
	Approved *bool  `json:"approved,omitempty"`
	Actor    string `json:"actor,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// Pending reports whether no one has decided yet.
func (a *Approval) Pending() bool { return a.Approved == nil }

func approvalOf(r *store.ApprovalRow) *Approval {
	return &Approval{ClipID: r.ClipID, SessionID: r.SessionID, MerchantID: r.MerchantID, Text: r.Text, Verdict: r.Verdict,
		RequestedAt: r.RequestedAt, DecidedAt: r.DecidedAt, Approved: r.Approved, Actor: r.Actor, Reason: r.Reason}
}

// Approvals is the queue of scripts waiting for a human decision, for the
// sessions whose merchant requires one. Every request, decision and change
// of the requirement is on the audit record. The speech stage voices a
// clip only when Cleared says so; a decision to approve restores the
// clip's claims verdict (the caller then sends the clip on to speech), a
// rejection fails the clip.
type Approvals struct {
	st  ApprovalStore
	log *Log
}

// NewApprovals returns the approval queue kept in st, recording in log
// (which must use the same store).
func NewApprovals(st ApprovalStore, log *Log) *Approvals {
	return &Approvals{st: st, log: log}
}

// SetRequired sets whether the session's new scripts need approval, and
// records who set it.
func (a *Approvals) SetRequired(ctx context.Context, sessionID string, required bool, actor string) error {
	s, err := a.st.GetSession(ctx, sessionID)
	if err != nil {
		return fmt.Errorf("approval policy: %w", err)
	}
	if actor == "" {
		return fmt.Errorf("approval policy: %w", evercast.Invalid("actor", "is required"))
	}
	if err := a.st.SetApprovalRequired(ctx, sessionID, required, actor); err != nil {
		return fmt.Errorf("approval policy: %w", err)
	}
	if _, err := a.log.Append(ctx, sessionID, s.MerchantID, KindApprovalPolicy, actor, ApprovalPolicy{Required: required}); err != nil {
		return fmt.Errorf("approval policy: %w", err)
	}
	return nil
}

// Required reports whether the session's new scripts need approval.
func (a *Approvals) Required(ctx context.Context, sessionID string) (bool, error) {
	return a.st.ApprovalRequired(ctx, sessionID)
}

// Request puts a scripted clip before a human: the request is filed and
// recorded, and the clip waits in state scripted with verdict
// VerdictPendingApproval. Requesting again returns the existing request
// and records nothing. A clip not in state scripted is ErrConflict.
func (a *Approvals) Request(ctx context.Context, clip *evercast.Clip) (*Approval, error) {
	if clip == nil || clip.ID == "" {
		return nil, fmt.Errorf("request approval: %w", evercast.Invalid("clip", "is required"))
	}
	if clip.State != evercast.ClipScripted {
		return nil, fmt.Errorf("request approval: clip %s is %s, not scripted: %w", clip.ID, clip.State, evercast.ErrConflict)
	}
	s, err := a.st.GetSession(ctx, clip.SessionID)
	if err != nil {
		return nil, fmt.Errorf("request approval: %w", err)
	}
	if err := a.log.guard(ctx); err != nil {
		return nil, fmt.Errorf("request approval: %w", err)
	}
	now := a.log.now()
	data, err := CanonicalOf(ApprovalRequest{ClipID: clip.ID, Text: clip.Text, Verdict: clip.Verdict})
	if err != nil {
		return nil, fmt.Errorf("request approval: %w", err)
	}
	row, _, err := a.st.RequestApproval(ctx, store.ApprovalRow{ClipID: clip.ID, SessionID: clip.SessionID, MerchantID: s.MerchantID,
		Text: clip.Text, Verdict: clip.Verdict, RequestedAt: now},
		func(head store.AuditHead) (*store.AuditRow, error) {
			return buildRow(head, clip.SessionID, s.MerchantID, KindApprovalRequested, ActorSystem, data, now)
		})
	if err != nil {
		return nil, err
	}
	if row.Approved == nil && clip.Verdict != VerdictPendingApproval {
		pending := VerdictPendingApproval
		if _, err := a.st.AdvanceClip(ctx, clip.ID, evercast.ClipScripted, store.ClipUpdate{Verdict: &pending}); err != nil {
			return nil, fmt.Errorf("request approval: %w", err)
		}
	}
	return approvalOf(row), nil
}

// Pending returns the session's undecided requests ("" for every
// session), oldest first.
func (a *Approvals) Pending(ctx context.Context, sessionID string) ([]*Approval, error) {
	rows, err := a.st.PendingApprovals(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	out := make([]*Approval, len(rows))
	for i, r := range rows {
		out[i] = approvalOf(r)
	}
	return out, nil
}

// Get returns the clip's request; none is ErrNotFound.
func (a *Approvals) Get(ctx context.Context, clipID string) (*Approval, error) {
	r, err := a.st.GetApproval(ctx, clipID)
	if err != nil {
		return nil, err
	}
	return approvalOf(r), nil
}

// Decide approves or rejects the clip's script, naming who (actor is
// required) and why, and records the decision in the same transaction.
// Approving restores the clip's claims verdict so that it can be voiced;
// rejecting fails the clip. Deciding again the same way changes nothing
// and records nothing; deciding the other way is ErrConflict; a clip
// without a request is ErrNotFound.
func (a *Approvals) Decide(ctx context.Context, clipID string, approve bool, actor, reason string) (*Approval, error) {
	if actor == "" {
		return nil, fmt.Errorf("decide approval: %w", evercast.Invalid("actor", "is required"))
	}
	if err := a.log.guard(ctx); err != nil {
		return nil, fmt.Errorf("decide approval: %w", err)
	}
	now := a.log.now()
	row, _, err := a.st.DecideApproval(ctx, clipID, approve, actor, reason, now,
		func(r *store.ApprovalRow, head store.AuditHead) (*store.AuditRow, error) {
			data, err := CanonicalOf(ApprovalDecision{ClipID: r.ClipID, Approved: approve, Reason: reason, Text: r.Text})
			if err != nil {
				return nil, err
			}
			return buildRow(head, r.SessionID, r.MerchantID, KindApproval, actor, data, now)
		})
	if err != nil {
		return nil, err
	}
	if err := a.apply(ctx, row, now); err != nil {
		return nil, fmt.Errorf("decide approval: %w", err)
	}
	return approvalOf(row), nil
}

// apply brings the clip in line with the decision; it is idempotent.
func (a *Approvals) apply(ctx context.Context, r *store.ApprovalRow, now time.Time) error {
	if *r.Approved {
		c, err := a.st.GetClip(ctx, r.ClipID)
		if err != nil {
			return err
		}
		if c.State != evercast.ClipScripted || c.Verdict != VerdictPendingApproval {
			return nil
		}
		verdict := r.Verdict
		_, err = a.st.AdvanceClip(ctx, r.ClipID, evercast.ClipScripted, store.ClipUpdate{Verdict: &verdict})
		return err
	}
	msg := "script rejected by " + r.Actor
	if r.Reason != "" {
		msg += ": " + r.Reason
	}
	_, err := a.st.FailClip(ctx, r.ClipID, msg, now)
	var se *store.StateError
	if errors.As(err, &se) && se.Current == evercast.ClipFailed {
		return nil
	}
	return err
}

// Cleared reports whether the clip may be voiced as far as approval goes:
// true when its session does not require approval and it is not waiting
// for one, or when its current text was approved. A clip without text
// (the standby template) is always cleared.
func (a *Approvals) Cleared(ctx context.Context, clip *evercast.Clip) (bool, error) {
	if clip.Text == "" {
		return true, nil
	}
	required, err := a.st.ApprovalRequired(ctx, clip.SessionID)
	if err != nil {
		return false, err
	}
	r, err := a.st.GetApproval(ctx, clip.ID)
	if errors.Is(err, evercast.ErrNotFound) {
		return !required && clip.Verdict != VerdictPendingApproval, nil
	}
	if err != nil {
		return false, err
	}
	return r.Approved != nil && *r.Approved && r.Text == clip.Text && clip.Verdict != VerdictPendingApproval, nil
}
