package script

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/llmtest"
	"github.com/evercast/evercast/prompts"
)

func tea() *evercast.Product {
	promo := evercast.Money(9900)
	return &evercast.Product{
		ID: "prd_tea", SKU: "TEA-001", Title: evercast.Text{"zh": "西湖龙井", "en": "Longjing green tea"},
		Category: evercast.CategoryTea, Currency: "CNY", Price: 12990, PromoPrice: &promo, Stock: 120,
		Origin: evercast.Text{"zh": "浙江杭州", "en": "Hangzhou"},
		SellingPoints: []evercast.Text{
			{"zh": "明前采摘的嫩芽", "en": "young buds picked before Qingming"},
			{"zh": "扁平光滑的外形", "en": "flat, smooth leaves"},
		},
		Facts: map[string]evercast.Text{
			"net_weight":   {"zh": "250克", "en": "250 g"},
			"filed_claims": {"zh": "无", "en": "none"},
		},
	}
}

func TestOfflineVariedAndTrue(t *testing.T) {
	p := tea()
	numbers := regexp.MustCompile(`\d+(\.\d+)?`)
	allowed := map[string]bool{"99": true, "120": true, "250": true}
	for _, lang := range evercast.Languages() {
		texts := map[string]bool{}
		for _, kind := range []evercast.ClipKind{evercast.KindOpening, evercast.KindPitch, evercast.KindPromotion, evercast.KindDisclosure, evercast.KindClosing, evercast.KindStandby} {
			for i := 0; i < 40; i++ {
				s, err := Offline{}.Write(context.Background(), Request{
					ClipID: fmt.Sprintf("clp_%d", i), Kind: kind, Beat: i % 5, Language: lang,
					Title: "好茶直播间", Product: p, Products: []*evercast.Product{p},
				})
				if err != nil {
					t.Fatalf("%s %s: %v", lang, kind, err)
				}
				if s.Writer != OfflineName || strings.TrimSpace(s.Text) == "" {
					t.Fatalf("bad script %+v", s)
				}
				for _, n := range numbers.FindAllString(s.Text, -1) {
					if !allowed[n] {
						t.Errorf("%s %s says number %q the catalog does not hold: %s", lang, kind, n, s.Text)
					}
				}
				if strings.Contains(s.Text, "none") || strings.Contains(s.Text, "无。") {
					t.Errorf("spoke the filed-claims bookkeeping: %s", s.Text)
				}
				for _, banned := range []string{"最", "第一", "best", "No. 1", "100%", "原价", "was "} {
					if strings.Contains(s.Text, banned) {
						t.Errorf("banned term %q in %s", banned, s.Text)
					}
				}
				texts[s.Text] = true
			}
		}
		if len(texts) < 25 {
			t.Errorf("%s: only %d distinct texts over 240 clips", lang, len(texts))
		}
	}
}

func TestOfflineDeterministicPerClip(t *testing.T) {
	r := Request{ClipID: "clp_x", Kind: evercast.KindPitch, Beat: 2, Language: evercast.LangZH, Product: tea()}
	a, _ := Offline{}.Write(context.Background(), r)
	b, _ := Offline{}.Write(context.Background(), r)
	if a.Text != b.Text {
		t.Fatalf("retry wrote a different text: %q vs %q", a.Text, b.Text)
	}
}

func TestOfflineErrors(t *testing.T) {
	for _, r := range []Request{
		{ClipID: "c", Kind: evercast.KindPitch, Language: evercast.LangZH},
		{ClipID: "c", Kind: evercast.KindPitch, Language: "fr", Product: tea()},
		{ClipID: "c", Kind: "bogus", Language: evercast.LangEN},
		{ClipID: "c", Kind: evercast.KindSay, Language: evercast.LangEN, Say: "   "},
	} {
		if _, err := (Offline{}).Write(context.Background(), r); err == nil {
			t.Errorf("%+v: no error", r)
		}
	}
}

func TestTidyAndSentences(t *testing.T) {
	tests := []struct{ in, want string }{
		{`"欢迎来到直播间！" （微笑）`, "欢迎来到直播间！"},
		{"**Hello** there. 😀 Second one! Third?", "Hello there. Second one!"},
		{"第一句。第二句。第三句。", "第一句。第二句。"},
		{"  spaced\n\nout  ", "spaced out"},
	}
	for _, tt := range tests {
		if got := Tidy(tt.in, 2); got != tt.want {
			t.Errorf("Tidy(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Sentences("Price is 9.9 yuan. Buy now!"); len(got) != 2 {
		t.Errorf("Sentences split a decimal: %q", got)
	}
}

func TestLLMStreaming(t *testing.T) {
	srv := llmtest.New()
	defer srv.Close()
	srv.APIKey = "sk-test"
	srv.TokensPerSecond = 400
	srv.Reply = func(ms []llmtest.Message) string {
		return "欢迎来到好茶直播间！我是AI数字人主播。今天先看西湖龙井。多余的一句。"
	}
	set, err := prompts.Load()
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewLLM(LLMOptions{BaseURL: srv.BaseURL(), APIKey: "sk-test", Model: "test-model"}, set)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var early []string
	w.OnSentence = func(_ context.Context, s string) { mu.Lock(); early = append(early, s); mu.Unlock() }
	p := tea()
	s, err := w.Write(context.Background(), Request{ClipID: "clp_1", Kind: evercast.KindOpening, Language: evercast.LangZH,
		Anchor: &evercast.Anchor{Name: "小言"}, Title: "好茶直播间", Product: p, Products: []*evercast.Product{p}})
	if err != nil {
		t.Fatal(err)
	}
	if s.Text != "欢迎来到好茶直播间！我是AI数字人主播。" || s.Writer != "llm:test-model" {
		t.Fatalf("got %+v", s)
	}
	if len(early) != 2 || early[0] != "欢迎来到好茶直播间！" {
		t.Fatalf("sentences not delivered while streaming: %q", early)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || !reqs[0].Stream || reqs[0].Model != "test-model" || !strings.Contains(reqs[0].Messages[0].Content, "TEA-001") {
		t.Fatalf("request not as expected: %+v", reqs)
	}
}

func TestLLMErrors(t *testing.T) {
	set, _ := prompts.Load()
	srv := llmtest.New()
	defer srv.Close()
	srv.APIKey = "right"
	w, _ := NewLLM(LLMOptions{BaseURL: srv.BaseURL(), APIKey: "wrong", Model: "m"}, set)
	_, err := w.Write(context.Background(), Request{ClipID: "c", Kind: evercast.KindDisclosure, Language: evercast.LangEN})
	if !errors.Is(err, ErrPermanent) {
		t.Fatalf("bad key: want ErrPermanent, got %v", err)
	}
	srv.APIKey = ""
	srv.Status = http.StatusServiceUnavailable
	_, err = w.Write(context.Background(), Request{ClipID: "c", Kind: evercast.KindDisclosure, Language: evercast.LangEN})
	if err == nil || errors.Is(err, ErrPermanent) {
		t.Fatalf("503: want a retryable error, got %v", err)
	}
	srv.Status = 0
	srv.FirstToken = 2 * time.Second
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := w.Write(ctx, Request{ClipID: "c", Kind: evercast.KindDisclosure, Language: evercast.LangEN}); err == nil {
		t.Fatal("cancelled context: no error")
	}
	// Say-now text never goes through the model.
	s, err := w.Write(context.Background(), Request{ClipID: "c", Kind: evercast.KindSay, Language: evercast.LangEN, Say: "Back at eight."})
	if err != nil || s.Text != "Back at eight." {
		t.Fatalf("say: %+v %v", s, err)
	}
}

func TestLLMStreamFirstSentenceEarly(t *testing.T) {
	srv := llmtest.New()
	defer srv.Close()
	srv.FirstToken = 100 * time.Millisecond
	srv.TokensPerSecond = 20
	srv.Reply = func([]llmtest.Message) string { return "活动价是99元。喜欢的朋友点购物车。" }
	set, _ := prompts.Load()
	w, _ := NewLLM(LLMOptions{BaseURL: srv.BaseURL(), Model: "m"}, set)
	start := time.Now()
	st, err := w.Stream(context.Background(), Request{ClipID: "c", Kind: evercast.KindReply, Language: evercast.LangZH, Comment: "多少钱", Product: tea()})
	if err != nil {
		t.Fatal(err)
	}
	first, err := st.First(context.Background())
	if err != nil || first.Text != "活动价是99元。" {
		t.Fatalf("first %+v %v", first, err)
	}
	firstAt := time.Since(start)
	rest, err := st.Rest(context.Background())
	if err != nil || rest.Text != "喜欢的朋友点购物车。" {
		t.Fatalf("rest %+v %v", rest, err)
	}
	// The first sentence came before the whole answer: 8 of 17 tokens at
	// 20 tokens a second is at least 0.4 s earlier than the end.
	if total := time.Since(start); total-firstAt < 300*time.Millisecond {
		t.Fatalf("first sentence at %v, answer done at %v: not streamed", firstAt, total)
	}
	// A failing endpoint gives an error from First.
	srv.Status = 500
	st, err = w.Stream(context.Background(), Request{ClipID: "c", Kind: evercast.KindReply, Language: evercast.LangZH})
	if err == nil {
		if _, err = st.First(context.Background()); err == nil {
			t.Fatal("no error from a failing endpoint")
		}
	}
}
