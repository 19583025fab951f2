package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/evercast/evercast"
)

// caller is who made an authenticated request: the operator, or a merchant
// through one of its API keys.
type caller struct {
	operator bool
	merchant *evercast.Merchant // nil for the operator
}

// String names the caller for logs; it never holds the token.
func (c *caller) String() string {
	if c.operator {
		return "operator"
	}
	return c.merchant.ID
}

// owns reports whether the caller may see objects of the merchant.
func (c *caller) owns(merchantID string) bool {
	return c.operator || c.merchant.ID == merchantID
}

const maxTokenLen = 512

const bearerRealm = `Bearer realm="evercast"`

var (
	errNoToken = &httpError{status: http.StatusUnauthorized, code: codeUnauthorized,
		message: "send Authorization: Bearer <token>", wwwAuthenticate: bearerRealm}
	errBadToken = &httpError{status: http.StatusUnauthorized, code: codeUnauthorized,
		message: "the token is not valid", wwwAuthenticate: bearerRealm + `, error="invalid_token"`}
)

// authenticate finds the caller from the request's bearer token.
func (s *Server) authenticate(r *http.Request) (*caller, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return nil, errNoToken
	}
	scheme, token, ok := strings.Cut(h, " ")
	token = strings.TrimSpace(token)
	if !ok || !strings.EqualFold(scheme, "Bearer") || !wellFormedToken(token) {
		return nil, errBadToken
	}
	if s.isOperator(token) {
		return &caller{operator: true}, nil
	}
	m, err := s.store.MerchantByAPIKey(r.Context(), token)
	switch {
	case errors.Is(err, evercast.ErrNotFound):
		return nil, errBadToken
	case err != nil:
		return nil, fmt.Errorf("look up api key: %w", err)
	case m == nil:
		return nil, errBadToken
	}
	return &caller{merchant: m}, nil
}

// isOperator compares token with the operator token in constant time (over
// their SHA-256, so that not even the length leaks).
func (s *Server) isOperator(token string) bool {
	if s.adminHash == nil {
		return false
	}
	h := sha256.Sum256([]byte(token))
	return subtle.ConstantTimeCompare(h[:], s.adminHash[:]) == 1
}

// wellFormedToken accepts visible ASCII within a length limit (a superset
// of RFC 6750's token68, so that any operator token set by hand works).
func wellFormedToken(t string) bool {
	if t == "" || len(t) > maxTokenLen {
		return false
	}
	for i := 0; i < len(t); i++ {
		if t[i] < 0x21 || t[i] > 0x7e {
			return false
		}
	}
	return true
}
