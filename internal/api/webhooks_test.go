package api

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/webhook"
)

// webhookRows is an in-memory webhook.Store for the API tests.
type webhookRows struct {
	mu         sync.Mutex
	rows       []*store.WebhookRow
	deliveries map[string][]*store.WebhookDelivery // newest first
}

var _ webhook.Store = (*webhookRows)(nil)

func (m *webhookRows) CreateWebhook(_ context.Context, w *store.WebhookRow, maxPerMerchant int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, r := range m.rows {
		if r.MerchantID == w.MerchantID {
			n++
		}
	}
	if maxPerMerchant > 0 && n >= maxPerMerchant {
		return fmt.Errorf("too many webhooks: %w", evercast.ErrConflict)
	}
	w.CreatedAt = time.Date(2025, 3, 1, 8, 0, len(m.rows), 0, time.UTC)
	c := *w
	m.rows = append(m.rows, &c)
	return nil
}

func (m *webhookRows) GetWebhook(_ context.Context, id string) (*store.WebhookRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, r := range m.rows {
		if r.ID == id {
			c := *r
			return &c, nil
		}
	}
	return nil, fmt.Errorf("webhook %s: %w", id, evercast.ErrNotFound)
}

func (m *webhookRows) ListWebhooks(_ context.Context, merchantID string) ([]*store.WebhookRow, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*store.WebhookRow
	for _, r := range m.rows {
		if merchantID == "" || r.MerchantID == merchantID {
			c := *r
			out = append(out, &c)
		}
	}
	return out, nil
}

func (m *webhookRows) DeleteWebhook(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, r := range m.rows {
		if r.ID == id {
			m.rows = slices.Delete(m.rows, i, i+1)
			delete(m.deliveries, id)
			return nil
		}
	}
	return fmt.Errorf("webhook %s: %w", id, evercast.ErrNotFound)
}

func (m *webhookRows) ListWebhookDeliveries(_ context.Context, id string, limit int) ([]*store.WebhookDelivery, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	ds := m.deliveries[id]
	return ds[:min(limit, len(ds))], nil
}

// webhookEnv is an API server with webhooks on the in-memory store.
func webhookEnv(t *testing.T) (*env, *webhookRows) {
	t.Helper()
	rows := &webhookRows{deliveries: map[string][]*store.WebhookDelivery{}}
	svc := webhook.NewService(rows, webhook.ServiceOptions{})
	return newEnv(t, func(c *Config) { c.Webhooks = svc }), rows
}

func TestWebhookRegistration(t *testing.T) {
	e, _ := webhookEnv(t)
	m, key := e.merchant("M")
	_, _, ses := e.catalog(key)

	var created webhook.Created
	r := e.must(201, req{method: "POST", path: "/v1/webhooks", token: key, body: map[string]any{
		"url": "https://platform.example.com/hook", "session_id": ses.ID, "events": []string{"clip.aired", "session.state"}}}, &created)
	if !strings.HasPrefix(created.ID, webhook.IDPrefix+"_") || created.MerchantID != m.ID || created.SessionID != ses.ID ||
		created.URL != "https://platform.example.com/hook" || !slices.Equal(created.Events, []string{"clip.aired", "session.state"}) ||
		!strings.HasPrefix(created.Secret, webhook.SecretPrefix) || created.CreatedAt.IsZero() {
		t.Fatalf("created %+v", created)
	}
	if loc := r.header.Get("Location"); loc != "/v1/webhooks/"+created.ID {
		t.Errorf("Location %q", loc)
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control %q on the answer with the secret", cc)
	}
	if strings.Contains(e.logs.String(), created.Secret) {
		t.Error("the secret is in the log")
	}

	// Every later read leaves the secret out.
	got := e.must(200, req{method: "GET", path: "/v1/webhooks/" + created.ID, token: key}, nil)
	if strings.Contains(string(got.body), created.Secret) || strings.Contains(string(got.body), `"secret"`) {
		t.Fatalf("GET shows the secret: %s", got.body)
	}
	var one webhook.Webhook
	noErr(t, json.Unmarshal(got.body, &one))
	if !reflect.DeepEqual(one, created.Webhook) {
		t.Fatalf("GET %+v, want %+v", one, created.Webhook)
	}

	// Merchant-wide, all events, own secret; the operator registers for a
	// merchant, or for a session (its merchant inferred).
	var all webhook.Created
	e.must(201, req{method: "POST", path: "/v1/webhooks", token: key, body: map[string]any{
		"url": "http://platform.example.com:8080/all", "secret": "my-own-secret-0123"}}, &all)
	if all.SessionID != "" || !slices.Equal(all.Events, []string{"*"}) || all.Secret != "my-own-secret-0123" {
		t.Fatalf("merchant-wide %+v", all)
	}
	var byOp, byOpSession webhook.Created
	e.must(201, req{method: "POST", path: "/v1/webhooks", token: adminToken, body: map[string]any{
		"url": "https://ops.example.com/", "merchant_id": m.ID, "events": []string{"*"}}}, &byOp)
	e.must(201, req{method: "POST", path: "/v1/webhooks", token: adminToken, body: map[string]any{
		"url": "https://ops.example.com/s", "session_id": ses.ID}}, &byOpSession)
	if byOp.MerchantID != m.ID || byOpSession.MerchantID != m.ID || byOpSession.SessionID != ses.ID {
		t.Fatalf("operator's %+v %+v", byOp, byOpSession)
	}
	m2, key2 := e.merchant("M2")
	var theirs webhook.Created
	e.must(201, req{method: "POST", path: "/v1/webhooks", token: key2, body: map[string]any{"url": "https://other.example.com/"}}, &theirs)

	ids := func(tok, query string) []string {
		var l list[webhook.Webhook]
		e.must(200, req{method: "GET", path: "/v1/webhooks" + query, token: tok}, &l)
		var out []string
		for _, w := range l.Items {
			out = append(out, w.ID)
		}
		return out
	}
	if got, want := ids(key, ""), []string{created.ID, all.ID, byOp.ID, byOpSession.ID}; !slices.Equal(got, want) {
		t.Fatalf("merchant lists %v, want %v", got, want)
	}
	if got, want := ids(adminToken, ""), []string{created.ID, all.ID, byOp.ID, byOpSession.ID, theirs.ID}; !slices.Equal(got, want) {
		t.Fatalf("operator lists %v, want %v", got, want)
	}
	if got, want := ids(adminToken, "?merchant_id="+m2.ID), []string{theirs.ID}; !slices.Equal(got, want) {
		t.Fatalf("operator lists %v for %s, want %v", got, m2.ID, want)
	}
	list := e.must(200, req{method: "GET", path: "/v1/webhooks", token: adminToken}, nil)
	if strings.Contains(string(list.body), "secret") {
		t.Fatalf("the list shows secrets: %s", list.body)
	}

	e.must(204, req{method: "DELETE", path: "/v1/webhooks/" + created.ID, token: key}, nil)
	e.must(404, req{method: "GET", path: "/v1/webhooks/" + created.ID, token: key}, nil)
	e.must(404, req{method: "DELETE", path: "/v1/webhooks/" + created.ID, token: key}, nil)
	e.must(204, req{method: "DELETE", path: "/v1/webhooks/" + theirs.ID, token: adminToken}, nil)
}

func TestWebhookValidation(t *testing.T) {
	e, _ := webhookEnv(t)
	m, key := e.merchant("M")
	_, _, ses := e.catalog(key)
	_, key2 := e.merchant("M2")
	_, _, otherSes := e.catalog(key2)
	tests := []struct {
		name   string
		token  string
		body   any
		status int
		field  string
	}{
		{"no url", key, map[string]any{}, 400, "url"},
		{"not http", key, map[string]any{"url": "ftp://files.example.com/"}, 400, "url"},
		{"relative", key, map[string]any{"url": "/hook"}, 400, "url"},
		{"user info", key, map[string]any{"url": "https://user:pw@platform.example.com/"}, 400, "url"},
		{"fragment", key, map[string]any{"url": "https://platform.example.com/#x"}, 400, "url"},
		{"too long", key, map[string]any{"url": "https://platform.example.com/" + strings.Repeat("a", 2100)}, 400, "url"},
		{"loopback", key, map[string]any{"url": "http://127.0.0.1:9000/hook"}, 400, "url"},
		{"localhost", key, map[string]any{"url": "http://localhost/hook"}, 400, "url"},
		{"private", key, map[string]any{"url": "http://10.0.0.8/hook"}, 400, "url"},
		{"cloud metadata", key, map[string]any{"url": "http://169.254.169.254/latest/meta-data/"}, 400, "url"},
		{"unknown event", key, map[string]any{"url": "https://a.example/", "events": []string{"clip.aired", "clip.boom"}}, 400, "events[1]"},
		{"deployment event", key, map[string]any{"url": "https://a.example/", "events": []string{"worker"}}, 400, "events[0]"},
		{"events not a list", key, map[string]any{"url": "https://a.example/", "events": "clip.aired"}, 400, "events"},
		{"short secret", key, map[string]any{"url": "https://a.example/", "secret": "123"}, 400, "secret"},
		{"unknown session", key, map[string]any{"url": "https://a.example/", "session_id": "ses_nope"}, 400, "session_id"},
		{"bad session id", key, map[string]any{"url": "https://a.example/", "session_id": "../x"}, 400, "session_id"},
		{"another merchant's session", key, map[string]any{"url": "https://a.example/", "session_id": otherSes.ID}, 400, "session_id"},
		{"another merchant", key, map[string]any{"url": "https://a.example/", "merchant_id": "mer_other"}, 400, "merchant_id"},
		{"operator without merchant", adminToken, map[string]any{"url": "https://a.example/"}, 400, "merchant_id"},
		{"operator, session of another merchant", adminToken, map[string]any{"url": "https://a.example/", "merchant_id": m.ID, "session_id": otherSes.ID}, 400, "session_id"},
		{"unknown field", key, map[string]any{"url": "https://a.example/", "active": true}, 400, "active"},
		{"not JSON", key, "url=https://a.example/", 400, "body"},
		{"no token", "", map[string]any{"url": "https://a.example/"}, 401, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do(req{method: "POST", path: "/v1/webhooks", token: tc.token, body: tc.body})
			if r.status != tc.status {
				t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
			}
			if tc.field != "" {
				if _, field := r.errorOf(t); field != tc.field {
					t.Fatalf("field %q, want %q: %s", field, tc.field, r.body)
				}
			}
		})
	}
	if r := e.do(req{method: "POST", path: "/v1/webhooks", token: key, body: `{"url":"https://a.example/"}`, contentType: "text/plain"}); r.status != 415 {
		t.Fatalf("text/plain: %d", r.status)
	}
	// Nothing refused was registered.
	var l list[webhook.Webhook]
	e.must(200, req{method: "GET", path: "/v1/webhooks", token: adminToken}, &l)
	if len(l.Items) != 0 {
		t.Fatalf("%d webhooks registered by refused requests", len(l.Items))
	}
	// A merchant reaches its limit.
	for i := range webhook.MaxPerMerchant {
		e.must(201, req{method: "POST", path: "/v1/webhooks", token: key, body: map[string]any{"url": fmt.Sprintf("https://a.example/%d", i), "session_id": ses.ID}}, nil)
	}
	r := e.do(req{method: "POST", path: "/v1/webhooks", token: key, body: map[string]any{"url": "https://a.example/last"}})
	if code, _ := r.errorOf(t); r.status != 409 || code != codeConflict {
		t.Fatalf("over the limit: %d %s", r.status, r.body)
	}
}

// TestWebhookIsolation: another merchant's webhook does not exist for a
// merchant key, whatever the route.
func TestWebhookIsolation(t *testing.T) {
	e, rows := webhookEnv(t)
	m, key := e.merchant("M")
	_, key2 := e.merchant("M2")
	var mine webhook.Created
	e.must(201, req{method: "POST", path: "/v1/webhooks", token: key, body: map[string]any{"url": "https://a.example/"}}, &mine)
	rows.deliveries[mine.ID] = []*store.WebhookDelivery{{WebhookID: mine.ID, EventID: "ev_1", Attempt: 1, Event: "clip.aired", Status: store.DeliveryDelivered}}
	for _, r := range []req{
		{method: "GET", path: "/v1/webhooks/" + mine.ID},
		{method: "DELETE", path: "/v1/webhooks/" + mine.ID},
		{method: "GET", path: "/v1/webhooks/" + mine.ID + "/deliveries"},
		{method: "GET", path: "/v1/webhooks/whk_nope"},
		{method: "GET", path: "/v1/webhooks/whk_nope/deliveries"},
	} {
		r.token = key2
		resp := e.do(r)
		if code, _ := resp.errorOf(t); resp.status != 404 || code != codeNotFound {
			t.Fatalf("%s %s as another merchant: %d %s", r.method, r.path, resp.status, resp.body)
		}
		if strings.Contains(string(resp.body), "a.example") || strings.Contains(string(resp.body), m.ID) {
			t.Fatalf("the 404 tells about the webhook: %s", resp.body)
		}
	}
	var l list[webhook.Webhook]
	e.must(200, req{method: "GET", path: "/v1/webhooks", token: key2}, &l)
	if len(l.Items) != 0 {
		t.Fatalf("another merchant lists %+v", l.Items)
	}
	e.must(400, req{method: "GET", path: "/v1/webhooks?merchant_id=" + m.ID, token: key2}, nil)
	// Still there for its owner, and the operator.
	e.must(200, req{method: "GET", path: "/v1/webhooks/" + mine.ID, token: key}, nil)
	e.must(200, req{method: "GET", path: "/v1/webhooks/" + mine.ID + "/deliveries", token: adminToken}, nil)
}

func TestWebhookDeliveries(t *testing.T) {
	e, rows := webhookEnv(t)
	_, key := e.merchant("M")
	var w webhook.Created
	e.must(201, req{method: "POST", path: "/v1/webhooks", token: key, body: map[string]any{"url": "https://a.example/"}}, &w)
	at := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	next := at.Add(4 * time.Second)
	for i := range 60 {
		rows.deliveries[w.ID] = append(rows.deliveries[w.ID], &store.WebhookDelivery{WebhookID: w.ID, EventID: fmt.Sprintf("ev_%d", i),
			Attempt: 2, Event: "clip.aired", SessionID: "ses_1", Status: store.DeliveryRetrying, HTTPStatus: 503, Error: "HTTP 503",
			DurationMS: 12, At: at, NextRetryAt: &next})
	}
	var l list[webhook.Delivery]
	e.must(200, req{method: "GET", path: "/v1/webhooks/" + w.ID + "/deliveries", token: key}, &l)
	if len(l.Items) != 50 {
		t.Fatalf("%d items by default, want 50", len(l.Items))
	}
	want := webhook.Delivery{EventID: "ev_0", Event: "clip.aired", SessionID: "ses_1", Attempt: 2, Status: "retrying",
		HTTPStatus: 503, Error: "HTTP 503", DurationMS: 12, At: at, NextRetryAt: &next}
	if !reflect.DeepEqual(l.Items[0], want) {
		t.Fatalf("item %+v, want %+v", l.Items[0], want)
	}
	e.must(200, req{method: "GET", path: "/v1/webhooks/" + w.ID + "/deliveries?limit=3", token: key}, &l)
	if len(l.Items) != 3 {
		t.Fatalf("limit 3: %d items", len(l.Items))
	}
	for _, bad := range []string{"0", "501", "x"} {
		r := e.do(req{method: "GET", path: "/v1/webhooks/" + w.ID + "/deliveries?limit=" + bad, token: key})
		if _, field := r.errorOf(t); r.status != 400 || field != "limit" {
			t.Fatalf("limit=%s: %d %s", bad, r.status, r.body)
		}
	}
}

func TestWebhooksUnconfigured(t *testing.T) {
	e := newEnv(t)
	_, key := e.merchant("M")
	for _, r := range []req{
		{method: "POST", path: "/v1/webhooks", body: map[string]any{"url": "https://a.example/"}},
		{method: "GET", path: "/v1/webhooks"},
		{method: "GET", path: "/v1/webhooks/whk_1"},
		{method: "DELETE", path: "/v1/webhooks/whk_1"},
		{method: "GET", path: "/v1/webhooks/whk_1/deliveries"},
	} {
		r.token = key
		if resp := e.do(r); resp.status != 503 {
			t.Errorf("%s %s: %d, want 503", r.method, r.path, resp.status)
		}
	}
}

// TestWebhookOpenAPI: the answers of the webhook routes fit their
// documented schemas, the schemas list exactly the Go types' fields, and
// the documented event names are the ones accepted.
func TestWebhookOpenAPI(t *testing.T) {
	doc := loadOpenAPI(t)
	e, rows := webhookEnv(t)
	_, key := e.merchant("M")
	_, _, ses := e.catalog(key)
	var w webhook.Created
	e.must(201, req{method: "POST", path: "/v1/webhooks", token: key, body: map[string]any{"url": "https://a.example/", "session_id": ses.ID}}, &w)
	next := time.Now().Add(time.Second)
	rows.deliveries[w.ID] = []*store.WebhookDelivery{
		{WebhookID: w.ID, EventID: "ev_2", Attempt: 1, Event: "clip.aired", SessionID: ses.ID, Status: "delivered", HTTPStatus: 200, DurationMS: 5, At: time.Now()},
		{WebhookID: w.ID, EventID: "ev_1", Attempt: 1, Event: "clip.aired", Status: "retrying", Error: "timed out", DurationMS: 10000, At: time.Now(), NextRetryAt: &next},
	}
	tests := []struct {
		pattern string
		r       req
		status  int
	}{
		{"/v1/webhooks", req{method: "POST", path: "/v1/webhooks", token: key, body: map[string]any{"url": "https://a.example/2", "events": []string{"reply"}}}, 201},
		{"/v1/webhooks", req{method: "POST", path: "/v1/webhooks", token: key, body: map[string]any{"url": "gopher://x"}}, 400},
		{"/v1/webhooks", req{method: "GET", path: "/v1/webhooks", token: key}, 200},
		{"/v1/webhooks/{id}", req{method: "GET", path: "/v1/webhooks/" + w.ID, token: key}, 200},
		{"/v1/webhooks/{id}", req{method: "GET", path: "/v1/webhooks/whk_nope", token: key}, 404},
		{"/v1/webhooks/{id}/deliveries", req{method: "GET", path: "/v1/webhooks/" + w.ID + "/deliveries", token: key}, 200},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %d", tt.r.method, tt.pattern, tt.status), func(t *testing.T) {
			r := e.do(tt.r)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			var v any
			noErr(t, json.Unmarshal(r.body, &v))
			c := &schemaChecker{t: t, doc: doc}
			c.check(doc.responseSchema(t, tt.r.method, tt.pattern, tt.status), v, "$")
			for _, err := range c.errs {
				t.Error(err)
			}
		})
	}

	schemas := obj(obj(doc["components"])["schemas"])
	for name, goType := range map[string]reflect.Type{
		"Webhook": reflect.TypeFor[webhook.Webhook](), "WebhookDelivery": reflect.TypeFor[webhook.Delivery](),
		"WebhookCreate": reflect.TypeFor[webhookBody](),
	} {
		props := obj(doc.resolve(t, obj(schemas[name]))["properties"])
		var goNames []string
		for i := 0; i < goType.NumField(); i++ {
			if tag, _, _ := strings.Cut(goType.Field(i).Tag.Get("json"), ","); tag != "" && tag != "-" {
				goNames = append(goNames, tag)
			}
		}
		var docNames []string
		for n := range props {
			docNames = append(docNames, n)
		}
		slices.Sort(goNames)
		slices.Sort(docNames)
		if !slices.Equal(goNames, docNames) {
			t.Errorf("schema %s documents %v, the Go type has %v", name, docNames, goNames)
		}
	}
	var enum []string
	for _, v := range asList(obj(schemas["WebhookEvent"])["enum"]) {
		enum = append(enum, v.(string))
	}
	if want := append(webhook.Events(), webhook.AllEvents); !slices.Equal(enum, want) {
		t.Errorf("WebhookEvent enum %v, want %v", enum, want)
	}
}

func noErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
