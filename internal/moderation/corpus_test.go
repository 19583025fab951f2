package moderation

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/catalog"
	"github.com/evercast/evercast/internal/claims"
)

var update = flag.Bool("update", false, "rewrite the golden corpus table in testdata")

const (
	commentsFile        = "testdata/comments.jsonl"
	commentsGoldenTable = "testdata/comments_table.md"
	// The claims corpus's catalog: the demo products and one of each category
	// the law treats differently.
	commentsCatalogFile = "../claims/testdata/corpus_catalog.json"
	commentsMinLines    = 150
	commentsMinLang     = 0.35
	commentsReproduce   = "go test ./internal/moderation -run Corpus -v"
)

// commentLine is one labelled viewer comment of testdata/comments.jsonl.
type commentLine struct {
	ID         string `json:"id"`
	Lang       string `json:"lang"`
	Text       string `json:"text"`
	WantAction string `json:"want_action"`
	WantReason string `json:"want_reason"`
	Note       string `json:"note"`
}

// moderated are the reasons a comment is never read out for.
var moderated = map[string]bool{ReasonAbuse: true, ReasonSpam: true, ReasonPersonalData: true, ReasonInjection: true}

func commentReasons() []string {
	return []string{ReasonAbuse, ReasonSpam, ReasonPersonalData, ReasonInjection, IntentHuman, IntentPrice, IntentStock,
		IntentSize, IntentOrigin, IntentShipping, IntentMaterial, IntentUsage, IntentGreeting, ReasonOther}
}

func loadCommentCatalog(t *testing.T) []*evercast.Product {
	t.Helper()
	f, err := os.Open(commentsCatalogFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := catalog.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", commentsCatalogFile, err)
	}
	return c.Products()
}

func loadComments(t *testing.T) []commentLine {
	t.Helper()
	data, err := os.ReadFile(commentsFile)
	if err != nil {
		t.Fatal(err)
	}
	reasons := map[string]bool{}
	for _, r := range commentReasons() {
		reasons[r] = true
	}
	var out []commentLine
	ids := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l commentLine
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("%s:%d: %v", commentsFile, n, err)
		}
		wantAction := ActionIgnore
		switch {
		case l.WantReason == IntentGreeting:
			wantAction = ActionGreet
		case !moderated[l.WantReason] && l.WantReason != ReasonOther:
			wantAction = ActionAnswer
		}
		switch {
		case l.ID == "" || ids[l.ID]:
			t.Fatalf("%s:%d: missing or repeated id %q", commentsFile, n, l.ID)
		case l.Lang != "zh" && l.Lang != "en":
			t.Fatalf("%s:%d: lang %q", commentsFile, n, l.Lang)
		case !reasons[l.WantReason]:
			t.Fatalf("%s:%d: want_reason %q is not one of %v", commentsFile, n, l.WantReason, commentReasons())
		case l.WantAction != wantAction:
			t.Fatalf("%s:%d: want_action %q does not go with want_reason %q", commentsFile, n, l.WantAction, l.WantReason)
		case l.Note == "":
			t.Fatalf("%s:%d: %s has no note saying why", commentsFile, n, l.ID)
		}
		ids[l.ID] = true
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

type commentResult struct {
	line commentLine
	d    Decision
}

// commentReport is the per-reason table, as markdown, and the comments the
// classifier gets wrong.
func commentReport(results []commentResult) (string, []commentResult) {
	type score struct{ labelled, tp, fp int }
	sc := map[string]*score{}
	for _, r := range commentReasons() {
		sc[r] = &score{}
	}
	var wrong []commentResult
	actionOK := 0
	for _, r := range results {
		sc[r.line.WantReason].labelled++
		if r.d.Reason == r.line.WantReason {
			sc[r.d.Reason].tp++
		} else {
			if s := sc[r.d.Reason]; s != nil {
				s.fp++
			}
			wrong = append(wrong, r)
		}
		if r.d.Action == r.line.WantAction {
			actionOK++
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| reason | action | labelled | found | precision | recall |\n|---|---|---:|---:|---:|---:|\n")
	total, tp := 0, 0
	for _, reason := range commentReasons() {
		s := sc[reason]
		action := ActionAnswer
		switch {
		case reason == IntentGreeting:
			action = ActionGreet
		case moderated[reason] || reason == ReasonOther:
			action = ActionIgnore
		}
		fmt.Fprintf(&b, "| `%s` | %s | %d | %d | %s | %s |\n", reason, action, s.labelled, s.tp, pct(s.tp, s.tp+s.fp), pct(s.tp, s.labelled))
		total += s.labelled
		tp += s.tp
	}
	fmt.Fprintf(&b, "| **all** | | %d | %d | | %s |\n\n", total, tp, pct(tp, total))
	fmt.Fprintf(&b, "Action right (answer, greet or ignore): %d of %d (%s).\n", actionOK, len(results), pct(actionOK, len(results)))
	if len(wrong) > 0 {
		fmt.Fprintf(&b, "\nComments classified otherwise than labelled:\n\n")
		for _, r := range wrong {
			fmt.Fprintf(&b, "- `%s` %q: want %s/%s, got %s/%s\n", r.line.ID, r.line.Text, r.line.WantAction, r.line.WantReason, r.d.Action, r.d.Reason)
		}
	}
	return b.String(), wrong
}

func pct(a, b int) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

// TestCommentCorpus classifies the project's labelled viewer comments
// (testdata/comments.jsonl) against the claims corpus's catalog, reports
// precision and recall per reason, compares the table with
// testdata/comments_table.md (-update rewrites it) and holds the target of
// issue 5: no abuse, spam, personal data or injection is ever answered or
// greeted, that is read out.
func TestCommentCorpus(t *testing.T) {
	products := loadCommentCatalog(t)
	lines := loadComments(t)
	if len(lines) < commentsMinLines {
		t.Fatalf("%d comments, want at least %d", len(lines), commentsMinLines)
	}
	perLang := map[string]int{}
	covered := map[string]bool{}
	for _, l := range lines {
		perLang[l.Lang]++
		covered[l.Lang+"/"+l.WantReason] = true
	}
	for _, lang := range []string{"zh", "en"} {
		if share := float64(perLang[lang]) / float64(len(lines)); share < commentsMinLang {
			t.Errorf("only %.0f%% of the comments are %s", 100*share, lang)
		}
		for _, r := range commentReasons() {
			if !covered[lang+"/"+r] {
				t.Errorf("no %s comment with reason %q", lang, r)
			}
		}
	}
	var results []commentResult
	for _, l := range lines {
		d := ClassifyFor(products, Comment{ID: l.ID, User: "viewer", Text: l.Text}, evercast.Language(l.Lang))
		results = append(results, commentResult{l, d})
		if moderated[l.WantReason] && d.Action != ActionIgnore {
			t.Errorf("%s %q (%s) would be read out: %s/%s", l.ID, l.Text, l.WantReason, d.Action, d.Reason)
		}
	}
	table, wrong := commentReport(results)
	t.Logf("moderation on %d comments (%s):\n%s", len(lines), commentsReproduce, table)
	for _, r := range wrong {
		t.Logf("classified otherwise: %s %q: want %s/%s, got %s/%s (%s)", r.line.ID, r.line.Text, r.line.WantAction, r.line.WantReason, r.d.Action, r.d.Reason, r.line.Note)
	}
	golden := "<!-- Generated by TestCommentCorpus (" + commentsReproduce + " -update); do not edit. -->\n\n" + table
	if *update {
		if err := os.WriteFile(commentsGoldenTable, []byte(golden), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(commentsGoldenTable)
	if err != nil {
		t.Fatalf("%v (run %s -update)", err, commentsReproduce)
	}
	if string(want) != golden {
		t.Errorf("%s is out of date: the classifier's results changed; review them and run %s -update", commentsGoldenTable, commentsReproduce)
	}
}

var answerNumber = regexp.MustCompile(`[0-9]+(?:\.[0-9]+)?`)

// catalogNumbers are the numbers the catalog states about p: its prices,
// stock and sales, and every number in its title, origin and facts.
func catalogNumbers(p *evercast.Product) map[string]bool {
	nums := map[string]bool{p.Price.Spoken(): true, p.Offer().Spoken(): true,
		strconv.Itoa(p.Stock): true, strconv.Itoa(p.Sales30d): true}
	var texts []string
	for _, t := range []evercast.Text{p.Title, p.Origin} {
		for _, s := range t {
			texts = append(texts, s)
		}
	}
	for _, f := range p.Facts {
		for _, s := range f {
			texts = append(texts, s)
		}
	}
	for _, s := range texts {
		for _, n := range answerNumber.FindAllString(claims.Normalize(s).Text, -1) {
			nums[n] = true
		}
	}
	return nums
}

// TestCommentCorpusAnswers composes, for every corpus comment the
// classifier would answer or greet, the reply with each catalog product
// (and none) as the current one, and holds every reply to the target: it
// passes the claims checker against the product it speaks about and states
// no number that the catalog does not hold. Comments that are ignored get
// no reply.
func TestCommentCorpusAnswers(t *testing.T) {
	products := loadCommentCatalog(t)
	c := claims.New(claims.Options{})
	currents := append([]*evercast.Product{nil}, products...)
	replies := 0
	for _, l := range loadComments(t) {
		lang := evercast.Language(l.Lang)
		cm := Comment{ID: l.ID, User: "viewer", Text: l.Text}
		d := ClassifyFor(products, cm, lang)
		for _, cur := range currents {
			a := Answer(products, cur, d, cm, lang)
			if d.Action == ActionIgnore {
				if a != "" {
					t.Errorf("%s %q is ignored (%s) but gets the reply %q", l.ID, l.Text, d.Reason, a)
				}
				continue
			}
			replies++
			if a == "" {
				t.Errorf("%s %q (%s): empty reply", l.ID, l.Text, d.Reason)
				continue
			}
			about := namedProduct(products, d.SKU, l.Text)
			if about == nil {
				about = cur
			}
			var catalogPart []*evercast.Product
			if about != nil {
				catalogPart = []*evercast.Product{about}
			} else {
				catalogPart = products // the reply lists the products
			}
			res := c.Check(claims.Input{Lang: lang, Text: a, Product: about, Catalog: products})
			if v, bad := res.FirstViolation(); bad {
				t.Errorf("%s %q, current %s: reply %q fails the checker: %s %q %s", l.ID, l.Text, skuOf(cur), a, v.Category, v.Span, v.Reason)
			}
			known := map[string]bool{}
			for _, p := range catalogPart {
				for n := range catalogNumbers(p) {
					known[n] = true
				}
			}
			for _, n := range answerNumber.FindAllString(a, -1) {
				if !known[n] {
					t.Errorf("%s %q, current %s: reply %q states %s, which the catalog does not hold for %s", l.ID, l.Text, skuOf(cur), a, n, skuOf(about))
				}
			}
			if d.Intent == IntentHuman && !(strings.Contains(a, "AI") && (strings.Contains(a, "数字人") || strings.Contains(a, "digital human"))) {
				t.Errorf("%s: the reply to %q does not say the anchor is an AI digital human: %q", l.ID, l.Text, a)
			}
		}
	}
	t.Logf("%d replies checked (%s)", replies, commentsReproduce)
}

func skuOf(p *evercast.Product) string {
	if p == nil {
		return "none"
	}
	return p.SKU
}
