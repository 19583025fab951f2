package mpegts

import (
	"errors"
	"fmt"
	"time"

	"github.com/evercast/evercast/internal/media"
)

// ErrInvalidClip is wrapped by every error that Parse returns: the bytes are
// not a clip that the Splicer can join gaplessly.
var ErrInvalidClip = errors.New("mpegts: invalid clip")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidClip, fmt.Sprintf(format, args...))
}

// keyframe is a video keyframe of a clip.
type keyframe struct {
	rel int64 // ticks after the clip's first video frame
	pkt int   // packet where a segment starting at it begins
}

// Clip is a parsed MPEG-TS clip: one H.264 stream without B-frames, one AAC
// stream (ADTS frames in PES packets; surplus frames at the end, beyond the
// video's length, each in PES packets of their own), starting at a keyframe and
// lasting a whole number of 320 ms quanta. It refers to the bytes given to
// Parse, which must not change while the Clip is in use.
type Clip struct {
	data []byte
	npkt int

	pmtPID, videoPID, audioPID uint16
	pcrPID                     uint16   // the PMT's PCR PID (nullPID: none)
	otherES                    []uint16 // further elementary streams (timed metadata...)
	patPkt, pmtPkt             int      // first PAT and PMT packets

	v0, a0      int64 // first video and audio PTS
	videoFrames int
	audioPES    []audioPES // every audio PES packet
	audioFrames int        // ADTS frames in all of them
	keys        []keyframe
	aacConfig   [2]byte // ADTS profile, sampling index and channel bits

	plan chunkPlan // how the packets fall into 320 ms chunks (plan.go)
}

// Parse indexes a clip. It returns an error wrapping ErrInvalidClip when b is
// not a transport stream, lacks the H.264 or AAC stream, does not start with
// a keyframe, has B-frames, unevenly spaced frames, a number of video frames
// that is not a multiple of 8, fewer audio frames than its video lasts, or
// surplus audio frames sharing a PES packet with kept ones. The Clip keeps b.
func Parse(b []byte) (*Clip, error) {
	if len(b) == 0 || len(b)%PacketSize != 0 {
		return nil, invalid("length %d is not a positive multiple of %d", len(b), PacketSize)
	}
	c := &Clip{data: b, npkt: len(b) / PacketSize}
	for i := range c.npkt {
		if b[i*PacketSize] != syncByte {
			return nil, invalid("packet %d: no sync byte", i)
		}
	}
	if err := c.readTables(); err != nil {
		return nil, err
	}
	if err := c.index(); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Clip) packet(i int) []byte { return c.data[i*PacketSize : (i+1)*PacketSize] }

// section returns the PSI section that starts in packet p, which must fit in
// that packet, after checking its CRC.
func section(p []byte) ([]byte, error) {
	ps := payloadStart(p)
	if ps < 0 || ps >= PacketSize {
		return nil, errors.New("no payload")
	}
	ptr := int(p[ps])
	s := p[ps+1:]
	if ptr+3 > len(s) {
		return nil, errors.New("pointer field out of range")
	}
	s = s[ptr:]
	n := 3 + (int(s[1]&0x0F)<<8 | int(s[2]))
	if n > len(s) {
		return nil, errors.New("section spans packets (unsupported)")
	}
	if n < 12 {
		return nil, errors.New("section too short")
	}
	s = s[:n]
	if crc32MPEG(s) != 0 {
		return nil, errors.New("bad CRC")
	}
	return s, nil
}

// readTables finds the program's PMT through the first PAT, then the video
// and audio PIDs through the first PMT.
func (c *Clip) readTables() error {
	c.patPkt, c.pmtPkt = -1, -1
	for i := 0; i < c.npkt && c.pmtPkt < 0; i++ {
		p := c.packet(i)
		pid := pidOf(p)
		switch {
		case c.patPkt < 0 && pid == patPID && pusi(p):
			s, err := section(p)
			if err != nil {
				return invalid("PAT in packet %d: %v", i, err)
			}
			if s[0] != 0x00 {
				return invalid("PAT in packet %d: table id %#x", i, s[0])
			}
			for e := s[8 : len(s)-4]; len(e) >= 4; e = e[4:] {
				if e[0] != 0 || e[1] != 0 { // program 0 is the network PID
					c.pmtPID = uint16(e[2]&0x1F)<<8 | uint16(e[3])
					c.patPkt = i
					break
				}
			}
			if c.patPkt < 0 {
				return invalid("PAT in packet %d lists no program", i)
			}
		case c.patPkt >= 0 && pid == c.pmtPID && pusi(p):
			s, err := section(p)
			if err != nil {
				return invalid("PMT in packet %d: %v", i, err)
			}
			if s[0] != 0x02 {
				return invalid("PMT in packet %d: table id %#x", i, s[0])
			}
			c.pcrPID = uint16(s[8]&0x1F)<<8 | uint16(s[9])
			pil := int(s[10]&0x0F)<<8 | int(s[11])
			if 12+pil > len(s)-4 {
				return invalid("PMT in packet %d: program info overruns", i)
			}
			for e := s[12+pil : len(s)-4]; len(e) >= 5; {
				typ, epid := e[0], uint16(e[1]&0x1F)<<8|uint16(e[2])
				switch {
				case typ == streamTypeH264 && c.videoPID == 0:
					c.videoPID = epid
				case typ == streamTypeAAC && c.audioPID == 0:
					c.audioPID = epid
				default:
					c.otherES = append(c.otherES, epid)
				}
				n := 5 + (int(e[3]&0x0F)<<8 | int(e[4]))
				if n > len(e) {
					return invalid("PMT in packet %d: ES info overruns", i)
				}
				e = e[n:]
			}
			c.pmtPkt = i
		}
	}
	switch {
	case c.patPkt < 0:
		return invalid("no PAT")
	case c.pmtPkt < 0:
		return invalid("no PMT")
	case c.videoPID == 0:
		return invalid("no H.264 stream")
	case c.audioPID == 0:
		return invalid("no AAC stream")
	case c.videoPID == c.audioPID || c.videoPID == c.pmtPID || c.audioPID == c.pmtPID ||
		c.videoPID == patPID || c.audioPID == patPID || c.pmtPID == patPID:
		return invalid("PIDs collide")
	}
	return nil
}

// pesHeader reads the PES header that starts the payload of p. It returns
// the PTS, the DTS (equal to the PTS when absent) and the offset of the PES
// payload within p.
func pesHeader(p []byte) (pts, dts int64, data int, err error) {
	ps := payloadStart(p)
	if ps < 0 {
		return 0, 0, 0, errors.New("PES start without payload")
	}
	h := p[ps:]
	if len(h) < 9 || h[0] != 0 || h[1] != 0 || h[2] != 1 {
		return 0, 0, 0, errors.New("no PES start code")
	}
	end := 9 + int(h[8])
	if end > len(h) {
		return 0, 0, 0, errors.New("PES header spans packets")
	}
	switch h[7] >> 6 {
	case 2:
		if end < 14 {
			return 0, 0, 0, errors.New("PES header too short for PTS")
		}
		pts = readTS(h[9:])
		dts = pts
	case 3:
		if end < 19 {
			return 0, 0, 0, errors.New("PES header too short for PTS and DTS")
		}
		pts, dts = readTS(h[9:]), readTS(h[14:])
	default:
		return 0, 0, 0, errors.New("PES without PTS")
	}
	return pts, dts, ps + end, nil
}

// audioPES is one audio PES packet: where it starts, the index of its
// first AAC frame in the clip, and how many frames it holds.
type audioPES struct {
	pkt, first, n int32
}

// pesState follows the PES packet in progress on one PID.
type pesState struct {
	open  bool
	start int    // packet index
	size  int    // payload bytes so far
	head  []byte // the payload so far (audio only: ADTS frames)
	// H.264 access unit scan.
	key     bool
	decided bool
	zeros   int
	nalNext bool
}

// scanNAL looks for the first VCL NAL unit of an access unit: an IDR slice
// (type 5) makes it a keyframe.
func (s *pesState) scanNAL(b []byte) {
	for _, x := range b {
		if s.decided {
			return
		}
		switch {
		case s.nalNext:
			s.nalNext = false
			if t := x & 0x1F; t >= 1 && t <= 5 {
				s.key = s.key || t == 5
				s.decided = true
			}
			s.zeros = 0
		case x == 0:
			s.zeros++
		case x == 1 && s.zeros >= 2:
			s.nalNext = true
			s.zeros = 0
		default:
			s.zeros = 0
		}
	}
}

// index walks every packet of the video and audio PIDs.
func (c *Clip) index() error {
	var v, a pesState
	frame := func(n int, first, step int64) int64 { return (first + int64(n)*step) & tsMask }
	endVideo := func() error {
		if !v.open {
			return nil
		}
		v.open = false
		switch {
		case v.key:
			c.keys = append(c.keys, keyframe{rel: int64(c.videoFrames-1) * media.FrameTicks, pkt: v.start})
		case c.videoFrames == 1:
			return invalid("first video frame (packet %d) is not a keyframe", v.start)
		}
		return nil
	}
	endAudio := func() error {
		if !a.open {
			return nil
		}
		a.open = false
		// A PES may hold several ADTS frames (ffmpeg's muxer groups small
		// ones, such as silence, up to 170 bytes): walk them all.
		n := 0
		for off := 0; off < len(a.head); n++ {
			h := a.head[off:]
			if len(h) < 7 || h[0] != 0xFF || h[1]&0xF6 != 0xF0 {
				return invalid("audio PES at packet %d: no ADTS header at byte %d", a.start, off)
			}
			flen := int(h[3]&3)<<11 | int(h[4])<<3 | int(h[5])>>5
			if h[6]&3 != 0 || flen < 7 || off+flen > len(a.head) {
				return invalid("audio PES at packet %d: ADTS frame at byte %d overruns the PES", a.start, off)
			}
			cfg := [2]byte{h[2], h[3] & 0xC0}
			if c.audioFrames == 0 && n == 0 {
				c.aacConfig = cfg
			} else if cfg != c.aacConfig {
				return invalid("audio PES at packet %d: AAC configuration changes", a.start)
			}
			off += flen
		}
		if n == 0 {
			return invalid("audio PES at packet %d: no ADTS header", a.start)
		}
		c.audioPES = append(c.audioPES, audioPES{pkt: int32(a.start), first: int32(c.audioFrames), n: int32(n)})
		c.audioFrames += n
		return nil
	}
	for i := range c.npkt {
		p := c.packet(i)
		pid := pidOf(p)
		if pid != c.videoPID && pid != c.audioPID {
			continue
		}
		isVideo := pid == c.videoPID
		st := &a
		if isVideo {
			st = &v
		}
		if afc(p)&hasData == 0 {
			continue
		}
		ps := payloadStart(p)
		if ps < 0 {
			return invalid("packet %d: bad adaptation field", i)
		}
		if pusi(p) {
			var err error
			if isVideo {
				err = endVideo()
			} else {
				err = endAudio()
			}
			if err != nil {
				return err
			}
			pts, dts, data, err := pesHeader(p)
			if err != nil {
				return invalid("packet %d: %v", i, err)
			}
			*st = pesState{open: true, start: i}
			ps = data
			if isVideo {
				if pts != dts {
					return invalid("video frame at packet %d has PTS %d != DTS %d (B-frames)", i, pts, dts)
				}
				if c.videoFrames == 0 {
					c.v0 = pts
				} else if want := frame(c.videoFrames, c.v0, media.FrameTicks); pts != want {
					return invalid("video frame %d has PTS %d, want %d", c.videoFrames, pts, want)
				}
				c.videoFrames++
				st.key = afFlags(p)&afRAI != 0
				st.decided = st.key
			} else {
				if c.audioFrames == 0 {
					c.a0 = pts
				} else if want := frame(c.audioFrames, c.a0, media.AACFrameTicks); pts != want {
					return invalid("audio frame %d has PTS %d, want %d", c.audioFrames, pts, want)
				}
			}
		} else if !st.open {
			return invalid("packet %d: PES continuation without a start", i)
		}
		payload := p[ps:]
		st.size += len(payload)
		if isVideo {
			if !st.decided {
				st.scanNAL(payload)
			}
		} else {
			if len(st.head)+len(payload) > maxAudioPES {
				return invalid("audio PES at packet %d is over %d bytes", st.start, maxAudioPES)
			}
			st.head = append(st.head, payload...)
		}
	}
	if err := endVideo(); err != nil {
		return err
	}
	if err := endAudio(); err != nil {
		return err
	}
	switch {
	case c.videoFrames == 0:
		return invalid("no video frames")
	case c.videoFrames%media.QuantumFrames != 0:
		return invalid("%d video frames is not a multiple of %d", c.videoFrames, media.QuantumFrames)
	case c.audioFrames < c.keepAudio():
		return invalid("%d audio frames is fewer than the %d that %d video frames need",
			c.audioFrames, c.keepAudio(), c.videoFrames)
	}
	if k := int32(c.keepAudio()); k < int32(c.audioFrames) {
		for _, p := range c.audioPES {
			if p.first < k && k < p.first+p.n {
				return invalid("audio PES at packet %d holds both kept and surplus frames: cannot cut at frame %d", p.pkt, k)
			}
		}
	}
	for k := range c.keys {
		c.keys[k].pkt = c.cutBefore(c.keys[k].pkt)
	}
	c.makePlan()
	return nil
}

// cutBefore moves a segment start back over the tables and null packets
// that immediately precede packet i.
func (c *Clip) cutBefore(i int) int {
	for i > 0 {
		switch pidOf(c.packet(i - 1)) {
		case patPID, c.pmtPID, sdtPID, nullPID:
			i--
			continue
		}
		break
	}
	return i
}

// keepAudio is the number of audio frames that span the video: D/1920.
func (c *Clip) keepAudio() int {
	return int(c.Ticks() / media.AACFrameTicks)
}

// maxAudioPES bounds an audio PES payload (ffmpeg groups at most ~170 bytes
// of small frames; one AAC-LC frame is at most 6144 bits per channel).
const maxAudioPES = 64 << 10

// Ticks returns the clip's duration in 90 kHz ticks.
func (c *Clip) Ticks() int64 { return int64(c.videoFrames) * media.FrameTicks }

// Duration returns the clip's duration.
func (c *Clip) Duration() time.Duration {
	return time.Duration(c.Ticks()) * time.Second / media.Clock
}

// VideoFrames returns the number of video frames.
func (c *Clip) VideoFrames() int { return c.videoFrames }

// AudioFrames returns the number of audio frames in the file, including the
// surplus that Splice drops.
func (c *Clip) AudioFrames() int { return c.audioFrames }

// Keyframes returns the times of the video keyframes, in ticks after the
// clip's first frame; the first is 0.
func (c *Clip) Keyframes() []int64 {
	out := make([]int64, len(c.keys))
	for i, k := range c.keys {
		out[i] = k.rel
	}
	return out
}
