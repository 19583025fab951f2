package mpegts

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast/internal/media"
	"github.com/evercast/evercast/internal/mpegts/mpegtstest"
)

// run runs a media tool with a timeout and returns its stdout and stderr.
func run(t *testing.T, name string, args ...string) (stdout, stderr string) {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		t.Fatalf("%s not found (install it: apt-get install ffmpeg): %v", name, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, errb.String())
	}
	return out.String(), errb.String()
}

// probePacket is one packet as ffprobe reports it.
type probePacket struct {
	pts, dts, dur int64
	key           bool
}

// probe returns the video and audio packets of a file or playlist, in file
// order, and fails on any message of ffprobe.
func probe(t *testing.T, path string) (video, audio []probePacket) {
	t.Helper()
	streams, msg := run(t, "ffprobe", "-v", "error", "-show_entries", "stream=index,codec_type", "-of", "csv=p=0", path)
	if msg != "" {
		t.Fatalf("ffprobe %s: %s", path, msg)
	}
	kind := map[string]string{}
	for line := range strings.Lines(streams) {
		if f := strings.Split(strings.TrimSpace(line), ","); len(f) >= 2 {
			kind[f[0]] = f[1]
		}
	}
	out, msg := run(t, "ffprobe", "-v", "error", "-show_entries", "packet=stream_index,pts,dts,duration,flags", "-of", "csv", path)
	if msg != "" {
		t.Fatalf("ffprobe %s: %s", path, msg)
	}
	r := csv.NewReader(strings.NewReader(out))
	r.FieldsPerRecord = -1
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(rec) < 6 || rec[0] != "packet" {
			continue
		}
		var p probePacket
		var errs [3]error
		p.pts, errs[0] = strconv.ParseInt(rec[2], 10, 64)
		p.dts, errs[1] = strconv.ParseInt(rec[3], 10, 64)
		p.dur, errs[2] = strconv.ParseInt(rec[4], 10, 64)
		if err := errors.Join(errs[:]...); err != nil {
			t.Fatalf("ffprobe packet %v: %v", rec, err)
		}
		p.key = strings.HasPrefix(rec[5], "K")
		switch kind[rec[1]] {
		case "video":
			video = append(video, p)
		case "audio":
			audio = append(audio, p)
		default:
			t.Fatalf("ffprobe packet of unknown stream %v", rec)
		}
	}
	return video, audio
}

// checkTS checks in Go what ffprobe does not report: continuity counters
// continuous on every PID and a strictly increasing PCR (modulo 2^33). It
// returns the number of PCRs.
func checkTS(t *testing.T, b []byte) int {
	t.Helper()
	if len(b)%PacketSize != 0 {
		t.Fatalf("stream length %d is not a multiple of %d", len(b), PacketSize)
	}
	last := map[uint16]byte{}
	var pcrs int
	var prevBase int64
	var prevExt int
	for i := 0; i < len(b); i += PacketSize {
		p := b[i : i+PacketSize]
		if p[0] != syncByte {
			t.Fatalf("packet %d: no sync byte", i/PacketSize)
		}
		pid, cc := pidOf(p), p[3]&0x0F
		if afFlags(p)&0x80 != 0 {
			t.Errorf("packet %d: discontinuity indicator set", i/PacketSize)
		}
		if prev, ok := last[pid]; ok {
			want := (prev + 1) & 0x0F
			if afc(p)&hasData == 0 {
				want = prev
			}
			if cc != want {
				t.Fatalf("packet %d PID %#x: continuity counter %d after %d", i/PacketSize, pid, cc, prev)
			}
		}
		last[pid] = cc
		if off := pcrOffset(p); off >= 0 {
			base, ext := readPCR(p[off:])
			if pcrs > 0 {
				step := wrapDiff(base, prevBase)*300 + int64(ext-prevExt)
				if step <= 0 || step > 27_000_000 {
					t.Fatalf("packet %d: PCR %d/%d follows %d/%d", i/PacketSize, base, ext, prevBase, prevExt)
				}
			}
			prevBase, prevExt = base, ext
			pcrs++
		}
	}
	return pcrs
}

// firstVideo returns the PTS and random access flag of the first video PES
// in b.
func firstVideo(t *testing.T, b []byte, videoPID uint16) (pts int64, rai bool) {
	t.Helper()
	for i := 0; i < len(b); i += PacketSize {
		p := b[i : i+PacketSize]
		if pidOf(p) == videoPID && pusi(p) {
			pts, _, _, err := pesHeader(p)
			if err != nil {
				t.Fatal(err)
			}
			return pts, afFlags(p)&afRAI != 0
		}
	}
	t.Fatal("segment has no video PES")
	return 0, false
}

func TestSplice(t *testing.T) {
	landscape := func(q ...int) []mpegtstest.Spec {
		var s []mpegtstest.Spec
		for _, n := range q {
			s = append(s, mpegtstest.Spec{Quanta: n})
		}
		return s
	}
	portrait := mpegtstest.Spec{Size: media.Portrait, Quanta: 10}
	tests := []struct {
		name  string
		zero  bool  // use the zero Splicer
		start int64 // else NewSplicer(start)
		clips []mpegtstest.Spec
	}{
		{name: "zero splicer", zero: true, clips: landscape(10, 22, 14, 10)},
		{name: "across 2^33", start: 1<<33 - 5*media.Clock, clips: landscape(14, 10, 22)},
		{name: "portrait from 0", start: 0, clips: []mpegtstest.Spec{portrait, portrait, portrait}},
		{name: "exact audio, grouped silence", zero: true, clips: []mpegtstest.Spec{
			{Quanta: 10, Exact: true}, {Quanta: 14, Exact: true, Silent: true}, {Quanta: 10}, {Quanta: 9, Silent: true, Exact: true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := NewSplicer(tt.start, Options{})
			if tt.zero {
				s = &Splicer{}
			}
			start := s.Offset()
			if tt.zero && start != DefaultStart {
				t.Fatalf("zero Splicer Offset = %d, want %d", start, DefaultStart)
			}
			var stream []byte
			var frames []int // video frames per clip
			var total int64
			next := start
			var videoPID uint16
			for i, spec := range tt.clips {
				c, err := Parse(fixtures.Clip(t, spec))
				if err != nil {
					t.Fatal(err)
				}
				videoPID = c.videoPID
				segs, err := s.Splice(c)
				if err != nil {
					t.Fatal(err)
				}
				var clipTicks int64
				for j, g := range segs {
					if g.ClipStart != (j == 0) {
						t.Errorf("clip %d segment %d: ClipStart = %v", i, j, g.ClipStart)
					}
					if g.Start != next {
						t.Errorf("clip %d segment %d starts at %d, want %d", i, j, g.Start, next)
					}
					if got := []uint16{pidOf(g.Data), pidOf(g.Data[PacketSize:])}; !slices.Equal(got, []uint16{patPID, c.pmtPID}) {
						t.Errorf("clip %d segment %d begins with PIDs %#x, want PAT and PMT", i, j, got)
					}
					pts, rai := firstVideo(t, g.Data, c.videoPID)
					if !rai || pts != g.Start&tsMask {
						t.Errorf("clip %d segment %d: first video frame PTS %d keyframe %v, want PTS %d keyframe",
							i, j, pts, rai, g.Start&tsMask)
					}
					next += g.Ticks
					clipTicks += g.Ticks
					stream = append(stream, g.Data...)
				}
				if clipTicks != c.Ticks() {
					t.Errorf("clip %d: segments last %d ticks, clip %d", i, clipTicks, c.Ticks())
				}
				frames = append(frames, c.VideoFrames())
				total += c.Ticks()
			}
			if got := s.Offset(); got != start+total {
				t.Errorf("Offset = %d, want %d", got, start+total)
			}
			if pts, _ := firstVideo(t, stream, videoPID); pts != start&tsMask {
				t.Errorf("first PTS %d, want %d", pts, start&tsMask)
			}
			if n := checkTS(t, stream); n < len(tt.clips) {
				t.Errorf("only %d PCRs", n)
			}

			path := filepath.Join(t.TempDir(), "stitched.ts")
			if err := os.WriteFile(path, stream, 0o644); err != nil {
				t.Fatal(err)
			}
			checkProbe(t, path, frames)
			if _, msg := run(t, "ffmpeg", "-v", "warning", "-i", path, "-f", "null", "-"); msg != "" {
				t.Errorf("decoding the stitched stream warned:\n%s", msg)
			}
			if _, msg := run(t, "ffmpeg", "-v", "warning", "-i", path, "-c", "copy",
				"-flvflags", "no_duration_filesize", "-f", "flv", "-"); msg != "" {
				t.Errorf("remuxing the stitched stream to FLV warned:\n%s", msg)
			}
		})
	}
}

// checkProbe checks the packets that ffprobe reads from path: clips of the
// given numbers of video frames, joined without gap or overlap.
func checkProbe(t *testing.T, path string, frames []int) {
	t.Helper()
	video, audio := probe(t, path)
	var wantVideo int
	keyAt := map[int]bool{}
	for _, n := range frames {
		keyAt[wantVideo] = true
		wantVideo += n
	}
	wantAudio := wantVideo * media.FrameTicks / media.AACFrameTicks
	if len(video) != wantVideo || len(audio) != wantAudio {
		t.Fatalf("ffprobe read %d video and %d audio packets, want %d and %d", len(video), len(audio), wantVideo, wantAudio)
	}
	for i, p := range video {
		if p.pts != p.dts || p.dur != media.FrameTicks {
			t.Errorf("video packet %d: pts %d dts %d duration %d", i, p.pts, p.dts, p.dur)
		}
		if i > 0 && p.pts-video[i-1].pts != media.FrameTicks {
			t.Errorf("video packet %d: pts %d follows %d", i, p.pts, video[i-1].pts)
		}
		if keyAt[i] && !p.key {
			t.Errorf("video packet %d starts a clip but is not a keyframe", i)
		}
	}
	for i, p := range audio {
		if i > 0 && p.pts-audio[i-1].pts != media.AACFrameTicks {
			t.Errorf("audio packet %d: pts %d follows %d", i, p.pts, audio[i-1].pts)
		}
	}
	if video[0].pts != audio[0].pts {
		t.Errorf("video starts at %d, audio at %d", video[0].pts, audio[0].pts)
	}
	vEnd := video[len(video)-1].pts + media.FrameTicks
	aEnd := audio[len(audio)-1].pts + media.AACFrameTicks
	if vEnd != aEnd {
		t.Errorf("video ends at %d, audio at %d", vEnd, aEnd)
	}
}

func TestSpliceCuts(t *testing.T) {
	ms := func(d ...int64) []int64 { return d }
	tests := []struct {
		quanta int
		max    time.Duration
		want   []int64 // segment durations in ms
	}{
		{22, 0, ms(4000, 3040)},
		{22, 2 * time.Second, ms(2000, 2000, 2000, 1040)},
		{22, 6 * time.Second, ms(6000, 1040)},
		{22, 10 * time.Second, ms(7040)},
		{22, time.Second, ms(2000, 2000, 2000, 1040)},
		{14, 0, ms(4000, 480)},
		{14, 5 * time.Second, ms(4480)},
		{10, 0, ms(3200)},
		{10, 3 * time.Second, ms(2000, 1200)},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.quanta)+"q/"+tt.max.String(), func(t *testing.T) {
			c, err := Parse(fixtures.Clip(t, mpegtstest.Spec{Quanta: tt.quanta}))
			if err != nil {
				t.Fatal(err)
			}
			segs, err := NewSplicer(0, Options{MaxSegment: tt.max}).Splice(c)
			if err != nil {
				t.Fatal(err)
			}
			var got []int64
			for _, g := range segs {
				got = append(got, g.Duration().Milliseconds())
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("segments %v ms, want %v", got, tt.want)
			}
		})
	}
}

func TestSpliceIncompatible(t *testing.T) {
	good := fixtures.Path(t, mpegtstest.Spec{Quanta: 10})
	other := filepath.Join(t.TempDir(), "pids.ts")
	run(t, "ffmpeg", "-v", "error", "-i", good, "-map", "0", "-c", "copy",
		"-mpegts_start_pid", "0x200", "-pes_payload_size", "0", "-f", "mpegts", other)
	b, err := os.ReadFile(other)
	if err != nil {
		t.Fatal(err)
	}
	moved, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := Parse(fixtures.Clip(t, mpegtstest.Spec{Quanta: 10}))
	if err != nil {
		t.Fatal(err)
	}
	var s Splicer
	if _, err := s.Splice(c); err != nil {
		t.Fatal(err)
	}
	off := s.Offset()
	if _, err := s.Splice(moved); !errors.Is(err, ErrIncompatible) {
		t.Fatalf("Splice of a clip with other PIDs = %v, want ErrIncompatible", err)
	}
	if s.Offset() != off {
		t.Errorf("failed Splice moved Offset from %d to %d", off, s.Offset())
	}
	if _, err := s.Splice(c); err != nil {
		t.Fatalf("Splice after a refused clip: %v", err)
	}
}

func BenchmarkSplice(b *testing.B) {
	data := fixtures.Clip(b, mpegtstest.Spec{Quanta: 22})
	c, err := Parse(data)
	if err != nil {
		b.Fatal(err)
	}
	var s Splicer
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.Splice(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	data := fixtures.Clip(b, mpegtstest.Spec{Quanta: 22})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

// TestSpliceOtherStream checks that a further elementary stream (here a
// made-up timed metadata stream added to a real clip) moves with the video.
func TestSpliceOtherStream(t *testing.T) {
	const metaPID = 0x102
	orig := fixtures.Clip(t, mpegtstest.Spec{Quanta: 10})
	c, err := Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	var b []byte
	injected := false
	for _, p := range packets(orig) {
		p = bytes.Clone(p)
		if pidOf(p) == c.pmtPID {
			// Add stream type 0x15 (metadata in PES) on metaPID to the PMT.
			s := p[payloadStart(p)+1+int(p[payloadStart(p)]):]
			n := 3 + (int(s[1]&0x0F)<<8 | int(s[2]))
			entry := []byte{0x15, 0xE0 | metaPID>>8, metaPID & 0xFF, 0xF0, 0x00}
			sec := append(append(bytes.Clone(s[:n-4]), entry...), 0, 0, 0, 0)
			sec[1] = sec[1]&0xF0 | byte((n+5-3)>>8)
			sec[2] = byte(n + 5 - 3)
			crc := crc32MPEG(sec[:len(sec)-4])
			sec[len(sec)-4], sec[len(sec)-3], sec[len(sec)-2], sec[len(sec)-1] = byte(crc>>24), byte(crc>>16), byte(crc>>8), byte(crc)
			copy(s, sec)
		}
		b = append(b, p...)
		if !injected && pidOf(p) == c.videoPID {
			q := bytes.Repeat([]byte{0xFF}, PacketSize)
			copy(q, []byte{syncByte, 0x40 | metaPID>>8, metaPID & 0xFF, 0x10, 0, 0, 1, 0xBD, 0, 178, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1})
			writeTS(q[13:], c.v0+media.FrameTicks)
			b = append(b, q...)
			injected = true
		}
	}
	withMeta, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(withMeta.otherES, []uint16{metaPID}) {
		t.Fatalf("other streams %v, want [%#x]", withMeta.otherES, metaPID)
	}
	const start = 1_000_000
	segs, err := NewSplicer(start, Options{}).Splice(withMeta)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(segs[0].Data); i += PacketSize {
		if p := segs[0].Data[i : i+PacketSize]; pidOf(p) == metaPID {
			pts, _, _, err := pesHeader(p)
			if err != nil {
				t.Fatal(err)
			}
			if pts != start+media.FrameTicks {
				t.Errorf("metadata PTS %d, want %d", pts, start+media.FrameTicks)
			}
			return
		}
	}
	t.Fatal("metadata packet missing from the output")
}
