package render

import (
	"image"
	"image/color"
	"image/draw"
	"math"
	"strings"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/f64"

	xdraw "golang.org/x/image/draw"

	"github.com/evercast/evercast/internal/aigc"
)

// Colours of the graphics.
var (
	colLabelBox   = color.NRGBA{10, 10, 14, 240}
	colLabelEdge  = color.NRGBA{255, 255, 255, 235}
	colWhite      = color.NRGBA{255, 255, 255, 255}
	colCard       = color.NRGBA{251, 250, 248, 246}
	colTitle      = color.NRGBA{28, 32, 46, 255}
	colMuted      = color.NRGBA{220, 222, 228, 255}
	colAccent     = color.NRGBA{222, 45, 52, 255}
	colSubBox     = color.NRGBA{8, 10, 20, 165}
	colTextShadow = color.NRGBA{0, 0, 0, 150}
)

// layout places the parts of the picture for one frame size.
type layout struct {
	w, h      int
	u         float64         // unit: the short side / 720
	avatarBox image.Rectangle // the avatar is fitted into it, bottom-aligned
	focus     [2]float64      // where the backdrop's key light falls
	cardArea  image.Rectangle // the card is laid out from its top, centred vertically in landscape
	cardMid   bool
	subArea   image.Rectangle // subtitles sit at its bottom, centred
	subLines  int
	subSize   float64
	margin    int
}

func newLayout(w, h int) layout {
	fw, fh := float64(w), float64(h)
	u := math.Min(fw, fh) / 720
	r := func(x0, y0, x1, y1 float64) image.Rectangle {
		return image.Rect(int(x0*fw), int(y0*fh), int(x1*fw), int(y1*fh))
	}
	if w >= h {
		return layout{
			w: w, h: h, u: u,
			avatarBox: r(0.03, 0.06, 0.56, 1),
			focus:     [2]float64{0.3, 0.42},
			cardArea:  r(0.615, 0.14, 0.955, 0.74),
			cardMid:   true,
			subArea:   r(0.06, 0.7, 0.94, 0.965),
			subLines:  2,
			subSize:   40 * u,
			margin:    int(22 * u),
		}
	}
	return layout{
		w: w, h: h, u: u,
		avatarBox: r(0.06, 0.085, 0.94, 0.62),
		focus:     [2]float64{0.5, 0.3},
		cardArea:  r(0.055, 0.585, 0.945, 0.8),
		subArea:   r(0.05, 0.79, 0.95, 0.965),
		subLines:  2,
		subSize:   37 * u,
		margin:    int(22 * u),
	}
}

// scene holds everything needed to compose the frames of one clip.
type scene struct {
	w, h  int
	bg    *image.RGBA // opaque backdrop
	av    *placed     // the avatar
	card  *image.RGBA // the product card, or nil
	label *image.RGBA // the AI-generated label: always present, on top
	// Subtitle pages: their lines, and the last page drawn (pages are
	// shown in order, so each is drawn once and only one is kept).
	pages    [][]string
	subFace  font.Face
	lay      layout
	drawn    int
	drawnImg *image.RGBA

	subRect image.Rectangle // where subtitles can be, even-aligned

	base []byte      // I420 of the frame without subtitles
	work *image.RGBA // scratch for composing
}

// sceneInput is what a scene is built from.
type sceneInput struct {
	bg     *image.RGBA
	font   *opentype.Font
	avatar *placed
	card   *Card
	text   string // subtitles (speech) or caption (standby)
	idle   bool
	lay    layout
}

func newScene(in *sceneInput) *scene {
	lay := in.lay
	s := &scene{w: lay.w, h: lay.h, bg: in.bg, av: in.avatar, work: image.NewRGBA(image.Rect(0, 0, lay.w, lay.h))}
	if in.card != nil {
		s.card = drawCard(in.font, in.card, lay)
	}
	s.label = drawLabel(in.font, lay)
	s.subRect = evenRect(subtitleRect(lay), lay.w, lay.h)
	face := newFace(in.font, lay.subSize)
	width := lay.subArea.Dx() - int(56*lay.u)
	text := sanitize(face, in.text)
	if text != "" {
		pages := paginate(face, text, width, lay.subLines)
		if in.idle && len(pages) > 1 {
			// A caption is one page; cut what does not fit.
			pages = pages[:1]
			last := &pages[0][len(pages[0])-1]
			*last = ellipsize(face, *last+"…", width)
		}
		s.pages = pages
	}
	s.subFace, s.lay, s.drawn = face, lay, -1
	full := image.Rect(0, 0, s.w, s.h)
	s.compose(state{page: -1}, full)
	s.base = make([]byte, s.w*s.h*3/2)
	toI420(s.base, s.work, full)
	return s
}

// frame writes the I420 picture of st into out.
func (s *scene) frame(st state, out []byte) {
	copy(out, s.base)
	for _, r := range []image.Rectangle{s.av.faceRect, s.subRect} {
		if r.Empty() {
			continue
		}
		s.compose(st, r)
		toI420(out, s.work, r)
	}
}

// picture composes the whole frame of st (for tests and contact sheets).
func (s *scene) picture(st state) *image.RGBA {
	s.compose(st, s.work.Bounds())
	out := image.NewRGBA(s.work.Bounds())
	copy(out.Pix, s.work.Pix)
	return out
}

// compose paints the layers of st inside r into s.work: backdrop, avatar
// (with the mouth and eyes of st), card, subtitle page, label.
func (s *scene) compose(st state, r image.Rectangle) {
	draw.Draw(s.work, r, s.bg, r.Min, draw.Src)
	draw.Draw(s.work, r, s.av.body, r.Min, draw.Over)
	if f := r.Intersect(s.av.faceRect); !f.Empty() {
		draw.Draw(s.work, f, s.av.faces[st.mouth][b2i(st.closed)], f.Min, draw.Src)
	}
	if s.card != nil {
		draw.Draw(s.work, r, s.card, r.Min, draw.Over)
	}
	if p := s.page(st.page); p != nil {
		draw.Draw(s.work, r, p, r.Min, draw.Over)
	}
	draw.Draw(s.work, r, s.label, r.Min, draw.Over)
}

// page returns subtitle page i drawn, or nil for none.
func (s *scene) page(i int) *image.RGBA {
	if i < 0 || i >= len(s.pages) {
		return nil
	}
	if i != s.drawn {
		s.drawnImg, s.drawn = drawSubtitle(s.subFace, s.pages[i], s.lay), i
	}
	return s.drawnImg
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// placed is an avatar scaled and placed on the frame: the body, and the
// face variants: for each mouth and eyes state, the backdrop and the avatar
// with those patches over the face region, opaque.
type placed struct {
	body     *image.RGBA // its bounds are where it sits
	faceRect image.Rectangle
	faces    [][2]*image.RGBA // [mouth][eyes closed]
}

// placeAvatar scales the avatar into the layout's avatar box over bg and
// prepares its face variants.
//
// The body is scaled once. A variant is the body with the patches pasted
// at the avatar's own resolution, then only the face region scaled with the
// same transform, from a source region wide enough for the filter's reach:
// so the variants match the scaled body exactly around the face, without
// seams.
func placeAvatar(a *Avatar, lay layout, bg *image.RGBA) *placed {
	s := &placed{}
	bb := a.Body.Bounds()
	box := lay.avatarBox
	k := math.Min(float64(box.Dx())/float64(bb.Dx()), float64(box.Dy())/float64(bb.Dy()))
	dw, dh := int(math.Round(float64(bb.Dx())*k)), int(math.Round(float64(bb.Dy())*k))
	dst := image.Rect(box.Min.X+(box.Dx()-dw)/2, box.Max.Y-dh, box.Min.X+(box.Dx()-dw)/2+dw, box.Max.Y)
	kx, ky := float64(dw)/float64(bb.Dx()), float64(dh)/float64(bb.Dy())
	s2d := f64.Aff3{kx, 0, float64(dst.Min.X) - kx*float64(bb.Min.X), 0, ky, float64(dst.Min.Y) - ky*float64(bb.Min.Y)}
	s.body = image.NewRGBA(dst.Intersect(image.Rect(0, 0, lay.w, lay.h)))
	xdraw.CatmullRom.Transform(s.body, s2d, a.Body, bb, xdraw.Src, nil)

	// The face region at the avatar's resolution, and on the frame.
	native := a.mouthRect(0).Union(a.eyesRect())
	for i := range a.Mouths {
		native = native.Union(a.mouthRect(i))
	}
	native = native.Intersect(bb)
	fr := image.Rect(
		int(math.Floor(s2d[0]*float64(native.Min.X)+s2d[2]))-2,
		int(math.Floor(s2d[4]*float64(native.Min.Y)+s2d[5]))-2,
		int(math.Ceil(s2d[0]*float64(native.Max.X)+s2d[2]))+2,
		int(math.Ceil(s2d[4]*float64(native.Max.Y)+s2d[5]))+2,
	)
	s.faceRect = evenRect(fr, lay.w, lay.h).Intersect(s.body.Bounds())
	if s.faceRect.Empty() {
		return s
	}
	// Source pixels that reach the face region through the filter.
	reach := int(math.Ceil(2*math.Max(1, 1/k))) + 2
	src := image.Rect(
		int(math.Floor((float64(s.faceRect.Min.X)-s2d[2])/kx))-reach,
		int(math.Floor((float64(s.faceRect.Min.Y)-s2d[5])/ky))-reach,
		int(math.Ceil((float64(s.faceRect.Max.X)-s2d[2])/kx))+reach,
		int(math.Ceil((float64(s.faceRect.Max.Y)-s2d[5])/ky))+reach,
	).Intersect(bb)
	variant := image.NewNRGBA(src)
	scaled := image.NewRGBA(s.faceRect)
	s.faces = make([][2]*image.RGBA, len(a.Mouths))
	for m := range a.Mouths {
		for e, eyes := range []*image.NRGBA{a.EyesOpen, a.EyesClosed} {
			draw.Draw(variant, src, a.Body, src.Min, draw.Src)
			draw.Draw(variant, a.eyesRect(), eyes, eyes.Bounds().Min, draw.Src)
			draw.Draw(variant, a.mouthRect(m), a.Mouths[m], a.Mouths[m].Bounds().Min, draw.Src)
			clear(scaled.Pix)
			xdraw.CatmullRom.Transform(scaled, s2d, variant, src, xdraw.Src, nil)
			out := image.NewRGBA(s.faceRect)
			draw.Draw(out, s.faceRect, bg, s.faceRect.Min, draw.Src)
			draw.Draw(out, s.faceRect, scaled, s.faceRect.Min, draw.Over)
			s.faces[m][e] = out
		}
	}
	return s
}

// evenRect grows r to even coordinates (whole chroma samples) inside w x h.
func evenRect(r image.Rectangle, w, h int) image.Rectangle {
	r.Min.X &^= 1
	r.Min.Y &^= 1
	r.Max.X += r.Max.X & 1
	r.Max.Y += r.Max.Y & 1
	return r.Intersect(image.Rect(0, 0, w, h))
}

// subtitleRect is the largest box a subtitle page can take.
func subtitleRect(lay layout) image.Rectangle {
	return lay.subArea
}

// drawSubtitle draws one page: white lines, centred, on a dark rounded
// box sitting at the bottom of the subtitle area.
func drawSubtitle(face font.Face, lines []string, lay layout) *image.RGBA {
	img := image.NewRGBA(lay.subArea)
	lineH := int(lay.subSize * 1.38)
	padX, padY := int(26*lay.u), int(14*lay.u)
	textW := 0
	for _, l := range lines {
		textW = max(textW, measure(face, l))
	}
	boxW := min(textW+2*padX, lay.subArea.Dx())
	boxH := len(lines)*lineH + 2*padY
	cx := (lay.subArea.Min.X + lay.subArea.Max.X) / 2
	box := image.Rect(cx-boxW/2, lay.subArea.Max.Y-boxH, cx+boxW/2, lay.subArea.Max.Y)
	fillRoundRect(img, box, 14*lay.u, 1, colSubBox)
	m := face.Metrics()
	asc := m.Ascent.Ceil()
	desc := m.Descent.Ceil()
	for i, l := range lines {
		x := cx - measure(face, l)/2
		y := box.Min.Y + padY + i*lineH + (lineH-asc-desc)/2 + asc
		sh := max(1, int(2*lay.u))
		drawText(img, face, x+sh, y+sh, colTextShadow, l)
		drawText(img, face, x, y, colWhite, l)
	}
	return img
}

// drawLabel draws the visible AI-generated label in the top right corner:
// white text in a near-black box with a white edge, the highest contrast on
// any backdrop.
func drawLabel(f *opentype.Font, lay layout) *image.RGBA {
	r := labelRect(f, lay)
	img := image.NewRGBA(r)
	face := newFace(f, 24*lay.u)
	fillRoundRect(img, r, 8*lay.u, 1, colLabelEdge)
	edge := max(2, int(2*lay.u))
	fillRoundRect(img, r.Inset(edge), 8*lay.u-float64(edge), 1, colLabelBox)
	m := face.Metrics()
	asc, desc := m.Ascent.Ceil(), m.Descent.Ceil()
	x := r.Min.X + (r.Dx()-measure(face, aigc.VisibleText))/2
	y := r.Min.Y + (r.Dy()-asc-desc)/2 + asc
	drawText(img, face, x, y, colWhite, aigc.VisibleText)
	return img
}

// labelRect is where the label box sits.
func labelRect(f *opentype.Font, lay layout) image.Rectangle {
	face := newFace(f, 24*lay.u)
	w := measure(face, aigc.VisibleText) + int(36*lay.u)
	h := int(46 * lay.u)
	return image.Rect(lay.w-lay.margin-w, lay.margin, lay.w-lay.margin, lay.margin+h)
}

// drawCard draws the product card: a badge, the title (at most three
// lines) and the price, large, in the accent colour.
func drawCard(f *opentype.Font, c *Card, lay layout) *image.RGBA {
	u := lay.u
	pad := int(28 * u)
	area := lay.cardArea
	inner := area.Dx() - 2*pad
	titleFace := newFace(f, 34*u)
	badgeFace := newFace(f, 23*u)
	priceFace := newFace(f, 84*u)
	curFace := newFace(f, 44*u)

	title := sanitize(titleFace, c.Title)
	badge := sanitize(badgeFace, c.Badge)
	price := sanitize(priceFace, c.Price)
	maxTitle := 3
	if lay.h > lay.w {
		maxTitle = 2
	}
	titleLines := wrap(titleFace, title, inner)
	if len(titleLines) > maxTitle {
		titleLines = titleLines[:maxTitle]
		titleLines[maxTitle-1] = ellipsize(titleFace, titleLines[maxTitle-1]+"…", inner)
	} else {
		titleLines = balancedWrap(titleFace, title, inner)
	}
	titleH := int(34 * u * 1.32)
	badgeH := int(40 * u)
	priceH := int(96 * u)

	h := pad
	if badge != "" {
		h += badgeH + int(16*u)
	}
	h += len(titleLines) * titleH
	if price != "" {
		h += int(10*u) + priceH
	}
	h += pad - int(8*u)
	top := area.Min.Y
	if lay.cardMid {
		top = area.Min.Y + (area.Dy()-h)/2
	}
	card := image.Rect(area.Min.X, top, area.Max.X, top+h)

	img := image.NewRGBA(card.Inset(-int(40 * u)).Intersect(image.Rect(0, 0, lay.w, lay.h)))
	shadow(img, card, 22*u, 26*u, image.Pt(0, int(10*u)), 110)
	fillRoundRect(img, card, 22*u, 1, colCard)

	x := card.Min.X + pad
	y := card.Min.Y + pad
	if badge != "" {
		bw := measure(badgeFace, badge) + int(28*u)
		br := image.Rect(x, y, x+min(bw, inner), y+badgeH)
		fillRoundRect(img, br, float64(badgeH)/2, 1, colAccent)
		m := badgeFace.Metrics()
		asc, desc := m.Ascent.Ceil(), m.Descent.Ceil()
		drawText(img, badgeFace, x+int(14*u), y+(badgeH-asc-desc)/2+asc, colWhite, ellipsize(badgeFace, badge, inner-int(28*u)))
		y += badgeH + int(16*u)
	}
	for _, l := range titleLines {
		m := titleFace.Metrics()
		drawText(img, titleFace, x, y+m.Ascent.Ceil(), colTitle, l)
		y += titleH
	}
	if price != "" {
		y += int(10 * u)
		// A thin rule above the price.
		fillRoundRect(img, image.Rect(x, y-int(4*u), card.Max.X-pad, y-int(2*u)), 1, 1, colMuted)
		base := y + priceFace.Metrics().Ascent.Ceil() - int(4*u)
		cur, num := splitCurrency(price)
		px := x
		if cur != "" {
			drawText(img, curFace, px, base, colAccent, cur)
			px += measure(curFace, cur) + int(4*u)
		}
		drawText(img, priceFace, px, base, colAccent, ellipsize(priceFace, num, card.Max.X-pad-px))
	}
	return img
}

// splitCurrency splits a leading currency sign off a displayed price, to
// draw it smaller: "¥129.9" → "¥", "129.9".
func splitCurrency(p string) (cur, rest string) {
	r, n := utf8.DecodeRuneInString(p)
	if strings.ContainsRune("¥￥$€£", r) {
		return string(r), strings.TrimSpace(p[n:])
	}
	return "", p
}
