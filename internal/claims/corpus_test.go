package claims

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/catalog"
)

var update = flag.Bool("update", false, "rewrite the golden corpus table in testdata")

// corpusLine is one labelled script sentence of testdata/corpus.jsonl.
type corpusLine struct {
	ID       string `json:"id"`
	Lang     string `json:"lang"`
	Text     string `json:"text"`
	SKU      string `json:"sku"`
	At       string `json:"at"`
	Want     string `json:"want"`
	Category string `json:"category"`
	Note     string `json:"note"`
}

// Targets of issue 5, "Tests and measures".
const (
	corpusMinLines      = 300
	maxHonestBlocked    = 0.03 // fewer than 3% of honest sentences blocked
	corpusGoldenTable   = "testdata/corpus_table.md"
	corpusFile          = "testdata/corpus.jsonl"
	corpusCatalogFile   = "testdata/corpus_catalog.json"
	corpusMinLangShare  = 0.40 // both languages, roughly half each
	corpusReproduceHint = "go test ./internal/claims -run Corpus -v"
)

func loadCorpusCatalog(t *testing.T) []*evercast.Product {
	t.Helper()
	f, err := os.Open(corpusCatalogFile)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := catalog.Parse(f)
	if err != nil {
		t.Fatalf("%s: %v", corpusCatalogFile, err)
	}
	return c.Products()
}

func loadCorpus(t *testing.T, bySKU map[string]*evercast.Product) []corpusLine {
	t.Helper()
	data, err := os.ReadFile(corpusFile)
	if err != nil {
		t.Fatal(err)
	}
	cats := map[string]bool{}
	for _, c := range Categories() {
		cats[c] = true
	}
	var lines []corpusLine
	ids := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		if strings.TrimSpace(sc.Text()) == "" {
			continue
		}
		var l corpusLine
		dec := json.NewDecoder(strings.NewReader(sc.Text()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("%s:%d: %v", corpusFile, n, err)
		}
		switch {
		case l.ID == "" || ids[l.ID]:
			t.Fatalf("%s:%d: missing or repeated id %q", corpusFile, n, l.ID)
		case l.Lang != "zh" && l.Lang != "en":
			t.Fatalf("%s:%d: lang %q", corpusFile, n, l.Lang)
		case bySKU[l.SKU] == nil:
			t.Fatalf("%s:%d: sku %q not in the corpus catalog", corpusFile, n, l.SKU)
		case l.Want == "ok" && l.Category != "":
			t.Fatalf("%s:%d: an ok line has category %q", corpusFile, n, l.Category)
		case l.Want == "violation" && !cats[l.Category]:
			t.Fatalf("%s:%d: category %q is not one of %v", corpusFile, n, l.Category, Categories())
		case l.Want != "ok" && l.Want != "violation":
			t.Fatalf("%s:%d: want %q", corpusFile, n, l.Want)
		case l.Note == "":
			t.Fatalf("%s:%d: %s has no note saying why", corpusFile, n, l.ID)
		}
		if _, err := time.Parse(time.DateOnly, l.At); err != nil {
			t.Fatalf("%s:%d: at %q: %v", corpusFile, n, l.At, err)
		}
		ids[l.ID] = true
		lines = append(lines, l)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return lines
}

// corpusResult is the checker's verdict on one corpus line.
type corpusResult struct {
	line     corpusLine
	verdict  string // ok or violation
	category string
	span     string
	reason   string
}

// categoryScore counts, for one category, the labelled violations found
// with that category (tp), the lines given that category that were labelled
// otherwise (fp), and the labelled violations not given it (fn).
type categoryScore struct {
	labelled, caught, tp, fp, fn int
}

func ratio(a, b int) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(a)/float64(b))
}

// corpusReport computes the per-category table and the lines the checker
// gets wrong, as markdown.
func corpusReport(results []corpusResult) (table string, missed, blocked, mismatched []corpusResult) {
	score := map[string]*categoryScore{}
	for _, c := range Categories() {
		score[c] = &categoryScore{}
	}
	langs := map[string][4]int{} // violations, caught, honest, blocked
	for _, r := range results {
		l := r.line
		x := langs[l.Lang]
		if l.Want == "violation" {
			s := score[l.Category]
			s.labelled++
			x[0]++
			if r.verdict == "violation" {
				s.caught++
				x[1]++
			} else {
				missed = append(missed, r)
			}
			if r.category == l.Category {
				s.tp++
			} else {
				s.fn++
				if r.verdict == "violation" {
					mismatched = append(mismatched, r)
				}
			}
		} else {
			x[2]++
			if r.verdict == "violation" {
				x[3]++
				blocked = append(blocked, r)
			}
		}
		if r.verdict == "violation" && r.category != l.Category {
			score[r.category].fp++
		}
		langs[l.Lang] = x
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| category | labelled | caught (verdict) | caught with this category | precision | recall |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|\n")
	var tv, tc, ttp, tfp int
	for _, c := range Categories() {
		s := score[c]
		fmt.Fprintf(&b, "| `%s` | %d | %d | %d | %s | %s |\n", c, s.labelled, s.caught, s.tp, ratio(s.tp, s.tp+s.fp), ratio(s.tp, s.tp+s.fn))
		tv += s.labelled
		tc += s.caught
		ttp += s.tp
		tfp += s.fp
	}
	fmt.Fprintf(&b, "| **all** | %d | %d | %d | %s | %s |\n\n", tv, tc, ttp, ratio(ttp, ttp+tfp), ratio(ttp, tv))
	fmt.Fprintf(&b, "| language | violations | caught | recall (verdict) | honest | blocked | honest blocked |\n")
	fmt.Fprintf(&b, "|---|---:|---:|---:|---:|---:|---:|\n")
	var all [4]int
	for _, lang := range []string{"zh", "en"} {
		x := langs[lang]
		fmt.Fprintf(&b, "| %s | %d | %d | %s | %d | %d | %s |\n", lang, x[0], x[1], ratio(x[1], x[0]), x[2], x[3], ratio(x[3], x[2]))
		for i := range all {
			all[i] += x[i]
		}
	}
	fmt.Fprintf(&b, "| **all** | %d | %d | %s | %d | %d | %s |\n", all[0], all[1], ratio(all[1], all[0]), all[2], all[3], ratio(all[3], all[2]))
	list := func(title string, rs []corpusResult) {
		if len(rs) == 0 {
			return
		}
		fmt.Fprintf(&b, "\n%s:\n\n", title)
		for _, r := range rs {
			got := r.verdict
			if r.category != "" {
				got = fmt.Sprintf("%s %q", r.category, r.span)
			}
			want := r.line.Want
			if r.line.Category != "" {
				want = r.line.Category
			}
			fmt.Fprintf(&b, "- `%s` %q: want %s, got %s\n", r.line.ID, r.line.Text, want, got)
		}
	}
	list("Violations missed", missed)
	list("Honest lines blocked", blocked)
	list("Violations caught under another category", mismatched)
	return b.String(), missed, blocked, mismatched
}

// TestCorpus runs the checker over the project's labelled corpus
// (testdata/corpus.jsonl, judged against testdata/corpus_catalog.json) and
// holds it to the targets: every labelled violation caught, fewer than 3% of
// honest sentences blocked. The per-category table is compared with
// testdata/corpus_table.md; -update rewrites it.
func TestCorpus(t *testing.T) {
	products := loadCorpusCatalog(t)
	bySKU := map[string]*evercast.Product{}
	for _, p := range products {
		bySKU[p.SKU] = p
	}
	lines := loadCorpus(t, bySKU)
	if len(lines) < corpusMinLines {
		t.Fatalf("corpus has %d lines, want at least %d", len(lines), corpusMinLines)
	}
	perLang := map[string]int{}
	covered := map[string]bool{}
	for _, l := range lines {
		perLang[l.Lang]++
		covered[l.Lang+"/"+l.Category] = true
	}
	for _, lang := range []string{"zh", "en"} {
		if share := float64(perLang[lang]) / float64(len(lines)); share < corpusMinLangShare {
			t.Errorf("only %.0f%% of the corpus is %s", 100*share, lang)
		}
		for _, c := range append(Categories(), "") {
			if !covered[lang+"/"+c] {
				t.Errorf("no %s line for category %q", lang, c)
			}
		}
	}

	c := New(Options{})
	var results []corpusResult
	for _, l := range lines {
		at, _ := time.Parse(time.DateOnly, l.At)
		res := c.Check(Input{Lang: evercast.Language(l.Lang), Text: l.Text, Product: bySKU[l.SKU], Catalog: products, SessionDate: at})
		r := corpusResult{line: l, verdict: "ok"}
		if v, bad := res.FirstViolation(); bad {
			r.verdict, r.category, r.span, r.reason = "violation", v.Category, v.Span, v.Reason
		}
		results = append(results, r)
	}

	table, missed, blocked, mismatched := corpusReport(results)
	t.Logf("claims checker on %d corpus sentences (%s):\n%s", len(lines), corpusReproduceHint, table)
	for _, r := range missed {
		t.Errorf("violation missed: %s %q (want %s: %s)", r.line.ID, r.line.Text, r.line.Category, r.line.Note)
	}
	honest := 0
	for _, l := range lines {
		if l.Want == "ok" {
			honest++
		}
	}
	for _, r := range blocked {
		t.Logf("honest line blocked: %s %q: %s %q %s", r.line.ID, r.line.Text, r.category, r.span, r.reason)
	}
	if rate := float64(len(blocked)) / float64(honest); rate >= maxHonestBlocked {
		t.Errorf("%d of %d honest lines blocked (%.1f%%), target below %.0f%%", len(blocked), honest, 100*rate, 100*maxHonestBlocked)
	}
	for _, r := range mismatched {
		t.Logf("caught under another category: %s %q: want %s, got %s %q (%s)", r.line.ID, r.line.Text, r.line.Category, r.category, r.span, r.reason)
	}

	golden := "<!-- Generated by TestCorpus (" + corpusReproduceHint + " -update); do not edit. -->\n\n" + table
	if *update {
		if err := os.WriteFile(corpusGoldenTable, []byte(golden), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(corpusGoldenTable)
	if err != nil {
		t.Fatalf("%v (run %s -update)", err, corpusReproduceHint)
	}
	if string(want) != golden {
		t.Errorf("%s is out of date: the checker's results on the corpus changed; review them and run %s -update",
			filepath.ToSlash(corpusGoldenTable), corpusReproduceHint)
	}
}

// TestCorpusRunCheck feeds the corpus through RunCheck, the loop behind
// `evercast check`, one run per session date, and expects the same verdicts
// as Check.
func TestCorpusRunCheck(t *testing.T) {
	products := loadCorpusCatalog(t)
	bySKU := map[string]*evercast.Product{}
	for _, p := range products {
		bySKU[p.SKU] = p
	}
	byDate := map[string][]corpusLine{}
	for _, l := range loadCorpus(t, bySKU) {
		byDate[l.At] = append(byDate[l.At], l)
	}
	dates := make([]string, 0, len(byDate))
	for d := range byDate {
		dates = append(dates, d)
	}
	sort.Strings(dates)
	c := New(Options{})
	for _, d := range dates {
		at, _ := time.Parse(time.DateOnly, d)
		var in bytes.Buffer
		enc := json.NewEncoder(&in)
		for _, l := range byDate[d] {
			if err := enc.Encode(CheckRequest{ID: l.ID, Lang: l.Lang, Text: l.Text, SKU: l.SKU}); err != nil {
				t.Fatal(err)
			}
		}
		var out bytes.Buffer
		if err := RunCheck(context.Background(), products, at, &in, &out); err != nil {
			t.Fatal(err)
		}
		dec := json.NewDecoder(&out)
		for _, l := range byDate[d] {
			var resp CheckResponse
			if err := dec.Decode(&resp); err != nil {
				t.Fatalf("%s: %v", l.ID, err)
			}
			v, bad := c.Check(Input{Lang: evercast.Language(l.Lang), Text: l.Text, Product: bySKU[l.SKU], Catalog: products, SessionDate: at}).FirstViolation()
			want := CheckResponse{ID: l.ID, Verdict: "ok"}
			if bad {
				want = CheckResponse{ID: l.ID, Verdict: "violation", Category: v.Category, Span: v.Span, Reason: v.Reason}
			}
			if resp != want {
				t.Errorf("RunCheck %+v, Check %+v", resp, want)
			}
		}
	}
}
