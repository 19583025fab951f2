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

// Segment is a piece of the output stream that starts with PAT and PMT
// followed by a video keyframe: an HLS media segment.
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
// cuts the result into segments. The zero Splicer starts at DefaultStart
// with default Options. A Splicer is not safe for concurrent use.
type Splicer struct {
	opts   Options
	init   bool
	offset int64
	cc     [nullPID + 1]uint8 // next continuity counter per PID

	clips                      int
	pmtPID, videoPID, audioPID uint16
	aacConfig                  [2]byte
}

// NewSplicer returns a Splicer whose first clip starts at startTicks
// (90 kHz ticks; the written timestamps wrap modulo 2^33).
func NewSplicer(startTicks int64, opts Options) *Splicer {
	return &Splicer{opts: opts, init: true, offset: startTicks}
}

// Offset returns where the next clip starts on the stream's timeline, in
// 90 kHz ticks, not wrapped.
func (s *Splicer) Offset() int64 {
	if !s.init {
		return DefaultStart
	}
	return s.offset
}

// Splice appends c to the stream and returns its segments, in order. Video
// frame i of c gets the PTS Offset()+i*3600; audio frame j gets
// Offset()+j*1920, and only the first Ticks()/1920 audio frames are kept, so
// that audio and video of every clip last exactly as long. It returns an
// error wrapping ErrIncompatible, and changes nothing, when c's PIDs or AAC
// configuration differ from the first clip's.
func (s *Splicer) Splice(c *Clip) ([]Segment, error) {
	if c == nil {
		return nil, errors.New("mpegts: splice nil clip")
	}
	if !s.init {
		s.init, s.offset = true, DefaultStart
	}
	if s.clips == 0 {
		s.pmtPID, s.videoPID, s.audioPID, s.aacConfig = c.pmtPID, c.videoPID, c.audioPID, c.aacConfig
	} else if c.pmtPID != s.pmtPID || c.videoPID != s.videoPID || c.audioPID != s.audioPID {
		return nil, fmt.Errorf("%w: PIDs PMT %#x video %#x audio %#x, stream has %#x %#x %#x", ErrIncompatible,
			c.pmtPID, c.videoPID, c.audioPID, s.pmtPID, s.videoPID, s.audioPID)
	} else if c.aacConfig != s.aacConfig {
		return nil, fmt.Errorf("%w: AAC configuration % x, stream has % x", ErrIncompatible, c.aacConfig, s.aacConfig)
	}

	var cutBuf [8]keyframe
	cuts := s.cuts(c, cutBuf[:0])
	segs := make([]Segment, len(cuts))
	audioCut := c.audioCut()
	for i, k := range cuts {
		end, endRel := c.npkt, c.Ticks()
		if i+1 < len(cuts) {
			end, endRel = cuts[i+1].pkt, cuts[i+1].rel
		}
		buf := make([]byte, 0, (end-k.pkt+2)*PacketSize)
		buf = s.emit(buf, c, c.packet(c.patPkt))
		buf = s.emit(buf, c, c.packet(c.pmtPkt))
		lead := true // in the tables that precede the segment's first PES
		for j := k.pkt; j < end; j++ {
			p := c.packet(j)
			pid := pidOf(p)
			if lead && pid != patPID && pid != c.pmtPID && pid != sdtPID && pid != nullPID {
				lead = false
			}
			switch {
			case pid == nullPID,
				pid == c.audioPID && j >= audioCut,
				lead && (pid == patPID || pid == c.pmtPID):
				continue
			}
			buf = s.emit(buf, c, p)
		}
		segs[i] = Segment{Data: buf, Start: s.offset + k.rel, Ticks: endRel - k.rel, ClipStart: i == 0}
	}
	s.offset += c.Ticks()
	s.clips++
	return segs, nil
}

// cuts chooses the segment starts of c: its first packet, then greedily the
// keyframes where extending the segment to the next cut point would exceed
// MaxSegment.
func (s *Splicer) cuts(c *Clip, out []keyframe) []keyframe {
	maxSeg := s.opts.MaxSegment
	if maxSeg <= 0 {
		maxSeg = DefaultMaxSegment
	}
	maxTicks := int64(maxSeg/time.Microsecond) * media.Clock / 1e6
	out = append(out, keyframe{rel: 0, pkt: 0})
	segStart := int64(0)
	for i := 1; i < len(c.keys); i++ {
		next := c.Ticks()
		if i+1 < len(c.keys) {
			next = c.keys[i+1].rel
		}
		if next-segStart > maxTicks {
			out = append(out, c.keys[i])
			segStart = c.keys[i].rel
		}
	}
	return out
}

// emit appends packet p of clip c to buf and rewrites the copy: continuity
// counter, PCR and OPCR, PTS and DTS.
func (s *Splicer) emit(buf []byte, c *Clip, p []byte) []byte {
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
	shift := s.offset - c.v0
	if off := pcrOffset(q); off >= 0 {
		base, ext := readPCR(q[off:])
		writePCR(q[off:], base+shift, ext)
	}
	if off := opcrOffset(q); off >= 0 {
		base, ext := readPCR(q[off:])
		writePCR(q[off:], base+shift, ext)
	}
	if ps := payloadStart(q); ps >= 0 && pusi(q) && (pid == c.videoPID || pid == c.audioPID) {
		// Parse checked every such PES header.
		first := c.v0
		if pid == c.audioPID {
			first = c.a0
		}
		h := q[ps:]
		writeTS(h[9:], s.offset+wrapDiff(readTS(h[9:]), first))
		if h[7]>>6 == 3 {
			writeTS(h[14:], s.offset+wrapDiff(readTS(h[14:]), first))
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
