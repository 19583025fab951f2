package mpegts

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/evercast/evercast/internal/media"
	"github.com/evercast/evercast/internal/mpegts/mpegtstest"
)

// streamInfo is what checkStream learns about a stream.
type streamInfo struct {
	pcrs, inserted int // PCRs, and those on adaptation-field-only packets
}

// checkStream checks in Go what ffprobe does not report: continuity
// counters continuous on every PID, PCRs strictly increasing (modulo 2^33)
// and never more than 100 ms apart, and every audio PES exactly as long as
// its PES_packet_length says.
func checkStream(t *testing.T, b []byte, audioPID uint16) streamInfo {
	t.Helper()
	if len(b)%PacketSize != 0 {
		t.Fatalf("stream length %d is not a multiple of %d", len(b), PacketSize)
	}
	var info streamInfo
	last := map[uint16]byte{}
	var prevBase int64
	var prevExt int
	pes, pesLen, pesAt := -1, 0, 0 // audio PES bytes so far, its declared length, its first packet
	endPES := func() {
		if pes >= 0 && pes != pesLen {
			t.Errorf("audio PES at packet %d: %d bytes, PES_packet_length says %d", pesAt, pes, pesLen)
		}
	}
	for i := 0; i < len(b); i += PacketSize {
		p := b[i : i+PacketSize]
		n := i / PacketSize
		if p[0] != syncByte {
			t.Fatalf("packet %d: no sync byte", n)
		}
		pid, cc := pidOf(p), p[3]&0x0F
		if afFlags(p)&0x80 != 0 {
			t.Errorf("packet %d: discontinuity indicator set", n)
		}
		if prev, ok := last[pid]; ok {
			want := (prev + 1) & 0x0F
			if afc(p)&hasData == 0 {
				want = prev
			}
			if cc != want {
				t.Fatalf("packet %d PID %#x: continuity counter %d after %d", n, pid, cc, prev)
			}
		}
		last[pid] = cc
		if off := pcrOffset(p); off >= 0 {
			base, ext := readPCR(p[off:])
			if info.pcrs > 0 {
				step := wrapDiff(base, prevBase)*300 + int64(ext-prevExt)
				if step <= 0 || step > maxPCRGap {
					t.Fatalf("packet %d: PCR %d/%d follows %d/%d (%.1f ms)", n, base, ext, prevBase, prevExt,
						float64(step)/27000)
				}
			}
			prevBase, prevExt = base, ext
			info.pcrs++
			if afc(p)&hasData == 0 {
				info.inserted++
			}
		}
		if pid == audioPID && afc(p)&hasData != 0 {
			ps := payloadStart(p)
			if ps < 0 {
				t.Fatalf("packet %d: bad adaptation field", n)
			}
			if pusi(p) {
				endPES()
				h := p[ps:]
				pes, pesLen, pesAt = 0, int(h[4])<<8|int(h[5]), n
				ps += 6
			}
			pes += PacketSize - ps
		}
	}
	endPES()
	return info
}

// videoPES is a video PES start found in chunk data.
type videoPES struct {
	off int // byte offset
	pts int64
	key bool
}

func videoStarts(t *testing.T, b []byte, videoPID uint16) []videoPES {
	t.Helper()
	var out []videoPES
	for i := 0; i < len(b); i += PacketSize {
		p := b[i : i+PacketSize]
		if pidOf(p) == videoPID && pusi(p) && afc(p)&hasData != 0 {
			pts, _, _, err := pesHeader(p)
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, videoPES{off: i, pts: pts, key: afFlags(p)&afRAI != 0})
		}
	}
	return out
}

// audioFrames returns the PTS and the number of ADTS frames of every audio
// PES in b.
func audioFrames(t *testing.T, b []byte, audioPID uint16) (pts []int64, frames []int) {
	t.Helper()
	var payload []byte
	end := func() {
		if payload == nil {
			return
		}
		n := 0
		for off := 0; off+7 <= len(payload); n++ {
			off += int(payload[off+3]&3)<<11 | int(payload[off+4])<<3 | int(payload[off+5])>>5
		}
		frames = append(frames, n)
	}
	for i := 0; i < len(b); i += PacketSize {
		p := b[i : i+PacketSize]
		if pidOf(p) != audioPID || afc(p)&hasData == 0 {
			continue
		}
		ps := payloadStart(p)
		if pusi(p) {
			end()
			v, _, data, err := pesHeader(p)
			if err != nil {
				t.Fatal(err)
			}
			pts = append(pts, v)
			payload, ps = []byte{}, data
		}
		payload = append(payload, p[ps:]...)
	}
	end()
	return pts, frames
}

// beginsWithTables tells whether b begins with PAT and PMT.
func beginsWithTables(b []byte, pmtPID uint16) bool {
	return len(b) >= 2*PacketSize && pidOf(b) == patPID && pidOf(b[PacketSize:]) == pmtPID
}

// checkChunk checks one chunk of clip c against the quantum it must hold.
func checkChunk(t *testing.T, c *Clip, ch Chunk, q int, clipStart int64) {
	t.Helper()
	if ch.Index != q || ch.ClipStart != (q == 0) || ch.Ticks != media.QuantumTicks ||
		ch.Start != clipStart+int64(q)*media.QuantumTicks {
		t.Fatalf("chunk %d: Index %d ClipStart %v Start %d Ticks %d", q, ch.Index, ch.ClipStart, ch.Start, ch.Ticks)
	}
	v := videoStarts(t, ch.Data, c.videoPID)
	if len(v) != media.QuantumFrames {
		t.Fatalf("chunk %d holds %d video frames", q, len(v))
	}
	for i, f := range v {
		if want := (ch.Start + int64(i)*media.FrameTicks) & tsMask; f.pts != want {
			t.Errorf("chunk %d video frame %d: PTS %d, want %d", q, i, f.pts, want)
		}
	}
	pts, frames := audioFrames(t, ch.Data, c.audioPID)
	next := ch.Start
	for i := range pts {
		if pts[i] != next&tsMask {
			t.Errorf("chunk %d audio PES %d: PTS %d, want %d", q, i, pts[i], next&tsMask)
		}
		next += int64(frames[i]) * media.AACFrameTicks
	}
	if next != ch.Start+ch.Ticks {
		t.Errorf("chunk %d: audio runs to %d, want %d", q, next, ch.Start+ch.Ticks)
	}
	wantKey := false
	for _, k := range c.Keyframes() {
		wantKey = wantKey || k == int64(q)*media.QuantumTicks
	}
	if ch.Keyframe != wantKey || v[0].key != wantKey {
		t.Errorf("chunk %d: Keyframe %v, first frame key %v, want %v", q, ch.Keyframe, v[0].key, wantKey)
	}
	if ch.Keyframe && !beginsWithTables(ch.Data, c.pmtPID) {
		t.Errorf("keyframe chunk %d does not begin with PAT and PMT", q)
	}
	if ch.GOPTicks > 0 && !ch.Keyframe {
		at := ch.Data[ch.KeyOffset:]
		if !beginsWithTables(at, c.pmtPID) {
			t.Errorf("chunk %d: no PAT and PMT at KeyOffset %d", q, ch.KeyOffset)
		}
		f := videoStarts(t, at, c.videoPID)
		if len(f) == 0 || !f[0].key || f[0].pts != (ch.Start+ch.KeyTicks)&tsMask {
			t.Errorf("chunk %d: no keyframe at PTS %d after KeyOffset", q, ch.Start+ch.KeyTicks)
		}
	}
}

// clearFirstPCR returns a copy of clip b without the PCR of its first
// video packet, so that its first PCR comes 80 ms after its first frame.
func clearFirstPCR(t *testing.T, b []byte) []byte {
	t.Helper()
	c, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(b)
	for i := 0; i < len(out); i += PacketSize {
		p := out[i : i+PacketSize]
		if off := pcrOffset(p); off >= 0 && pidOf(p) == c.videoPID {
			if afFlags(p)&^(afPCR|afRAI) != 0 {
				t.Fatalf("packet %d: adaptation field flags %#x", i/PacketSize, afFlags(p))
			}
			p[5] &^= afPCR
			copy(p[off:off+6], bytes.Repeat([]byte{0xFF}, 6))
			return out
		}
	}
	t.Fatal("clip has no PCR")
	return nil
}

// straddle returns the first chunk boundary k >= 2 that a grouped audio PES
// of c straddles: stopping after k chunks must split that PES.
func straddle(t *testing.T, c *Clip) int {
	t.Helper()
	for k := 2; k < c.plan.chunks; k++ {
		for _, sp := range c.plan.splits {
			if from, to := sp.chunkRange(); from < k && to >= k {
				return k
			}
		}
	}
	t.Fatal("no audio PES straddles a chunk boundary")
	return 0
}

// TestCursorStop splices clips of every kind, some stopped after k chunks,
// and checks the stream in Go, with ffprobe and by decoding it.
func TestCursorStop(t *testing.T) {
	silent := mpegtstest.Spec{Quanta: 14, Silent: true, Exact: true}
	sparse := clearFirstPCR(t, fixtures.Clip(t, mpegtstest.Spec{Quanta: 10}))
	type step struct {
		name string
		data []byte
		stop int // chunks to take; 0: all
		k    func(*Clip) int
	}
	steps := []step{
		{name: "tone, surplus audio, stopped after 1", data: fixtures.Clip(t, mpegtstest.Spec{Quanta: 10}), stop: 1},
		{name: "grouped silence, stopped inside a PES", data: fixtures.Clip(t, silent), k: func(c *Clip) int { return straddle(t, c) }},
		{name: "exact tone, whole", data: fixtures.Clip(t, mpegtstest.Spec{Quanta: 10, Exact: true})},
		{name: "stopped after a keyframe chunk", data: fixtures.Clip(t, mpegtstest.Spec{Quanta: 28, Exact: true}), stop: 26},
		{name: "stopped after a mid-chunk keyframe", data: fixtures.Clip(t, mpegtstest.Spec{Quanta: 22}), stop: 7},
		{name: "silence, whole", data: fixtures.Clip(t, mpegtstest.Spec{Quanta: 9, Silent: true, Exact: true})},
		{name: "first PCR late, stopped after 5", data: sparse, stop: 5},
		{name: "silence, stopped after 4", data: fixtures.Clip(t, silent), stop: 4},
		{name: "tone, whole", data: fixtures.Clip(t, mpegtstest.Spec{Quanta: 10})},
	}
	const start = 1<<33 - 20*media.Clock // the timestamps wrap mid-stream
	s := NewSplicer(start, Options{})
	var stream []byte
	var frames []int
	var c *Clip
	for _, st := range steps {
		var err error
		if c, err = Parse(st.data); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		take := c.plan.chunks
		switch {
		case st.k != nil:
			take = st.k(c)
		case st.stop > 0:
			take = st.stop
		}
		clipStart := s.Offset()
		cur, err := s.Begin(c)
		if err != nil {
			t.Fatal(err)
		}
		if cur.Chunks() != c.plan.chunks {
			t.Errorf("%s: Chunks = %d, want %d", st.name, cur.Chunks(), c.plan.chunks)
		}
		for q := range take {
			ch, ok := cur.Next()
			if !ok {
				t.Fatalf("%s: Next after %d chunks: no chunk", st.name, q)
			}
			checkChunk(t, c, ch, q, clipStart)
			stream = append(stream, ch.Data...)
		}
		cur.Stop()
		if _, ok := cur.Next(); ok {
			t.Errorf("%s: Next after Stop returned a chunk", st.name)
		}
		if got, want := s.Offset(), clipStart+int64(take)*media.QuantumTicks; got != want {
			t.Errorf("%s: Offset %d after %d chunks, want %d", st.name, got, take, want)
		}
		frames = append(frames, take*media.QuantumFrames)
		t.Logf("%s: %d of %d chunks", st.name, take, c.plan.chunks)
	}
	info := checkStream(t, stream, c.audioPID)
	if info.inserted == 0 {
		t.Error("no PCR inserted where the clip's first PCR comes late")
	}
	path := filepath.Join(t.TempDir(), "stream.ts")
	if err := os.WriteFile(path, stream, 0o644); err != nil {
		t.Fatal(err)
	}
	checkProbe(t, path, frames)
	if _, msg := run(t, "ffmpeg", "-v", "warning", "-i", path, "-f", "null", "-"); msg != "" {
		t.Errorf("decoding the stream warned:\n%s", msg)
	}
	if _, msg := run(t, "ffmpeg", "-v", "warning", "-i", path, "-c", "copy",
		"-flvflags", "no_duration_filesize", "-f", "flv", "-"); msg != "" {
		t.Errorf("remuxing the stream to FLV warned:\n%s", msg)
	}
}

// TestCursorPCRInserted checks the PCR inserted where a clip's first PCR
// comes 80 ms after its first frame: right after the tables, 80 ms after
// the previous clip's last PCR, and as far ahead of the first video DTS as
// the clip's own PCRs are.
func TestCursorPCRInserted(t *testing.T) {
	tone := fixtures.Clip(t, mpegtstest.Spec{Quanta: 10})
	late, err := Parse(clearFirstPCR(t, tone))
	if err != nil {
		t.Fatal(err)
	}
	first, err := Parse(tone)
	if err != nil {
		t.Fatal(err)
	}
	s := NewSplicer(0, Options{})
	cur, err := s.Begin(first)
	if err != nil {
		t.Fatal(err)
	}
	var stream []byte
	for range 3 {
		ch, _ := cur.Next()
		stream = append(stream, ch.Data...)
	}
	if cur, err = s.Begin(late); err != nil {
		t.Fatal(err)
	}
	ch, _ := cur.Next()
	p := ch.Data[2*PacketSize : 3*PacketSize]
	if pidOf(p) != late.pcrPID || afc(p) != hasAF || pcrOffset(p) < 0 {
		t.Fatalf("third packet of the late clip: PID %#x adaptation field control %d, want a PCR-only packet on %#x",
			pidOf(p), afc(p), late.pcrPID)
	}
	base, ext := readPCR(p[pcrOffset(p):])
	if want := ch.Start - late.plan.pcrDelay; base != want || ext != 0 {
		t.Errorf("inserted PCR %d/%d, want %d/0", base, ext, want)
	}
	if late.plan.pcrDelay != first.plan.pcrDelay || first.plan.pcrDelay != first.v0-(first.packetPCR(t)) {
		t.Errorf("PCR delay %d, clip without the change %d", late.plan.pcrDelay, first.plan.pcrDelay)
	}
	stream = append(stream, ch.Data...)
	if info := checkStream(t, stream, late.audioPID); info.inserted != 1 {
		t.Errorf("%d PCRs inserted, want 1", info.inserted)
	}
	// Without the change, nothing is inserted.
	if info := checkStream(t, spliceAll(t, first, first, first), first.audioPID); info.inserted != 0 {
		t.Errorf("%d PCRs inserted into clips that need none", info.inserted)
	}
}

// packetPCR returns the PCR base of c's first video packet.
func (c *Clip) packetPCR(t *testing.T) int64 {
	t.Helper()
	for i := range c.npkt {
		if p := c.packet(i); pidOf(p) == c.videoPID && pcrOffset(p) >= 0 {
			base, _ := readPCR(p[pcrOffset(p):])
			return base
		}
	}
	t.Fatal("no PCR")
	return 0
}

// spliceAll splices whole clips with a fresh Splicer and returns the stream.
func spliceAll(t *testing.T, clips ...*Clip) []byte {
	t.Helper()
	var s Splicer
	var out []byte
	for _, c := range clips {
		segs, err := s.Splice(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range segs {
			out = append(out, g.Data...)
		}
	}
	return out
}

// TestCursorSemantics checks what Begin, Next and Stop commit.
func TestCursorSemantics(t *testing.T) {
	a, err := Parse(fixtures.Clip(t, mpegtstest.Spec{Quanta: 10}))
	if err != nil {
		t.Fatal(err)
	}
	b, err := Parse(fixtures.Clip(t, mpegtstest.Spec{Quanta: 9, Silent: true, Exact: true}))
	if err != nil {
		t.Fatal(err)
	}
	chunks := func(cur *Cursor) []byte {
		var out []byte
		for ch, ok := cur.Next(); ok; ch, ok = cur.Next() {
			out = append(out, ch.Data...)
		}
		return out
	}
	t.Run("Next is Splice", func(t *testing.T) {
		var s Splicer
		var got []byte
		for _, c := range []*Clip{a, b, a} {
			cur, err := s.Begin(c)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, chunks(cur)...)
		}
		if want := spliceAll(t, a, b, a); !bytes.Equal(got, want) {
			t.Errorf("chunks (%d bytes) differ from Splice's segments (%d bytes)", len(got), len(want))
		}
	})
	t.Run("AppendNext is Next", func(t *testing.T) {
		var s1, s2 Splicer
		c1, err := s1.Begin(b)
		if err != nil {
			t.Fatal(err)
		}
		c2, err := s2.Begin(b)
		if err != nil {
			t.Fatal(err)
		}
		buf := []byte("prefix")
		for {
			want, ok1 := c1.Next()
			var got Chunk
			var ok2 bool
			n := len(buf)
			buf, got, ok2 = c2.AppendNext(buf)
			if ok1 != ok2 {
				t.Fatalf("Next ok %v, AppendNext ok %v", ok1, ok2)
			}
			if !ok1 {
				if len(buf) != n {
					t.Error("AppendNext without a chunk changed the buffer")
				}
				break
			}
			if !bytes.Equal(buf[n:], want.Data) || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("chunk %d: AppendNext appended other bytes than Next returns", want.Index)
			}
			got.Data, want.Data = nil, nil
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("AppendNext chunk %+v, Next %+v", got, want)
			}
		}
		if string(buf[:6]) != "prefix" {
			t.Error("AppendNext overwrote the buffer's content")
		}
	})
	t.Run("Begin without Next commits nothing", func(t *testing.T) {
		var s Splicer
		if _, err := s.Splice(a); err != nil {
			t.Fatal(err)
		}
		off := s.Offset()
		cur, err := s.Begin(b)
		if err != nil {
			t.Fatal(err)
		}
		cur.Stop()
		if s.Offset() != off {
			t.Errorf("Begin and Stop moved Offset from %d to %d", off, s.Offset())
		}
		if cur, err = s.Begin(a); err != nil {
			t.Fatal(err)
		}
		got := append(spliceAll(t, a), chunks(cur)...)
		if want := spliceAll(t, a, a); !bytes.Equal(got, want) {
			t.Error("a clip begun and stopped before its first chunk changed the stream")
		}
	})
	t.Run("Begin stops the clip in progress", func(t *testing.T) {
		var s Splicer
		cur, err := s.Begin(a)
		if err != nil {
			t.Fatal(err)
		}
		cur.Next()
		cur.Next()
		next, err := s.Begin(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := cur.Next(); ok {
			t.Error("the first cursor still hands out chunks after Begin")
		}
		cur.Stop() // must not end the new clip
		if want := DefaultStart + 2*media.QuantumTicks; s.Offset() != want {
			t.Errorf("Offset %d, want %d", s.Offset(), want)
		}
		if ch, ok := next.Next(); !ok || ch.Start != DefaultStart+2*media.QuantumTicks || !ch.ClipStart {
			t.Errorf("first chunk of the next clip: ok %v Start %d ClipStart %v", ok, ch.Start, ch.ClipStart)
		}
	})
	t.Run("Stop after the last chunk", func(t *testing.T) {
		s := NewSplicer(0, Options{})
		cur, err := s.Begin(a)
		if err != nil {
			t.Fatal(err)
		}
		n := len(chunks(cur))
		if _, ok := cur.Next(); ok || n == 0 {
			t.Fatal("Next after the last chunk returned a chunk")
		}
		cur.Stop()
		cur.Stop()
		if s.Offset() != a.Ticks() {
			t.Errorf("Offset %d, want %d", s.Offset(), a.Ticks())
		}
	})
	t.Run("incompatible", func(t *testing.T) {
		var s Splicer
		if _, err := s.Begin(nil); err == nil {
			t.Error("Begin(nil) succeeded")
		}
		cur, err := s.Begin(a)
		if err != nil {
			t.Fatal(err)
		}
		cur.Next()
		moved := *a
		moved.audioPID++
		if _, err := s.Begin(&moved); !errors.Is(err, ErrIncompatible) {
			t.Fatalf("Begin of a clip with other PIDs = %v, want ErrIncompatible", err)
		}
		if _, ok := cur.Next(); !ok {
			t.Error("a refused Begin stopped the clip in progress")
		}
	})
}

// FuzzCursor corrupts real clips (bytes xored at offsets that the input
// chooses, so that many still parse) and checks that Begin, Next and Stop
// never panic and move Offset by the chunks taken.
func FuzzCursor(f *testing.F) {
	var clips [][]byte
	for _, spec := range []mpegtstest.Spec{{Quanta: 3, Silent: true, Exact: true}, {Quanta: 2}} {
		b, err := fixtures.Get(f.Context(), spec)
		if err != nil {
			f.Fatal(err)
		}
		clips = append(clips, b)
	}
	edit := func(off uint32, x byte) []byte {
		return []byte{byte(off), byte(off >> 8), byte(off >> 16), byte(off >> 24), x}
	}
	f.Add(uint8(0), []byte{}, uint8(1))
	f.Add(uint8(1), []byte{}, uint8(2))
	for i, off := range []uint32{3, 4, 5, 12, 188*3 + 4, 188*7 + 5, 188*9 + 20, 188*40 + 3, 188*41 + 8} {
		f.Add(uint8(i), edit(off, 0xA5), uint8(i))
		f.Add(uint8(i), append(edit(off, 0x10), edit(off+188*50, 0x01)...), uint8(i+1))
	}
	f.Fuzz(func(t *testing.T, which uint8, edits []byte, stop uint8) {
		b := bytes.Clone(clips[int(which)%len(clips)])
		for ; len(edits) >= 5; edits = edits[5:] {
			off := int(uint32(edits[0]) | uint32(edits[1])<<8 | uint32(edits[2])<<16 | uint32(edits[3])<<24)
			b[off%len(b)] ^= edits[4]
		}
		c, err := Parse(b)
		if err != nil {
			return
		}
		s := NewSplicer(1<<33-media.QuantumTicks, Options{})
		var out []byte
		for i, take := range []int{int(stop) % (c.plan.chunks + 1), c.plan.chunks + 1} {
			start := s.Offset()
			cur, err := s.Begin(c)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for ; n < take; n++ {
				ch, ok := cur.Next()
				if !ok {
					break
				}
				if len(ch.Data)%PacketSize != 0 {
					t.Fatalf("chunk of %d bytes", len(ch.Data))
				}
				out = append(out, ch.Data...)
			}
			if i == 1 && n != c.plan.chunks {
				t.Fatalf("took %d of %d chunks", n, c.plan.chunks)
			}
			cur.Stop()
			if got := s.Offset(); got != start+int64(n)*media.QuantumTicks {
				t.Fatalf("Offset %d after %d chunks from %d", got, n, start)
			}
		}
		var sb SegmentBuilder
		for i := 0; i < len(out); i += 10 * PacketSize {
			sb.Add(Chunk{Data: out[i:min(i+10*PacketSize, len(out))], Ticks: media.QuantumTicks, GOPTicks: int64(stop)})
		}
		sb.Flush()
	})
}

func BenchmarkChunks(b *testing.B) {
	for _, spec := range []mpegtstest.Spec{{Quanta: 22}, {Quanta: 22, Silent: true, Exact: true}} {
		b.Run(spec.Name(), func(b *testing.B) {
			data := fixtures.Clip(b, spec)
			c, err := Parse(data)
			if err != nil {
				b.Fatal(err)
			}
			var s Splicer
			b.Run("Next", func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					cur, err := s.Begin(c)
					if err != nil {
						b.Fatal(err)
					}
					for _, ok := cur.Next(); ok; _, ok = cur.Next() {
					}
				}
			})
			b.Run("AppendNext", func(b *testing.B) {
				var buf []byte
				b.SetBytes(int64(len(data)))
				b.ReportAllocs()
				for b.Loop() {
					cur, err := s.Begin(c)
					if err != nil {
						b.Fatal(err)
					}
					ok := true
					for ok {
						buf, _, ok = cur.AppendNext(buf[:0])
					}
				}
			})
		})
	}
}
