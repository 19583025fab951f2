// Package api is Evercast's HTTP edge: the REST API under /v1/ (described by
// the OpenAPI document it serves at /v1/openapi.json), /healthz, /metrics, a
// session's live HLS preview, and the embedded operator console at /.
//
// It holds no state of its own. Merchants, anchors, products and sessions
// live behind Store; starting, stopping and watching a session goes through
// Controller (the orchestrator). Every request but the public ones carries
// `Authorization: Bearer <token>`: the operator token sees everything, a
// merchant API key only its own merchant's objects. Errors are always JSON:
//
//	{"error":{"code":"invalid","message":"is required","field":"name"}}
package api

import (
	"context"
	"crypto/sha256"
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/evercast/evercast"
)

// Store is the metadata the API reads and changes. Errors wrap
// evercast.ErrNotFound (a missing object), evercast.ErrConflict (a clash with
// the object's state, such as deleting an anchor a session uses) or
// evercast.ErrInvalid / *evercast.ValidationError (bad input, naming the
// field); anything else is an internal error.
//
// The List methods take a merchant id; an empty id lists every merchant's
// objects (the operator's view).
type Store interface {
	CreateMerchant(ctx context.Context, m *evercast.Merchant) error
	GetMerchant(ctx context.Context, id string) (*evercast.Merchant, error)
	ListMerchants(ctx context.Context) ([]*evercast.Merchant, error)
	// CreateAPIKey issues a key for the merchant and returns its token, which
	// cannot be read back later.
	CreateAPIKey(ctx context.Context, merchantID string) (string, error)
	// MerchantByAPIKey returns the merchant owning token; an unknown token is
	// ErrNotFound.
	MerchantByAPIKey(ctx context.Context, token string) (*evercast.Merchant, error)

	CreateAnchor(ctx context.Context, a *evercast.Anchor) error
	GetAnchor(ctx context.Context, id string) (*evercast.Anchor, error)
	ListAnchors(ctx context.Context, merchantID string) ([]*evercast.Anchor, error)
	UpdateAnchor(ctx context.Context, a *evercast.Anchor) error
	DeleteAnchor(ctx context.Context, id string) error

	CreateProduct(ctx context.Context, p *evercast.Product) error
	GetProduct(ctx context.Context, id string) (*evercast.Product, error)
	ListProducts(ctx context.Context, merchantID string) ([]*evercast.Product, error)
	UpdateProduct(ctx context.Context, p *evercast.Product) error
	DeleteProduct(ctx context.Context, id string) error

	CreateSession(ctx context.Context, s *evercast.Session) error
	GetSession(ctx context.Context, id string) (*evercast.Session, error)
	ListSessions(ctx context.Context, merchantID string) ([]*evercast.Session, error)
	UpdateSession(ctx context.Context, s *evercast.Session) error
	DeleteSession(ctx context.Context, id string) error
}

// Controller runs sessions: the orchestrator. Errors wrap evercast.ErrNotFound
// (a session it does not know), evercast.ErrConflict (starting a session on
// air, stopping one that has ended) or evercast.ErrInvalid.
type Controller interface {
	Start(ctx context.Context, sessionID string) (*evercast.Session, error)
	Stop(ctx context.Context, sessionID string) (*evercast.Session, error)
	Status(ctx context.Context, sessionID string) (*evercast.SessionStatus, error)
	Rundown(ctx context.Context, sessionID string) (*evercast.Rundown, error)
}

// DefaultMaxBody is the default limit on a request body.
const DefaultMaxBody = 1 << 20

// Config is what the API needs. Store is required.
type Config struct {
	Store Store
	// Control is the orchestrator. When nil, start, stop and rundown answer
	// 503 and a session's status is its stored state only.
	Control Controller
	// Interactions takes viewer comments. When nil, the comment routes
	// answer 503.
	Interactions Interactions
	// Ops runs commands, the kill switch, approvals and audit reads. When
	// nil, those routes answer 503.
	Ops Operations
	// Webhooks keeps webhook registrations. When nil, the webhook routes
	// answer 503.
	Webhooks Webhooks
	// WebSocket serves the control channel at /v1/ws/control.
	WebSocket http.Handler
	// AdminToken is the operator token. Empty disables operator access.
	AdminToken string
	// HLSDir returns the directory of a session's live HLS window
	// (index.m3u8 and its segments). Nil disables the HLS preview.
	HLSDir func(sessionID string) string
	// Metrics receives the API's HTTP metrics and is what /metrics exposes.
	// Nil means a private registry.
	Metrics *prometheus.Registry
	// Log receives one line per request and every internal error. Nil
	// discards.
	Log *slog.Logger
	// MaxBody limits a request body in bytes; 0 means DefaultMaxBody.
	MaxBody int64
	// Version is reported by /healthz.
	Version string
}

// Server is the HTTP edge. It is safe for concurrent use.
type Server struct {
	store        Store
	control      Controller
	interactions Interactions
	ws           http.Handler
	ops          Operations
	webhooks     Webhooks
	adminHash    *[sha256.Size]byte
	hlsDir       func(string) string
	registry     *prometheus.Registry
	log          *slog.Logger
	maxBody      int64
	version      string

	metrics        *httpMetrics
	metricsHandler http.Handler
	mux            *http.ServeMux
	handler        http.Handler
}

// New builds a Server from cfg.
func New(cfg Config) *Server {
	s := &Server{
		store:        cfg.Store,
		control:      cfg.Control,
		interactions: cfg.Interactions,
		ws:           cfg.WebSocket,
		ops:          cfg.Ops,
		webhooks:     cfg.Webhooks,
		hlsDir:       cfg.HLSDir,
		registry:     cfg.Metrics,
		log:          cfg.Log,
		maxBody:      cfg.MaxBody,
		version:      cfg.Version,
	}
	if cfg.AdminToken != "" {
		h := sha256.Sum256([]byte(cfg.AdminToken))
		s.adminHash = &h
	}
	if s.registry == nil {
		s.registry = prometheus.NewRegistry()
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBody
	}
	s.metrics = newHTTPMetrics(s.registry, s.version)
	s.metricsHandler = newMetricsHandler(s.registry, s.log)
	s.mux = http.NewServeMux()
	for _, rt := range s.routes() {
		s.mux.Handle(rt.method+" "+rt.pattern, s.adapt(rt))
	}
	s.handler = s.instrument(s.muxErrorsAsJSON(s.mux))
	return s
}

// Handler returns the server's HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }
