package claims

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"最好", "最好"},
		{"最 好", "最好"},
		{"最\u200b好", "最好"},
		{"最\u00ad好", "最好"},
		{"最\u2060好\ufeff", "最好"},
		{"ＡＢＣ１２３", "abc123"},
		{"絕對", "绝对"},
		{"頂級國家級", "顶级国家级"},
		{"惟一", "唯一"},
		{"苐一", "第一"},
		{"zui4好", "最好"},
		{"zuì hǎo", "最好"},
		{"dì yī", "第一"},
		{"di4yi1", "第一"},
		{"第①", "第一"},
		{"第1", "第一"},
		{"第10", "第10"},
		{"罪低价", "最低价"},
		{"醉了", "醉了"},
		{"决对", "绝对"},
		{"b e s t", "best"},
		{"a b", "a b"},
		{"No.  1", "no. 1"},
		{"  hello   world  ", "hello world"},
		{"仅剩 3 件", "仅剩3件"},
		{"百分之百", "100%"},
		{"最*好", "最好"},
		{"12.5", "12.5"},
		{"café", "cafe"},
		{"\xff\xfe", "\ufffd\ufffd"},
		{"b-e-s-t", "best"},
		{"N.o.1", "no1"},
		{"e.g.", "e.g."},
		{"1.2.3", "1.2.3"},
		{"N\u043e1", "no1"},          // Cyrillic о
		{"b\u0435st", "best"},        // Cyrillic е
		{"\u039d\u03bf.1", "no.1"},   // Greek Νο
		{"100\u00b5g", "100\u03bcg"}, // micro sign: NFKC μ, not m
		{"第yi名", "第一名"},
		{"第yi1", "第一"},
		{"第壹", "第一"},
	}
	for _, tt := range tests {
		if got := Normalize(tt.in).Text; got != tt.want {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeOffsets(t *testing.T) {
	in := "这是 ｚｕｉ\u200b４ 低价"
	n := Normalize(in)
	k := strings.Index(n.Text, "最低价")
	if k < 0 {
		t.Fatalf("normalised %q", n.Text)
	}
	a, b := n.Original(k, k+len("最低价"))
	if got := in[a:b]; got != "ｚｕｉ\u200b４ 低价" {
		t.Fatalf("original span %q", got)
	}
}

func checkNormalized(t *testing.T, s string) {
	n := Normalize(s)
	if len(n.Start) != len(n.Text) || len(n.End) != len(n.Text) {
		t.Fatalf("map lengths %d %d for %d bytes", len(n.Start), len(n.End), len(n.Text))
	}
	prev := 0
	for i := range n.Text {
		a, b := n.Start[i], n.End[i]
		if a < 0 || b > len(s) || a > b {
			t.Fatalf("byte %d maps to %d..%d of %d", i, a, b, len(s))
		}
		if a < prev {
			t.Fatalf("map not monotonic at %d: %d < %d", i, a, prev)
		}
		prev = a
	}
	for i := 0; i <= len(n.Text); i++ {
		for j := i; j <= len(n.Text) && j < i+8; j++ {
			a, b := n.Original(i, j)
			if a < 0 || b > len(s) || a > b {
				t.Fatalf("Original(%d,%d) = %d,%d of %d", i, j, a, b, len(s))
			}
		}
	}
	if !utf8.ValidString(n.Text) {
		t.Fatalf("invalid UTF-8 output %q", n.Text)
	}
	if again := Normalize(n.Text).Text; again != n.Text {
		t.Fatalf("not idempotent: %q -> %q -> %q", s, n.Text, again)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"最好", "zui4低价", "dì yī", "Ｎｏ．１", "b e s t", "最\u200b好", "第①", "百分之百",
		"仅剩 3 件", "罪低价", "\xff", "a\u0301", "ǅ", "ﬁ", "İ", "最 * 好", "zui zui", "第1 1", "ｚｕｉ hao"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		checkNormalized(t, s)
	})
}

func FuzzCheck(f *testing.F) {
	for _, c := range checkCases {
		f.Add(c.text)
	}
	c := New(Options{})
	fx := fixtures()
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > 4096 {
			return
		}
		for _, p := range fx {
			res := c.Check(Input{Text: s, Product: p, SessionDate: testDate})
			for _, v := range res.Sentences {
				if v.Start < 0 || v.End > len(s) || v.Start > v.End {
					t.Fatalf("bad offsets %d..%d of %d", v.Start, v.End, len(s))
				}
				if !v.OK && s[v.Start:v.End] != v.Span {
					t.Fatalf("span %q != text %q", v.Span, s[v.Start:v.End])
				}
				if !v.OK && v.Category == "" {
					t.Fatal("violation without category")
				}
			}
		}
	})
}
