package mpegts

import (
	"bytes"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/evercast/evercast/internal/media"
	"github.com/evercast/evercast/internal/mpegts/mpegtstest"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name      string
		spec      mpegtstest.Spec
		frames    int
		audio     int
		dur       time.Duration
		keyframes []int64
	}{
		{"3.2s", mpegtstest.Spec{Quanta: 10}, 80, 151, 3200 * time.Millisecond, []int64{0, 180000}},
		{"4.48s", mpegtstest.Spec{Quanta: 14}, 112, 211, 4480 * time.Millisecond, []int64{0, 180000, 360000}},
		{"7.04s", mpegtstest.Spec{Quanta: 22}, 176, 331, 7040 * time.Millisecond, []int64{0, 180000, 360000, 540000}},
		{"portrait 3.2s", mpegtstest.Spec{Size: media.Portrait, Quanta: 10}, 80, 151, 3200 * time.Millisecond, []int64{0, 180000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(fixtures.Clip(t, tt.spec))
			if err != nil {
				t.Fatal(err)
			}
			if got := c.VideoFrames(); got != tt.frames {
				t.Errorf("VideoFrames = %d, want %d", got, tt.frames)
			}
			if got := c.AudioFrames(); got != tt.audio {
				t.Errorf("AudioFrames = %d, want %d", got, tt.audio)
			}
			if got := c.Duration(); got != tt.dur {
				t.Errorf("Duration = %v, want %v", got, tt.dur)
			}
			if got, want := c.Ticks(), int64(tt.dur/time.Millisecond)*90; got != want {
				t.Errorf("Ticks = %d, want %d", got, want)
			}
			if got := c.Keyframes(); !slices.Equal(got, tt.keyframes) {
				t.Errorf("Keyframes = %v, want %v", got, tt.keyframes)
			}
			if c.a0 != c.v0-media.AACFrameTicks {
				t.Errorf("first audio PTS %d, first video PTS %d: want one AAC priming frame ahead", c.a0, c.v0)
			}
		})
	}
}

// tsPacket is a packet view for building broken clips from real ones.
type tsPacket = []byte

func packets(b []byte) []tsPacket {
	var out []tsPacket
	for i := 0; i+PacketSize <= len(b); i += PacketSize {
		out = append(out, b[i:i+PacketSize])
	}
	return out
}

// dropPES removes the PES packets number from..to-1 (counted from 0) of the
// elementary stream on pid.
func dropPES(t *testing.T, b []byte, pid uint16, from, to int) []byte {
	t.Helper()
	var out []byte
	n := -1
	for _, p := range packets(b) {
		if pidOf(p) == pid && pusi(p) {
			n++
		}
		if pidOf(p) == pid && n >= from && n < to {
			continue
		}
		out = append(out, p...)
	}
	if n < to-1 {
		t.Fatalf("clip has only %d PES on PID %#x", n+1, pid)
	}
	return out
}

func TestParseErrors(t *testing.T) {
	good := fixtures.Clip(t, mpegtstest.Spec{Quanta: 10})
	c, err := Parse(good)
	if err != nil {
		t.Fatal(err)
	}
	vpid, apid := c.videoPID, c.audioPID
	badSync := bytes.Clone(good)
	badSync[PacketSize*100] = 0x48
	badPAT := bytes.Clone(good)
	badPAT[PacketSize*c.patPkt+10] ^= 0xFF
	tests := []struct {
		name string
		data func(t *testing.T) []byte
		want string // substring of the message
	}{
		{"empty", func(*testing.T) []byte { return nil }, "length"},
		{"not TS", func(*testing.T) []byte { return bytes.Repeat([]byte("not a transport stream "), 188) }, "sync"},
		{"truncated mid-packet", func(*testing.T) []byte { return good[:len(good)-100] }, "length"},
		{"bad sync byte", func(*testing.T) []byte { return badSync }, "sync"},
		{"corrupt PAT", func(*testing.T) []byte { return badPAT }, "CRC"},
		{"no audio", func(t *testing.T) []byte { return fixtures.Clip(t, mpegtstest.Spec{Quanta: 10, NoAudio: true}) }, "no AAC"},
		{"B-frames", func(t *testing.T) []byte { return fixtures.Clip(t, mpegtstest.Spec{Quanta: 10, BFrames: true}) }, "B-frames"},
		{"several ADTS frames per PES", func(t *testing.T) []byte {
			return fixtures.Clip(t, mpegtstest.Spec{Quanta: 10, GroupedAudio: true})
		}, "kept and surplus"},
		{"first frame not a keyframe", func(t *testing.T) []byte { return dropPES(t, good, vpid, 0, 8) }, "not a keyframe"},
		{"79 video frames", func(t *testing.T) []byte { return dropPES(t, good, vpid, 79, 80) }, "multiple of 8"},
		{"too few audio frames", func(t *testing.T) []byte { return dropPES(t, good, apid, 149, 151) }, "fewer"},
		{"gap in video", func(t *testing.T) []byte { return dropPES(t, good, vpid, 20, 28) }, "video frame 20"},
		{"gap in audio", func(t *testing.T) []byte { return dropPES(t, good, apid, 20, 21) }, "audio frame 20"},
		{"first packets only", func(*testing.T) []byte { return good[:PacketSize*3] }, "no video frames"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse(tt.data(t))
			if !errors.Is(err, ErrInvalidClip) {
				t.Fatalf("Parse = %v, %v; want an error wrapping ErrInvalidClip", c, err)
			}
			if !bytes.Contains([]byte(err.Error()), []byte(tt.want)) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	good, err := fixtures.Get(f.Context(), mpegtstest.Spec{Quanta: 10})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	for _, n := range []int{1, 3, 8, 40, 200} {
		f.Add(good[:n*PacketSize])
	}
	f.Add(good[:1000])
	f.Add(good[:PacketSize*40+7])
	for _, off := range []int{3, 4, 5, 6, 12, 188 + 5, 188*3 + 4, 188*3 + 12, 188*7 + 4, 188*7 + 14} {
		b := bytes.Clone(good[:PacketSize*60])
		b[off] ^= 0xA5
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidClip) {
				t.Fatalf("error %v does not wrap ErrInvalidClip", err)
			}
			return
		}
		// A clip that parses must splice without panicking.
		var s Splicer
		if _, err := s.Splice(c); err != nil {
			t.Fatal(err)
		}
	})
}

// TestParseKeyframesByNAL checks that keyframes are found from the IDR NAL
// unit when the random access indicator is missing.
func TestParseKeyframesByNAL(t *testing.T) {
	orig := fixtures.Clip(t, mpegtstest.Spec{Quanta: 22})
	c, err := Parse(orig)
	if err != nil {
		t.Fatal(err)
	}
	b := bytes.Clone(orig)
	cleared := 0
	for _, p := range packets(b) {
		if pidOf(p) == c.videoPID && afFlags(p)&afRAI != 0 {
			p[5] &^= afRAI
			cleared++
		}
	}
	if cleared != len(c.Keyframes()) {
		t.Fatalf("cleared %d random access indicators, clip has %d keyframes", cleared, len(c.Keyframes()))
	}
	noRAI, err := Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := noRAI.Keyframes(), c.Keyframes(); !slices.Equal(got, want) {
		t.Errorf("Keyframes without RAI = %v, want %v", got, want)
	}
}
