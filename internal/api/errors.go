package api

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"

	"github.com/evercast/evercast"
)

// Error codes of the JSON error body.
const (
	codeNotFound         = "not_found"
	codeInvalid          = "invalid"
	codeConflict         = "conflict"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeTooLarge         = "too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeMethodNotAllowed = "method_not_allowed"
	codeUnavailable      = "unavailable"
	codeInternal         = "internal"
)

// httpError is an error with its HTTP answer.
type httpError struct {
	status  int
	code    string
	message string
	field   string
	// wwwAuthenticate is the challenge sent with a 401.
	wwwAuthenticate string
}

func (e *httpError) Error() string {
	if e.field != "" {
		return e.field + ": " + e.message
	}
	return e.message
}

var (
	errForbidden = &httpError{status: http.StatusForbidden, code: codeForbidden,
		message: "this call needs the operator token"}
	errNoController = &httpError{status: http.StatusServiceUnavailable, code: codeUnavailable,
		message: "no orchestrator is running in this process"}
)

func notFound(what string) error {
	return &httpError{status: http.StatusNotFound, code: codeNotFound, message: what + " not found"}
}

// errorBody is the JSON shape of every error response.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// classify maps err to its HTTP answer. Errors that are not the caller's
// fault become a bare 500 whose message hides the cause.
func classify(err error) *httpError {
	var he *httpError
	if errors.As(err, &he) {
		return he
	}
	var ve *evercast.ValidationError
	if errors.As(err, &ve) {
		return &httpError{status: http.StatusBadRequest, code: codeInvalid, message: ve.Message, field: ve.Field}
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return tooLarge(mbe.Limit)
	case errors.Is(err, evercast.ErrInvalid):
		return &httpError{status: http.StatusBadRequest, code: codeInvalid, message: err.Error()}
	case errors.Is(err, evercast.ErrNotFound):
		return &httpError{status: http.StatusNotFound, code: codeNotFound, message: err.Error()}
	case errors.Is(err, evercast.ErrConflict):
		return &httpError{status: http.StatusConflict, code: codeConflict, message: err.Error()}
	}
	return &httpError{status: http.StatusInternalServerError, code: codeInternal, message: "internal error"}
}

// writeError answers with err as JSON, logging internal errors in full.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	he := classify(err)
	if he.status >= 500 && he.status != http.StatusServiceUnavailable {
		s.log.ErrorContext(r.Context(), "request failed",
			slog.String(logKeyRequestID, infoOf(r.Context()).id),
			slog.String(logKeyRoute, infoOf(r.Context()).route),
			slog.Any(logKeyError, err))
	}
	writeHTTPError(w, he)
}

// writeHTTPError writes he as the JSON error body.
func writeHTTPError(w http.ResponseWriter, he *httpError) {
	if he.wwwAuthenticate != "" {
		w.Header().Set("WWW-Authenticate", he.wwwAuthenticate)
	}
	w.Header().Set("Cache-Control", "no-store")
	_ = writeJSON(w, he.status, errorBody{Error: errorDetail{Code: he.code, Message: he.message, Field: he.field}})
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
	return nil
}
