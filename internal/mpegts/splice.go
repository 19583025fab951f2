package mpegts

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/evercast/evercast/internal/media"
)

// ErrIncompatible is returned by Splice for a clip whose PIDs or AAC
// configuration differ from the clips already in the stream.
var ErrIncompatible = errors.New("mpegts: clip incompatible with the stream")

// DefaultMaxSegment is the segment length bound when Options leaves it zero.
const DefaultMaxSegment = 4 * time.Second

// DefaultStart is where the timeline of a zero Splicer starts, in ticks:
// 1.4 s, as ffmpeg's own muxer does, so that the PCR, which runs 0.7 s
// ahead of the timestamps in ffmpeg's clips, starts without wrapping.
const DefaultStart int64 = 126000

// Options configures a Splicer.
type Options struct {
	// MaxSegment bounds a segment's duration where the clip's keyframes
	// allow it (DefaultMaxSegment when zero). A segment never spans clips.
	MaxSegment time.Duration
}

// Segment is a piece of the output stream that starts with PAT and PMT and
// whose first video frame is a keyframe: an HLS media segment.
type Segment struct {
	// Data is a self-contained run of transport stream packets. The
	// concatenation of all segments' Data is the continuous stream.
	Data []byte
	// Start is the PTS of the segment's first video frame on the stream's
	// timeline, in 90 kHz ticks, not wrapped to 33 bits.
	Start int64
	// Ticks is the segment's duration in 90 kHz ticks.
	Ticks int64
	// ClipStart tells that the segment begins a clip.
	ClipStart bool
}

// Duration returns the segment's duration.
func (g Segment) Duration() time.Duration {
	return time.Duration(g.Ticks) * time.Second / media.Clock
}

// Splicer joins clips into one continuous transport stream: it moves each
// clip's timestamps onto the stream's timeline, keeps continuity counters
// running across clips, drops the audio frames that outlast the video and
// cuts the result into 320 ms chunks (Begin) or segments (Splice). The zero
// Splicer starts at DefaultStart with default Options. A Splicer is not safe
// for concurrent use.
type Splicer struct {
	opts   Options
	init   bool
	offset int64
	cc     [nullPID + 1]uint8 // next continuity counter per PID

	clips                      int // clips that reached the stream
	pmtPID, videoPID, audioPID uint16
	aacConfig                  [2]byte

	cur     *Cursor // the clip in progress, if any
	havePCR bool
	lastPCR int64 // the last PCR written, in 27 MHz units, not wrapped

	scratch []byte // packets the splicer makes, before emit
}

// NewSplicer returns a Splicer whose first clip starts at startTicks
// (90 kHz ticks; the written timestamps wrap modulo 2^33).
func NewSplicer(startTicks int64, opts Options) *Splicer {
	return &Splicer{opts: opts, init: true, offset: startTicks}
}

// Offset returns where the next clip starts on the stream's timeline, in
// 90 kHz ticks, not wrapped: after the last chunk taken.
func (s *Splicer) Offset() int64 {
	if !s.init {
		return DefaultStart
	}
	return s.offset
}

// Splice appends the whole of c to the stream and returns its segments, in
// order: it takes every chunk of c (see Begin) and groups them as a
// SegmentBuilder with Options.MaxSegment does. Video frame i of c gets the
// PTS Offset()+i*3600; audio frame j gets Offset()+j*1920, and only the
// first Ticks()/1920 audio frames are kept, so that audio and video of every
// clip last exactly as long. It returns an error wrapping ErrIncompatible,
// and changes nothing, when c's PIDs or AAC configuration differ from the
// first clip's.
func (s *Splicer) Splice(c *Clip) ([]Segment, error) {
	cur, err := s.Begin(c)
	if err != nil {
		return nil, err
	}
	// One buffer for the whole clip: the segments are consecutive,
	// capacity-capped pieces of it.
	extra := 2*len(c.keys) + 3*c.plan.chunks + 4 // tables at keyframes, split audio, PCRs
	b := SegmentBuilder{MaxSegment: s.opts.MaxSegment, buf: make([]byte, 0, len(c.data)+extra*PacketSize), shared: true}
	segs := make([]Segment, 0, len(c.keys)+1)
	for {
		n := len(b.buf)
		var ch Chunk
		var ok bool
		if b.buf, ch, ok = cur.AppendNext(b.buf); !ok {
			break
		}
		if g, ok := b.placed(ch, n); ok {
			segs = append(segs, g)
		}
	}
	if g, ok := b.Flush(); ok {
		segs = append(segs, g)
	}
	return segs, nil
}

// compatible checks that c can join the clips already in the stream.
func (s *Splicer) compatible(c *Clip) error {
	switch {
	case s.clips == 0:
		return nil
	case c.pmtPID != s.pmtPID || c.videoPID != s.videoPID || c.audioPID != s.audioPID:
		return fmt.Errorf("%w: PIDs PMT %#x video %#x audio %#x, stream has %#x %#x %#x", ErrIncompatible,
			c.pmtPID, c.videoPID, c.audioPID, s.pmtPID, s.videoPID, s.audioPID)
	case c.aacConfig != s.aacConfig:
		return fmt.Errorf("%w: AAC configuration % x, stream has % x", ErrIncompatible, c.aacConfig, s.aacConfig)
	}
	return nil
}

// commitClip records that c reaches the stream: its first chunk is taken.
func (s *Splicer) commitClip(c *Clip) {
	if !s.init {
		s.init, s.offset = true, DefaultStart
	}
	if s.clips == 0 {
		s.pmtPID, s.videoPID, s.audioPID, s.aacConfig = c.pmtPID, c.videoPID, c.audioPID, c.aacConfig
	}
	s.clips++
}

// emit appends packet p of clip c, whose first video frame lands at base on
// the stream, to buf and rewrites the copy: continuity counter, PCR and
// OPCR, PTS and DTS.
func (s *Splicer) emit(buf []byte, c *Clip, p []byte, base int64) []byte {
	buf = append(buf, p...)
	q := buf[len(buf)-PacketSize:]
	pid := pidOf(q)
	if afc(q)&hasData != 0 {
		q[3] = q[3]&0xF0 | s.cc[pid]
		s.cc[pid] = (s.cc[pid] + 1) & 0x0F
	} else {
		q[3] = q[3]&0xF0 | (s.cc[pid]-1)&0x0F
	}
	// The PCR moves with the video: both keep their distance.
	shift := base - c.v0
	if off := pcrOffset(q); off >= 0 {
		b, ext := readPCR(q[off:])
		writePCR(q[off:], b+shift, ext)
		s.havePCR, s.lastPCR = true, (base+wrapDiff(b, c.v0))*300+int64(ext)
	}
	if off := opcrOffset(q); off >= 0 {
		b, ext := readPCR(q[off:])
		writePCR(q[off:], b+shift, ext)
	}
	if ps := payloadStart(q); ps >= 0 && pusi(q) && (pid == c.videoPID || pid == c.audioPID) {
		// Parse checked every such PES header; emitPiece makes its own.
		first := c.v0
		if pid == c.audioPID {
			first = c.a0
		}
		h := q[ps:]
		writeTS(h[9:], base+wrapDiff(readTS(h[9:]), first))
		if h[7]>>6 == 3 {
			writeTS(h[14:], base+wrapDiff(readTS(h[14:]), first))
		}
	} else if pusi(q) && slices.Contains(c.otherES, pid) {
		// Other streams, such as timed metadata, move with the video.
		if _, _, _, err := pesHeader(q); err == nil {
			h := q[payloadStart(q):]
			writeTS(h[9:], readTS(h[9:])+shift)
			if h[7]>>6 == 3 {
				writeTS(h[14:], readTS(h[14:])+shift)
			}
		}
	}
	return buf
}
