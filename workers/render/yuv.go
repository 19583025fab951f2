package render

import "image"

// BT.601 limited-range coefficients (what x264 assumes for yuv420p), as
// 16.16 fixed point: Y = 16 + (65.481 R + 128.553 G + 24.966 B) / 255, and
// so on for Cb and Cr.
const (
	yR, yG, yB    = 16829, 33039, 6416
	cbR, cbG, cbB = -9714, -19070, 28784
	crR, crG, crB = 28784, -24103, -4681
	fix           = 1 << 16
)

// toI420 converts the even-aligned rectangle r of the opaque image src
// (frame coordinates) into the I420 planes of dst, a frame of src's size:
// Y at full resolution, then Cb and Cr at half resolution from the average
// of each 2x2 block.
func toI420(dst []byte, src *image.RGBA, r image.Rectangle) {
	w := src.Rect.Dx()
	h := src.Rect.Dy()
	yPlane := dst[:w*h]
	cw := w / 2
	cbPlane := dst[w*h : w*h+cw*(h/2)]
	crPlane := dst[w*h+cw*(h/2):]
	for y := r.Min.Y; y < r.Max.Y; y += 2 {
		row0 := src.Pix[src.PixOffset(r.Min.X, y):]
		row1 := src.Pix[src.PixOffset(r.Min.X, y+1):]
		y0 := yPlane[y*w+r.Min.X:]
		y1 := yPlane[(y+1)*w+r.Min.X:]
		cb := cbPlane[(y/2)*cw+r.Min.X/2:]
		cr := crPlane[(y/2)*cw+r.Min.X/2:]
		for i, x := 0, 0; x < r.Dx(); i, x = i+1, x+2 {
			p := x * 4
			r00, g00, b00 := int32(row0[p]), int32(row0[p+1]), int32(row0[p+2])
			r01, g01, b01 := int32(row0[p+4]), int32(row0[p+5]), int32(row0[p+6])
			r10, g10, b10 := int32(row1[p]), int32(row1[p+1]), int32(row1[p+2])
			r11, g11, b11 := int32(row1[p+4]), int32(row1[p+5]), int32(row1[p+6])
			y0[x] = uint8((yR*r00 + yG*g00 + yB*b00 + 16*fix + fix/2) >> 16)
			y0[x+1] = uint8((yR*r01 + yG*g01 + yB*b01 + 16*fix + fix/2) >> 16)
			y1[x] = uint8((yR*r10 + yG*g10 + yB*b10 + 16*fix + fix/2) >> 16)
			y1[x+1] = uint8((yR*r11 + yG*g11 + yB*b11 + 16*fix + fix/2) >> 16)
			// Sums of four samples: divide by 4 with the 16.16 shift.
			rs, gs, bs := r00+r01+r10+r11, g00+g01+g10+g11, b00+b01+b10+b11
			cb[i] = uint8((cbR*rs + cbG*gs + cbB*bs + 4*(128*fix+fix/2)) >> 18)
			cr[i] = uint8((crR*rs + crG*gs + crB*bs + 4*(128*fix+fix/2)) >> 18)
		}
	}
}
