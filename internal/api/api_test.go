package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/evercast/evercast"
)

func TestAuth(t *testing.T) {
	e := newEnv(t)
	_, key := e.merchant("Tea House")
	tests := []struct {
		name      string
		path      string
		header    string // Authorization
		want      int
		challenge string // part of WWW-Authenticate expected on 401
	}{
		{name: "no token", path: "/v1/sessions", want: 401, challenge: `Bearer realm="evercast"`},
		{name: "unknown token", path: "/v1/sessions", header: "Bearer nope", want: 401, challenge: `error="invalid_token"`},
		{name: "wrong scheme", path: "/v1/sessions", header: "Basic " + adminToken, want: 401, challenge: "Bearer"},
		{name: "empty bearer", path: "/v1/sessions", header: "Bearer ", want: 401, challenge: "Bearer"},
		{name: "token with a space", path: "/v1/sessions", header: "Bearer a b", want: 401, challenge: "Bearer"},
		{name: "admin token prefix", path: "/v1/sessions", header: "Bearer " + adminToken[:10], want: 401, challenge: "Bearer"},
		{name: "operator", path: "/v1/sessions", header: "Bearer " + adminToken, want: 200},
		{name: "operator, lower-case scheme", path: "/v1/sessions", header: "bearer " + adminToken, want: 200},
		{name: "merchant", path: "/v1/sessions", header: "Bearer " + key, want: 200},
		{name: "merchant lists merchants", path: "/v1/merchants", header: "Bearer " + key, want: 403},
		{name: "merchant reads metrics", path: "/metrics", header: "Bearer " + key, want: 403},
		{name: "metrics without token", path: "/metrics", want: 401, challenge: "Bearer"},
		{name: "operator reads metrics", path: "/metrics", header: "Bearer " + adminToken, want: 200},
		{name: "hls without token", path: "/v1/sessions/ses_x/hls/index.m3u8", want: 401, challenge: "Bearer"},
		{name: "healthz is public", path: "/healthz", want: 200},
		{name: "openapi is public", path: "/v1/openapi.json", want: 200},
		{name: "console is public", path: "/", want: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{}
			if tt.header != "" {
				h["Authorization"] = tt.header
			}
			r := e.do(req{method: "GET", path: tt.path, header: h})
			if r.status != tt.want {
				t.Fatalf("status %d, want %d: %s", r.status, tt.want, r.body)
			}
			if tt.want == 401 {
				if got := r.header.Get("WWW-Authenticate"); !strings.Contains(got, tt.challenge) {
					t.Errorf("WWW-Authenticate %q, want it to contain %q", got, tt.challenge)
				}
				if code, _ := r.errorOf(t); code != codeUnauthorized {
					t.Errorf("code %q", code)
				}
			}
			if tt.want == 403 {
				if code, _ := r.errorOf(t); code != codeForbidden {
					t.Errorf("code %q", code)
				}
			}
		})
	}
}

func TestNoOperatorWithoutAdminToken(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AdminToken = "" })
	r := e.do(req{method: "GET", path: "/v1/sessions", header: map[string]string{"Authorization": "Bearer "}})
	if r.status != 401 {
		t.Fatalf("empty admin token: status %d", r.status)
	}
}

func TestCrossMerchantIsolation(t *testing.T) {
	e := newEnv(t)
	ma, keyA := e.merchant("A")
	mb, keyB := e.merchant("B")
	a, p, s := e.catalog(keyA)
	e.must(200, req{method: "POST", path: "/v1/sessions/" + s.ID + "/start", token: keyA}, nil)
	_ = mb

	// B sees nothing of A's: every object answers 404, like a missing one.
	for _, r := range []req{
		{method: "GET", path: "/v1/merchants/" + ma.ID},
		{method: "POST", path: "/v1/merchants/" + ma.ID + "/keys"},
		{method: "GET", path: "/v1/anchors/" + a.ID},
		{method: "PUT", path: "/v1/anchors/" + a.ID, body: anchorBody()},
		{method: "DELETE", path: "/v1/anchors/" + a.ID},
		{method: "GET", path: "/v1/products/" + p.ID},
		{method: "PUT", path: "/v1/products/" + p.ID, body: productBody("X")},
		{method: "DELETE", path: "/v1/products/" + p.ID},
		{method: "GET", path: "/v1/sessions/" + s.ID},
		{method: "PUT", path: "/v1/sessions/" + s.ID, body: sessionBody(a.ID, p.ID)},
		{method: "DELETE", path: "/v1/sessions/" + s.ID},
		{method: "POST", path: "/v1/sessions/" + s.ID + "/start"},
		{method: "POST", path: "/v1/sessions/" + s.ID + "/stop"},
		{method: "GET", path: "/v1/sessions/" + s.ID + "/status"},
		{method: "GET", path: "/v1/sessions/" + s.ID + "/rundown"},
		{method: "GET", path: "/v1/sessions/" + s.ID + "/hls/index.m3u8"},
	} {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			r.token = keyB
			got := e.do(r)
			want := 404
			if r.path == "/v1/merchants/"+ma.ID+"/keys" {
				want = 403 // operator-only route: refused before any lookup
			}
			if got.status != want {
				t.Fatalf("status %d, want %d: %s", got.status, want, got.body)
			}
			missing := e.do(req{method: r.method, path: strings.Replace(r.path, strings.Split(strings.TrimPrefix(r.path, "/v1/"), "/")[1], "ses_00000000000000000000", 1), token: keyB, body: r.body})
			if want == 404 && string(missing.body) != string(got.body) {
				t.Errorf("another merchant's object answers differently from a missing one:\n%s\n%s", got.body, missing.body)
			}
		})
	}

	// Lists hold only one's own.
	for _, kind := range []string{"anchors", "products", "sessions"} {
		var l struct{ Items []map[string]any }
		e.must(200, req{method: "GET", path: "/v1/" + kind, token: keyB}, &l)
		if len(l.Items) != 0 {
			t.Errorf("B lists %d of A's %s", len(l.Items), kind)
		}
		e.must(200, req{method: "GET", path: "/v1/" + kind, token: keyA}, &l)
		if len(l.Items) != 1 {
			t.Errorf("A lists %d %s, want 1", len(l.Items), kind)
		}
		e.must(200, req{method: "GET", path: "/v1/" + kind, token: adminToken}, &l)
		if len(l.Items) != 1 {
			t.Errorf("operator lists %d %s, want 1", len(l.Items), kind)
		}
		r := e.do(req{method: "GET", path: "/v1/" + kind + "?merchant_id=" + ma.ID, token: keyB})
		if code, field := r.errorOf(t); r.status != 400 || code != codeInvalid || field != "merchant_id" {
			t.Errorf("B filtering on A: %d %s %s", r.status, code, field)
		}
		e.must(200, req{method: "GET", path: "/v1/" + kind + "?merchant_id=" + mb.ID, token: adminToken}, &l)
		if len(l.Items) != 0 {
			t.Errorf("operator filter on B lists %d %s", len(l.Items), kind)
		}
	}

	// B cannot build on A's objects, nor write into A.
	_, pb, _ := e.catalog(keyB)
	for _, tt := range []struct {
		name  string
		body  map[string]any
		path  string
		field string
	}{
		{"session on A's anchor", sessionBody(a.ID, pb.ID), "/v1/sessions", "anchor_id"},
		{"session with A's product", sessionBody(mustAnchorOf(t, e, keyB), pb.ID, p.ID), "/v1/sessions", "product_ids[1]"},
		{"anchor for A", withField(anchorBody(), "merchant_id", ma.ID), "/v1/anchors", "merchant_id"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{method: "POST", path: tt.path, token: keyB, body: tt.body})
			if code, field := r.errorOf(t); r.status != 400 || code != codeInvalid || field != tt.field {
				t.Fatalf("got %d %s %q, want 400 invalid %q: %s", r.status, code, field, tt.field, r.body)
			}
		})
	}
	// Nothing of A's changed.
	var got evercast.Session
	e.must(200, req{method: "GET", path: "/v1/sessions/" + s.ID, token: keyA}, &got)
	if got.State != evercast.SessionLive {
		t.Errorf("A's session is %s after B's attempts", got.State)
	}
}

func mustAnchorOf(t *testing.T, e *env, token string) string {
	t.Helper()
	var l struct{ Items []evercast.Anchor }
	e.must(200, req{method: "GET", path: "/v1/anchors", token: token}, &l)
	if len(l.Items) == 0 {
		t.Fatal("no anchor")
	}
	return l.Items[0].ID
}

func withField(m map[string]any, k string, v any) map[string]any {
	m[k] = v
	return m
}

func TestMerchants(t *testing.T) {
	e := newEnv(t)
	var m evercast.Merchant
	r := e.must(201, req{method: "POST", path: "/v1/merchants", token: adminToken, body: `{"name":"  Tea House "}`}, &m)
	if m.Name != "Tea House" || !strings.HasPrefix(m.ID, "mer_") || m.CreatedAt.IsZero() {
		t.Fatalf("created %+v", m)
	}
	if loc := r.header.Get("Location"); loc != "/v1/merchants/"+m.ID {
		t.Errorf("Location %q", loc)
	}
	var got evercast.Merchant
	e.must(200, req{method: "GET", path: "/v1/merchants/" + m.ID, token: adminToken}, &got)
	if got.ID != m.ID || got.Name != m.Name {
		t.Errorf("got %+v", got)
	}
	var l list[evercast.Merchant]
	e.must(200, req{method: "GET", path: "/v1/merchants", token: adminToken}, &l)
	if len(l.Items) != 1 || l.Items[0].ID != m.ID {
		t.Errorf("list %+v", l)
	}
	var k apiKey
	r = e.must(201, req{method: "POST", path: "/v1/merchants/" + m.ID + "/keys", token: adminToken}, &k)
	if k.Token == "" || k.MerchantID != m.ID || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("key %+v, Cache-Control %q", k, r.header.Get("Cache-Control"))
	}
	// The key works, and reads its own merchant.
	e.must(200, req{method: "GET", path: "/v1/merchants/" + m.ID, token: k.Token}, nil)
	e.must(404, req{method: "POST", path: "/v1/merchants/mer_missing/keys", token: adminToken}, nil)
	e.must(404, req{method: "GET", path: "/v1/merchants/mer_missing", token: adminToken}, nil)
}

func TestAnchorCRUD(t *testing.T) {
	e := newEnv(t)
	_, key := e.merchant("M")
	var a evercast.Anchor
	r := e.must(201, req{method: "POST", path: "/v1/anchors", token: key, body: anchorBody()}, &a)
	if r.header.Get("Location") != "/v1/anchors/"+a.ID || !strings.HasPrefix(a.ID, "anc_") {
		t.Fatalf("Location %q id %q", r.header.Get("Location"), a.ID)
	}
	if a.AvatarPack != evercast.DefaultAvatarPack || a.Voice.Rate != 170 || a.MerchantID == "" {
		t.Errorf("created %+v", a)
	}
	var got evercast.Anchor
	e.must(200, req{method: "GET", path: "/v1/anchors/" + a.ID, token: key}, &got)
	if got.Name != "小雅" || got.Persona != a.Persona {
		t.Errorf("got %+v", got)
	}
	// Replace, sending back what GET gave (read-only fields included).
	got.Name = "Grace"
	got.Language = evercast.LangEN
	e.must(200, req{method: "PUT", path: "/v1/anchors/" + a.ID, token: key, body: got}, &got)
	var after evercast.Anchor
	e.must(200, req{method: "GET", path: "/v1/anchors/" + a.ID, token: key}, &after)
	if after.Name != "Grace" || after.Language != evercast.LangEN || !after.CreatedAt.Equal(a.CreatedAt) || after.MerchantID != a.MerchantID {
		t.Errorf("after PUT %+v", after)
	}
	var l list[evercast.Anchor]
	e.must(200, req{method: "GET", path: "/v1/anchors", token: key}, &l)
	if len(l.Items) != 1 {
		t.Errorf("list %d", len(l.Items))
	}
	e.must(204, req{method: "DELETE", path: "/v1/anchors/" + a.ID, token: key}, nil)
	e.must(404, req{method: "GET", path: "/v1/anchors/" + a.ID, token: key}, nil)
	e.must(404, req{method: "DELETE", path: "/v1/anchors/" + a.ID, token: key}, nil)
}

func TestProductCRUD(t *testing.T) {
	e := newEnv(t)
	m, _ := e.merchant("M")
	var p evercast.Product
	// The operator names the merchant.
	e.must(201, req{method: "POST", path: "/v1/products", token: adminToken, body: withField(productBody("LJ-1"), "merchant_id", m.ID)}, &p)
	if p.Price != 12990 || p.PromoPrice == nil || *p.PromoPrice != 9900 || p.Currency != "CNY" || p.MerchantID != m.ID {
		t.Fatalf("created %+v", p)
	}
	if p.SellingPoints[0]["zh"] != "清香" || p.SellingPoints[1]["en"] != "Hand-fried" {
		t.Errorf("selling points %+v", p.SellingPoints)
	}
	body := productBody("LJ-1")
	body["price"] = "139.00"
	delete(body, "promo_price")
	var got evercast.Product
	e.must(200, req{method: "PUT", path: "/v1/products/" + p.ID, token: adminToken, body: body}, &got)
	if got.Price != 13900 || got.PromoPrice != nil || got.MerchantID != m.ID {
		t.Errorf("after PUT %+v", got)
	}
	// A second product with the same SKU clashes in the store.
	e.must(409, req{method: "POST", path: "/v1/products", token: adminToken, body: withField(productBody("LJ-1"), "merchant_id", m.ID)}, nil)
	e.must(204, req{method: "DELETE", path: "/v1/products/" + p.ID, token: adminToken}, nil)
	e.must(404, req{method: "GET", path: "/v1/products/" + p.ID, token: adminToken}, nil)
}

func TestSessionCRUDAndControl(t *testing.T) {
	e := newEnv(t)
	_, key := e.merchant("M")
	a, p, s := e.catalog(key)
	if s.State != evercast.SessionScheduled || s.LookaheadSeconds != evercast.DefaultLookaheadSeconds || s.Orientation != evercast.Landscape {
		t.Fatalf("created %+v", s)
	}

	// Not started: status is the stored state.
	var st evercast.SessionStatus
	e.must(200, req{method: "GET", path: "/v1/sessions/" + s.ID + "/status", token: key}, &st)
	if st.State != evercast.SessionScheduled || st.OnAir != nil {
		t.Errorf("status before start %+v", st)
	}
	var rd evercast.Rundown
	e.must(200, req{method: "GET", path: "/v1/sessions/" + s.ID + "/rundown", token: key}, &rd)

	// Replace while scheduled.
	body := sessionBody(a.ID, p.ID)
	body["title"] = "Evening"
	body["lookahead_seconds"] = 120
	body["state"] = "live" // read-only: ignored
	var put evercast.Session
	e.must(200, req{method: "PUT", path: "/v1/sessions/" + s.ID, token: key, body: body}, &put)
	if put.Title != "Evening" || put.LookaheadSeconds != 120 || put.State != evercast.SessionScheduled {
		t.Errorf("after PUT %+v", put)
	}

	// Start: live, with the orchestrator's status.
	var view struct {
		evercast.Session
		Status *evercast.SessionStatus `json:"status"`
	}
	e.must(200, req{method: "POST", path: "/v1/sessions/" + s.ID + "/start", token: key}, &view)
	if view.State != evercast.SessionLive || view.Status == nil || view.Status.BufferAheadSeconds != 42.5 {
		t.Fatalf("after start %+v status %+v", view.Session, view.Status)
	}
	e.must(200, req{method: "GET", path: "/v1/sessions/" + s.ID, token: key}, &view)
	if view.Status == nil || view.Status.OnAir == nil || len(view.Status.Next) != 2 || view.Status.HLS != "/v1/sessions/"+s.ID+"/hls/index.m3u8" {
		t.Errorf("GET session status %+v", view.Status)
	}
	e.must(200, req{method: "GET", path: "/v1/sessions/" + s.ID + "/rundown", token: key}, &rd)
	if rd.SessionID != s.ID || len(rd.Clips) != 4 || rd.Clips[1].State != evercast.ClipOnAir {
		t.Errorf("rundown %+v", rd)
	}

	// On air: no second start, no change, no delete, no deleting what it uses.
	for _, r := range []req{
		{method: "POST", path: "/v1/sessions/" + s.ID + "/start"},
		{method: "PUT", path: "/v1/sessions/" + s.ID, body: sessionBody(a.ID, p.ID)},
		{method: "DELETE", path: "/v1/sessions/" + s.ID},
		{method: "DELETE", path: "/v1/anchors/" + a.ID},
		{method: "DELETE", path: "/v1/products/" + p.ID},
	} {
		r.token = key
		got := e.do(r)
		if code, _ := got.errorOf(t); got.status != 409 || code != codeConflict {
			t.Errorf("%s %s: %d %s, want 409 conflict", r.method, r.path, got.status, code)
		}
	}

	e.must(200, req{method: "POST", path: "/v1/sessions/" + s.ID + "/stop", token: key}, &view)
	if view.State != evercast.SessionEnded {
		t.Errorf("after stop %s", view.State)
	}
	e.must(409, req{method: "POST", path: "/v1/sessions/" + s.ID + "/stop", token: key}, nil)
	var l list[evercast.Session]
	e.must(200, req{method: "GET", path: "/v1/sessions", token: key}, &l)
	if len(l.Items) != 1 || l.Items[0].ID != s.ID {
		t.Errorf("list %+v", l.Items)
	}
	e.must(204, req{method: "DELETE", path: "/v1/sessions/" + s.ID, token: key}, nil)
	e.must(404, req{method: "GET", path: "/v1/sessions/" + s.ID, token: key}, nil)
	e.must(204, req{method: "DELETE", path: "/v1/anchors/" + a.ID, token: key}, nil)
}

func TestNoController(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Control = nil })
	_, key := e.merchant("M")
	_, _, s := e.catalog(key)
	for _, path := range []string{"/start", "/stop"} {
		r := e.do(req{method: "POST", path: "/v1/sessions/" + s.ID + path, token: key})
		if code, _ := r.errorOf(t); r.status != 503 || code != codeUnavailable {
			t.Errorf("%s without orchestrator: %d %s", path, r.status, code)
		}
	}
	var st evercast.SessionStatus
	e.must(200, req{method: "GET", path: "/v1/sessions/" + s.ID + "/status", token: key}, &st)
	if st.State != evercast.SessionScheduled {
		t.Errorf("status %+v", st)
	}
}

func TestStatusFailureKeepsSession(t *testing.T) {
	e := newEnv(t)
	_, key := e.merchant("M")
	_, _, s := e.catalog(key)
	e.ctl.StatusFunc = func(context.Context, string) (*evercast.SessionStatus, error) {
		return nil, errors.New("orchestrator unreachable")
	}
	r := e.must(200, req{method: "GET", path: "/v1/sessions/" + s.ID, token: key}, nil)
	if _, ok := r.json(t)["status"]; ok {
		t.Errorf("status present though the orchestrator failed: %s", r.body)
	}
	r = e.do(req{method: "GET", path: "/v1/sessions/" + s.ID + "/status", token: key})
	if code, _ := r.errorOf(t); r.status != 500 || code != codeInternal || strings.Contains(string(r.body), "unreachable") {
		t.Errorf("status endpoint: %d %s", r.status, r.body)
	}
	if !strings.Contains(e.logs.String(), "orchestrator unreachable") {
		t.Error("the internal error was not logged")
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t)
	m, key := e.merchant("M")
	a, p, s := e.catalog(key)
	set := func(body map[string]any, kv ...any) map[string]any {
		for i := 0; i < len(kv); i += 2 {
			body[kv[i].(string)] = kv[i+1]
		}
		return body
	}
	tests := []struct {
		name   string
		method string
		path   string
		token  string
		body   any
		field  string
	}{
		{"merchant without name", "POST", "/v1/merchants", adminToken, `{"name":"  "}`, "name"},
		{"merchant with id", "POST", "/v1/merchants", adminToken, `{"id":"mer_x","name":"x"}`, "id"},
		{"anchor without name", "POST", "/v1/anchors", key, set(anchorBody(), "name", ""), "name"},
		{"anchor bad language", "POST", "/v1/anchors", key, set(anchorBody(), "language", "fr"), "language"},
		{"anchor language wrong type", "POST", "/v1/anchors", key, set(anchorBody(), "language", 7), "language"},
		{"anchor voice rate wrong type", "POST", "/v1/anchors", key, set(anchorBody(), "voice", map[string]any{"rate": "fast"}), "voice.rate"},
		{"anchor unknown voice field", "POST", "/v1/anchors", key, set(anchorBody(), "voice", map[string]any{"pitch": 3}), "voice.pitch"},
		{"anchor bad voice provider", "POST", "/v1/anchors", key, set(anchorBody(), "voice", map[string]any{"provider": "x"}), "voice.provider"},
		{"anchor bad avatar pack", "POST", "/v1/anchors", key, set(anchorBody(), "avatar_pack", "../etc"), "avatar_pack"},
		{"anchor unknown field", "POST", "/v1/anchors", key, set(anchorBody(), "colour", "red"), "colour"},
		{"anchor with id", "POST", "/v1/anchors", key, set(anchorBody(), "id", "anc_mine"), "id"},
		{"operator without merchant_id", "POST", "/v1/anchors", adminToken, anchorBody(), "merchant_id"},
		{"operator with unknown merchant", "POST", "/v1/anchors", adminToken, set(anchorBody(), "merchant_id", "mer_nobody"), "merchant_id"},
		{"operator with malformed merchant", "POST", "/v1/anchors", adminToken, set(anchorBody(), "merchant_id", "../x"), "merchant_id"},
		{"anchor PUT changes id", "PUT", "/v1/anchors/" + a.ID, key, set(anchorBody(), "id", "anc_other"), "id"},
		{"anchor PUT changes merchant", "PUT", "/v1/anchors/" + a.ID, adminToken, set(anchorBody(), "merchant_id", "mer_other"), "merchant_id"},
		{"anchor PUT no name", "PUT", "/v1/anchors/" + a.ID, key, set(anchorBody(), "name", ""), "name"},
		{"product without sku", "POST", "/v1/products", key, set(productBody(""), "sku", " "), "sku"},
		{"product bad price", "POST", "/v1/products", key, set(productBody("X"), "price", "abc"), "price"},
		{"product price three decimals", "POST", "/v1/products", key, set(productBody("X"), "price", 1.234), "price"},
		{"product negative price", "POST", "/v1/products", key, set(productBody("X"), "price", -1), "price"},
		{"product zero price", "POST", "/v1/products", key, set(productBody("X"), "price", 0), "price"},
		{"product price bool", "POST", "/v1/products", key, set(productBody("X"), "price", true), "price"},
		{"product negative stock", "POST", "/v1/products", key, set(productBody("X"), "stock", -3), "stock"},
		{"product stock wrong type", "POST", "/v1/products", key, set(productBody("X"), "stock", "ten"), "stock"},
		{"product stock fraction", "POST", "/v1/products", key, set(productBody("X"), "stock", 1.5), "stock"},
		{"product stock overflow", "POST", "/v1/products", key, set(productBody("X"), "stock", 1e30), "stock"},
		{"product promo above price", "POST", "/v1/products", key, set(productBody("X"), "promo_price", 200), "promo_price"},
		{"product bad category", "POST", "/v1/products", key, set(productBody("X"), "category", "weapons"), "category"},
		{"product bad currency", "POST", "/v1/products", key, set(productBody("X"), "currency", "yuan"), "currency"},
		{"product title missing", "POST", "/v1/products", key, set(productBody("X"), "title", nil), "title"},
		{"product title wrong type", "POST", "/v1/products", key, set(productBody("X"), "title", 5), "title"},
		{"product title bad language", "POST", "/v1/products", key, set(productBody("X"), "title", map[string]any{"zh": "茶", "fr": "thé"}), "title"},
		{"product history date", "POST", "/v1/products", key, set(productBody("X"), "price_history", []any{map[string]any{"date": "2025-10-01", "price": 1}, map[string]any{"date": "10/01", "price": 1}}), "price_history[1].date"},
		{"product history price", "POST", "/v1/products", key, set(productBody("X"), "price_history", []any{map[string]any{"date": "2025-10-01", "price": 1}, map[string]any{"date": "2025-10-02", "price": "x"}}), "price_history[1].price"},
		{"product history unknown field", "POST", "/v1/products", key, set(productBody("X"), "price_history", []any{map[string]any{"date": "2025-10-01", "price": 1, "note": "sale"}}), "price_history[0].note"},
		{"product facts wrong type", "POST", "/v1/products", key, set(productBody("X"), "facts", []any{"a"}), "facts"},
		{"product fact key", "POST", "/v1/products", key, set(productBody("X"), "facts", map[string]any{"bad key": "v"}), "facts"},
		{"session without anchor", "POST", "/v1/sessions", key, set(sessionBody("", p.ID)), "anchor_id"},
		{"session unknown anchor", "POST", "/v1/sessions", key, sessionBody("anc_nope", p.ID), "anchor_id"},
		{"session no products", "POST", "/v1/sessions", key, sessionBody(a.ID), "product_ids"},
		{"session unknown product", "POST", "/v1/sessions", key, sessionBody(a.ID, p.ID, "prd_nope"), "product_ids[1]"},
		{"session repeated product", "POST", "/v1/sessions", key, sessionBody(a.ID, p.ID, p.ID), "product_ids[1]"},
		{"session product ids wrong type", "POST", "/v1/sessions", key, set(sessionBody(a.ID), "product_ids", "prd_x"), "product_ids"},
		{"session product id wrong type", "POST", "/v1/sessions", key, set(sessionBody(a.ID), "product_ids", []any{p.ID, 5}), "product_ids[1]"},
		{"session bad rtmp url", "POST", "/v1/sessions", key, set(sessionBody(a.ID, p.ID), "outputs", []any{map[string]any{"url": "http://example.invalid/live"}}), "outputs[0].url"},
		{"session bad time zone", "POST", "/v1/sessions", key, set(sessionBody(a.ID, p.ID), "schedule", map[string]any{"mode": "windows", "time_zone": "Mars/Olympus", "windows": []any{map[string]any{"start": "09:00", "end": "10:00"}}}), "schedule.time_zone"},
		{"session bad window", "POST", "/v1/sessions", key, set(sessionBody(a.ID, p.ID), "schedule", map[string]any{"mode": "windows", "time_zone": "Asia/Shanghai", "windows": []any{map[string]any{"start": "9am", "end": "10:00"}}}), "schedule.windows[0].start"},
		{"session bad mode", "POST", "/v1/sessions", key, set(sessionBody(a.ID, p.ID), "schedule", map[string]any{"mode": "sometimes"}), "schedule.mode"},
		{"session schedule unknown field", "POST", "/v1/sessions", key, set(sessionBody(a.ID, p.ID), "schedule", map[string]any{"mode": "always", "tz": "x"}), "schedule.tz"},
		{"session lookahead", "POST", "/v1/sessions", key, set(sessionBody(a.ID, p.ID), "lookahead_seconds", 5), "lookahead_seconds"},
		{"session disclosure off", "POST", "/v1/sessions", key, set(sessionBody(a.ID, p.ID), "disclosure_seconds", 100000), "disclosure_seconds"},
		{"session orientation", "POST", "/v1/sessions", key, set(sessionBody(a.ID, p.ID), "orientation", "square"), "orientation"},
		{"session PUT unknown product", "PUT", "/v1/sessions/" + s.ID, key, sessionBody(a.ID, "prd_nope"), "product_ids[0]"},
		{"session PUT changes id", "PUT", "/v1/sessions/" + s.ID, key, set(sessionBody(a.ID, p.ID), "id", "ses_other"), "id"},
		{"malformed path id", "GET", "/v1/sessions/bad.id", key, nil, "id"},
		{"malformed list filter", "GET", "/v1/sessions?merchant_id=a%20b", adminToken, nil, "merchant_id"},
		{"not JSON", "POST", "/v1/anchors", key, `{"name": `, "body"},
		{"broken JSON", "POST", "/v1/anchors", key, `{"name" "x"}`, "body"},
		{"empty body", "POST", "/v1/anchors", key, ``, "body"},
		{"array body", "POST", "/v1/anchors", key, `[]`, "body"},
		{"string body", "POST", "/v1/anchors", key, `"x"`, "body"},
		{"two objects", "POST", "/v1/anchors", key, `{"name":"a","language":"zh"} {}`, "body"},
	}
	_ = m
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(req{method: tt.method, path: tt.path, token: tt.token, body: tt.body, contentType: "application/json"})
			code, field := r.errorOf(t)
			if r.status != 400 || code != codeInvalid || field != tt.field {
				t.Fatalf("got %d %s field %q, want 400 invalid field %q: %s", r.status, code, field, tt.field, r.body)
			}
		})
	}
}

func TestNotFoundAndMethods(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		method, path string
		token        string
		status       int
		code         string
	}{
		{"GET", "/v1/anchors/anc_missing", adminToken, 404, codeNotFound},
		{"GET", "/v1/products/prd_missing", adminToken, 404, codeNotFound},
		{"GET", "/v1/sessions/ses_missing", adminToken, 404, codeNotFound},
		{"GET", "/v1/sessions/ses_missing/rundown", adminToken, 404, codeNotFound},
		{"POST", "/v1/sessions/ses_missing/start", adminToken, 404, codeNotFound},
		{"GET", "/v1/nothing", adminToken, 404, codeNotFound},
		{"GET", "/v1/nothing", "", 404, codeNotFound},
		{"POST", "/v1/nothing", adminToken, 404, codeNotFound},
		{"GET", "/console/nothing.js", "", 404, ""},
		{"PATCH", "/v1/anchors/anc_x", adminToken, 405, codeMethodNotAllowed},
		{"DELETE", "/v1/anchors", adminToken, 405, codeMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := e.do(req{method: tt.method, path: tt.path, token: tt.token})
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.code != "" {
				if code, _ := r.errorOf(t); code != tt.code {
					t.Errorf("code %q, want %q", code, tt.code)
				}
			}
			if tt.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
}

func TestBodyLimitsAndContentType(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.MaxBody = 4096 })
	_, key := e.merchant("M")
	big := anchorBody()
	big["persona"] = strings.Repeat("字", 3000) // 9000 bytes
	tests := []struct {
		name        string
		method      string
		path        string
		body        any
		contentType string
		chunked     bool
		status      int
		code        string
	}{
		{name: "too large", method: "POST", path: "/v1/anchors", body: big, status: 413, code: codeTooLarge},
		{name: "too large, chunked", method: "POST", path: "/v1/anchors", body: big, chunked: true, status: 413, code: codeTooLarge},
		{name: "no content type", method: "POST", path: "/v1/anchors", body: anchorBody(), contentType: "-", status: 415, code: codeUnsupportedMedia},
		{name: "form", method: "POST", path: "/v1/anchors", body: "name=x", contentType: "application/x-www-form-urlencoded", status: 415, code: codeUnsupportedMedia},
		{name: "text", method: "POST", path: "/v1/products", body: productBody("X"), contentType: "text/plain", status: 415, code: codeUnsupportedMedia},
		{name: "json with charset", method: "POST", path: "/v1/anchors", body: anchorBody(), contentType: "application/json; charset=utf-8", status: 201},
		{name: "problem+json style", method: "POST", path: "/v1/anchors", body: anchorBody(), contentType: "application/merge-patch+json", status: 201},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, _ := json.Marshal(tt.body)
			if s, ok := tt.body.(string); ok {
				b = []byte(s)
			}
			hr, _ := http.NewRequest(tt.method, e.srv.URL+tt.path, strings.NewReader(string(b)))
			if tt.chunked {
				hr.ContentLength = -1
				hr.Body = readerOnly{strings.NewReader(string(b))}
			}
			if tt.contentType != "-" {
				ct := tt.contentType
				if ct == "" {
					ct = "application/json"
				}
				hr.Header.Set("Content-Type", ct)
			}
			hr.Header.Set("Authorization", "Bearer "+key)
			resp, err := e.srv.Client().Do(hr)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.code != "" {
				var eb errorBody
				if err := json.NewDecoder(resp.Body).Decode(&eb); err != nil || eb.Error.Code != tt.code {
					t.Fatalf("error body %+v (%v), want code %s", eb, err, tt.code)
				}
			}
		})
	}
}

// readerOnly hides the concrete reader so that the client sends the body
// chunked, with no Content-Length.
type readerOnly struct{ r *strings.Reader }

func (r readerOnly) Read(p []byte) (int, error) { return r.r.Read(p) }
func (r readerOnly) Close() error               { return nil }

func TestPanicIsA500AndTheServerLivesOn(t *testing.T) {
	e := newEnv(t)
	_, key := e.merchant("M")
	_, _, s := e.catalog(key)
	e.ctl.RundownFunc = func(context.Context, string) (*evercast.Rundown, error) {
		panic("boom in the orchestrator")
	}
	r := e.do(req{method: "GET", path: "/v1/sessions/" + s.ID + "/rundown", token: key})
	if code, _ := r.errorOf(t); r.status != 500 || code != codeInternal {
		t.Fatalf("panic answered %d %s", r.status, r.body)
	}
	if strings.Contains(string(r.body), "boom") {
		t.Errorf("the panic value leaked to the client: %s", r.body)
	}
	e.must(200, req{method: "GET", path: "/healthz"}, nil)
	logs := e.logs.String()
	if !strings.Contains(logs, "handler panic") || !strings.Contains(logs, "boom in the orchestrator") {
		t.Errorf("panic not logged:\n%s", logs)
	}
}

func TestLogs(t *testing.T) {
	e := newEnv(t)
	_, key := e.merchant("M")
	e.must(200, req{method: "GET", path: "/v1/anchors", token: key, header: map[string]string{"X-Request-Id": "req-abc-123"}}, nil)
	e.do(req{method: "GET", path: "/v1/anchors", header: map[string]string{"Authorization": "Bearer wrong-secret-xyz"}})
	logs := e.logs.String()
	for _, secret := range []string{adminToken, key, "wrong-secret-xyz"} {
		if strings.Contains(logs, secret) {
			t.Errorf("a token appears in the logs: %q", secret)
		}
	}
	var found bool
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec[logKeyRequestID] == "req-abc-123" {
			found = true
			if rec[logKeyMethod] != "GET" || rec[logKeyRoute] != "/v1/anchors" || rec[logKeyStatus] != float64(200) || rec[logKeyDuration] == nil || rec[logKeyCaller] == nil {
				t.Errorf("request line %v", rec)
			}
		}
	}
	if !found {
		t.Errorf("no log line carries the client's request id:\n%s", logs)
	}
}

func TestRequestIDHeader(t *testing.T) {
	e := newEnv(t)
	r := e.do(req{method: "GET", path: "/healthz"})
	if id := r.header.Get("X-Request-Id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("generated request id %q", id)
	}
	r = e.do(req{method: "GET", path: "/healthz", header: map[string]string{"X-Request-Id": "bad id <script>"}})
	if id := r.header.Get("X-Request-Id"); !strings.HasPrefix(id, "req_") {
		t.Errorf("a malformed client id was kept: %q", id)
	}
}

func TestHealthz(t *testing.T) {
	e := newEnv(t)
	var h health
	e.must(200, req{method: "GET", path: "/healthz"}, &h)
	if h.Status != "ok" || h.Version != "test" {
		t.Errorf("%+v", h)
	}
}

func TestMetrics(t *testing.T) {
	e := newEnv(t)
	_, key := e.merchant("M")
	for i := 0; i < 3; i++ {
		e.must(200, req{method: "GET", path: fmt.Sprintf("/v1/anchors?i=%d", i), token: key}, nil)
	}
	e.do(req{method: "GET", path: "/v1/anchors/anc_missing", token: key})
	e.do(req{method: "GET", path: "/v1/nothing/here"})
	e.do(req{method: "BREW", path: "/v1/anchors"})
	r := e.must(200, req{method: "GET", path: "/metrics", token: adminToken}, nil)
	text := string(r.body)
	for _, want := range []string{
		`evercast_http_requests_total{code="200",method="GET",route="/v1/anchors"} 3`,
		`evercast_http_requests_total{code="404",method="GET",route="/v1/anchors/{id}"} 1`,
		`evercast_http_requests_total{code="201",method="POST",route="/v1/merchants"} 1`,
		`evercast_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`evercast_http_requests_total{code="405",method="other",route="unmatched"} 1`,
		`evercast_http_request_duration_seconds_count{method="GET",route="/v1/anchors"} 3`,
		`evercast_http_request_duration_seconds_bucket{method="GET",route="/v1/anchors",le="+Inf"} 3`,
		`evercast_build_info{version="test"} 1`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(text, "go_goroutines") {
		t.Error("the default global registry leaked into /metrics")
	}
	// A second server on the same registry shares the collectors.
	New(Config{Store: e.store, Metrics: e.reg})
}
