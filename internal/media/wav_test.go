package media

import (
	"encoding/binary"
	"errors"
	"testing"
	"time"
)

func wavBytes(rate, ch int, samples []int16, dataSize uint32) []byte {
	b := make([]byte, 44+2*len(samples))
	copy(b, "RIFF")
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], uint16(ch))
	binary.LittleEndian.PutUint32(b[24:], uint32(rate))
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], dataSize)
	for i, s := range samples {
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(s))
	}
	return b
}

func TestParseWAV(t *testing.T) {
	s := make([]int16, 22050)
	s[5] = -123
	w, err := ParseWAV(wavBytes(22050, 1, s, uint32(2*len(s))))
	if err != nil || w.Rate != 22050 || w.Channels != 1 || len(w.Samples) != 22050 || w.Samples[5] != -123 {
		t.Fatalf("got %+v %v", w.Rate, err)
	}
	if w.Duration() != time.Second {
		t.Fatalf("duration %v", w.Duration())
	}
	// Streaming writers leave the size unknown.
	if w, err := ParseWAV(wavBytes(48000, 2, make([]int16, 96), 0xFFFFFFFF)); err != nil || len(w.Samples) != 96 {
		t.Fatalf("unknown size: %v", err)
	}
	bad := [][]byte{nil, []byte("RIFF"), []byte("RIFF\x00\x00\x00\x00WAVE"), wavBytes(22050, 0, nil, 0)}
	for i, b := range bad {
		if _, err := ParseWAV(b); !errors.Is(err, ErrBadWAV) {
			t.Errorf("case %d: want ErrBadWAV, got %v", i, err)
		}
	}
}

func FuzzParseWAV(f *testing.F) {
	f.Add(wavBytes(22050, 1, make([]int16, 10), 20))
	f.Add([]byte("RIFF\xff\xff\xff\xffWAVEfmt \x10\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		w, err := ParseWAV(b)
		if err == nil && (w.Channels < 1 || w.Rate < 8000 || len(w.Samples)%w.Channels != 0) {
			t.Fatalf("accepted inconsistent WAV %+v", w.Rate)
		}
	})
}

func TestQuantize(t *testing.T) {
	tests := []struct{ in, want time.Duration }{
		{0, Quantum}, {time.Millisecond, Quantum}, {Quantum, Quantum}, {Quantum + 1, 2 * Quantum}, {3 * time.Second, 3200 * time.Millisecond},
	}
	for _, tt := range tests {
		if got := Quantize(tt.in); got != tt.want {
			t.Errorf("Quantize(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
