package claims

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/evercast/evercast"
)

func TestRunCheck(t *testing.T) {
	fx := fixtures()
	catalog := []*evercast.Product{fx["tea"], fx["shirt"]}
	in := strings.Join([]string{
		`{"id":"1","lang":"zh","text":"现在只要99.9元！","sku":"TEA-001"}`,
		`{"id":"2","lang":"zh","text":"这是全网最低价","sku":"TEA-001"}`,
		`{"id":"3","lang":"en","text":"It was 129.9 yuan.","sku":"TEA-001"}`,
		`not json at all`,
		`{"id":"5","lang":"zh","text":"仅剩3件","sku":"NOPE"}`,
		``,
		`{"id":"6","lang":"fr","text":"bonjour","sku":"TEA-001"}`,
		`{"id":"7","text":"最\u200b好","sku":""}`,
		`{"id":8,"text":"x"}`,
		`{"id":"9","lang":"en","text":"Made in China.","sku":"SHIRT-01"}`,
	}, "\n")
	var out bytes.Buffer
	if err := RunCheck(context.Background(), catalog, testDate, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	want := []struct{ id, verdict, category, span string }{
		{"1", "ok", "", ""},
		{"2", "violation", "absolute", "全网最低"},
		{"3", "violation", "original_price", "was 129.9 yuan"},
		{"", "error", "", ""},
		{"5", "error", "", ""},
		{"6", "error", "", ""},
		{"7", "violation", "absolute", "最\u200b好"},
		{"8", "error", "", ""},
		{"9", "ok", "", ""},
	}
	if len(lines) != len(want) {
		t.Fatalf("%d lines for %d inputs:\n%s", len(lines), len(want), out.String())
	}
	for i, w := range want {
		var raw map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &raw); err != nil {
			t.Fatalf("line %d not JSON: %v", i, err)
		}
		var got CheckResponse
		_ = json.Unmarshal([]byte(lines[i]), &got)
		if w.id != "" && got.ID != w.id || got.Verdict != w.verdict || got.Category != w.category || got.Span != w.span {
			t.Errorf("line %d = %s, want %+v", i, lines[i], w)
		}
		if got.Verdict != "error" {
			if _, ok := raw["category"]; !ok {
				t.Errorf("line %d lacks category: %s", i, lines[i])
			}
			if _, ok := raw["span"]; !ok {
				t.Errorf("line %d lacks span: %s", i, lines[i])
			}
		} else if got.Reason == "" {
			t.Errorf("error line %d without reason", i)
		}
	}
}

func TestRunCheckCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := RunCheck(ctx, nil, testDate, strings.NewReader(`{"id":"1","text":"x"}`), &bytes.Buffer{})
	if err != context.Canceled {
		t.Fatalf("err = %v", err)
	}
}

func TestRunCheckLongLine(t *testing.T) {
	in := `{"id":"1","text":"` + strings.Repeat("好", MaxLineBytes) + `"}` + "\n" + `{"id":"2","text":"你好"}`
	var out bytes.Buffer
	if err := RunCheck(context.Background(), nil, testDate, strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"error"`) || !strings.Contains(lines[1], `"ok"`) {
		t.Fatalf("output:\n%s", out.String())
	}
}
