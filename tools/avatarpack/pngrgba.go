package main

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"io"
)

// encodeRGBA writes img as an 8-bit RGBA PNG (colour type 6), even when every
// pixel is opaque: image/png would then drop the alpha channel, and pack
// layers are promised to be RGBA. Rows use the PNG filter with the smallest
// sum of absolute differences, as most encoders do; output is deterministic.
func encodeRGBA(w io.Writer, img *image.NRGBA) error {
	width, height := img.Rect.Dx(), img.Rect.Dy()
	if width <= 0 || height <= 0 {
		return fmt.Errorf("encode png: empty image %v", img.Rect)
	}
	var ihdr [13]byte
	binary.BigEndian.PutUint32(ihdr[0:], uint32(width))
	binary.BigEndian.PutUint32(ihdr[4:], uint32(height))
	ihdr[8] = 8  // bit depth
	ihdr[9] = 6  // colour type: truecolour with alpha
	ihdr[10] = 0 // compression: deflate
	ihdr[11] = 0 // filter method: adaptive
	ihdr[12] = 0 // no interlace

	var idat bytes.Buffer
	zw, err := zlib.NewWriterLevel(&idat, zlib.BestCompression)
	if err != nil {
		return fmt.Errorf("encode png: %w", err)
	}
	stride := 4 * width
	prev := make([]byte, stride) // the row above the first row is zero
	cand := make([][]byte, 5)
	for f := range cand {
		cand[f] = make([]byte, 1+stride)
		cand[f][0] = byte(f)
	}
	for y := range height {
		off := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
		cur := img.Pix[off : off+stride]
		best, bestSum := 0, -1
		for f := range cand {
			filterRow(cand[f][1:], byte(f), cur, prev)
			if s := absSum(cand[f][1:]); bestSum < 0 || s < bestSum {
				best, bestSum = f, s
			}
		}
		if _, err := zw.Write(cand[best]); err != nil {
			return fmt.Errorf("encode png: %w", err)
		}
		prev = cur
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("encode png: %w", err)
	}

	if _, err := w.Write([]byte("\x89PNG\r\n\x1a\n")); err != nil {
		return fmt.Errorf("encode png: %w", err)
	}
	for _, c := range []struct {
		typ  string
		data []byte
	}{{"IHDR", ihdr[:]}, {"IDAT", idat.Bytes()}, {"IEND", nil}} {
		if err := writeChunk(w, c.typ, c.data); err != nil {
			return err
		}
	}
	return nil
}

// filterRow applies PNG filter f (0 none, 1 sub, 2 up, 3 average, 4 Paeth)
// to cur, whose previous row is prev, with 4 bytes per pixel.
func filterRow(dst []byte, f byte, cur, prev []byte) {
	const bpp = 4
	for i := range cur {
		var a, c byte
		b := prev[i]
		if i >= bpp {
			a, c = cur[i-bpp], prev[i-bpp]
		}
		var pred byte
		switch f {
		case 1:
			pred = a
		case 2:
			pred = b
		case 3:
			pred = byte((int(a) + int(b)) / 2)
		case 4:
			pred = paeth(a, b, c)
		}
		dst[i] = cur[i] - pred
	}
}

func paeth(a, b, c byte) byte {
	p := int(a) + int(b) - int(c)
	pa, pb, pc := abs(p-int(a)), abs(p-int(b)), abs(p-int(c))
	switch {
	case pa <= pb && pa <= pc:
		return a
	case pb <= pc:
		return b
	default:
		return c
	}
}

// absSum is the sum of the filtered bytes read as signed values.
func absSum(row []byte) int {
	s := 0
	for _, v := range row {
		s += abs(int(int8(v)))
	}
	return s
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

func writeChunk(w io.Writer, typ string, data []byte) error {
	var hdr [8]byte
	binary.BigEndian.PutUint32(hdr[0:], uint32(len(data)))
	copy(hdr[4:], typ)
	crc := crc32.NewIEEE()
	crc.Write(hdr[4:])
	crc.Write(data)
	var sum [4]byte
	binary.BigEndian.PutUint32(sum[:], crc.Sum32())
	for _, b := range [][]byte{hdr[:], data, sum[:]} {
		if _, err := w.Write(b); err != nil {
			return fmt.Errorf("encode png %s chunk: %w", typ, err)
		}
	}
	return nil
}
