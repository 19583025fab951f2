package render

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
)

// blend paints c (not premultiplied) with coverage a in [0, 1] over the
// pixel at offset i of a premultiplied RGBA buffer.
func blend(pix []uint8, i int, c color.NRGBA, a float64) {
	a *= float64(c.A) / 255
	if a <= 0 {
		return
	}
	if a > 1 {
		a = 1
	}
	k := 1 - a
	pix[i+0] = uint8(float64(c.R)*a + float64(pix[i+0])*k + 0.5)
	pix[i+1] = uint8(float64(c.G)*a + float64(pix[i+1])*k + 0.5)
	pix[i+2] = uint8(float64(c.B)*a + float64(pix[i+2])*k + 0.5)
	pix[i+3] = uint8(255*a + float64(pix[i+3])*k + 0.5)
}

// roundRectDist is the signed distance from (x, y) to the rounded rectangle
// r with corner radius rad: negative inside.
func roundRectDist(x, y float64, r image.Rectangle, rad float64) float64 {
	cx := (float64(r.Min.X) + float64(r.Max.X)) / 2
	cy := (float64(r.Min.Y) + float64(r.Max.Y)) / 2
	hx := float64(r.Dx())/2 - rad
	hy := float64(r.Dy())/2 - rad
	dx := math.Abs(x-cx) - hx
	dy := math.Abs(y-cy) - hy
	out := math.Hypot(math.Max(dx, 0), math.Max(dy, 0))
	in := math.Min(math.Max(dx, dy), 0)
	return out + in - rad
}

// fillRoundRect paints the rounded rectangle r with colour c over dst, its
// edge blurred over feather pixels (1 for a crisp anti-aliased edge, more
// for a soft shadow).
func fillRoundRect(dst *image.RGBA, r image.Rectangle, rad, feather float64, c color.NRGBA) {
	grow := int(math.Ceil(feather))
	area := r.Inset(-grow).Intersect(dst.Bounds())
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			d := roundRectDist(float64(x)+0.5, float64(y)+0.5, r, rad)
			a := 0.5 - d/feather
			if a <= 0 {
				continue
			}
			blend(dst.Pix, dst.PixOffset(x, y), c, min(a, 1))
		}
	}
}

// shadow paints a soft drop shadow under the rounded rectangle r.
func shadow(dst *image.RGBA, r image.Rectangle, rad, blur float64, offset image.Point, alpha uint8) {
	fillRoundRect(dst, r.Add(offset), rad, blur, color.NRGBA{0, 0, 0, alpha})
}

// bayer4 is a 4x4 ordered-dither matrix, to keep gradients free of bands.
var bayer4 = [4][4]float64{
	{0, 8, 2, 10},
	{12, 4, 14, 6},
	{3, 11, 1, 9},
	{15, 7, 13, 5},
}

// rgb is a colour with float channels in 0-255.
type rgb struct{ r, g, b float64 }

func lerp(a, b rgb, t float64) rgb {
	return rgb{a.r + (b.r-a.r)*t, a.g + (b.g-a.g)*t, a.b + (b.b-a.b)*t}
}

// screen lightens c towards light by amount a (the "screen" blend).
func screen(c, light rgb, a float64) rgb {
	return rgb{
		c.r + (255-c.r)*light.r/255*a,
		c.g + (255-c.g)*light.g/255*a,
		c.b + (255-c.b)*light.b/255*a,
	}
}

// background paints the studio backdrop: a deep blue gradient, a warm key
// light behind the presenter at focus (fractions of the frame), a cool rim
// light, faint backdrop panels, soft out-of-focus lights, a floor line and
// a vignette. It is the same for every call with the same arguments.
func background(w, h int, focus [2]float64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	fw, fh := float64(w), float64(h)
	u := math.Min(fw, fh)
	top := rgb{20, 26, 48}
	mid := rgb{46, 56, 96}
	floorTop := rgb{38, 42, 70}
	bottom := rgb{16, 18, 32}
	warm := rgb{255, 190, 140}
	cool := rgb{110, 160, 255}
	fx, fy := focus[0]*fw, focus[1]*fh
	floorY := 0.8 * fh
	if h > w {
		floorY = 0.64 * fh
	}
	rx, ry := 0.88*fw, 0.1*fh // rim light
	buf := make([]rgb, w*h)
	for y := range h {
		fy0 := float64(y)
		var c rgb
		if fy0 < floorY {
			c = lerp(top, mid, math.Pow(fy0/floorY, 1.4))
		} else {
			c = lerp(floorTop, bottom, (fy0-floorY)/(fh-floorY))
		}
		for x := range w {
			fx0 := float64(x)
			p := c
			// Backdrop panels: soft vertical bands of light.
			band := 0.5 + 0.5*math.Cos((fx0/fw*5.5+0.3)*2*math.Pi)
			if fy0 < floorY {
				p = screen(p, rgb{150, 170, 230}, 0.035*band*(1-fy0/floorY))
			}
			d2 := ((fx0-fx)*(fx0-fx) + (fy0-fy)*(fy0-fy)) / (0.5 * u * 0.5 * u)
			p = screen(p, warm, 0.26*math.Exp(-d2))
			r2 := ((fx0-rx)*(fx0-rx) + (fy0-ry)*(fy0-ry)) / (0.6 * u * 0.6 * u)
			p = screen(p, cool, 0.2*math.Exp(-r2))
			// Floor edge highlight.
			if e := math.Abs(fy0 - floorY); e < 0.02*u {
				p = screen(p, rgb{200, 210, 255}, 0.06*(1-e/(0.02*u)))
			}
			buf[y*w+x] = p
		}
	}
	// Out-of-focus lights, drawn from a fixed seed so that the backdrop is
	// the same on every run.
	rng := rand.New(rand.NewPCG(7, 11))
	for range 16 {
		cx := fw * (0.45 + 0.55*rng.Float64())
		cy := floorY * (0.05 + 0.8*rng.Float64())
		if h > w {
			cx = fw * rng.Float64()
			cy = floorY * (0.02 + 0.25*rng.Float64())
		}
		rad := u * (0.015 + 0.06*rng.Float64())
		col := lerp(warm, cool, rng.Float64())
		a := 0.05 + 0.08*rng.Float64()
		x0, x1 := max(0, int(cx-rad-2)), min(w, int(cx+rad+2))
		y0, y1 := max(0, int(cy-rad-2)), min(h, int(cy+rad+2))
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				d := math.Hypot(float64(x)+0.5-cx, float64(y)+0.5-cy)
				if d >= rad {
					continue
				}
				// Brighter rim, soft edge: a lens highlight.
				k := (1 - math.Pow(d/rad, 6)) * (0.7 + 0.3*d/rad)
				buf[y*w+x] = screen(buf[y*w+x], col, a*k)
			}
		}
	}
	for y := range h {
		for x := range w {
			p := buf[y*w+x]
			dx, dy := (float64(x)/fw-0.5)*2, (float64(y)/fh-0.5)*2
			v := 1 - 0.28*math.Pow((dx*dx+dy*dy)/2, 1.3)
			d := (bayer4[y&3][x&3] + 0.5) / 16
			i := img.PixOffset(x, y)
			img.Pix[i+0] = clamp8(p.r*v + d)
			img.Pix[i+1] = clamp8(p.g*v + d)
			img.Pix[i+2] = clamp8(p.b*v + d)
			img.Pix[i+3] = 255
		}
	}
	return img
}

func clamp8(v float64) uint8 {
	switch {
	case v <= 0:
		return 0
	case v >= 255:
		return 255
	}
	return uint8(v)
}
