package claims

import (
	"bufio"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Normalized is a text in the checker's canonical form together with, for
// every byte of Text, the byte range of the original text it came from. The
// canonical form is NFKC, lower case, without zero-width and format
// characters, with Latin tone marks removed, traditional and variant Han
// characters mapped to simplified ones, Cyrillic and Greek look-alikes of
// Latin letters mapped to them, spaces and filler symbols inside Han words
// removed, letter-spaced words joined, and pinyin and homophone
// spellings of the regulated words mapped back to their characters.
type Normalized struct {
	Text string
	// Start[i] and End[i] are the original byte range that Text[i] came from;
	// len(Start) == len(End) == len(Text).
	Start []int
	End   []int
	// n is the length of the original text.
	n int
}

// Original returns the byte range in the original text that the normalised
// byte range [i, j) came from. It clamps out-of-range arguments, so the result
// is always a valid slice range of the original.
func (n Normalized) Original(i, j int) (start, end int) {
	if len(n.Text) == 0 {
		return 0, 0
	}
	i = max(0, min(i, len(n.Text)))
	j = max(i, min(j, len(n.Text)))
	if i == j {
		if i == len(n.Text) {
			return n.End[i-1], n.End[i-1]
		}
		return n.Start[i], n.Start[i]
	}
	return n.Start[i], n.End[j-1]
}

// normTables are the data the normaliser needs, read once from the embedded
// lexicon files and never changed afterwards.
type normTables struct {
	variants   map[rune]rune
	pinyin     []pinyinEntry // longest first
	homophones map[rune]homophone
}

type pinyinEntry struct {
	syllables []string
	target    string
}

type homophone struct {
	target    rune
	followers string // empty: always
}

var loadNormTables = sync.OnceValue(func() *normTables {
	t := &normTables{variants: map[rune]rune{}, homophones: map[rune]homophone{}}
	for _, line := range dataLines("variants.txt") {
		for _, pair := range strings.Fields(line) {
			rs := []rune(pair)
			if len(rs) == 2 {
				t.variants[rs[0]] = rs[1]
			}
		}
	}
	for _, line := range dataLines("pinyin.txt") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		t.pinyin = append(t.pinyin, pinyinEntry{syllables: f[:len(f)-1], target: f[len(f)-1]})
	}
	// Longest spelling first, so "zui hao" wins over "zui".
	sortStable(t.pinyin, func(a, b pinyinEntry) bool {
		return len(strings.Join(a.syllables, "")) > len(strings.Join(b.syllables, ""))
	})
	for _, line := range dataLines("homophones.txt") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		target, _ := utf8.DecodeRuneInString(f[0])
		followers := ""
		if len(f) > 2 && f[2] != "*" {
			followers = f[2]
		}
		for _, r := range f[1] {
			t.homophones[r] = homophone{target: target, followers: followers}
		}
	}
	return t
})

// dataLines returns the non-empty, non-comment lines of an embedded lexicon
// file, with trailing comments removed.
func dataLines(name string) []string {
	b, err := lexiconFS.ReadFile("lexicon/" + name)
	if err != nil {
		panic("claims: embedded lexicon missing: " + name) // a build defect, caught by every test
	}
	var out []string
	sc := bufio.NewScanner(strings.NewReader(string(b)))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, " #"); i >= 0 {
			line = line[:i]
		}
		line = strings.TrimSpace(line)
		if line == "" || line == "#" || strings.HasPrefix(line, "# ") {
			continue
		}
		out = append(out, line)
	}
	return out
}

func sortStable[T any](s []T, less func(a, b T) bool) {
	// insertion sort: the tables are small and this keeps file order for ties
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && less(s[j], s[j-1]); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// buf is text under construction with, per byte, its original source range.
type buf struct {
	text []byte
	a, b []int
}

func (o *buf) emit(s string, a, b int) {
	o.text = append(o.text, s...)
	for range len(s) {
		o.a = append(o.a, a)
		o.b = append(o.b, b)
	}
}

func (o *buf) emitRune(r rune, a, b int) {
	var tmp [4]byte
	n := utf8.EncodeRune(tmp[:], r)
	o.emit(string(tmp[:n]), a, b)
}

// src returns the original range of in.text[i:j].
func (o *buf) src(i, j int) (int, int) {
	if i >= j {
		if i < len(o.a) {
			return o.a[i], o.a[i]
		}
		return 0, 0
	}
	return o.a[i], o.b[j-1]
}

// Normalize returns the canonical form of s used for matching, with the map
// back to s. It never fails: invalid UTF-8 becomes U+FFFD. It is idempotent:
// Normalize(Normalize(s).Text).Text == Normalize(s).Text.
func Normalize(s string) Normalized {
	t := loadNormTables()
	in := &buf{text: []byte(s), a: make([]int, len(s)), b: make([]int, len(s))}
	for i := range len(s) {
		in.a[i], in.b[i] = i, i+1
	}
	// Run the stages until nothing changes, so that the result is a fixed
	// point (idempotence). Two rounds settle every input seen in fuzzing; the
	// bound keeps a pathological input from looping.
	for range 4 {
		out := in
		out = foldStage(out, t)
		out = spaceStage(out)
		out = letterSpacedStage(out)
		out = phraseStage(out, t)
		out = spaceStage(out)
		if string(out.text) == string(in.text) {
			in = out
			break
		}
		in = out
	}
	return Normalized{Text: string(in.text), Start: in.a, End: in.b, n: len(s)}
}

// foldStage applies NFKC, drops zero-width and format characters, lower-cases,
// strips Latin tone marks and maps variant characters.
func foldStage(in *buf, t *normTables) *buf {
	out := &buf{text: make([]byte, 0, len(in.text))}
	var it norm.Iter
	it.Init(norm.NFKC, in.text)
	for !it.Done() {
		p := it.Pos()
		seg := it.Next()
		q := it.Pos()
		a, b := in.src(p, q)
		for len(seg) > 0 {
			r, size := utf8.DecodeRune(seg)
			seg = seg[size:]
			for _, f := range foldRune(r, t) {
				out.emitRune(f, a, b)
			}
		}
	}
	return out
}

func foldRune(r rune, t *normTables) []rune {
	switch {
	case r == utf8.RuneError:
		return []rune{utf8.RuneError}
	case r == '\n' || r == '\t' || r == '\r' || unicode.IsSpace(r):
		return []rune{' '}
	case unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Cc, r) ||
		(r >= 0xFE00 && r <= 0xFE0F) || (r >= 0xE0100 && r <= 0xE01EF) || unicode.Is(unicode.Co, r):
		return nil
	}
	r = unicode.ToLower(r)
	if v, ok := t.variants[r]; ok {
		return []rune{v}
	}
	if r > 0x7f && unicode.Is(unicode.Latin, r) {
		var out []rune
		for _, d := range norm.NFD.String(string(r)) {
			if !unicode.Is(unicode.Mn, d) {
				out = append(out, unicode.ToLower(d))
			}
		}
		return out
	}
	return []rune{r}
}

func isHan(r rune) bool { return unicode.Is(unicode.Han, r) || r == '〇' }

// isFiller reports symbols used to break up a word: "最*好", "最·好", "绝🔥对".
func isFiller(r rune) bool {
	switch r {
	case '*', '·', '•', '-', '_', '~', '.', '|', '\\', '\'', '"', '`', '^', '=', '・', '‧', '∙', '—', '–', '…':
		return true
	}
	return unicode.Is(unicode.So, r) || unicode.Is(unicode.Sk, r) || unicode.Is(unicode.Cs, r)
}

type runeAt struct {
	r    rune
	i, j int // byte range in the stage input
}

func runesOf(in *buf) []runeAt {
	rs := make([]runeAt, 0, len(in.text))
	for i := 0; i < len(in.text); {
		r, n := utf8.DecodeRune(in.text[i:])
		rs = append(rs, runeAt{r, i, i + n})
		i += n
	}
	return rs
}

// spaceStage removes spaces and filler symbols inside Han words, spaces next
// to Han characters, leading and trailing spaces, and collapses other runs of
// spaces to one.
func spaceStage(in *buf) *buf {
	rs := runesOf(in)
	out := &buf{text: make([]byte, 0, len(in.text))}
	for k := 0; k < len(rs); {
		r := rs[k].r
		if r != ' ' && !isFiller(r) {
			out.emit(string(in.text[rs[k].i:rs[k].j]), in.a[rs[k].i], in.b[rs[k].j-1])
			k++
			continue
		}
		// a run of gap runes [k, e)
		e := k
		hasFiller := false
		for e < len(rs) && (rs[e].r == ' ' || isFiller(rs[e].r)) {
			hasFiller = hasFiller || rs[e].r != ' '
			e++
		}
		var left, right rune = -1, -1
		if k > 0 {
			left = rs[k-1].r
		}
		if e < len(rs) {
			right = rs[e].r
		}
		switch {
		case isHan(left) && isHan(right):
			// dropped: "最 好", "最*好"
		case !hasFiller && (left == -1 || right == -1 || isHan(left) || isHan(right)):
			// dropped: leading/trailing spaces, spaces next to Han
		default:
			for m := k; m < e; {
				if rs[m].r == ' ' {
					n := m
					for n < e && rs[n].r == ' ' {
						n++
					}
					if !(m == k && left == -1) && !(n == e && right == -1) {
						a, b := in.src(rs[m].i, rs[n-1].j)
						out.emit(" ", a, b)
					}
					m = n
					continue
				}
				out.emit(string(in.text[rs[m].i:rs[m].j]), in.a[rs[m].i], in.b[rs[m].j-1])
				m++
			}
		}
		k = e
	}
	return out
}

func isASCIILetter(r rune) bool { return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' }
func isASCIIAlnum(r rune) bool  { return isASCIILetter(r) || r >= '0' && r <= '9' }

// letterSeparators may stand between the single characters of a spelled-out
// word: "b e s t", "b-e-s-t", "N.o.1".
const letterSeparators = " .-*_·"

// letterSpacedStage joins words spelled one character at a time: "b e s t",
// "b-e-s-t" and "N.o.1" become "best" and "no1". A run needs three
// characters or more, at least two of them letters, and the same separator
// throughout.
func letterSpacedStage(in *buf) *buf {
	rs := runesOf(in)
	out := &buf{text: make([]byte, 0, len(in.text))}
	single := func(k int) bool {
		return k < len(rs) && isASCIIAlnum(rs[k].r) &&
			(k == 0 || !isASCIIAlnum(rs[k-1].r)) &&
			(k+1 >= len(rs) || !isASCIIAlnum(rs[k+1].r))
	}
	for k := 0; k < len(rs); {
		if single(k) && k+1 < len(rs) && strings.ContainsRune(letterSeparators, rs[k+1].r) {
			sep := rs[k+1].r
			e, n, letters := k, 1, 0
			if isASCIILetter(rs[k].r) {
				letters++
			}
			for e+2 < len(rs) && rs[e+1].r == sep && single(e+2) {
				e += 2
				n++
				if isASCIILetter(rs[e].r) {
					letters++
				}
			}
			if n >= 3 && letters >= 2 {
				for m := k; m <= e; m += 2 {
					out.emit(string(rs[m].r), in.a[rs[m].i], in.b[rs[m].j-1])
				}
				k = e + 1
				continue
			}
		}
		out.emit(string(in.text[rs[k].i:rs[k].j]), in.a[rs[k].i], in.b[rs[k].j-1])
		k++
	}
	return out
}

// phraseStage maps pinyin spellings and homophones of regulated words back to
// their characters, "第1" to "第一" and "百分之百" to "100%".
func phraseStage(in *buf, t *normTables) *buf {
	rs := runesOf(in)
	out := &buf{text: make([]byte, 0, len(in.text))}
	for k := 0; k < len(rs); {
		r := rs[k].r
		if isASCIILetter(r) && (k == 0 || !isASCIILetter(rs[k-1].r)) {
			if e, target, ok := matchPinyin(rs, k, t); ok {
				a, b := in.src(rs[k].i, rs[e-1].j)
				out.emit(target, a, b)
				k = e
				continue
			}
		}
		if h, ok := t.homophones[r]; ok && k+1 < len(rs) &&
			(h.followers == "" || strings.ContainsRune(h.followers, rs[k+1].r)) {
			a, b := in.src(rs[k].i, rs[k].j)
			out.emitRune(h.target, a, b)
			k++
			continue
		}
		if r == '第' && k+1 < len(rs) && rs[k+1].r == '1' && (k+2 >= len(rs) || !isDigit(rs[k+2].r)) {
			a, b := in.src(rs[k].i, rs[k+1].j)
			out.emit("第一", a, b)
			k += 2
			continue
		}
		if r == '第' {
			// 第yi, 第yi1: Han and pinyin mixed in one word
			if e, ok := matchRunes(rs, k+1, "yi"); ok {
				if e < len(rs) && rs[e].r >= '1' && rs[e].r <= '5' {
					e++
				}
				if e >= len(rs) || !isASCIIAlnum(rs[e].r) {
					a, b := in.src(rs[k].i, rs[e-1].j)
					out.emit("第一", a, b)
					k = e
					continue
				}
			}
		}
		if r == '百' {
			for _, w := range []string{"百分之百", "百分百"} {
				if e, ok := matchRunes(rs, k, w); ok {
					a, b := in.src(rs[k].i, rs[e-1].j)
					out.emit("100%", a, b)
					k = e
					goto next
				}
			}
		}
		out.emit(string(in.text[rs[k].i:rs[k].j]), in.a[rs[k].i], in.b[rs[k].j-1])
		k++
	next:
	}
	return out
}

func isDigit(r rune) bool { return r >= '0' && r <= '9' }

func matchRunes(rs []runeAt, k int, w string) (int, bool) {
	for _, r := range w {
		if k >= len(rs) || rs[k].r != r {
			return 0, false
		}
		k++
	}
	return k, true
}

// matchPinyin matches a pinyin entry at rs[k]: syllables with optional tone
// digits, optionally separated by a space, hyphen or apostrophe, and not
// followed by another letter.
func matchPinyin(rs []runeAt, k int, t *normTables) (int, string, bool) {
entries:
	for _, e := range t.pinyin {
		p := k
		for si, syl := range e.syllables {
			for _, c := range syl {
				if p >= len(rs) || rs[p].r != c {
					continue entries
				}
				p++
			}
			if p < len(rs) && rs[p].r >= '1' && rs[p].r <= '5' {
				p++
			}
			if si < len(e.syllables)-1 && p < len(rs) && (rs[p].r == ' ' || rs[p].r == '-' || rs[p].r == '\'') {
				p++
			}
		}
		if p < len(rs) && (isASCIILetter(rs[p].r) || isDigit(rs[p].r)) {
			continue
		}
		return p, e.target, true
	}
	return 0, "", false
}
