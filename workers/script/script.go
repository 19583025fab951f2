// Package script writes what the anchor says: with an LLM through any
// OpenAI-compatible endpoint (streaming), or offline, composed only from the
// catalog's facts. Every script is checked before it is voiced (by the
// caller); writers take the checker's findings as feedback on a rewrite.
package script

import (
	"context"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/evercast/evercast"
)

// Request is what a writer needs for one clip.
type Request struct {
	ClipID   string
	Kind     evercast.ClipKind
	Beat     int
	Language evercast.Language
	Anchor   *evercast.Anchor
	Title    string
	// Product is the product the clip is about (nil for opening/closing
	// without one); Products is the session's whole rotation.
	Product  *evercast.Product
	Products []*evercast.Product
	Comment  string
	Say      string
	// Feedback holds the checker's findings on the previous draft.
	Feedback []string
}

// Script is a written clip text.
type Script struct {
	Text string
	// Writer names what wrote it: "offline" or "llm:<model>".
	Writer string
}

// Writer writes one clip's script.
type Writer interface {
	Write(ctx context.Context, r Request) (Script, error)
}

// Tidy trims what models add around spoken text: quotes, markdown, stage
// directions in brackets, emoji, repeated whitespace; and keeps at most
// maxSentences sentences.
func Tidy(s string, maxSentences int) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	depth := 0
	for _, r := range s {
		switch {
		case r == '(' || r == '（' || r == '[' || r == '【':
			depth++
			continue
		case r == ')' || r == '）' || r == ']' || r == '】':
			if depth > 0 {
				depth--
			}
			continue
		case depth > 0:
			continue
		case r == '*' || r == '#' || r == '`' || r == '"' || r == '“' || r == '”' || r == '「' || r == '」' || r == '_':
			continue
		case unicode.Is(unicode.So, r) || (r >= 0x1F000 && r <= 0x1FAFF) || r == 0xFE0F:
			continue
		case unicode.IsSpace(r):
			r = ' '
		case !unicode.IsPrint(r):
			continue
		}
		b.WriteRune(r)
	}
	s = strings.Join(strings.Fields(b.String()), " ")
	if maxSentences > 0 {
		s = firstSentences(s, maxSentences)
	}
	return strings.TrimSpace(s)
}

// Sentences splits text after 。！？!?; and after '.' followed by a space.
func Sentences(s string) []string {
	var out []string
	start := 0
	for i, r := range s {
		end := false
		switch r {
		case '。', '！', '？', '!', '?', '；', ';':
			end = true
		case '.':
			next, _ := utf8.DecodeRuneInString(s[i+1:])
			end = i+1 >= len(s) || next == ' '
		}
		if end {
			j := i + utf8.RuneLen(r)
			if seg := strings.TrimSpace(s[start:j]); seg != "" {
				out = append(out, seg)
			}
			start = j
		}
	}
	if seg := strings.TrimSpace(s[start:]); seg != "" {
		out = append(out, seg)
	}
	return out
}

func firstSentences(s string, n int) string {
	ss := Sentences(s)
	if len(ss) <= n {
		return s
	}
	sep := " "
	if !strings.ContainsAny(ss[0], " ") {
		sep = ""
	}
	return strings.Join(ss[:n], sep)
}
