package claims

import (
	"embed"
	"sort"
	"strings"
	"unicode/utf8"
)

//go:embed lexicon/*.txt
var lexiconFS embed.FS

// term is one lexicon entry in normalised form.
type term struct {
	text  string
	group string
}

// termSet finds terms in normalised text. English-like terms (starting or
// ending with an ASCII letter or digit) match whole words only.
type termSet struct {
	terms []term // longest first
}

// hit is an occurrence of a term in normalised text, [i, j) in bytes.
type hit struct {
	i, j  int
	term  string
	group string
}

func newTermSet(ts []term) *termSet {
	seen := map[string]bool{}
	var out []term
	for _, t := range ts {
		t.text = Normalize(t.text).Text
		if t.text == "" || seen[t.text] {
			continue
		}
		seen[t.text] = true
		out = append(out, t)
	}
	sort.SliceStable(out, func(a, b int) bool { return len(out[a].text) > len(out[b].text) })
	return &termSet{terms: out}
}

// plainTerms reads a file of one term per line.
func plainTerms(name string, extra []string) []term {
	var ts []term
	for _, l := range dataLines(name) {
		ts = append(ts, term{text: l})
	}
	for _, l := range extra {
		ts = append(ts, term{text: l})
	}
	return ts
}

// despaced adds, for every English term of several words, the same term
// written without spaces ("the best" → "thebest"), so that letters spaced out
// across word gaps ("T H E  B E S T") still match. Only forms of six letters
// or more are added.
func despaced(ts []term) []term {
	out := ts
	for _, t := range ts {
		n := Normalize(t.text).Text
		if !strings.Contains(n, " ") || strings.IndexFunc(n, func(r rune) bool { return r > 0x7f }) >= 0 {
			continue
		}
		if d := strings.ReplaceAll(n, " ", ""); len(d) >= 6 {
			out = append(out, term{text: d, group: t.group})
		}
	}
	return out
}

// groupTerms reads a file of "group: term | term" lines.
func groupTerms(name string) []term {
	var ts []term
	for _, l := range dataLines(name) {
		g, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		for _, t := range strings.Split(rest, "|") {
			if t = strings.TrimSpace(t); t != "" {
				ts = append(ts, term{text: t, group: strings.TrimSpace(g)})
			}
		}
	}
	return ts
}

// groupsOf maps every group to its normalised terms.
func (s *termSet) groupsOf() map[string][]string {
	m := map[string][]string{}
	for _, t := range s.terms {
		m[t.group] = append(m[t.group], t.text)
	}
	return m
}

func wordish(r rune) bool { return isASCIIAlnum(r) }

// find returns every occurrence of every term, longest term first at equal
// positions, ordered by position.
func (s *termSet) find(text string) []hit {
	var hits []hit
	for _, t := range s.terms {
		first, _ := utf8.DecodeRuneInString(t.text)
		last, _ := utf8.DecodeLastRuneInString(t.text)
		for off := 0; off < len(text); {
			k := strings.Index(text[off:], t.text)
			if k < 0 {
				break
			}
			i := off + k
			j := i + len(t.text)
			off = i + 1
			if wordish(first) && i > 0 {
				if r, _ := utf8.DecodeLastRuneInString(text[:i]); wordish(r) {
					continue
				}
			}
			if wordish(last) && j < len(text) {
				if r, _ := utf8.DecodeRuneInString(text[j:]); wordish(r) {
					continue
				}
			}
			hits = append(hits, hit{i: i, j: j, term: t.text, group: t.group})
		}
	}
	sort.SliceStable(hits, func(a, b int) bool {
		if hits[a].i != hits[b].i {
			return hits[a].i < hits[b].i
		}
		return hits[a].j > hits[b].j
	})
	return hits
}

// covered reports whether [i, j) lies inside one of the hits.
func covered(i, j int, by []hit) bool {
	for _, h := range by {
		if h.i <= i && j <= h.j {
			return true
		}
	}
	return false
}

// place is a gazetteer entry.
type place struct {
	zh     string
	names  []string // normalised: zh and English names
	parent string
}

type gazetteer struct {
	places map[string]*place // by zh name
	terms  *termSet          // every name, group = zh name
}

func loadGazetteer() *gazetteer {
	g := &gazetteer{places: map[string]*place{}}
	var ts []term
	for _, l := range dataLines("places.txt") {
		f := strings.Split(l, "|")
		if len(f) < 2 {
			continue
		}
		zh := strings.TrimSpace(f[0])
		p := g.places[zh]
		if p == nil {
			p = &place{zh: zh}
			g.places[zh] = p
		}
		p.names = append(p.names, Normalize(zh).Text)
		ts = append(ts, term{text: zh, group: zh})
		for _, en := range strings.Split(f[1], ",") {
			if en = strings.TrimSpace(en); en != "" {
				p.names = append(p.names, Normalize(en).Text)
				ts = append(ts, term{text: en, group: zh})
			}
		}
		if len(f) > 2 {
			p.parent = strings.TrimSpace(f[2])
		}
	}
	g.terms = newTermSet(ts)
	return g
}

// within reports whether place a is b or lies inside b.
func (g *gazetteer) within(a, b string) bool {
	for range 10 {
		if a == b {
			return true
		}
		p := g.places[a]
		if p == nil || p.parent == "" {
			return false
		}
		a = p.parent
	}
	return false
}
