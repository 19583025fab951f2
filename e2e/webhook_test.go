package e2e

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// verifySignature is the receiver's check from docs/webhooks.md, kept
// here word for word so that the documented code is the tested code.
func verifySignature(secret, header string, body []byte, now time.Time) error {
	var ts string
	var sigs []string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sigs = append(sigs, v)
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return errors.New("malformed X-Evercast-Signature")
	}
	if math.Abs(now.Sub(time.Unix(sec, 0)).Seconds()) > 300 {
		return errors.New("timestamp too old or too new")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(ts + "."))
	m.Write(body)
	want := hex.EncodeToString(m.Sum(nil))
	for _, s := range sigs {
		if hmac.Equal([]byte(s), []byte(want)) {
			return nil
		}
	}
	return errors.New("signature mismatch")
}

// hook is one request a receiver got.
type hook struct {
	header http.Header
	body   []byte
}

// TestWebhooksDeliverSignedEvents: a platform registers a receiver for the
// demo session's clip.aired events; the session airs on the fast clock and
// the receiver gets each aired clip once, signed with the secret it was
// given, and the delivery log shows it.
func TestWebhooksDeliverSignedEvents(t *testing.T) {
	var mu sync.Mutex
	var got []hook
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, hook{header: r.Header.Clone(), body: b})
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer rcv.Close()
	hooks := func() []hook {
		mu.Lock()
		defer mu.Unlock()
		return append([]hook(nil), got...)
	}

	s := startServe(t, t.TempDir(), "test-token-0123456789abcdef", "--clock", "fast", "--webhook-allow-private=true")
	id := seedDemo(t, s)
	var reg struct {
		ID         string   `json:"id"`
		MerchantID string   `json:"merchant_id"`
		Events     []string `json:"events"`
		Secret     string   `json:"secret"`
	}
	if code := s.call(t, "POST", "/v1/webhooks", map[string]any{"url": rcv.URL + "/evercast", "session_id": id,
		"events": []string{"clip.aired"}}, &reg); code != 201 {
		t.Fatalf("register: %d", code)
	}
	if reg.Secret == "" || reg.MerchantID == "" {
		t.Fatalf("registration %+v", reg)
	}

	const want = 4
	deadline := time.Now().Add(5 * time.Minute)
	for len(hooks()) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%d deliveries after 5 minutes:\n%s", len(hooks()), tail(s.logs.String(), 3000))
		}
		time.Sleep(200 * time.Millisecond)
	}
	seen := map[string]bool{}
	clips := map[string]bool{}
	for i, h := range hooks() {
		if err := verifySignature(reg.Secret, h.header.Get("X-Evercast-Signature"), h.body, time.Now()); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
		if err := verifySignature("whsec_not-the-secret-0000", h.header.Get("X-Evercast-Signature"), h.body, time.Now()); err == nil {
			t.Fatalf("delivery %d verifies with another secret", i)
		}
		if h.header.Get("Content-Type") != "application/json" || h.header.Get("User-Agent") != "Evercast-Webhook/1" ||
			h.header.Get("X-Evercast-Event") != "clip.aired" {
			t.Fatalf("delivery %d headers %v", i, h.header)
		}
		var n struct {
			ID         string    `json:"id"`
			Event      string    `json:"event"`
			SessionID  string    `json:"session_id"`
			MerchantID string    `json:"merchant_id"`
			WebhookID  string    `json:"webhook_id"`
			At         time.Time `json:"at"`
			Data       struct {
				ClipID     string `json:"clip_id"`
				Seq        int64  `json:"seq"`
				Kind       string `json:"kind"`
				DurationMS int64  `json:"duration_ms"`
			} `json:"data"`
		}
		if err := json.Unmarshal(h.body, &n); err != nil {
			t.Fatalf("delivery %d: %v: %s", i, err, h.body)
		}
		if n.ID != h.header.Get("X-Evercast-Delivery") || n.Event != "clip.aired" || n.SessionID != id || n.MerchantID != reg.MerchantID ||
			n.WebhookID != reg.ID || n.At.IsZero() || n.Data.ClipID == "" || n.Data.Seq < 1 || n.Data.DurationMS <= 0 {
			t.Fatalf("delivery %d: %s", i, h.body)
		}
		if seen[n.ID] || clips[n.Data.ClipID] {
			t.Fatalf("delivery %d repeats event %s / clip %s", i, n.ID, n.Data.ClipID)
		}
		seen[n.ID], clips[n.Data.ClipID] = true, true
	}
	// Every clip delivered is one the rundown shows aired.
	airedIDs := map[string]bool{}
	for _, c := range s.rundown(t, id).Clips {
		if c.AiredAt != nil {
			airedIDs[c.ID] = true
		}
	}
	for c := range clips {
		if !airedIDs[c] {
			t.Fatalf("clip %s was delivered as aired but the rundown does not show it aired", c)
		}
	}

	var log struct {
		Items []struct {
			EventID    string `json:"event_id"`
			Status     string `json:"status"`
			HTTPStatus int    `json:"http_status"`
			Attempt    int    `json:"attempt"`
		} `json:"items"`
	}
	if code := s.call(t, "GET", "/v1/webhooks/"+reg.ID+"/deliveries", nil, &log); code != 200 {
		t.Fatalf("deliveries: %d", code)
	}
	delivered := 0
	for _, d := range log.Items {
		if d.Status == "delivered" && d.HTTPStatus == 204 && d.Attempt == 1 && seen[d.EventID] {
			delivered++
		}
	}
	if delivered < want {
		t.Fatalf("the log shows %d deliveries of the events received: %+v", delivered, log.Items)
	}

	// Deleted, it gets nothing more.
	if code := s.call(t, "DELETE", "/v1/webhooks/"+reg.ID, nil, nil); code != 204 {
		t.Fatalf("delete: %d", code)
	}
	time.Sleep(time.Second) // deliveries already on their way may land
	n := len(hooks())
	waitAired(t, s, id, len(aired(s.rundown(t, id)))+3, 3*time.Minute)
	time.Sleep(2 * time.Second)
	if after := len(hooks()); after != n {
		t.Fatalf("%d deliveries after the webhook was deleted", after-n)
	}
	if strings.Contains(s.logs.String(), reg.Secret) {
		t.Fatal("the webhook secret is in the server's log")
	}
}
