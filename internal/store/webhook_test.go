package store

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast"
)

func TestWebhooks(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				run  func(t *testing.T, e *env)
			}{
				{"RoundTrip", testWebhookRoundTrip},
				{"Refusals", testWebhookRefusals},
				{"Limit", testWebhookLimit},
				{"Deliveries", testWebhookDeliveries},
				{"Cascade", testWebhookCascade},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, newEnv(t, b)) })
			}
		})
	}
}

func testWebhookRoundTrip(t *testing.T, e *env) {
	f := newFixture(t, e)
	all := &WebhookRow{ID: "whk_all", MerchantID: f.merchant.ID, URL: "https://hooks.example.com/a", Secret: "s3cret-s3cret-s3cret"}
	one := &WebhookRow{ID: "whk_one", MerchantID: f.merchant.ID, SessionID: f.session.ID, URL: "https://hooks.example.com/b?x=1",
		Events: []string{"clip.aired", "session.state"}, Secret: "another-secret-value"}
	must(t, e.s.CreateWebhook(e.ctx, all, 0))
	must(t, e.s.CreateWebhook(e.ctx, one, 0))
	if all.CreatedAt.IsZero() || !one.CreatedAt.After(all.CreatedAt) {
		t.Fatalf("created at %v, %v", all.CreatedAt, one.CreatedAt)
	}
	other := &evercast.Merchant{Name: "别家"}
	must(t, e.s.CreateMerchant(e.ctx, other))
	theirs := &WebhookRow{ID: "whk_theirs", MerchantID: other.ID, URL: "http://x.example/", Secret: "their-secret-value"}
	must(t, e.s.CreateWebhook(e.ctx, theirs, 0))

	got, err := e.s.GetWebhook(e.ctx, "whk_one")
	must(t, err)
	sameJSON(t, "webhook", got, one)
	got, err = e.s.GetWebhook(e.ctx, "whk_all")
	must(t, err)
	sameJSON(t, "webhook without session or events", got, all)
	_, err = e.s.GetWebhook(e.ctx, "whk_nope")
	wantErr(t, err, evercast.ErrNotFound)

	mine, err := e.s.ListWebhooks(e.ctx, f.merchant.ID)
	must(t, err)
	sameJSON(t, "merchant's webhooks", mine, []*WebhookRow{all, one})
	every, err := e.s.ListWebhooks(e.ctx, "")
	must(t, err)
	sameJSON(t, "every webhook", every, []*WebhookRow{all, one, theirs})

	must(t, e.s.DeleteWebhook(e.ctx, "whk_all"))
	wantErr(t, e.s.DeleteWebhook(e.ctx, "whk_all"), evercast.ErrNotFound)
	_, err = e.s.GetWebhook(e.ctx, "whk_all")
	wantErr(t, err, evercast.ErrNotFound)
	mine, err = e.s.ListWebhooks(e.ctx, f.merchant.ID)
	must(t, err)
	sameJSON(t, "after delete", mine, []*WebhookRow{one})
}

func testWebhookRefusals(t *testing.T, e *env) {
	f := newFixture(t, e)
	other := &evercast.Merchant{Name: "别家"}
	must(t, e.s.CreateMerchant(e.ctx, other))
	must(t, e.s.CreateWebhook(e.ctx, &WebhookRow{ID: "whk_1", MerchantID: f.merchant.ID, URL: "https://a.example/", Secret: "0123456789abcdef"}, 0))
	ok := func() *WebhookRow {
		return &WebhookRow{ID: "whk_2", MerchantID: f.merchant.ID, URL: "https://a.example/", Secret: "0123456789abcdef"}
	}
	for _, tc := range []struct {
		name   string
		change func(w *WebhookRow)
		want   error
	}{
		{"no id", func(w *WebhookRow) { w.ID = "" }, evercast.ErrInvalid},
		{"no merchant", func(w *WebhookRow) { w.MerchantID = "" }, evercast.ErrInvalid},
		{"no url", func(w *WebhookRow) { w.URL = "" }, evercast.ErrInvalid},
		{"no secret", func(w *WebhookRow) { w.Secret = "" }, evercast.ErrInvalid},
		{"unknown merchant", func(w *WebhookRow) { w.MerchantID = "mer_nope" }, evercast.ErrNotFound},
		{"unknown session", func(w *WebhookRow) { w.SessionID = "ses_nope" }, evercast.ErrInvalid},
		{"another merchant's session", func(w *WebhookRow) { w.MerchantID = other.ID; w.SessionID = f.session.ID }, evercast.ErrInvalid},
		{"taken id", func(w *WebhookRow) { w.ID = "whk_1" }, evercast.ErrConflict},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := ok()
			tc.change(w)
			wantErr(t, e.s.CreateWebhook(e.ctx, w, 0), tc.want)
		})
	}
	// Nothing refused was stored.
	all, err := e.s.ListWebhooks(e.ctx, "")
	must(t, err)
	if len(all) != 1 {
		t.Fatalf("%d webhooks stored, want 1", len(all))
	}
}

// testWebhookLimit: concurrent creates never take a merchant past its
// limit.
func testWebhookLimit(t *testing.T, e *env) {
	f := newFixture(t, e)
	const limit = 3
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		s := e.open()
		wg.Go(func() {
			errs[i] = s.CreateWebhook(e.ctx, &WebhookRow{ID: fmt.Sprintf("whk_%d", i), MerchantID: f.merchant.ID,
				URL: "https://a.example/", Secret: "0123456789abcdef"}, limit)
		})
	}
	wg.Wait()
	created := 0
	for _, err := range errs {
		if err == nil {
			created++
			continue
		}
		wantErr(t, err, evercast.ErrConflict)
	}
	all, err := e.s.ListWebhooks(e.ctx, f.merchant.ID)
	must(t, err)
	if created != limit || len(all) != limit {
		t.Fatalf("%d creates succeeded, %d stored; want %d", created, len(all), limit)
	}
}

func testWebhookDeliveries(t *testing.T, e *env) {
	f := newFixture(t, e)
	must(t, e.s.CreateWebhook(e.ctx, &WebhookRow{ID: "whk_1", MerchantID: f.merchant.ID, URL: "https://a.example/", Secret: "0123456789abcdef"}, 0))
	base := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	next := base.Add(2 * time.Second)
	first := WebhookDelivery{WebhookID: "whk_1", EventID: "ev_1", Attempt: 1, Event: "clip.aired", SessionID: f.session.ID,
		Status: DeliveryRetrying, HTTPStatus: 500, Error: "HTTP 500", DurationMS: 12, At: base, NextRetryAt: &next}
	must(t, e.s.RecordWebhookDelivery(e.ctx, first, 0))
	second := first
	second.Attempt, second.Status, second.HTTPStatus, second.Error, second.At, second.NextRetryAt = 2, DeliveryDelivered, 204, "", next, nil
	must(t, e.s.RecordWebhookDelivery(e.ctx, second, 0))
	got, err := e.s.ListWebhookDeliveries(e.ctx, "whk_1", 10)
	must(t, err)
	sameJSON(t, "deliveries", got, []*WebhookDelivery{&second, &first})

	// The same attempt written again (a task run twice) replaces its row.
	again := second
	again.HTTPStatus, again.DurationMS = 200, 40
	must(t, e.s.RecordWebhookDelivery(e.ctx, again, 0))
	got, err = e.s.ListWebhookDeliveries(e.ctx, "whk_1", 10)
	must(t, err)
	sameJSON(t, "after rewrite", got, []*WebhookDelivery{&again, &first})

	// The log is pruned to the newest attempts.
	const keep = 5
	for i := range 12 {
		must(t, e.s.RecordWebhookDelivery(e.ctx, WebhookDelivery{WebhookID: "whk_1", EventID: fmt.Sprintf("ev_n%02d", i), Attempt: 1,
			Event: "clip.aired", Status: DeliveryDelivered, HTTPStatus: 200, At: base.Add(time.Minute + time.Duration(i)*time.Second)}, keep))
	}
	got, err = e.s.ListWebhookDeliveries(e.ctx, "whk_1", 100)
	must(t, err)
	if len(got) != keep {
		t.Fatalf("%d rows kept, want %d", len(got), keep)
	}
	for i, d := range got {
		if want := fmt.Sprintf("ev_n%02d", 11-i); d.EventID != want {
			t.Fatalf("row %d is %s, want %s", i, d.EventID, want)
		}
	}
	got, err = e.s.ListWebhookDeliveries(e.ctx, "whk_1", 2)
	must(t, err)
	if len(got) != 2 || got[0].EventID != "ev_n11" {
		t.Fatalf("limit 2: %+v", got)
	}

	for _, tc := range []struct {
		name string
		d    WebhookDelivery
		want error
	}{
		{"unknown webhook", WebhookDelivery{WebhookID: "whk_nope", EventID: "ev_1", Attempt: 1, Status: DeliveryFailed}, evercast.ErrNotFound},
		{"no event", WebhookDelivery{WebhookID: "whk_1", Attempt: 1, Status: DeliveryFailed}, evercast.ErrInvalid},
		{"attempt 0", WebhookDelivery{WebhookID: "whk_1", EventID: "ev_1", Status: DeliveryFailed}, evercast.ErrInvalid},
		{"bad status", WebhookDelivery{WebhookID: "whk_1", EventID: "ev_1", Attempt: 1, Status: "lost"}, evercast.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, e.s.RecordWebhookDelivery(e.ctx, tc.d, 0), tc.want) })
	}
}

// testWebhookCascade: deleting a session removes the registrations for it,
// and deleting a registration removes its log.
func testWebhookCascade(t *testing.T, e *env) {
	f := newFixture(t, e)
	must(t, e.s.CreateWebhook(e.ctx, &WebhookRow{ID: "whk_s", MerchantID: f.merchant.ID, SessionID: f.session.ID, URL: "https://a.example/", Secret: "0123456789abcdef"}, 0))
	must(t, e.s.CreateWebhook(e.ctx, &WebhookRow{ID: "whk_m", MerchantID: f.merchant.ID, URL: "https://a.example/", Secret: "0123456789abcdef"}, 0))
	must(t, e.s.RecordWebhookDelivery(e.ctx, WebhookDelivery{WebhookID: "whk_m", EventID: "ev_1", Attempt: 1, Status: DeliveryDelivered}, 0))
	must(t, e.s.DeleteSession(e.ctx, f.session.ID))
	_, err := e.s.GetWebhook(e.ctx, "whk_s")
	wantErr(t, err, evercast.ErrNotFound)
	if _, err := e.s.GetWebhook(e.ctx, "whk_m"); err != nil {
		t.Fatalf("the merchant-wide webhook went with the session: %v", err)
	}
	must(t, e.s.DeleteWebhook(e.ctx, "whk_m"))
	var n int
	must(t, e.s.db.QueryRowContext(e.ctx, "SELECT COUNT(*) FROM webhook_deliveries").Scan(&n))
	if n != 0 {
		t.Fatalf("%d delivery rows outlived their webhook", n)
	}
}
