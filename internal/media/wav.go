package media

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrBadWAV is returned for audio that is not 16-bit PCM WAV.
var ErrBadWAV = errors.New("not a 16-bit PCM WAV")

// WAV is decoded 16-bit PCM audio.
type WAV struct {
	Rate     int
	Channels int
	// Samples are interleaved.
	Samples []int16
}

// Duration of the audio.
func (w WAV) Duration() time.Duration {
	if w.Rate == 0 || w.Channels == 0 {
		return 0
	}
	return time.Duration(len(w.Samples)/w.Channels) * time.Second / time.Duration(w.Rate)
}

// ParseWAV decodes a RIFF/WAVE file of 16-bit PCM. It accepts the
// "unknown length" sizes (0 or 0xFFFFFFFF) streaming writers put in headers.
func ParseWAV(b []byte) (WAV, error) {
	var w WAV
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return w, fmt.Errorf("%w: missing RIFF/WAVE header", ErrBadWAV)
	}
	p := b[12:]
	gotFmt := false
	for len(p) >= 8 {
		id := string(p[0:4])
		size := int(binary.LittleEndian.Uint32(p[4:8]))
		body := p[8:]
		if id == "data" {
			if !gotFmt {
				return w, fmt.Errorf("%w: data before fmt chunk", ErrBadWAV)
			}
			if size == 0 || size == 0xFFFFFFFF || size > len(body) {
				size = len(body)
			}
			size -= size % (2 * w.Channels)
			w.Samples = make([]int16, size/2)
			for i := range w.Samples {
				w.Samples[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return w, nil
		}
		if size > len(body) {
			return w, fmt.Errorf("%w: chunk %q overruns the file", ErrBadWAV, id)
		}
		if id == "fmt " {
			if size < 16 {
				return w, fmt.Errorf("%w: short fmt chunk", ErrBadWAV)
			}
			format := binary.LittleEndian.Uint16(body[0:2])
			w.Channels = int(binary.LittleEndian.Uint16(body[2:4]))
			w.Rate = int(binary.LittleEndian.Uint32(body[4:8]))
			bits := binary.LittleEndian.Uint16(body[14:16])
			if (format != 1 && format != 0xFFFE) || bits != 16 {
				return w, fmt.Errorf("%w: format %d with %d bits", ErrBadWAV, format, bits)
			}
			if w.Channels < 1 || w.Channels > 8 || w.Rate < 8000 || w.Rate > 192000 {
				return w, fmt.Errorf("%w: %d channels at %d Hz", ErrBadWAV, w.Channels, w.Rate)
			}
			gotFmt = true
		}
		size += size & 1 // chunks are word aligned
		if size > len(body) {
			break
		}
		p = body[size:]
	}
	return w, fmt.Errorf("%w: no data chunk", ErrBadWAV)
}
