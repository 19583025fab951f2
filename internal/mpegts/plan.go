package mpegts

import (
	"math"

	"github.com/evercast/evercast/internal/media"
)

// A clip's chunk plan: which 320 ms quantum each packet belongs to, computed
// once by Parse so that a Cursor emits a chunk by walking a short range of
// packets.
//
// Video packets belong to the quantum of the frame they carry, audio packets
// to the quantum of their AAC frames (frame j of the clip plays at j*1920
// ticks after the first video frame, once the splicer has aligned the first
// audio frame with it). Tables, PCR-only packets and other streams go with
// the next frame's chunk. An audio PES whose frames straddle a quantum
// boundary is split into one new PES per quantum.

// Packet tags below zero: packets that belong to no chunk by themselves.
const (
	tagDrop  int32 = -1 // null packets, surplus audio, continuations of split audio PES
	tagNext  int32 = -2 // tables, PCR-only packets, other streams: resolved to the next frame's chunk
	tagSplit int32 = -3 // tagSplit-k marks the first packet of split audio PES k
)

// noPCR marks a chunk that carries no PCR of its own.
const noPCR = math.MinInt64

// defaultPCRDelay is the distance from PCR to DTS that ffmpeg's muxer keeps
// (its default max_delay, 0.7 s), used for a clip without PCRs.
const defaultPCRDelay = 63000

// chunkPlan tells which packets of a clip make each chunk.
type chunkPlan struct {
	chunks int
	tags   []int32 // per packet: its chunk, or a tag below zero
	lo, hi []int32 // per chunk: the range of packets that holds its packets
	size   []int32 // per chunk: at most how many packets it makes
	key    []int32 // per chunk: index in Clip.keys of its first keyframe, or -1
	pcr    []int64 // per chunk: its first PCR (27 MHz after the first video frame), or noPCR
	splits []splitPES

	// pcrDelay is how far (ticks) the clip's PCR runs behind the DTS of
	// the video frame that follows it.
	pcrDelay int64
}

// splitPES is an audio PES packet whose frames straddle quantum boundaries:
// each chunk that holds some of its frames gets them as a PES of its own.
type splitPES struct {
	pkt      int     // the PES's first TS packet
	npkt     int     // how many TS packets carry it
	first, n int     // its first AAC frame and number of frames
	off      []int32 // offsets of its frames in payload, and the payload's length
	payload  []byte  // its ADTS frames
	sid      byte    // PES stream id
	flags    byte    // first PES flags byte (alignment, priority...)
	afFlags  byte    // adaptation field flags kept on every piece (random access, priority)
	pcr      []byte  // the PCR of its first TS packet, kept on the first piece, or nil
}

// chunkRange returns the first and last chunk that hold frames of sp.
func (sp *splitPES) chunkRange() (from, to int) {
	return sp.first / quantumAudio, (sp.first + sp.n - 1) / quantumAudio
}

// piece returns the frames [from, to) of sp that fall in chunk q.
func (sp *splitPES) piece(q int) (from, to int) {
	from = max(sp.first, q*quantumAudio)
	to = min(sp.first+sp.n, (q+1)*quantumAudio)
	return from, to
}

// quantumAudio is the number of AAC frames per 320 ms quantum.
const quantumAudio = media.QuantumTicks / media.AACFrameTicks

// makePlan computes c.plan once index has checked the clip.
func (c *Clip) makePlan() {
	pl := &c.plan
	pl.chunks = c.videoFrames / media.QuantumFrames
	pl.tags = make([]int32, c.npkt)
	pl.pcrDelay = defaultPCRDelay
	keep := c.keepAudio()
	vf, ap := -1, -1 // current video frame and audio PES
	delayKnown := false
	for j := range c.npkt {
		p := c.packet(j)
		pid := pidOf(p)
		data := afc(p)&hasData != 0
		t := tagNext
		switch {
		case pid == nullPID:
			t = tagDrop
		case pid == c.videoPID && data:
			if pusi(p) {
				vf++
			}
			if vf >= 0 {
				t = int32(vf / media.QuantumFrames)
			}
		case pid == c.audioPID && data:
			if pusi(p) {
				ap++
			}
			if ap < 0 || ap >= len(c.audioPES) {
				t = tagDrop
				break
			}
			e := c.audioPES[ap]
			first, last := int(e.first), int(e.first+e.n-1)
			switch {
			case first >= keep:
				t = tagDrop
			case first/quantumAudio == last/quantumAudio:
				t = int32(first / quantumAudio)
			case pusi(p):
				if sp, ok := c.newSplit(j, first, int(e.n)); ok {
					t = tagSplit - int32(len(pl.splits))
					pl.splits = append(pl.splits, sp)
				} else {
					t = tagDrop
				}
			default:
				t = tagDrop
			}
		}
		pl.tags[j] = t
		if !delayKnown {
			if off := pcrOffset(p); off >= 0 {
				// The next video frame starts in this packet or later.
				next := vf + 1
				if pid == c.videoPID && data && pusi(p) {
					next = vf
				}
				base, _ := readPCR(p[off:])
				pl.pcrDelay = int64(next)*media.FrameTicks - wrapDiff(base, c.v0)
				delayKnown = true
			}
		}
	}

	// Tables and the like go with the next frame; those after the last
	// frame with the last chunk.
	next := int32(pl.chunks - 1)
	for j := c.npkt - 1; j >= 0; j-- {
		switch t := pl.tags[j]; {
		case t >= 0:
			next = t
		case t <= tagSplit:
			from, _ := pl.splits[tagSplit-t].chunkRange()
			next = int32(from)
		case t == tagNext:
			pl.tags[j] = next
		}
	}

	pl.lo = make([]int32, pl.chunks)
	pl.hi = make([]int32, pl.chunks)
	pl.key = make([]int32, pl.chunks)
	pl.pcr = make([]int64, pl.chunks)
	pl.size = make([]int32, pl.chunks)
	for q := range pl.chunks {
		pl.lo[q], pl.hi[q], pl.key[q], pl.pcr[q] = int32(c.npkt), 0, -1, noPCR
		pl.size[q] = 5 // PAT and PMT twice, a PCR
	}
	for j, t := range pl.tags {
		from, to, n := int(t), int(t), int32(1)
		switch {
		case t <= tagSplit:
			sp := &pl.splits[tagSplit-t]
			from, to = sp.chunkRange()
			n = int32(sp.npkt + 1) // a piece's header may cost a packet
		case t < 0:
			continue
		}
		for q := from; q <= to && q < pl.chunks; q++ {
			pl.lo[q] = min(pl.lo[q], int32(j))
			pl.hi[q] = max(pl.hi[q], int32(j+1))
			pl.size[q] += n
		}
		if from < pl.chunks && pl.pcr[from] == noPCR {
			if off := pcrOffset(c.packet(j)); off >= 0 {
				base, ext := readPCR(c.packet(j)[off:])
				pl.pcr[from] = wrapDiff(base, c.v0)*300 + int64(ext)
			}
		}
	}
	for k, key := range c.keys {
		if q := key.rel / media.QuantumTicks; q < int64(pl.chunks) && pl.key[q] < 0 {
			pl.key[q] = int32(k)
		}
	}
}

// newSplit reads the audio PES that starts at packet j and holds n frames
// from frame first. Parse has checked its header and ADTS frames; ok is
// false only if they are not what it saw.
func (c *Clip) newSplit(j, first, n int) (sp splitPES, ok bool) {
	sp = splitPES{pkt: j, first: first, n: n}
	for k := j; k < c.npkt; k++ {
		p := c.packet(k)
		if pidOf(p) != c.audioPID || afc(p)&hasData == 0 {
			continue
		}
		ps := payloadStart(p)
		if k == j {
			_, _, data, err := pesHeader(p)
			if err != nil {
				return sp, false
			}
			h := p[ps:]
			sp.sid, sp.flags = h[3], h[6]
			sp.afFlags = afFlags(p) & (afRAI | afESPriority)
			if off := pcrOffset(p); off >= 0 {
				sp.pcr = append([]byte(nil), p[off:off+6]...)
			}
			ps = data
		} else if pusi(p) {
			break
		}
		if ps < 0 {
			return sp, false
		}
		sp.payload = append(sp.payload, p[ps:]...)
		sp.npkt++
	}
	sp.off = make([]int32, 0, n+1)
	off := 0
	for range n {
		h := sp.payload[off:]
		if len(h) < 7 {
			return sp, false
		}
		sp.off = append(sp.off, int32(off))
		flen := int(h[3]&3)<<11 | int(h[4])<<3 | int(h[5])>>5
		if flen < 7 || off+flen > len(sp.payload) {
			return sp, false
		}
		off += flen
	}
	sp.off = append(sp.off, int32(off))
	sp.payload = sp.payload[:off]
	return sp, true
}
