package render

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ErrBadWAV is wrapped by the errors for a voice file that is not a
// readable 16-bit PCM WAV.
var ErrBadWAV = errors.New("bad WAV file")

// maxWAVBytes bounds the voice files read (about 38 minutes of 48 kHz
// stereo).
const maxWAVBytes = 400 << 20

// pcm is decoded speech: mono samples in [-1, 1] at rate.
type pcm struct {
	rate    int
	samples []float32
}

// duration is the length of the audio.
func (p *pcm) duration() time.Duration {
	return time.Duration(len(p.samples)) * time.Second / time.Duration(p.rate)
}

// readWAV reads a RIFF/WAVE file of 16-bit PCM, mono or stereo, any rate,
// and mixes it to mono. A data chunk whose size is a streaming placeholder
// (0, or 0x7FFFF000 and above) runs to the end of the file; any other size
// beyond the end of the file is an error.
func readWAV(path string) (*pcm, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxWAVBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxWAVBytes {
		return nil, fmt.Errorf("%w: larger than %d MiB", ErrBadWAV, maxWAVBytes>>20)
	}
	return parseWAV(b)
}

func parseWAV(b []byte) (*pcm, error) {
	if len(b) < 12 || !bytes.Equal(b[0:4], []byte("RIFF")) || !bytes.Equal(b[8:12], []byte("WAVE")) {
		return nil, fmt.Errorf("%w: not a RIFF/WAVE file", ErrBadWAV)
	}
	var (
		haveFmt  bool
		channels int
		rate     int
		data     []byte
	)
	rest := b[12:]
	for data == nil {
		if len(rest) < 8 {
			if !haveFmt {
				return nil, fmt.Errorf("%w: no fmt chunk", ErrBadWAV)
			}
			return nil, fmt.Errorf("%w: no data chunk", ErrBadWAV)
		}
		id := string(rest[0:4])
		size := binary.LittleEndian.Uint32(rest[4:8])
		rest = rest[8:]
		switch id {
		case "fmt ":
			if size < 16 || int(size) > len(rest) {
				return nil, fmt.Errorf("%w: fmt chunk of %d bytes", ErrBadWAV, size)
			}
			format := binary.LittleEndian.Uint16(rest[0:2])
			channels = int(binary.LittleEndian.Uint16(rest[2:4]))
			rate = int(binary.LittleEndian.Uint32(rest[4:8]))
			bits := binary.LittleEndian.Uint16(rest[14:16])
			if format == 0xFFFE && size >= 40 { // WAVE_FORMAT_EXTENSIBLE: the sub-format GUID starts with the format code
				format = binary.LittleEndian.Uint16(rest[24:26])
			}
			switch {
			case format != 1:
				return nil, fmt.Errorf("%w: format code %d, want 1 (PCM)", ErrBadWAV, format)
			case bits != 16:
				return nil, fmt.Errorf("%w: %d bits per sample, want 16", ErrBadWAV, bits)
			case channels != 1 && channels != 2:
				return nil, fmt.Errorf("%w: %d channels, want 1 or 2", ErrBadWAV, channels)
			case rate < 8000 || rate > 192000:
				return nil, fmt.Errorf("%w: sample rate %d Hz", ErrBadWAV, rate)
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return nil, fmt.Errorf("%w: data chunk before fmt chunk", ErrBadWAV)
			}
			switch {
			case size == 0 || size >= 0x7FFFF000:
				data = rest
			case int64(size) > int64(len(rest)):
				return nil, fmt.Errorf("%w: truncated: data chunk says %d bytes, file has %d", ErrBadWAV, size, len(rest))
			default:
				data = rest[:size]
			}
			continue
		}
		skip := int64(size) + int64(size&1)
		if skip > int64(len(rest)) {
			return nil, fmt.Errorf("%w: truncated %q chunk", ErrBadWAV, id)
		}
		rest = rest[skip:]
	}
	frame := 2 * channels
	n := len(data) / frame
	if n == 0 {
		return nil, fmt.Errorf("%w: no samples", ErrBadWAV)
	}
	p := &pcm{rate: rate, samples: make([]float32, n)}
	for i := range n {
		s := data[i*frame:]
		v := float32(int16(binary.LittleEndian.Uint16(s)))
		if channels == 2 {
			v = (v + float32(int16(binary.LittleEndian.Uint16(s[2:])))) / 2
		}
		p.samples[i] = v / 32768
	}
	return p, nil
}
