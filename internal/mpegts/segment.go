package mpegts

import (
	"time"

	"github.com/evercast/evercast/internal/media"
)

// SegmentBuilder groups chunks, in stream order, into HLS media segments.
// A segment always begins at a clip start. Within a clip it begins at a
// keyframe (at a Keyframe chunk's start or at a chunk's KeyOffset) when
// running on to the next keyframe would make the current segment longer than
// MaxSegment, as Splice does. A segment ends mid-GOP when its clip was
// stopped. The zero SegmentBuilder uses DefaultMaxSegment. A SegmentBuilder
// is not safe for concurrent use.
type SegmentBuilder struct {
	// MaxSegment bounds a segment's duration where the clips' keyframes
	// allow it (DefaultMaxSegment when zero).
	MaxSegment time.Duration

	buf       []byte // the segment in progress
	shared    bool   // segments share buf's array (Splice's single buffer)
	open      bool
	clipStart bool
	start     int64 // stream ticks of the segment in progress
	end       int64 // stream ticks after the last chunk added
}

// Add appends chunk ch (its Data is copied) and returns the segment that it
// completes, if any. The first chunk added, and the first after Flush,
// should begin a clip (or be a Keyframe chunk): it begins a segment.
func (b *SegmentBuilder) Add(ch Chunk) (done Segment, ok bool) {
	n := len(b.buf)
	b.buf = append(b.buf, ch.Data...)
	return b.placed(ch, n)
}

// Flush returns the segment in progress, if any, and ends it. Call it after
// a clip's last chunk (or once it is stopped) to publish the clip's last
// segment without waiting for the next clip.
func (b *SegmentBuilder) Flush() (done Segment, ok bool) {
	if !b.open {
		return Segment{}, false
	}
	b.open = false
	return b.cut(len(b.buf), b.end), true
}

// placed decides where the chunk ch, whose data is b.buf[n:], ends or
// begins segments.
func (b *SegmentBuilder) placed(ch Chunk, n int) (done Segment, ok bool) {
	off, at := -1, int64(0)
	switch {
	case ch.ClipStart || !b.open:
		off, at = 0, ch.Start
	case ch.GOPTicks > 0:
		key := ch.Start + ch.KeyTicks
		if key > b.start && key+ch.GOPTicks-b.start > b.maxTicks() {
			off, at = ch.KeyOffset, key
		}
	}
	if off >= 0 {
		if b.open && n+off > 0 {
			done, ok = b.cut(n+off, at), true
		} else {
			b.buf = b.buf[n+off:]
		}
		b.open, b.start, b.clipStart = true, at, ch.ClipStart && off == 0
	}
	b.end = ch.Start + ch.Ticks
	return done, ok
}

// cut returns the segment in progress as its first n bytes, lasting until
// at, and keeps the rest of buf for the next one.
func (b *SegmentBuilder) cut(n int, at int64) Segment {
	g := Segment{Data: b.buf[:n:n], Start: b.start, Ticks: at - b.start, ClipStart: b.clipStart}
	rest := b.buf[n:]
	switch {
	case b.shared:
		b.buf = rest
	case len(rest) == 0:
		b.buf = nil
	default:
		// The next segment gets an array of its own, about as large.
		b.buf = append(make([]byte, 0, max(n, 2*len(rest))), rest...)
	}
	return g
}

func (b *SegmentBuilder) maxTicks() int64 {
	d := b.MaxSegment
	if d <= 0 {
		d = DefaultMaxSegment
	}
	return int64(d/time.Microsecond) * media.Clock / 1e6
}
