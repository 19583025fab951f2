package e2e

import (
	"bytes"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/claims"
	"github.com/evercast/evercast/internal/llmtest"
	"github.com/evercast/evercast/internal/testenv"
)

// TestViolatingModelNeverAirs: a model that keeps answering with unlawful
// scripts (absolute claims, invented prices, efficacy) gets them sent back
// with the checker's findings, then replaced by catalog-only scripts:
// nothing violating airs, and the record holds the verdicts and fallbacks.
func TestViolatingModelNeverAirs(t *testing.T) {
	llm := llmtest.New()
	defer llm.Close()
	bad := []string{
		"这是全网最低价，史上最好的茶！",
		"原价999元，今天只要9.9元，仅剩3件！",
		"喝了能降血压，治疗失眠，绝对有效。",
		"This is the No. 1 tea in the world, guaranteed to cure colds.",
	}
	n := 0
	llm.Reply = func([]llmtest.Message) string { n++; return bad[n%len(bad)] }
	data := t.TempDir()
	token := "test-token-0123456789abcdef"
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd := exec.Command(testenv.Binary(t), "serve", "--clock", "fast")
	cmd.Env = append(cleanEnv(), "EVERCAST_DATA_DIR="+data, "EVERCAST_HTTP_ADDR="+addr, "EVERCAST_ADMIN_TOKEN="+token,
		"EVERCAST_LLM_BASE_URL="+llm.BaseURL(), "EVERCAST_LLM_MODEL=bad-model", "EVERCAST_LOG_LEVEL=warn")
	logs := &bytes.Buffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, base: "http://" + addr, token: token, logs: logs}
	t.Cleanup(s.kill)
	deadline := time.Now().Add(time.Minute)
	for {
		if resp, err := http.Get(s.base + "/healthz"); err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("serve did not come up")
		}
		time.Sleep(100 * time.Millisecond)
	}
	id := seedDemo(t, s)
	rd := waitAired(t, s, id, 8, 4*time.Minute)
	if len(llm.Requests()) == 0 {
		t.Fatal("the model was never asked")
	}
	chk := claims.New(claims.Options{})
	byID := map[string]*evercast.Product{}
	var sess evercast.Session
	s.call(t, "GET", "/v1/sessions/"+id, nil, &sess)
	var catalog []*evercast.Product
	for _, pid := range sess.ProductIDs {
		var p evercast.Product
		s.call(t, "GET", "/v1/products/"+pid, nil, &p)
		byID[pid] = &p
		catalog = append(catalog, &p)
	}
	for _, c := range aired(rd) {
		if c.Kind == evercast.KindStandby {
			continue
		}
		for _, b := range bad {
			if c.Text == b {
				t.Fatalf("a violating script aired: %q", c.Text)
			}
		}
		res := chk.Check(claims.Input{Lang: c.Language, Text: c.Text, Product: byID[c.Product], Catalog: catalog, SessionDate: time.Now()})
		if v, bad := res.FirstViolation(); bad {
			t.Fatalf("aired clip %d %q violates %s %q", c.Seq, c.Text, v.Category, v.Span)
		}
		if strings.HasPrefix(c.Writer, "llm:") && !strings.Contains(c.Verdict, `"ok"`) {
			t.Fatalf("clip %d by the model aired without an ok verdict: %s", c.Seq, c.Verdict)
		}
	}
	// The record shows the refused drafts and the fallback.
	var recs struct {
		Items []struct {
			Kind string
			Data map[string]any
		}
	}
	s.call(t, "GET", "/v1/sessions/"+id+"/audit?limit=5000", nil, &recs)
	refused, fallback := 0, 0
	for _, r := range recs.Items {
		if r.Kind != "verdict" {
			continue
		}
		if ok, _ := r.Data["ok"].(bool); !ok {
			refused++
			if r.Data["category"] == "" {
				t.Fatalf("a refused draft has no category: %v", r.Data)
			}
		} else if r.Data["writer"] == "offline" {
			fallback++
		}
	}
	if refused == 0 || fallback == 0 {
		t.Fatalf("record: %d refused drafts, %d catalog-only fallbacks", refused, fallback)
	}
}
