package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/evercast/evercast"
)

// sessionView is a session as GET /v1/sessions/{id} shows it: the stored
// session with what the orchestrator reports about it.
type sessionView struct {
	*evercast.Session
	Status *evercast.SessionStatus `json:"status,omitempty"`
}

func (s *Server) session(r *http.Request, c *caller) (*evercast.Session, error) {
	id, err := pathID(r)
	if err != nil {
		return nil, err
	}
	return load(r.Context(), c, "session", id, s.store.GetSession, sessionMerchant)
}

// checkRefs checks that the session's anchor and products exist and belong
// to the session's merchant, naming the first field that does not.
func (s *Server) checkRefs(ctx context.Context, ses *evercast.Session) error {
	if !validID(ses.AnchorID) {
		return evercast.Invalid("anchor_id", "is not a valid id")
	}
	a, err := s.store.GetAnchor(ctx, ses.AnchorID)
	switch {
	case errors.Is(err, evercast.ErrNotFound) || err == nil && a.MerchantID != ses.MerchantID:
		return evercast.Invalid("anchor_id", "no anchor %s for this merchant", ses.AnchorID)
	case err != nil:
		return fmt.Errorf("get anchor: %w", err)
	}
	for i, id := range ses.ProductIDs {
		field := fmt.Sprintf("product_ids[%d]", i)
		if !validID(id) {
			return evercast.Invalid(field, "is not a valid id")
		}
		p, err := s.store.GetProduct(ctx, id)
		switch {
		case errors.Is(err, evercast.ErrNotFound) || err == nil && p.MerchantID != ses.MerchantID:
			return evercast.Invalid(field, "no product %s for this merchant", id)
		case err != nil:
			return fmt.Errorf("get product: %w", err)
		}
	}
	return nil
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	var ses evercast.Session
	if err := s.decodeBody(w, r, &ses); err != nil {
		return err
	}
	if err := refuseID(ses.ID); err != nil {
		return err
	}
	owner, err := s.ownerFor(r.Context(), c, ses.MerchantID)
	if err != nil {
		return err
	}
	ses.ID, ses.MerchantID = evercast.NewID(evercast.PrefixSession), owner
	// The lifecycle belongs to the orchestrator: a new session is scheduled.
	ses.State, ses.Owner, ses.StartedAt, ses.EndedAt = evercast.SessionScheduled, "", nil, nil
	ses.CreatedAt = now()
	ses.UpdatedAt = ses.CreatedAt
	if err := ses.Validate(); err != nil {
		return err
	}
	if err := s.checkRefs(r.Context(), &ses); err != nil {
		return err
	}
	if err := s.store.CreateSession(r.Context(), &ses); err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return writeCreated(w, "/v1/sessions/"+ses.ID, &ses)
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request, c *caller) error {
	scope, err := listScope(r, c)
	if err != nil {
		return err
	}
	ss, err := s.store.ListSessions(r.Context(), scope)
	if err != nil {
		return fmt.Errorf("list sessions: %w", err)
	}
	return writeList(w, ss)
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	view := sessionView{Session: ses}
	// The stored session is the answer; an orchestrator that cannot say
	// more right now costs the status field, not the request.
	if view.Status, err = s.statusOf(r.Context(), ses); err != nil {
		s.log.WarnContext(r.Context(), "session status unavailable",
			slog.String(logKeyRequestID, infoOf(r.Context()).id),
			slog.String(logKeySessionID, ses.ID), slog.Any(logKeyError, err))
	}
	return writeJSON(w, http.StatusOK, view)
}

func (s *Server) updateSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	old, err := s.session(r, c)
	if err != nil {
		return err
	}
	var ses evercast.Session
	if err := s.decodeBody(w, r, &ses); err != nil {
		return err
	}
	if err := checkImmutable(old.ID, ses.ID, old.MerchantID, ses.MerchantID); err != nil {
		return err
	}
	if old.State.OnAir() {
		return fmt.Errorf("session %s is %s: stop it before changing its configuration: %w",
			old.ID, old.State, evercast.ErrConflict)
	}
	ses.ID, ses.MerchantID, ses.CreatedAt, ses.UpdatedAt = old.ID, old.MerchantID, old.CreatedAt, now()
	ses.State, ses.Owner, ses.StartedAt, ses.EndedAt = old.State, old.Owner, old.StartedAt, old.EndedAt
	if err := ses.Validate(); err != nil {
		return err
	}
	if err := s.checkRefs(r.Context(), &ses); err != nil {
		return err
	}
	if err := s.store.UpdateSession(r.Context(), &ses); err != nil {
		return fmt.Errorf("update session: %w", err)
	}
	return writeJSON(w, http.StatusOK, &ses)
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	if ses.State.OnAir() {
		return fmt.Errorf("session %s is %s: stop it before deleting it: %w", ses.ID, ses.State, evercast.ErrConflict)
	}
	if err := s.store.DeleteSession(r.Context(), ses.ID); err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) startSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.lifecycle(w, r, c, "start", Controller.Start)
}

func (s *Server) stopSession(w http.ResponseWriter, r *http.Request, c *caller) error {
	return s.lifecycle(w, r, c, "stop", Controller.Stop)
}

// lifecycle starts or stops a session through the orchestrator and answers
// with the session as it now is, status included.
func (s *Server) lifecycle(w http.ResponseWriter, r *http.Request, c *caller, verb string,
	op func(Controller, context.Context, string) (*evercast.Session, error)) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	if s.control == nil {
		return errNoController
	}
	after, err := op(s.control, r.Context(), ses.ID)
	if err != nil {
		return fmt.Errorf("%s session %s: %w", verb, ses.ID, err)
	}
	if after == nil {
		after = ses
	}
	view := sessionView{Session: after}
	if view.Status, err = s.statusOf(r.Context(), after); err != nil {
		s.log.WarnContext(r.Context(), "session status unavailable",
			slog.String(logKeyRequestID, infoOf(r.Context()).id),
			slog.String(logKeySessionID, ses.ID), slog.Any(logKeyError, err))
	}
	return writeJSON(w, http.StatusOK, view)
}

// statusOf asks the orchestrator about the session. A session the
// orchestrator does not run (never started, or no orchestrator here) has
// just its stored state.
func (s *Server) statusOf(ctx context.Context, ses *evercast.Session) (*evercast.SessionStatus, error) {
	var st *evercast.SessionStatus
	if s.control != nil {
		var err error
		st, err = s.control.Status(ctx, ses.ID)
		if err != nil && !errors.Is(err, evercast.ErrNotFound) {
			return nil, fmt.Errorf("status of session %s: %w", ses.ID, err)
		}
	}
	if st == nil {
		st = &evercast.SessionStatus{State: ses.State}
	}
	if st.HLS == "" && s.hlsDir != nil && st.State.OnAir() {
		st.HLS = hlsPath(ses.ID, hlsPlaylist)
	}
	return st, nil
}

func (s *Server) sessionStatus(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	st, err := s.statusOf(r.Context(), ses)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, st)
}

func (s *Server) sessionRundown(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	if s.control == nil {
		return errNoController
	}
	rd, err := s.control.Rundown(r.Context(), ses.ID)
	switch {
	case errors.Is(err, evercast.ErrNotFound):
		rd = nil // never started: nothing planned yet
	case err != nil:
		return fmt.Errorf("rundown of session %s: %w", ses.ID, err)
	}
	if rd == nil {
		rd = &evercast.Rundown{}
	}
	rd.SessionID = ses.ID
	if rd.Clips == nil {
		rd.Clips = []*evercast.RundownEntry{}
	}
	return writeJSON(w, http.StatusOK, rd)
}
