package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/evercast/evercast"
)

// Interactions takes viewer comments (the orchestrator's interaction
// router) and lists what was done with them.
type Interactions interface {
	Comments(ctx context.Context, sessionID string, cs []evercast.Comment) (*evercast.CommentResult, error)
	ListComments(ctx context.Context, sessionID string, limit int) ([]*evercast.CommentRecord, error)
}

// commentsBody is POST /v1/sessions/{id}/comments.
type commentsBody struct {
	Comments []evercast.Comment `json:"comments"`
}

func (s *Server) postComments(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	var body commentsBody
	if err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Comments == nil {
		return evercast.Invalid("comments", "is required")
	}
	if s.interactions == nil {
		return errNoController
	}
	res, err := s.interactions.Comments(r.Context(), ses.ID, body.Comments)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, res)
}

func (s *Server) listComments(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return evercast.Invalid("limit", "must be a whole number from 1 to 1000")
		}
		limit = n
	}
	if s.interactions == nil {
		return errNoController
	}
	items, err := s.interactions.ListComments(r.Context(), ses.ID, limit)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*evercast.CommentRecord{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": items})
}
