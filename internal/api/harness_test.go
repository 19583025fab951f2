package api

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/api/apitest"
)

var (
	_ Store      = (*apitest.Store)(nil)
	_ Controller = (*apitest.Controller)(nil)
)

const adminToken = "test-operator-token-9f3c"

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// env is one API server over in-memory stand-ins.
type env struct {
	t      *testing.T
	srv    *httptest.Server
	store  *apitest.Store
	ctl    *apitest.Controller
	reg    *prometheus.Registry
	logs   *syncBuffer
	hlsDir string
	api    *Server
}

type envOption func(*Config)

func newEnv(t *testing.T, opts ...envOption) *env {
	t.Helper()
	e := &env{t: t, store: apitest.NewStore(), reg: prometheus.NewRegistry(), logs: &syncBuffer{}, hlsDir: t.TempDir()}
	e.ctl = apitest.StateController(e.store, 42.5)
	cfg := Config{
		Store:      e.store,
		Control:    e.ctl,
		AdminToken: adminToken,
		HLSDir:     func(id string) string { return e.hlsDir + "/" + id },
		Metrics:    e.reg,
		Log:        slog.New(slog.NewJSONHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Version:    "test",
	}
	for _, o := range opts {
		o(&cfg)
	}
	e.api = New(cfg)
	e.srv = httptest.NewServer(e.api.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

// response is a finished HTTP exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// json decodes the body into a generic value.
func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return v
}

// errorField returns the error code and field of an error response.
func (r response) errorOf(t *testing.T) (code, field string) {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(r.body, &b); err != nil || b.Error.Code == "" {
		t.Fatalf("status %d: body is not a JSON error: %v\n%s", r.status, err, r.body)
	}
	return b.Error.Code, b.Error.Field
}

// req is a request to send.
type req struct {
	method, path, token string
	body                any // string or []byte sent as is; anything else marshalled
	contentType         string
	header              map[string]string
}

func (e *env) do(r req) response {
	e.t.Helper()
	var body io.Reader
	ctype := r.contentType
	switch b := r.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		body = bytes.NewReader(j)
	}
	if body != nil && ctype == "" {
		ctype = "application/json"
	}
	hr, err := http.NewRequest(r.method, e.srv.URL+r.path, body)
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		hr.Header.Set("Content-Type", ctype)
	}
	if r.token != "" {
		hr.Header.Set("Authorization", "Bearer "+r.token)
	}
	for k, v := range r.header {
		hr.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(hr)
	if err != nil {
		e.t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: b}
}

// must sends r and fails the test unless the status is want; it decodes the
// body into out when out is not nil.
func (e *env) must(want int, r req, out any) response {
	e.t.Helper()
	resp := e.do(r)
	if resp.status != want {
		e.t.Fatalf("%s %s: status %d, want %d\n%s", r.method, r.path, resp.status, want, resp.body)
	}
	if out != nil {
		if err := json.Unmarshal(resp.body, out); err != nil {
			e.t.Fatalf("%s %s: decode: %v\n%s", r.method, r.path, err, resp.body)
		}
	}
	return resp
}

// merchant creates a merchant through the API and returns it with a key.
func (e *env) merchant(name string) (*evercast.Merchant, string) {
	e.t.Helper()
	var m evercast.Merchant
	e.must(201, req{method: "POST", path: "/v1/merchants", token: adminToken, body: map[string]any{"name": name}}, &m)
	var k apiKey
	e.must(201, req{method: "POST", path: "/v1/merchants/" + m.ID + "/keys", token: adminToken}, &k)
	return &m, k.Token
}

func anchorBody() map[string]any {
	return map[string]any{
		"name": "小雅", "persona": "温柔的茶艺师", "language": "zh",
		"voice": map[string]any{"provider": "espeak", "name": "cmn-latn-pinyin", "rate": 170},
	}
}

func productBody(sku string) map[string]any {
	return map[string]any{
		"sku": sku, "title": map[string]any{"zh": "明前龙井", "en": "Longjing tea"}, "category": "tea",
		"price": 129.9, "promo_price": 99, "stock": 500, "sales_30d": 12,
		"price_history":  []any{map[string]any{"date": "2025-10-01", "price": 129.9}},
		"selling_points": []any{"清香", map[string]any{"en": "Hand-fried"}},
		"facts":          map[string]any{"origin_area": "西湖"},
	}
}

func sessionBody(anchorID string, productIDs ...string) map[string]any {
	return map[string]any{
		"anchor_id": anchorID, "title": "龙井专场", "product_ids": productIDs,
		"schedule": map[string]any{"mode": "windows", "time_zone": "Asia/Shanghai",
			"windows": []any{map[string]any{"start": "09:00", "end": "23:00"}}},
		"outputs": []any{map[string]any{"name": "douyin", "url": "rtmp://127.0.0.1/live/key"}},
	}
}

// catalog creates an anchor, a product and a session for the merchant key.
func (e *env) catalog(token string) (a *evercast.Anchor, p *evercast.Product, s *evercast.Session) {
	e.t.Helper()
	a, p, s = new(evercast.Anchor), new(evercast.Product), new(evercast.Session)
	e.must(201, req{method: "POST", path: "/v1/anchors", token: token, body: anchorBody()}, a)
	e.must(201, req{method: "POST", path: "/v1/products", token: token, body: productBody("LJ-1")}, p)
	e.must(201, req{method: "POST", path: "/v1/sessions", token: token, body: sessionBody(a.ID, p.ID)}, s)
	return a, p, s
}
