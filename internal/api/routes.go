package api

import (
	"net/http"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/console"
)

// access says who may call a route.
type access int

const (
	public   access = iota // no token
	anyToken               // the operator token or a merchant API key
	operator               // the operator token only
)

// handlerFunc serves one route. c is nil on public routes. A returned error
// is written as the JSON error response.
type handlerFunc func(w http.ResponseWriter, r *http.Request, c *caller) error

// route is one entry of the route table.
type route struct {
	method  string // GET also answers HEAD
	pattern string // a net/http ServeMux path pattern
	access  access
	handle  handlerFunc
	// console marks the console's static files and the websocket, which the
	// OpenAPI document does not describe.
	console bool
}

// routes is the route table: it registers the handlers and is what the
// OpenAPI document is checked against.
func (s *Server) routes() []route {
	consoleFiles := adaptHandler(console.Handler())
	return []route{
		{method: "GET", pattern: "/healthz", access: public, handle: s.healthz},
		{method: "GET", pattern: "/metrics", access: operator, handle: s.serveMetrics},
		{method: "GET", pattern: "/v1/openapi.json", access: public, handle: serveOpenAPI},
		{method: "GET", pattern: "/{$}", access: public, handle: consoleFiles, console: true},
		{method: "GET", pattern: console.AssetPrefix, access: public, handle: consoleFiles, console: true},
		// The control channel authenticates the upgrade itself (a token in
		// the header or the websocket subprotocol); its protocol is
		// docs/control-protocol.md, not OpenAPI.
		{method: "GET", pattern: "/v1/ws/control", access: public, handle: s.serveControl, console: true},

		{method: "POST", pattern: "/v1/merchants", access: operator, handle: s.createMerchant},
		{method: "GET", pattern: "/v1/merchants", access: operator, handle: s.listMerchants},
		{method: "GET", pattern: "/v1/merchants/{id}", access: anyToken, handle: s.getMerchant},
		{method: "POST", pattern: "/v1/merchants/{id}/keys", access: operator, handle: s.createAPIKey},

		{method: "POST", pattern: "/v1/anchors", access: anyToken, handle: s.createAnchor},
		{method: "GET", pattern: "/v1/anchors", access: anyToken, handle: s.listAnchors},
		{method: "GET", pattern: "/v1/anchors/{id}", access: anyToken, handle: s.getAnchor},
		{method: "PUT", pattern: "/v1/anchors/{id}", access: anyToken, handle: s.updateAnchor},
		{method: "DELETE", pattern: "/v1/anchors/{id}", access: anyToken, handle: s.deleteAnchor},

		{method: "POST", pattern: "/v1/products", access: anyToken, handle: s.createProduct},
		{method: "GET", pattern: "/v1/products", access: anyToken, handle: s.listProducts},
		{method: "GET", pattern: "/v1/products/{id}", access: anyToken, handle: s.getProduct},
		{method: "PUT", pattern: "/v1/products/{id}", access: anyToken, handle: s.updateProduct},
		{method: "DELETE", pattern: "/v1/products/{id}", access: anyToken, handle: s.deleteProduct},

		{method: "POST", pattern: "/v1/sessions", access: anyToken, handle: s.createSession},
		{method: "GET", pattern: "/v1/sessions", access: anyToken, handle: s.listSessions},
		{method: "GET", pattern: "/v1/sessions/{id}", access: anyToken, handle: s.getSession},
		{method: "PUT", pattern: "/v1/sessions/{id}", access: anyToken, handle: s.updateSession},
		{method: "DELETE", pattern: "/v1/sessions/{id}", access: anyToken, handle: s.deleteSession},
		{method: "POST", pattern: "/v1/sessions/{id}/start", access: anyToken, handle: s.startSession},
		{method: "POST", pattern: "/v1/sessions/{id}/stop", access: anyToken, handle: s.stopSession},
		{method: "GET", pattern: "/v1/sessions/{id}/status", access: anyToken, handle: s.sessionStatus},
		{method: "GET", pattern: "/v1/sessions/{id}/rundown", access: anyToken, handle: s.sessionRundown},
		{method: "GET", pattern: "/v1/sessions/{id}/hls/{file}", access: anyToken, handle: s.serveHLS},
		{method: "POST", pattern: "/v1/sessions/{id}/comments", access: anyToken, handle: s.postComments},
		{method: "GET", pattern: "/v1/sessions/{id}/comments", access: anyToken, handle: s.listComments},
		{method: "POST", pattern: "/v1/sessions/{id}/commands", access: anyToken, handle: s.postCommand},
		{method: "PUT", pattern: "/v1/sessions/{id}/approval", access: anyToken, handle: s.putApprovalPolicy},
		{method: "GET", pattern: "/v1/sessions/{id}/approvals", access: anyToken, handle: s.listApprovals},
		{method: "POST", pattern: "/v1/approvals/{clip_id}", access: anyToken, handle: s.decideApproval},
		{method: "GET", pattern: "/v1/sessions/{id}/audit", access: anyToken, handle: s.listAudit},
		{method: "GET", pattern: "/v1/sessions/{id}/audit/verify", access: anyToken, handle: s.verifyAudit},
		{method: "POST", pattern: "/v1/merchants/{id}/cut", access: operator, handle: s.cutMerchant},
		{method: "POST", pattern: "/v1/catalog", access: anyToken, handle: s.importCatalog},
		{method: "GET", pattern: "/v1/catalog", access: anyToken, handle: s.exportCatalog},

		{method: "POST", pattern: "/v1/webhooks", access: anyToken, handle: s.createWebhook},
		{method: "GET", pattern: "/v1/webhooks", access: anyToken, handle: s.listWebhooks},
		{method: "GET", pattern: "/v1/webhooks/{id}", access: anyToken, handle: s.getWebhook},
		{method: "DELETE", pattern: "/v1/webhooks/{id}", access: anyToken, handle: s.deleteWebhook},
		{method: "GET", pattern: "/v1/webhooks/{id}/deliveries", access: anyToken, handle: s.listWebhookDeliveries},
	}
}

// adaptHandler serves a route with a plain http.Handler.
func adaptHandler(h http.Handler) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, _ *caller) error {
		h.ServeHTTP(w, r)
		return nil
	}
}

// adapt wraps a route's handler with authentication and error writing.
func (s *Server) adapt(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info := infoOf(r.Context())
		info.route = rt.pattern
		var c *caller
		if rt.access != public {
			var err error
			c, err = s.authenticate(r)
			if err != nil {
				s.writeError(w, r, err)
				return
			}
			info.caller = c.String()
			r = r.WithContext(evercast.WithActor(r.Context(), actorOf(c)))
			if rt.access == operator && !c.operator {
				s.writeError(w, r, errForbidden)
				return
			}
		}
		if err := rt.handle(w, r, c); err != nil {
			s.writeError(w, r, err)
		}
	})
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request, _ *caller) error {
	return writeJSON(w, http.StatusOK, health{Status: "ok", Version: s.version})
}

// health is the /healthz answer.
type health struct {
	Status  string `json:"status"`
	Version string `json:"version,omitempty"`
}

// actorOf names the caller in audit records: "operator" or
// "merchant:<id>".
func actorOf(c *caller) string {
	if c.operator {
		return "operator"
	}
	return "merchant:" + c.merchant.ID
}

func (s *Server) serveControl(w http.ResponseWriter, r *http.Request, _ *caller) error {
	if s.ws == nil {
		return errNoController
	}
	s.ws.ServeHTTP(w, r)
	return nil
}
