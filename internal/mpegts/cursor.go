package mpegts

import (
	"errors"

	"github.com/evercast/evercast/internal/media"
)

// maxPCRGap is the longest interval between two PCRs that the splicer lets
// a cut create, in 27 MHz units: 100 ms, as ISO/IEC 13818-1 requires.
const maxPCRGap = 27_000_000 / 10

// Chunk is the part of the stream that one 320 ms quantum of a clip makes:
// video frames [8i, 8i+8) and audio frames [15i, 15i+15) of the clip, with
// the tables and PCRs that go with them, retimed onto the stream.
type Chunk struct {
	// Data holds the chunk's TS packets. It is the caller's.
	Data []byte
	// Start is the PTS of the quantum's first video frame on the stream's
	// timeline, in 90 kHz ticks, not wrapped to 33 bits.
	Start int64
	// Ticks is the chunk's duration: media.QuantumTicks.
	Ticks int64
	// Keyframe tells that the chunk's first video frame is a keyframe (at
	// a clip start, or a GOP that starts with the quantum). Data then
	// begins with PAT and PMT: a run of chunks from here is a valid HLS
	// segment.
	Keyframe bool
	// ClipStart tells that the chunk is the first of its clip.
	ClipStart bool
	// Index is the quantum's index within the clip.
	Index int

	// GOPTicks, when above zero, tells that the chunk holds a keyframe
	// (its first, if several): KeyTicks after Start, its GOP lasting
	// GOPTicks until the clip's next keyframe or its end. Data[KeyOffset:]
	// then begins with PAT and PMT followed by that keyframe, so that an
	// HLS segment may also begin there (SegmentBuilder does). When
	// Keyframe, KeyOffset and KeyTicks are zero.
	GOPTicks  int64
	KeyTicks  int64
	KeyOffset int
}

// Cursor hands out the chunks of one clip, in order (see Splicer.Begin).
// It is not safe for concurrent use, nor with other calls on its Splicer.
type Cursor struct {
	s    *Splicer
	c    *Clip
	base int64 // stream ticks of the clip's first video frame
	next int   // the next chunk's index
	done bool
}

// Begin starts splicing clip c onto the stream, at Offset(). Nothing is
// committed to the stream until chunks are taken with Next: each chunk
// taken moves Offset() and the continuity counters past it. A clip still
// in progress on s is stopped first, after the chunks taken from it. Begin
// returns an error wrapping ErrIncompatible, and changes nothing, when c's
// PIDs or AAC configuration differ from those of the clips in the stream.
func (s *Splicer) Begin(c *Clip) (*Cursor, error) {
	if c == nil {
		return nil, errors.New("mpegts: splice nil clip")
	}
	if err := s.compatible(c); err != nil {
		return nil, err
	}
	if s.cur != nil {
		s.cur.Stop()
	}
	cur := &Cursor{s: s, c: c, base: s.Offset()}
	s.cur = cur
	return cur, nil
}

// Chunks returns the number of chunks of the whole clip.
func (cur *Cursor) Chunks() int { return cur.c.plan.chunks }

// Taken returns the number of chunks taken so far.
func (cur *Cursor) Taken() int { return cur.next }

// Next returns the next chunk: the TS packets of the clip's next 320 ms
// quantum, retimed onto the stream, and commits them to the stream. ok is
// false after the last chunk, after Stop, and once Begin started another
// clip.
func (cur *Cursor) Next() (ch Chunk, ok bool) {
	if !cur.live() {
		return Chunk{}, false
	}
	size := int(cur.c.plan.size[cur.next]) * PacketSize
	_, ch, ok = cur.AppendNext(make([]byte, 0, size))
	return ch, ok
}

// Stop ends the clip after the chunks taken so far: Offset() and the
// continuity counters stand after the last chunk taken, and the next clip
// joins there. Stop after the last chunk, or twice, does nothing.
func (cur *Cursor) Stop() {
	cur.done = true
	if cur.s.cur == cur {
		cur.s.cur = nil
	}
}

func (cur *Cursor) live() bool {
	return !cur.done && cur.s.cur == cur && cur.next < cur.c.plan.chunks
}

// AppendNext is Next appending the chunk's packets to buf, for callers
// that reuse a buffer: it returns the extended buffer, and the chunk whose
// Data is the part appended. ok is false, and buf unchanged, when Next
// would return no chunk.
func (cur *Cursor) AppendNext(buf []byte) (_ []byte, ch Chunk, ok bool) {
	if !cur.live() {
		return buf, Chunk{}, false
	}
	s, c, q := cur.s, cur.c, cur.next
	pl := &c.plan
	if q == 0 {
		s.commitClip(c)
	}
	ch = Chunk{
		Start:     cur.base + int64(q)*media.QuantumTicks,
		Ticks:     media.QuantumTicks,
		ClipStart: q == 0,
		Index:     q,
	}
	var key *keyframe
	if k := pl.key[q]; k >= 0 {
		key = &c.keys[k]
		end := c.Ticks()
		if int(k)+1 < len(c.keys) {
			end = c.keys[k+1].rel
		}
		ch.KeyTicks = key.rel - int64(q)*media.QuantumTicks
		ch.GOPTicks = end - key.rel
		ch.Keyframe = ch.KeyTicks == 0
	}
	start := len(buf)
	lead := false // in the tables before the first PES after fresh tables
	if ch.Keyframe {
		buf = cur.emitTables(buf)
		lead = true
	}
	buf = cur.emitPCR(buf, q)
	mid := key != nil && !ch.Keyframe
	for j := int(pl.lo[q]); j < int(pl.hi[q]); j++ {
		t := pl.tags[j]
		var sp *splitPES
		if t <= tagSplit {
			sp = &pl.splits[tagSplit-t]
			if from, to := sp.chunkRange(); q < from || q > to {
				continue
			}
		} else if t != int32(q) {
			continue
		}
		if mid && j >= key.pkt {
			mid = false
			ch.KeyOffset = len(buf) - start
			buf = cur.emitTables(buf)
			lead = true
		}
		if sp != nil {
			buf = cur.emitPiece(buf, sp, q)
			lead = false
			continue
		}
		p := c.packet(j)
		if lead {
			switch pidOf(p) {
			case patPID, c.pmtPID:
				continue
			case sdtPID:
			default:
				lead = false
			}
		}
		buf = s.emit(buf, c, p, cur.base)
	}
	ch.Data = buf[start:len(buf):len(buf)]
	cur.next++
	s.offset = cur.base + int64(cur.next)*media.QuantumTicks
	if cur.next == pl.chunks {
		cur.Stop()
	}
	return buf, ch, true
}

// emitTables appends copies of the clip's PAT and PMT.
func (cur *Cursor) emitTables(buf []byte) []byte {
	buf = cur.s.emit(buf, cur.c, cur.c.packet(cur.c.patPkt), cur.base)
	return cur.s.emit(buf, cur.c, cur.c.packet(cur.c.pmtPkt), cur.base)
}

// emitPCR appends an adaptation-field-only packet with a PCR on the PCR PID
// when the stream would otherwise go more than maxPCRGap without one before
// chunk q's own first PCR (a cut dropped the PCRs that came between). Its
// PCR runs the clip's PCR delay behind the quantum's first video DTS.
func (cur *Cursor) emitPCR(buf []byte, q int) []byte {
	s, c := cur.s, cur.c
	pl := &c.plan
	if c.pcrPID == nullPID {
		return buf
	}
	rel := (int64(q)*media.QuantumTicks - pl.pcrDelay) * 300 // 27 MHz after the clip's first frame
	first := pl.pcr[q]
	switch {
	case first != noPCR && first <= rel:
		return buf // the chunk opens with its own PCR
	case first != noPCR && (!s.havePCR || cur.base*300+first-s.lastPCR <= maxPCRGap):
		return buf
	case s.havePCR && cur.base*300+rel <= s.lastPCR:
		return buf
	}
	p := cur.s.scratch[:0]
	p = append(p, syncByte, byte(c.pcrPID>>8)&0x1F, byte(c.pcrPID), hasAF<<4, PacketSize-5, afPCR)
	p = append(p, 0, 0, 0, 0, 0, 0)
	writePCR(p[6:], c.v0+rel/300, 0)
	for len(p) < PacketSize {
		p = append(p, 0xFF)
	}
	cur.s.scratch = p
	return s.emit(buf, c, p, cur.base)
}

// emitPiece appends the part of split audio PES sp that falls in chunk q
// as a PES packet of its own, in fresh TS packets.
func (cur *Cursor) emitPiece(buf []byte, sp *splitPES, q int) []byte {
	c := cur.c
	from, to := sp.piece(q)
	payload := sp.payload[sp.off[from-sp.first]:sp.off[to-sp.first]]
	pes := cur.s.scratch[:0]
	n := 8 + len(payload) // PES packet length: flags, header length, PTS, payload
	if n > 0xFFFF {
		n = 0 // unbounded (only for overlong pieces; Parse bounds a PES to 64 KiB)
	}
	pes = append(pes, 0, 0, 1, sp.sid, byte(n>>8), byte(n), sp.flags, 0x80, 5, 0x20, 0, 0, 0, 0)
	writeTS(pes[9:], c.a0+int64(from)*media.AACFrameTicks)
	pes = append(pes, payload...)
	var pcr []byte
	if from == sp.first {
		pcr = sp.pcr
	}
	mark := len(pes)
	pes = packetize(pes, c.audioPID, sp.afFlags, pcr, pes[:mark])
	for p := pes[mark:]; len(p) >= PacketSize; p = p[PacketSize:] {
		buf = cur.s.emit(buf, c, p[:PacketSize], cur.base)
	}
	cur.s.scratch = pes
	return buf
}

// packetize appends the TS packets that carry pes on pid to dst: the first
// with the payload unit start indicator and, when flags or pcr are set, an
// adaptation field with them; the last padded with adaptation field
// stuffing. Continuity counters are left zero.
func packetize(dst []byte, pid uint16, flags byte, pcr []byte, pes []byte) []byte {
	if pcr != nil {
		flags |= afPCR
	}
	for first := true; first || len(pes) > 0; first = false {
		body := 0 // adaptation field bytes after its length byte
		if first && flags != 0 {
			body = 1 + len(pcr)
		}
		space := PacketSize - 4
		if body > 0 {
			space -= 1 + body
		}
		n := min(space, len(pes))
		stuff := space - n
		b1 := byte(pid>>8) & 0x1F
		if first {
			b1 |= 0x40
		}
		ctl := byte(hasData << 4)
		if body > 0 || stuff > 0 {
			ctl |= hasAF << 4
		}
		dst = append(dst, syncByte, b1, byte(pid), ctl)
		switch {
		case body > 0:
			dst = append(dst, byte(body+stuff), flags)
			dst = append(dst, pcr...)
			dst = appendStuffing(dst, stuff)
		case stuff == 1:
			dst = append(dst, 0)
		case stuff > 1:
			dst = append(dst, byte(stuff-1), 0)
			dst = appendStuffing(dst, stuff-2)
		}
		dst = append(dst, pes[:n]...)
		pes = pes[n:]
	}
	return dst
}

func appendStuffing(b []byte, n int) []byte {
	for range n {
		b = append(b, 0xFF)
	}
	return b
}
