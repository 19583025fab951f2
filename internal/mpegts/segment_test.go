package mpegts

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast/internal/media"
	"github.com/evercast/evercast/internal/mpegts/mpegtstest"
)

// play is a clip of a test stream and how many of its chunks to take (0:
// all).
type play struct {
	spec mpegtstest.Spec
	take int
}

// buildSegments splices the clips chunk by chunk into a SegmentBuilder and
// returns the segments, the stream the chunks make, the video frames taken
// per clip and the last clip.
func buildSegments(t *testing.T, max time.Duration, plays []play) (segs []Segment, stream []byte, frames []int, last *Clip) {
	t.Helper()
	s := NewSplicer(0, Options{})
	b := SegmentBuilder{MaxSegment: max}
	for _, p := range plays {
		c, err := Parse(fixtures.Clip(t, p.spec))
		if err != nil {
			t.Fatal(err)
		}
		cur, err := s.Begin(c)
		if err != nil {
			t.Fatal(err)
		}
		take := p.take
		if take == 0 {
			take = cur.Chunks()
		}
		for range take {
			ch, ok := cur.Next()
			if !ok {
				t.Fatal("clip ended early")
			}
			stream = append(stream, ch.Data...)
			if g, ok := b.Add(ch); ok {
				segs = append(segs, g)
			}
		}
		cur.Stop()
		frames = append(frames, take*media.QuantumFrames)
		last = c
	}
	if g, ok := b.Flush(); ok {
		segs = append(segs, g)
	}
	if _, ok := b.Flush(); ok {
		t.Error("second Flush returned a segment")
	}
	return segs, stream, frames, last
}

// checkSegments checks that segs make stream and that each is an HLS
// segment start: PAT, PMT, and a keyframe at its Start.
func checkSegments(t *testing.T, c *Clip, segs []Segment, stream []byte, clipStarts []int64) {
	t.Helper()
	var joined []byte
	next := int64(0)
	for i, g := range segs {
		joined = append(joined, g.Data...)
		if g.Start != next {
			t.Errorf("segment %d starts at %d, want %d", i, g.Start, next)
		}
		next += g.Ticks
		if !beginsWithTables(g.Data, c.pmtPID) {
			t.Errorf("segment %d does not begin with PAT and PMT", i)
		}
		if v := videoStarts(t, g.Data, c.videoPID); len(v) == 0 || !v[0].key || v[0].pts != g.Start&tsMask {
			t.Errorf("segment %d: first video frame is not a keyframe at %d", i, g.Start)
		}
		if want := slices.Contains(clipStarts, g.Start); g.ClipStart != want {
			t.Errorf("segment %d: ClipStart %v, want %v", i, g.ClipStart, want)
		}
		for _, cs := range clipStarts {
			if g.Start < cs && cs < g.Start+g.Ticks {
				t.Errorf("segment %d [%d, %d) spans the clip start %d", i, g.Start, g.Start+g.Ticks, cs)
			}
		}
	}
	if !bytes.Equal(joined, stream) {
		t.Errorf("segments make %d bytes, chunks %d: they differ", len(joined), len(stream))
	}
}

func clipStartsOf(frames []int) []int64 {
	var out []int64
	var at int64
	for _, n := range frames {
		out = append(out, at)
		at += int64(n) * media.FrameTicks
	}
	return out
}

func TestSegmentBuilder(t *testing.T) {
	tone := func(q, take int) play { return play{mpegtstest.Spec{Quanta: q}, take} }
	ms := func(d ...int64) []int64 { return d }
	tests := []struct {
		name  string
		max   time.Duration
		plays []play
		want  []int64 // segment durations in ms
	}{
		{"whole clip, as Splice", 0, []play{tone(22, 0)}, ms(4000, 3040)},
		{"whole clip 2s, as Splice", 2 * time.Second, []play{tone(22, 0)}, ms(2000, 2000, 2000, 1040)},
		{"whole clip 3s, as Splice", 3 * time.Second, []play{tone(10, 0)}, ms(2000, 1200)},
		{"stopped mid-GOP", 0, []play{tone(22, 7)}, ms(2240)},
		{"stopped mid-GOP 2s", 2 * time.Second, []play{tone(22, 7), tone(10, 0)}, ms(2000, 240, 2000, 1200)},
		{"cut at a keyframe chunk", 0, []play{{mpegtstest.Spec{Quanta: 28, Exact: true}, 26}}, ms(4000, 4000, 320)},
		{"every clip starts a segment", 10 * time.Second, []play{tone(10, 1), tone(10, 0), tone(10, 2)}, ms(320, 3200, 640)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			segs, stream, frames, c := buildSegments(t, tt.max, tt.plays)
			var got []int64
			for _, g := range segs {
				got = append(got, g.Duration().Milliseconds())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("segments %v ms, want %v", got, tt.want)
			}
			checkSegments(t, c, segs, stream, clipStartsOf(frames))
		})
	}
}

// TestSegmentBuilderHLS plays the segments of a stream with stopped clips
// as an HLS playlist, and decodes every segment that starts inside a clip on
// its own.
func TestSegmentBuilderHLS(t *testing.T) {
	plays := []play{
		{mpegtstest.Spec{Quanta: 22}, 7},
		{mpegtstest.Spec{Quanta: 14, Silent: true, Exact: true}, 0},
		{mpegtstest.Spec{Quanta: 28, Exact: true}, 26},
		{mpegtstest.Spec{Quanta: 10}, 0},
	}
	segs, stream, frames, c := buildSegments(t, 2*time.Second, plays)
	checkSegments(t, c, segs, stream, clipStartsOf(frames))
	dir := t.TempDir()
	var pl strings.Builder
	var target float64
	for _, g := range segs {
		target = math.Max(target, math.Ceil(g.Duration().Seconds()))
	}
	fmt.Fprintf(&pl, "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:%d\n#EXT-X-MEDIA-SEQUENCE:0\n", int(target))
	inner := 0
	for i, g := range segs {
		name := fmt.Sprintf("seg-%03d.ts", i)
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, g.Data, 0o644); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&pl, "#EXTINF:%.3f,\n%s\n", g.Duration().Seconds(), name)
		if g.ClipStart {
			continue
		}
		inner++
		if _, msg := run(t, "ffmpeg", "-v", "warning", "-i", path, "-f", "null", "-"); msg != "" {
			t.Errorf("decoding segment %d (from %d ticks) alone warned:\n%s", i, g.Start, msg)
		}
	}
	if inner < 3 {
		t.Errorf("only %d segments start inside a clip", inner)
	}
	pl.WriteString("#EXT-X-ENDLIST\n")
	playlist := filepath.Join(dir, "index.m3u8")
	if err := os.WriteFile(playlist, []byte(pl.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	checkProbe(t, playlist, frames)
	if _, msg := run(t, "ffmpeg", "-v", "warning", "-i", playlist, "-f", "null", "-"); msg != "" {
		t.Errorf("decoding the playlist warned:\n%s", msg)
	}
}
