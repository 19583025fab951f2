package aigc

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

const (
	tsPacketSize = 188
	tsSync       = 0x47
	nalTypeSEI   = 6
	seiUserData  = 5 // user_data_unregistered
	// maxSEI bounds the bytes kept of one SEI NAL unit; longer ones are not
	// Evercast's and are skipped.
	maxSEI = 64 << 10
)

// Read returns the first Evercast label found in r, an MPEG-TS stream
// (188-byte packets; the H.264 elementary streams are read, every other
// stream ignored) or a raw H.264 Annex B byte stream. It reads r until it
// finds the label or r ends. It returns ErrMissing if the stream holds no
// Evercast label, an error wrapping ErrMalformed if the label it found
// cannot be decoded, and read errors of r wrapped.
func Read(r io.Reader) (Label, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, err := br.Peek(1)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Label{}, ErrMissing
		}
		return Label{}, fmt.Errorf("aigc: read: %w", err)
	}
	if head[0] == tsSync {
		return readTS(br)
	}
	return readAnnexB(br)
}

// readAnnexB scans a raw H.264 byte stream.
func readAnnexB(r io.Reader) (Label, error) {
	var s nalScanner
	buf := make([]byte, 32<<10)
	for {
		n, err := r.Read(buf)
		if s.write(buf[:n]) {
			return s.label, s.err
		}
		if errors.Is(err, io.EOF) {
			if s.flush() {
				return s.label, s.err
			}
			return Label{}, ErrMissing
		}
		if err != nil {
			return Label{}, fmt.Errorf("aigc: read: %w", err)
		}
	}
}

// readTS demultiplexes the video PES streams of an MPEG-TS stream (stream
// ids 0xE0-0xEF) and scans each as an H.264 byte stream.
func readTS(r *bufio.Reader) (Label, error) {
	type pid struct {
		video bool
		nal   nalScanner
	}
	pids := map[uint16]*pid{}
	pkt := make([]byte, tsPacketSize)
	for {
		if _, err := io.ReadFull(r, pkt); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return Label{}, fmt.Errorf("aigc: read: %w", err)
		}
		if pkt[0] != tsSync {
			// Lost sync: skip to the next sync byte and try again there.
			i := bytes.IndexByte(pkt[1:], tsSync)
			if i < 0 {
				continue
			}
			copy(pkt, pkt[1+i:])
			if _, err := io.ReadFull(r, pkt[tsPacketSize-1-i:]); err != nil {
				break
			}
		}
		pusi := pkt[1]&0x40 != 0
		id := uint16(pkt[1]&0x1f)<<8 | uint16(pkt[2])
		afc := pkt[3] >> 4 & 3
		if afc&1 == 0 || id == 0x1fff {
			continue // no payload, or a null packet
		}
		off := 4
		if afc&2 != 0 {
			off += 1 + int(pkt[4])
		}
		if off >= tsPacketSize {
			continue
		}
		payload := pkt[off:]
		p := pids[id]
		if pusi {
			// A PES starts here: 00 00 01, stream id, length, flags, header
			// length, header.
			video := len(payload) >= 9 && payload[0] == 0 && payload[1] == 0 && payload[2] == 1 &&
				payload[3]&0xF0 == 0xE0
			if p == nil {
				if !video {
					continue
				}
				p = &pid{}
				pids[id] = p
			}
			p.video = video
			if !video {
				continue
			}
			start := 9 + int(payload[8])
			if start > len(payload) {
				continue
			}
			payload = payload[start:]
		}
		if p == nil || !p.video {
			continue
		}
		if p.nal.write(payload) {
			return p.nal.label, p.nal.err
		}
	}
	for _, p := range pids {
		if p.nal.flush() {
			return p.nal.label, p.nal.err
		}
	}
	return Label{}, ErrMissing
}

// nalScanner splits an H.264 Annex B byte stream into NAL units, written in
// pieces of any size, and checks every SEI NAL unit for the label.
type nalScanner struct {
	zeros   int    // consecutive zero bytes just seen
	started bool   // inside a NAL unit
	header  bool   // the next byte is a NAL unit header
	keep    bool   // the current NAL unit is an SEI being collected
	buf     []byte // the SEI being collected, without its header byte

	label Label
	err   error
}

// write scans p and reports whether a label was found (or found malformed);
// the outcome is then in s.label and s.err.
func (s *nalScanner) write(p []byte) bool {
	for _, c := range p {
		if c == 1 && s.zeros >= 2 {
			if s.end() {
				return true
			}
			s.started, s.header, s.zeros = true, true, 0
			continue
		}
		if c == 0 {
			s.zeros++
		} else {
			s.zeros = 0
		}
		switch {
		case !s.started:
		case s.header:
			s.header = false
			s.keep = c&0x1f == nalTypeSEI
			s.buf = s.buf[:0]
		case s.keep:
			if len(s.buf) >= maxSEI {
				s.keep = false
				continue
			}
			s.buf = append(s.buf, c)
		}
	}
	return false
}

// flush ends the last NAL unit at the end of the stream.
func (s *nalScanner) flush() bool {
	return s.end()
}

// end finishes the current NAL unit and reports whether it held the label.
func (s *nalScanner) end() bool {
	if !s.keep {
		return false
	}
	s.keep = false
	// Trailing zeros belong to the next start code (or are padding).
	nal := bytes.TrimRight(s.buf, "\x00")
	data, ok := findUserData(unescape(nal))
	if !ok {
		return false
	}
	s.label, s.err = decodePayload(data)
	return true
}

// unescape removes the emulation prevention bytes (00 00 03 → 00 00) of a
// NAL unit payload, giving its RBSP.
func unescape(nal []byte) []byte {
	if !bytes.Contains(nal, []byte{0, 0, 3}) {
		return nal
	}
	out := make([]byte, 0, len(nal))
	zeros := 0
	for _, c := range nal {
		if zeros >= 2 && c == 3 {
			zeros = 0
			continue
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

// findUserData walks the SEI messages of an SEI RBSP and returns the user
// data of the user_data_unregistered message that carries UUID.
func findUserData(rbsp []byte) ([]byte, bool) {
	for len(rbsp) > 0 && !(len(rbsp) == 1 && rbsp[0] == 0x80) {
		var typ, size int
		var ok bool
		if typ, rbsp, ok = seiNumber(rbsp); !ok {
			return nil, false
		}
		if size, rbsp, ok = seiNumber(rbsp); !ok || size > len(rbsp) {
			return nil, false
		}
		payload := rbsp[:size]
		rbsp = rbsp[size:]
		if typ == seiUserData && size >= len(UUID) && bytes.Equal(payload[:len(UUID)], UUID[:]) {
			return payload[len(UUID):], true
		}
	}
	return nil, false
}

// seiNumber reads an SEI payload type or size: 0xFF bytes each adding 255,
// then a last byte.
func seiNumber(b []byte) (int, []byte, bool) {
	n := 0
	for i, c := range b {
		n += int(c)
		if c != 0xFF {
			return n, b[i+1:], true
		}
	}
	return 0, nil, false
}
