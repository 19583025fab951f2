package claims

import (
	"strings"
	"testing"
)

var benchText = strings.Repeat("欢迎来到直播间！这款西湖龙井现在只要99.9元，仅剩3件。产自杭州西湖，净含量250g。It was 119.9 yuan. ", 4)

func BenchmarkNormalize(b *testing.B) {
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		Normalize(benchText)
	}
}

func BenchmarkCheck(b *testing.B) {
	c := New(Options{})
	tea := fixtures()["tea"]
	b.SetBytes(int64(len(benchText)))
	for b.Loop() {
		c.Check(Input{Text: benchText, Product: tea, SessionDate: testDate})
	}
}

func BenchmarkNew(b *testing.B) {
	for b.Loop() {
		New(Options{})
	}
}
