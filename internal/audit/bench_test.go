package audit

import (
	"fmt"
	"testing"
)

// BenchmarkAppend appends clip.aired records to one session.
func BenchmarkAppend(b *testing.B) {
	for _, be := range backends() {
		b.Run(be.name, func(b *testing.B) {
			d := newDB(b, be)
			l := NewLog(d.st, nil)
			data := ClipAired{ClipID: "clp_bench", Kind: "pitch", Text: "西湖龙井，明前采摘，到手价99.9元。",
				VideoKey: "clips/ab/ab.ts", VideoSHA256: "ab", DurationMS: 4480}
			for i := 0; b.Loop(); i++ {
				data.AirSeq = int64(i)
				if _, err := l.Append(d.ctx, "ses_bench", "mer_bench", KindClipAired, ActorPlayout, data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify verifies a 10,000-record chain.
func BenchmarkVerify(b *testing.B) {
	d := newDB(b, backends()[0])
	l := NewLog(d.st, nil)
	for i := range 10000 {
		if _, err := l.Append(d.ctx, "ses_v", "mer_v", KindComment, "viewer", Comment{CommentID: fmt.Sprint(i), Text: "多少钱？", Action: "answer"}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		res, err := l.Verify(d.ctx, "ses_v")
		if err != nil || !res.OK {
			b.Fatal(res, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/10000, "ns/record")
}
