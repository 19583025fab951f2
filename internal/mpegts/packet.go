package mpegts

// Low-level helpers for 188-byte transport stream packets. They index into a
// packet that the caller has already checked to be PacketSize long.

// PacketSize is the size of one MPEG transport stream packet.
const PacketSize = 188

const (
	syncByte = 0x47
	patPID   = 0x0000
	sdtPID   = 0x0011
	nullPID  = 0x1FFF

	streamTypeH264 = 0x1B
	streamTypeAAC  = 0x0F

	// tsMask keeps the low 33 bits of a PTS, DTS or PCR base.
	tsMask       = 1<<33 - 1
	tsWrap       = 1 << 33
	afRAI        = 0x40 // random_access_indicator
	afESPriority = 0x20 // elementary_stream_priority_indicator
	afPCR        = 0x10 // PCR_flag
	afOPCR       = 0x08 // OPCR_flag
	hasAF        = 0x2
	hasData      = 0x1
)

func pidOf(p []byte) uint16 { return uint16(p[1]&0x1F)<<8 | uint16(p[2]) }
func pusi(p []byte) bool    { return p[1]&0x40 != 0 }
func afc(p []byte) byte     { return p[3] >> 4 & 3 }

// payloadStart returns the offset of the payload in p, or -1 when p has no
// payload or a malformed adaptation field.
func payloadStart(p []byte) int {
	c := afc(p)
	if c&hasData == 0 {
		return -1
	}
	if c&hasAF == 0 {
		return 4
	}
	off := 5 + int(p[4])
	if off > PacketSize {
		return -1
	}
	return off
}

// afFlags returns the adaptation field flags byte, or 0 when p has none.
func afFlags(p []byte) byte {
	if afc(p)&hasAF == 0 || p[4] == 0 {
		return 0
	}
	return p[5]
}

// pcrOffset returns the offset of the 6-byte PCR in p, or -1.
func pcrOffset(p []byte) int {
	if afFlags(p)&afPCR == 0 || p[4] < 7 {
		return -1
	}
	return 6
}

// opcrOffset returns the offset of the 6-byte OPCR in p, or -1.
func opcrOffset(p []byte) int {
	f := afFlags(p)
	if f&afOPCR == 0 {
		return -1
	}
	off := 6
	if f&afPCR != 0 {
		off += 6
	}
	if int(p[4]) < off+6-5 {
		return -1
	}
	return off
}

// readTS decodes a 33-bit PTS or DTS from its 5-byte PES encoding.
func readTS(b []byte) int64 {
	return int64(b[0]>>1&7)<<30 | int64(b[1])<<22 | int64(b[2]>>1)<<15 |
		int64(b[3])<<7 | int64(b[4]>>1)
}

// writeTS encodes v (modulo 2^33) into b, keeping the 4-bit prefix of b[0].
func writeTS(b []byte, v int64) {
	v &= tsMask
	b[0] = b[0]&0xF0 | byte(v>>29)&0x0E | 1
	b[1] = byte(v >> 22)
	b[2] = byte(v>>14) | 1
	b[3] = byte(v >> 7)
	b[4] = byte(v<<1) | 1
}

// readPCR decodes a PCR's 33-bit base and 9-bit extension.
func readPCR(b []byte) (base int64, ext int) {
	base = int64(b[0])<<25 | int64(b[1])<<17 | int64(b[2])<<9 | int64(b[3])<<1 | int64(b[4]>>7)
	ext = int(b[4]&1)<<8 | int(b[5])
	return base, ext
}

// writePCR encodes base (modulo 2^33) and ext into b.
func writePCR(b []byte, base int64, ext int) {
	base &= tsMask
	b[0] = byte(base >> 25)
	b[1] = byte(base >> 17)
	b[2] = byte(base >> 9)
	b[3] = byte(base >> 1)
	b[4] = byte(base<<7) | 0x7E | byte(ext>>8)&1
	b[5] = byte(ext)
}

// wrapDiff returns a-b modulo 2^33 as a signed number in [-2^32, 2^32).
func wrapDiff(a, b int64) int64 {
	d := (a - b) & tsMask
	if d >= tsWrap/2 {
		d -= tsWrap
	}
	return d
}

// crc32MPEG computes the CRC-32/MPEG-2 of b (polynomial 0x04C11DB7, no
// reflection, initial value 0xFFFFFFFF, no final xor).
func crc32MPEG(b []byte) uint32 {
	crc := uint32(0xFFFFFFFF)
	for _, x := range b {
		crc ^= uint32(x) << 24
		for range 8 {
			if crc&0x80000000 != 0 {
				crc = crc<<1 ^ 0x04C11DB7
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}
