package prompts

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/evercast/evercast"
)

var update = flag.Bool("update", false, "rewrite golden files")

func demoData(lang evercast.Language) Data {
	promo := evercast.Money(9900)
	p := &evercast.Product{
		SKU: "TEA-001", Title: evercast.Text{"zh": "西湖龙井", "en": "West Lake Longjing tea"},
		Currency: "CNY", Price: 12990, PromoPrice: &promo, Stock: 120,
		Origin:        evercast.Text{"zh": "浙江杭州", "en": "Hangzhou, Zhejiang"},
		SellingPoints: []evercast.Text{{"zh": "明前采摘", "en": "picked before Qingming"}},
		Facts:         map[string]evercast.Text{"net_weight": {"zh": "250克", "en": "250 g"}},
	}
	return Data{
		Anchor:   &evercast.Anchor{Name: "小言", Persona: "亲切专业的茶艺主播"},
		Product:  p,
		Products: []*evercast.Product{p},
		Language: lang,
		Title:    "好茶直播间",
		Beat:     1,
		Comment:  "这个茶产地是哪里？",
		Say:      "今晚八点加播。",
		Feedback: []string{"absolute: 最好"},
	}
}

func TestGolden(t *testing.T) {
	set, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	for _, scene := range []string{SceneOpening, ScenePitch, ScenePromotion, SceneDisclosure, SceneQA, SceneSay, SceneClosing, SceneStandby} {
		for _, lang := range evercast.Languages() {
			t.Run(scene+"."+string(lang), func(t *testing.T) {
				p, err := set.Render(scene, demoData(lang))
				if err != nil {
					t.Fatal(err)
				}
				got := "SYSTEM:\n" + p.System + "\n\nUSER:\n" + p.User + "\n"
				path := filepath.Join("testdata", scene+"."+string(lang)+".golden")
				if *update {
					if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
						t.Fatal(err)
					}
				}
				want, err := os.ReadFile(path)
				if err != nil {
					t.Fatalf("%v (run go test ./prompts -update)", err)
				}
				if got != string(want) {
					t.Errorf("prompt differs from %s:\n%s", path, got)
				}
				for _, guard := range []string{"AI", "100%"} {
					if !strings.Contains(p.System, guard) {
						t.Errorf("system prompt lacks guardrail %q", guard)
					}
				}
			})
		}
	}
}

func TestRenderErrors(t *testing.T) {
	set, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Render("nope", demoData(evercast.LangZH)); err == nil {
		t.Error("unknown scene accepted")
	}
	if _, err := set.Render(SceneOpening, Data{Language: "fr", Anchor: &evercast.Anchor{}}); err == nil {
		t.Error("unknown language accepted")
	}
}
