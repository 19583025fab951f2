package render

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// DefaultFontPath is the CJK font used unless Options.FontPath says
// otherwise (Debian package fonts-wqy-microhei).
const DefaultFontPath = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"

// loadFont reads a TrueType/OpenType font or the first font of a
// collection (.ttc).
func loadFont(path string) (*opentype.Font, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("render: font %s: %w (install it with `apt-get install fonts-wqy-microhei`, or set FontPath)", path, err)
	}
	sfnt, err := repackSFNT(b, 0)
	if err != nil {
		return nil, fmt.Errorf("render: font %s: not a TrueType/OpenType font or collection: %w", path, err)
	}
	f, err := opentype.Parse(sfnt)
	if err != nil {
		return nil, fmt.Errorf("render: font %s: not a TrueType/OpenType font or collection: %w", path, err)
	}
	return f, nil
}

// repackSFNT returns font index of a collection (or the font of a single
// font file) as a single font file whose tables start on 4-byte
// boundaries. golang.org/x/image/font/sfnt insists on that alignment, which
// the OpenType specification asks for but some fonts do not keep:
// wqy-microhei.ttc, for one, has tables at odd offsets.
func repackSFNT(b []byte, index int) ([]byte, error) {
	u16 := func(o int) int { return int(binary.BigEndian.Uint16(b[o:])) }
	u32 := func(o int) int { return int(binary.BigEndian.Uint32(b[o:])) }
	if len(b) < 12 {
		return nil, errors.New("file too short")
	}
	off := 0
	if string(b[:4]) == "ttcf" {
		n := u32(8)
		if index >= n || len(b) < 12+4*n {
			return nil, fmt.Errorf("collection has no font %d", index)
		}
		off = u32(12 + 4*index)
	}
	if off+12 > len(b) {
		return nil, errors.New("font header outside the file")
	}
	switch v := string(b[off : off+4]); v {
	case "\x00\x01\x00\x00", "OTTO", "true":
	default:
		return nil, fmt.Errorf("unknown sfnt version %q", v)
	}
	num := u16(off + 4)
	dir := off + 12
	if num == 0 || dir+16*num > len(b) {
		return nil, errors.New("table directory outside the file")
	}
	head := 12 + 16*num
	out := make([]byte, head, len(b))
	copy(out, b[off:off+12])
	for i := range num {
		rec := dir + 16*i
		o, n := u32(rec+8), u32(rec+12)
		if o < 0 || n < 0 || o+n > len(b) || o+n < o {
			return nil, fmt.Errorf("table %q outside the file", b[rec:rec+4])
		}
		copy(out[12+16*i:], b[rec:rec+8]) // tag and checksum
		binary.BigEndian.PutUint32(out[12+16*i+8:], uint32(len(out)))
		binary.BigEndian.PutUint32(out[12+16*i+12:], uint32(n))
		out = append(out, b[o:o+n]...)
		for len(out)%4 != 0 {
			out = append(out, 0)
		}
	}
	return out, nil
}

// newFace returns a face of f at size pixels.
func newFace(f *opentype.Font, size float64) font.Face {
	face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		// NewFace fails only for a nil font or bad options, both ruled out.
		panic(fmt.Sprintf("render: new face: %v", err))
	}
	return face
}

// isWide reports whether r is set one rune per break opportunity, as CJK
// text is: Han, kana, Hangul, and full-width forms and CJK punctuation.
func isWide(r rune) bool {
	return unicode.Is(unicode.Han, r) || unicode.Is(unicode.Hiragana, r) || unicode.Is(unicode.Katakana, r) ||
		unicode.Is(unicode.Hangul, r) ||
		(r >= 0x3000 && r <= 0x303F) || // CJK symbols and punctuation
		(r >= 0xFF00 && r <= 0xFFEF) // half- and full-width forms
}

// noLineStart are punctuation marks that must not begin a line; noLineEnd
// must not end one.
const (
	noLineStart = "，。、；：！？）》」』】〕〉”’…,.;:!?)]}%"
	noLineEnd   = "（《「『【〔〈“‘([{¥￥$"
)

// token is an unbreakable run of text: one wide rune (with the punctuation
// glued to it) or one Latin word.
type token struct {
	text  string
	space bool // preceded by a space
}

// tokenize splits s into tokens, collapsing white space.
func tokenize(s string) []token {
	var toks []token
	space := false
	var cur strings.Builder
	curWide := false
	flush := func() {
		if cur.Len() > 0 {
			toks = append(toks, token{text: cur.String(), space: space})
			cur.Reset()
			space = false
		}
	}
	glueNext := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			flush()
			space = len(toks) > 0
			glueNext = false
		case strings.ContainsRune(noLineStart, r) && (cur.Len() > 0 || len(toks) > 0):
			// Closing punctuation sticks to what precedes it.
			if cur.Len() == 0 && !space {
				last := &toks[len(toks)-1]
				last.text += string(r)
			} else {
				cur.WriteRune(r)
			}
		case glueNext:
			cur.WriteRune(r)
			curWide = isWide(r)
			glueNext = strings.ContainsRune(noLineEnd, r)
		case isWide(r):
			flush()
			cur.WriteRune(r)
			curWide = true
			glueNext = strings.ContainsRune(noLineEnd, r)
		default:
			if curWide {
				flush()
				curWide = false
			}
			if strings.ContainsRune(noLineEnd, r) && cur.Len() > 0 {
				flush()
			}
			cur.WriteRune(r)
			glueNext = strings.ContainsRune(noLineEnd, r)
		}
	}
	flush()
	return toks
}

// measure is the advance width of s in pixels.
func measure(face font.Face, s string) int {
	return font.MeasureString(face, s).Ceil()
}

// wrap breaks s into lines no wider than width: between wide runes and
// between words, never before closing or after opening punctuation; a word
// wider than a line is broken between runes. In CJK text that has spaces
// between phrases, a line breaks at the last space rather than inside a
// phrase when that keeps the line at least 60% full.
func wrap(face font.Face, s string, width int) []string {
	var lines []string
	var cur []token
	fits := func(ts []token) bool { return measure(face, joinTokens(ts)) <= width }
	for _, t := range tokenize(s) {
		if len(cur) > 0 {
			if fits(append(cur[:len(cur):len(cur)], t)) {
				cur = append(cur, t)
				continue
			}
			cut := len(cur)
			if !t.space {
				for k := len(cur) - 1; k >= 1; k-- {
					if cur[k].space {
						if measure(face, joinTokens(cur[:k])) >= width*6/10 {
							cut = k
						}
						break
					}
				}
			}
			lines = append(lines, joinTokens(cur[:cut]))
			cur = append([]token(nil), cur[cut:]...)
			if len(cur) > 0 {
				cur[0].space = false
				if fits(append(cur[:len(cur):len(cur)], t)) {
					cur = append(cur, t)
					continue
				}
				lines = append(lines, joinTokens(cur))
				cur = nil
			}
		}
		t.space = false
		if fits([]token{t}) {
			cur = []token{t}
			continue
		}
		// A token wider than a line: break it between runes.
		line := ""
		for _, r := range t.text {
			if line != "" && measure(face, line+string(r)) > width {
				lines = append(lines, line)
				line = ""
			}
			line += string(r)
		}
		cur = []token{{text: line}}
	}
	if len(cur) > 0 {
		lines = append(lines, joinTokens(cur))
	}
	return lines
}

// joinTokens is the text of a line of tokens.
func joinTokens(ts []token) string {
	var b strings.Builder
	for i, t := range ts {
		if i > 0 && t.space {
			b.WriteByte(' ')
		}
		b.WriteString(t.text)
	}
	return b.String()
}

// balancedWrap wraps s into as few lines as wrap does, but as narrow as
// possible, so that the last line is not a lone word.
func balancedWrap(face font.Face, s string, width int) []string {
	best := wrap(face, s, width)
	if len(best) < 2 {
		return best
	}
	lo, hi := width/2, width
	for lo < hi {
		mid := (lo + hi) / 2
		if l := wrap(face, s, mid); len(l) <= len(best) {
			best, hi = l, mid
		} else {
			lo = mid + 1
		}
	}
	return best
}

// sentences splits s after sentence-ending punctuation.
func sentences(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		end := false
		next, _ := utf8.DecodeRuneInString(s[i+utf8.RuneLen(r):])
		switch r {
		case '。', '！', '？', '；', '!', '?', ';', '…':
			end = !strings.ContainsRune(noLineStart, next) || next == utf8.RuneError
		case '.':
			end = next == utf8.RuneError || unicode.IsSpace(next)
		}
		if end {
			j := i + utf8.RuneLen(r)
			if t := strings.TrimSpace(s[start:j]); t != "" {
				out = append(out, t)
			}
			start = j
		}
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

// joinText joins two pieces of text, with a space unless CJK meets CJK.
func joinText(a, b string) string {
	if a == "" {
		return b
	}
	last, _ := utf8.DecodeLastRuneInString(a)
	first, _ := utf8.DecodeRuneInString(b)
	if isWide(last) || isWide(first) {
		return a + b
	}
	return a + " " + b
}

// paginate lays s out in pages of at most lines lines of width: whole
// sentences share a page while they fit; a longer sentence gets pages of
// its own.
func paginate(face font.Face, s string, width, lines int) [][]string {
	var pages [][]string
	cur := ""
	for _, sent := range sentences(s) {
		if cand := joinText(cur, sent); len(wrap(face, cand, width)) <= lines {
			cur = cand
			continue
		}
		if cur != "" {
			pages = append(pages, wrap(face, cur, width))
			cur = ""
		}
		ls := wrap(face, sent, width)
		for len(ls) > lines {
			pages = append(pages, ls[:lines])
			ls = ls[lines:]
		}
		cur = ""
		for _, l := range ls {
			cur = joinText(cur, l)
		}
		if len(ls) > 0 && len(wrap(face, cur, width)) > len(ls) {
			// Re-joining changed the breaks; keep the page as laid out.
			pages = append(pages, ls)
			cur = ""
		}
	}
	if cur != "" {
		pages = append(pages, wrap(face, cur, width))
	}
	return pages
}

// weight is the speaking weight of a page: a wide rune counts as three
// Latin letters, since it is a syllable; punctuation and spaces count
// nothing.
func weight(page []string) int {
	w := 0
	for _, l := range page {
		for _, r := range l {
			switch {
			case isWide(r) && !unicode.IsPunct(r) && !unicode.IsSymbol(r):
				w += 3
			case unicode.IsLetter(r) || unicode.IsDigit(r):
				w++
			}
		}
	}
	return w
}

// sanitize drops runes the face cannot draw and control characters, so
// that no "tofu" boxes reach the picture.
func sanitize(face font.Face, s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			b.WriteRune(' ')
		case unicode.IsControl(r):
		default:
			if _, ok := face.GlyphAdvance(r); ok {
				b.WriteRune(r)
			}
		}
	}
	return strings.TrimSpace(b.String())
}

// ellipsize shortens s with "…" until it fits width.
func ellipsize(face font.Face, s string, width int) string {
	if measure(face, s) <= width {
		return s
	}
	rs := []rune(s)
	for len(rs) > 0 && measure(face, strings.TrimSpace(string(rs))+"…") > width {
		rs = rs[:len(rs)-1]
	}
	return strings.TrimSpace(string(rs)) + "…"
}

// drawText draws s with its baseline-left at (x, y).
func drawText(dst *image.RGBA, face font.Face, x, y int, c color.Color, s string) {
	d := font.Drawer{Dst: dst, Src: image.NewUniform(c), Face: face, Dot: fixed.P(x, y)}
	d.DrawString(s)
}
