package app

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/orchestrator"
	"github.com/evercast/evercast/playout"
)

// PlayoutToken derives the token a playout process presents on the control
// channel from the operator token, so that no further secret is needed.
func PlayoutToken(adminToken string) string {
	m := hmac.New(sha256.New, []byte(adminToken))
	m.Write([]byte("evercast playout"))
	return "evp_" + hex.EncodeToString(m.Sum(nil))[:40]
}

// authenticator resolves control-channel tokens: the operator token, the
// playout token, or a merchant API key.
type authenticator struct {
	admin string
	st    *store.Store
}

func (a authenticator) Authenticate(ctx context.Context, token string) (control.Principal, error) {
	eq := func(x, y string) bool { return x != "" && subtle.ConstantTimeCompare([]byte(x), []byte(y)) == 1 }
	switch {
	case eq(token, a.admin):
		return control.Principal{Role: control.RoleOperator, Name: "operator"}, nil
	case eq(token, PlayoutToken(a.admin)):
		return control.Principal{Role: control.RolePlayout, Name: "playout"}, nil
	}
	m, err := a.st.MerchantByAPIKey(ctx, token)
	if errors.Is(err, evercast.ErrNotFound) {
		return control.Principal{}, control.ErrUnauthorized
	}
	if err != nil {
		return control.Principal{}, err
	}
	return control.Principal{Role: control.RoleMerchant, MerchantID: m.ID, Name: m.Name}, nil
}

// sessionsOf tells the hub whose a session is.
type sessionsOf struct{ st *store.Store }

func (s sessionsOf) SessionMerchant(ctx context.Context, id string) (string, error) {
	ses, err := s.st.GetSession(ctx, id)
	if err != nil {
		return "", err
	}
	return ses.MerchantID, nil
}

// commentSink takes comments pushed over the control channel.
type commentSink struct{ o *orchestrator.Orchestrator }

func (c commentSink) Comments(ctx context.Context, p control.Principal, sessionID string, cs []control.Comment) (int, error) {
	in := make([]evercast.Comment, len(cs))
	for i, x := range cs {
		in[i] = evercast.Comment{ID: x.ID, User: x.User, Text: x.Text, At: x.At}
	}
	res, err := c.o.Comments(evercast.WithActor(ctx, actorName(p)), sessionID, in)
	if err != nil {
		return 0, err
	}
	return res.New, nil
}

func actorName(p control.Principal) string {
	if p.Role == control.RoleMerchant {
		return "merchant:" + p.MerchantID
	}
	return p.Role
}

// commander executes operator commands: the session's lifecycle and
// rundown through the orchestrator, cuts on air through playout (in this
// process, or forwarded to a playout process connected to the hub).
type commander struct {
	o   *orchestrator.Orchestrator
	pl  *playout.Engine
	hub *control.Hub
}

func (c commander) Command(ctx context.Context, p control.Principal, sessionID string, cmd control.Command) (map[string]any, error) {
	ctx = evercast.WithActor(ctx, actorName(p))
	state := func(s *evercast.Session, err error) (map[string]any, error) {
		if err != nil {
			return nil, err
		}
		return map[string]any{"state": s.State}, nil
	}
	switch cmd.Name {
	case control.CmdPause:
		res, err := state(c.o.Pause(ctx, sessionID))
		if err == nil {
			c.cut(ctx, sessionID, "standby")
		}
		return res, err
	case control.CmdResume:
		res, err := state(c.o.Resume(ctx, sessionID))
		if err == nil {
			c.cut(ctx, sessionID, "resume")
		}
		return res, err
	case control.CmdStop:
		return state(c.o.Stop(ctx, sessionID))
	case control.CmdCut:
		return state(c.o.Cut(ctx, sessionID))
	case control.CmdSay:
		clip, err := c.o.Say(ctx, sessionID, cmd.Args.Text)
		if err != nil {
			return nil, err
		}
		return map[string]any{"clip_id": clip.ID}, nil
	case control.CmdFocus:
		if err := c.o.Focus(ctx, sessionID, cmd.Args.ProductID); err != nil {
			return nil, err
		}
		return map[string]any{"product_id": cmd.Args.ProductID}, nil
	case control.CmdStandby:
		// Cut to standby: hold the session (paused) and cut what is on air.
		if _, err := c.o.Pause(ctx, sessionID); err != nil && !errors.Is(err, evercast.ErrConflict) {
			return nil, err
		}
		return c.cut(ctx, sessionID, "standby")
	case control.CmdSkip:
		return c.cut(ctx, sessionID, "skip")
	}
	return nil, &control.Error{Code: control.CodeUnknownCommand, Message: fmt.Sprintf("unknown command %q", cmd.Name)}
}

// cut asks playout to end what is on air at the next boundary it can.
func (c commander) cut(ctx context.Context, sessionID, why string) (map[string]any, error) {
	if c.pl != nil {
		return c.pl.Command(ctx, sessionID, why)
	}
	if c.hub != nil && c.hub.HasExecutor(sessionID) {
		return c.hub.Forward(ctx, sessionID, control.Command{Name: why})
	}
	// No playout reachable from here: the session state (paused/live) still
	// takes effect at the next clip boundary.
	return map[string]any{"cut": "next_boundary"}, nil
}

// operations serves the API's Operations from the orchestrator, playout
// and audit log.
type operations struct {
	cmd commander
	st  *store.Store
	log *audit.Log
}

func (o operations) Command(ctx context.Context, sessionID, name, text, productID string) (map[string]any, error) {
	p := control.Principal{Role: control.RoleOperator, Name: "operator"}
	if a := evercast.ActorFrom(ctx); strings.HasPrefix(a, "merchant:") {
		p = control.Principal{Role: control.RoleMerchant, MerchantID: strings.TrimPrefix(a, "merchant:")}
	}
	return o.cmd.Command(ctx, p, sessionID, control.Command{Name: name, Args: control.CommandArgs{Text: text, ProductID: productID}})
}

// CutMerchant is the kill switch over every on-air session of a merchant.
func (o operations) CutMerchant(ctx context.Context, merchantID, mode string) ([]string, error) {
	ss, err := o.st.ListSessions(ctx, store.SessionFilter{MerchantID: merchantID, States: []evercast.SessionState{
		evercast.SessionWarming, evercast.SessionLive, evercast.SessionPaused}})
	if err != nil {
		return nil, err
	}
	var ids []string
	var errs []error
	for _, s := range ss {
		var err error
		if mode == "off_air" {
			_, err = o.cmd.o.Cut(ctx, s.ID)
		} else {
			_, err = o.cmd.Command(ctx, control.Principal{Role: control.RoleOperator, Name: "operator"}, s.ID, control.Command{Name: control.CmdStandby})
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("session %s: %w", s.ID, err))
			continue
		}
		ids = append(ids, s.ID)
	}
	return ids, errors.Join(errs...)
}

func (o operations) RequireApproval(ctx context.Context, sessionID string, required bool) error {
	return o.cmd.o.RequireApproval(ctx, sessionID, required)
}

func (o operations) ApprovalRequired(ctx context.Context, sessionID string) (bool, error) {
	return o.cmd.o.ApprovalRequired(ctx, sessionID)
}

func (o operations) PendingApprovals(ctx context.Context, sessionID string) ([]*audit.Approval, error) {
	return o.cmd.o.PendingApprovals(ctx, sessionID)
}

func (o operations) Decide(ctx context.Context, clipID string, approve bool, reason string) (*audit.Approval, error) {
	return o.cmd.o.Decide(ctx, clipID, approve, reason)
}

func (o operations) ClipSession(ctx context.Context, clipID string) (string, error) {
	c, err := o.st.GetClip(ctx, clipID)
	if err != nil {
		return "", err
	}
	return c.SessionID, nil
}

func (o operations) AuditRecords(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]audit.Record, error) {
	return o.log.Records(ctx, sessionID, afterSeq, limit)
}

func (o operations) VerifyAudit(ctx context.Context, sessionID string) (audit.VerifyResult, error) {
	return o.log.Verify(ctx, sessionID)
}
