package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/demo"
)

func (s *server) raw(t *testing.T, method, path, contentType string, body []byte) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, s.base+path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.token)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestCatalogApprovalsKillSwitchAudit walks a compliance officer's path:
// import the catalog, require approval of scripts, approve them, cut the
// merchant's sessions to standby and off air, and verify the record.
func TestCatalogApprovalsKillSwitchAudit(t *testing.T) {
	s := startServe(t, t.TempDir(), "test-token-0123456789abcdef", "--clock", "fast")
	var m evercast.Merchant
	if s.call(t, "POST", "/v1/merchants", map[string]any{"name": "Tea House"}, &m) != 201 {
		t.Fatal("create merchant")
	}
	// A catalog with a contradiction is refused, naming the field.
	var bad map[string]any
	_ = json.Unmarshal(demo.CatalogJSON(), &bad)
	bad["products"].([]any)[1].(map[string]any)["promo_price"] = 999
	bb, _ := json.Marshal(bad)
	code, body := s.raw(t, "POST", "/v1/catalog?merchant_id="+m.ID, "application/json", bb)
	if code != 400 || !strings.Contains(string(body), "products[1].promo_price") {
		t.Fatalf("bad catalog: %d %s", code, body)
	}
	code, body = s.raw(t, "POST", "/v1/catalog?merchant_id="+m.ID, "application/json", demo.CatalogJSON())
	var imp struct {
		Created, Updated int
		Products         []evercast.Product
	}
	if code != 200 || json.Unmarshal(body, &imp) != nil || imp.Created != 3 {
		t.Fatalf("import: %d %s", code, body)
	}
	code, body = s.raw(t, "POST", "/v1/catalog?merchant_id="+m.ID, "application/json", demo.CatalogJSON())
	if code != 200 || !strings.Contains(string(body), `"updated":3`) {
		t.Fatalf("re-import: %d %s", code, body)
	}
	code, body = s.raw(t, "GET", "/v1/catalog?merchant_id="+m.ID, "", nil)
	if code != 200 || !strings.Contains(string(body), "TEA-LJ-250") || !strings.Contains(string(body), `"currency"`) {
		t.Fatalf("export: %d %s", code, body)
	}

	an := demo.Anchor()
	var anchor evercast.Anchor
	s.call(t, "POST", "/v1/anchors", map[string]any{"merchant_id": m.ID, "name": an.Name, "language": "zh", "voice": an.Voice}, &anchor)
	var ids []string
	for _, p := range imp.Products {
		ids = append(ids, p.ID)
	}
	var ses evercast.Session
	if s.call(t, "POST", "/v1/sessions", map[string]any{"merchant_id": m.ID, "anchor_id": anchor.ID, "title": "审批测试", "product_ids": ids}, &ses) != 201 {
		t.Fatal("create session")
	}
	if s.call(t, "PUT", "/v1/sessions/"+ses.ID+"/approval", map[string]any{"required": true}, nil) != 200 {
		t.Fatal("require approval")
	}
	s.call(t, "POST", "/v1/sessions/"+ses.ID+"/start", nil, nil)
	// Scripts wait for a person: approve them as they come; the session
	// only goes live once approved content is rendered.
	approved := 0
	deadline := time.Now().Add(3 * time.Minute)
	for {
		var list struct {
			Required bool
			Items    []struct {
				ClipID string `json:"clip_id"`
				Text   string
			}
		}
		s.call(t, "GET", "/v1/sessions/"+ses.ID+"/approvals", nil, &list)
		if !list.Required {
			t.Fatal("approval not required")
		}
		for _, it := range list.Items {
			if s.call(t, "POST", "/v1/approvals/"+it.ClipID, map[string]any{"approve": true, "reason": "checked"}, nil) != 200 {
				t.Fatalf("approve %s", it.ClipID)
			}
			approved++
		}
		if len(aired(s.rundown(t, ses.ID))) >= 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing aired after approving %d scripts:\n%s", approved, tail(s.logs.String(), 3000))
		}
		time.Sleep(500 * time.Millisecond)
	}
	if approved == 0 {
		t.Fatal("no script asked for approval")
	}
	// Kill switch: standby, then off air.
	var cut struct{ Sessions []string }
	if s.call(t, "POST", "/v1/merchants/"+m.ID+"/cut", map[string]any{"mode": "standby"}, &cut) != 200 || len(cut.Sessions) != 1 {
		t.Fatalf("cut to standby: %+v", cut)
	}
	var st evercast.SessionStatus
	s.call(t, "GET", "/v1/sessions/"+ses.ID+"/status", nil, &st)
	if st.State != evercast.SessionPaused {
		t.Fatalf("after cut to standby: %s", st.State)
	}
	if s.call(t, "POST", "/v1/merchants/"+m.ID+"/cut", map[string]any{"mode": "off_air"}, &cut) != 200 {
		t.Fatal("off air")
	}
	s.call(t, "GET", "/v1/sessions/"+ses.ID+"/status", nil, &st)
	if st.State != evercast.SessionEnded {
		t.Fatalf("after off air: %s", st.State)
	}
	// The record holds the approvals, the commands and what aired, and
	// verifies.
	var recs struct {
		Items []struct {
			Kind  string
			Actor string
			Data  map[string]any
		}
	}
	s.call(t, "GET", "/v1/sessions/"+ses.ID+"/audit?limit=5000", nil, &recs)
	kinds := map[string]int{}
	for _, r := range recs.Items {
		kinds[r.Kind]++
	}
	for _, k := range []string{"command", "approval", "clip.aired", "verdict"} {
		if kinds[k] == 0 {
			t.Errorf("no %s record (kinds %v)", k, kinds)
		}
	}
	var v struct {
		OK      bool
		Records int
	}
	s.call(t, "GET", "/v1/sessions/"+ses.ID+"/audit/verify", nil, &v)
	if !v.OK || v.Records != len(recs.Items) {
		t.Fatalf("verify %+v for %d records", v, len(recs.Items))
	}
}
