// Command avatarpack cuts rasterised avatar renders into an Evercast avatar
// pack: a full body image plus mouth and eye patches that are pasted opaquely
// over it.
//
// It reads render.json and the PNG renders that build.sh made from the SVGs
// written by generate.mjs. The renders differ only in the mouth or the eyes;
// the patch rectangles are the bounding boxes of the pixels that differ
// between the variants, grown by a margin. It writes body.png, mouth-N.png,
// eyes-open.png, eyes-closed.png and pack.json into the pack directory, and
// optionally a contact sheet for a visual check.
//
// Usage (normally through build.sh):
//
//	go run ./tools/avatarpack -in RENDER_DIR -out PACK_DIR [-margin 4] [-sheet sheet.png]
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
)

func main() {
	var o options
	flag.StringVar(&o.in, "in", "", "directory holding render.json and the PNG renders")
	flag.StringVar(&o.out, "out", "", "pack directory to write")
	flag.IntVar(&o.margin, "margin", 4, "pixels added around each difference bounding box")
	flag.StringVar(&o.sheet, "sheet", "", "if set, also write a contact sheet PNG here")
	flag.Parse()
	if o.in == "" || o.out == "" {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "avatarpack:", err)
		os.Exit(1)
	}
}

type options struct {
	in, out string
	margin  int
	sheet   string
}

// renderManifest is render.json, written by generate.mjs. File names point
// at SVGs; their PNG renders sit beside them with the extension changed.
type renderManifest struct {
	Name       string   `json:"name"`
	Style      string   `json:"style"`
	License    string   `json:"license"`
	Source     string   `json:"source"`
	Size       [2]int   `json:"size"`
	Body       string   `json:"body"`
	Mouths     []string `json:"mouths"`
	EyesOpen   string   `json:"eyes_open"`
	EyesClosed string   `json:"eyes_closed"`
}

// packManifest is pack.json, read by package assets/avatars. Field order is
// the order of the keys in the file.
type packManifest struct {
	Name       string   `json:"name"`
	Style      string   `json:"style"`
	License    string   `json:"license"`
	Source     string   `json:"source"`
	Size       [2]int   `json:"size"`
	Body       string   `json:"body"`
	Mouths     []string `json:"mouths"`
	MouthPos   [2]int   `json:"mouth_pos"`
	EyesOpen   string   `json:"eyes_open"`
	EyesClosed string   `json:"eyes_closed"`
	EyesPos    [2]int   `json:"eyes_pos"`
}

// pack is the cut pack in memory.
type pack struct {
	manifest   packManifest
	body       *image.NRGBA
	mouths     []*image.NRGBA
	eyesOpen   *image.NRGBA
	eyesClosed *image.NRGBA
}

func run(o options, w io.Writer) error {
	raw, err := os.ReadFile(filepath.Join(o.in, "render.json"))
	if err != nil {
		return fmt.Errorf("read render manifest: %w", err)
	}
	var m renderManifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("parse render manifest: %w", err)
	}
	load := func(svg string) (*image.NRGBA, error) {
		return readPNG(filepath.Join(o.in, strings.TrimSuffix(svg, filepath.Ext(svg))+".png"))
	}
	body, err := load(m.Body)
	if err != nil {
		return err
	}
	mouths := make([]*image.NRGBA, len(m.Mouths))
	for i, f := range m.Mouths {
		if mouths[i], err = load(f); err != nil {
			return err
		}
	}
	eyesOpen, err := load(m.EyesOpen)
	if err != nil {
		return err
	}
	eyesClosed, err := load(m.EyesClosed)
	if err != nil {
		return err
	}
	p, err := cut(m, body, mouths, eyesOpen, eyesClosed, o.margin)
	if err != nil {
		return err
	}
	if err := p.write(o.out); err != nil {
		return err
	}
	fmt.Fprintf(w, "avatarpack: %s: body %dx%d, %d mouths %v at %v, eyes %v at %v\n",
		o.out, p.body.Rect.Dx(), p.body.Rect.Dy(), len(p.mouths), p.mouths[0].Rect.Size(),
		p.manifest.MouthPos, p.eyesOpen.Rect.Size(), p.manifest.EyesPos)
	if o.sheet != "" {
		if err := writePNG(o.sheet, p.contactSheet()); err != nil {
			return err
		}
		fmt.Fprintf(w, "avatarpack: contact sheet %s\n", o.sheet)
	}
	return nil
}

// cut derives the pack layers from full renders. mouths[0] and eyesOpen must
// equal body; every other render must differ from body only in its region.
func cut(m renderManifest, body *image.NRGBA, mouths []*image.NRGBA, eyesOpen, eyesClosed *image.NRGBA, margin int) (*pack, error) {
	bounds := image.Rect(0, 0, m.Size[0], m.Size[1])
	all := append([]*image.NRGBA{body, eyesOpen, eyesClosed}, mouths...)
	for _, img := range all {
		if img.Rect != bounds {
			return nil, fmt.Errorf("render is %v, want %v", img.Rect, bounds)
		}
	}
	if len(mouths) < 2 {
		return nil, fmt.Errorf("need at least 2 mouths, got %d", len(mouths))
	}
	if !diffBounds(body, mouths[0]).Empty() || !diffBounds(body, eyesOpen).Empty() {
		return nil, errors.New("the closed mouth and the open eyes must be the body render itself")
	}
	var mouthRect image.Rectangle
	for i, mo := range mouths[1:] {
		d := diffBounds(mouths[0], mo)
		if d.Empty() {
			return nil, fmt.Errorf("mouth %d does not differ from mouth 0", i+1)
		}
		mouthRect = mouthRect.Union(d)
	}
	eyesRect := diffBounds(eyesOpen, eyesClosed)
	if eyesRect.Empty() {
		return nil, errors.New("closed eyes do not differ from open eyes")
	}
	mouthRect = grow(mouthRect, margin, bounds)
	eyesRect = grow(eyesRect, margin, bounds)
	if mouthRect.Overlaps(eyesRect) {
		return nil, fmt.Errorf("mouth region %v overlaps eyes region %v", mouthRect, eyesRect)
	}

	p := &pack{
		manifest: packManifest{
			Name:       m.Name,
			Style:      m.Style,
			License:    m.License,
			Source:     m.Source,
			Size:       m.Size,
			Body:       "body.png",
			MouthPos:   [2]int{mouthRect.Min.X, mouthRect.Min.Y},
			EyesOpen:   "eyes-open.png",
			EyesClosed: "eyes-closed.png",
			EyesPos:    [2]int{eyesRect.Min.X, eyesRect.Min.Y},
		},
		body:       body,
		eyesOpen:   crop(eyesOpen, eyesRect),
		eyesClosed: crop(eyesClosed, eyesRect),
	}
	for i, mo := range mouths {
		p.manifest.Mouths = append(p.manifest.Mouths, fmt.Sprintf("mouth-%d.png", i))
		p.mouths = append(p.mouths, crop(mo, mouthRect))
	}
	return p, nil
}

// diffBounds returns the bounding box of the pixels that differ between a
// and b, which must have the same bounds. It is empty when they are equal.
func diffBounds(a, b *image.NRGBA) image.Rectangle {
	var r image.Rectangle
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			i, j := a.PixOffset(x, y), b.PixOffset(x, y)
			if !bytes.Equal(a.Pix[i:i+4], b.Pix[j:j+4]) {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

// grow adds margin pixels on every side of r and clips it to within.
func grow(r image.Rectangle, margin int, within image.Rectangle) image.Rectangle {
	return r.Inset(-margin).Intersect(within)
}

// crop copies the r part of img into a new image whose origin is (0, 0).
func crop(img *image.NRGBA, r image.Rectangle) *image.NRGBA {
	dst := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
	draw.Draw(dst, dst.Rect, img, r.Min, draw.Src)
	return dst
}

// write stores the layers and pack.json in dir.
func (p *pack) write(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create pack dir: %w", err)
	}
	files := map[string]*image.NRGBA{
		p.manifest.Body:       p.body,
		p.manifest.EyesOpen:   p.eyesOpen,
		p.manifest.EyesClosed: p.eyesClosed,
	}
	for i, f := range p.manifest.Mouths {
		files[f] = p.mouths[i]
	}
	for name, img := range files {
		if err := writePNG(filepath.Join(dir, name), img); err != nil {
			return err
		}
	}
	j, err := encodeManifest(p.manifest)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "pack.json"), j, 0o644); err != nil {
		return fmt.Errorf("write pack.json: %w", err)
	}
	return nil
}

// encodeManifest writes m as JSON with one key per line and each value
// compact, so that pack.json reads well and diffs cleanly.
func encodeManifest(m packManifest) ([]byte, error) {
	var fields map[string]json.RawMessage
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode pack.json: %w", err)
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, fmt.Errorf("encode pack.json: %w", err)
	}
	var buf bytes.Buffer
	buf.WriteString("{\n")
	t := reflect.TypeFor[packManifest]()
	for i := range t.NumField() {
		key, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		k, _ := json.Marshal(key)
		fmt.Fprintf(&buf, "  %s: %s", k, fields[key])
		if i < t.NumField()-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("}\n")
	return buf.Bytes(), nil
}

// frame composes the body with mouth m and open or closed eyes, the way the
// renderer does: patches replace the body's pixels.
func (p *pack) frame(m int, eyesClosed bool) *image.NRGBA {
	f := crop(p.body, p.body.Rect)
	eyes := p.eyesOpen
	if eyesClosed {
		eyes = p.eyesClosed
	}
	paste(f, p.mouths[m], p.manifest.MouthPos)
	paste(f, eyes, p.manifest.EyesPos)
	return f
}

func paste(dst, patch *image.NRGBA, at [2]int) {
	pt := image.Pt(at[0], at[1])
	draw.Draw(dst, patch.Rect.Add(pt), patch, image.Point{}, draw.Src)
}

// contactSheet lays out every mouth with open eyes (top row) and with closed
// eyes (bottom row) on a grey background, with the patch rectangles outlined
// in the last column.
func (p *pack) contactSheet() *image.NRGBA {
	w, h := p.body.Rect.Dx(), p.body.Rect.Dy()
	cols := len(p.mouths) + 1
	sheet := image.NewNRGBA(image.Rect(0, 0, cols*w, 2*h))
	draw.Draw(sheet, sheet.Rect, image.NewUniform(color.NRGBA{0xd8, 0xd8, 0xd8, 0xff}), image.Point{}, draw.Src)
	for row, closed := range []bool{false, true} {
		for m := range p.mouths {
			at := image.Pt(m*w, row*h)
			draw.Draw(sheet, image.Rectangle{at, at.Add(image.Pt(w, h))}, p.frame(m, closed), image.Point{}, draw.Over)
		}
	}
	// Last column: the body with the patch rectangles outlined.
	at := image.Pt(len(p.mouths)*w, 0)
	draw.Draw(sheet, image.Rectangle{at, at.Add(image.Pt(w, h))}, p.body, image.Point{}, draw.Over)
	red := color.NRGBA{0xe0, 0x20, 0x20, 0xff}
	outline(sheet, p.mouths[0].Rect.Add(at).Add(image.Pt(p.manifest.MouthPos[0], p.manifest.MouthPos[1])), red)
	outline(sheet, p.eyesOpen.Rect.Add(at).Add(image.Pt(p.manifest.EyesPos[0], p.manifest.EyesPos[1])), red)
	return sheet
}

func outline(img *image.NRGBA, r image.Rectangle, c color.NRGBA) {
	for x := r.Min.X; x < r.Max.X; x++ {
		img.SetNRGBA(x, r.Min.Y, c)
		img.SetNRGBA(x, r.Max.Y-1, c)
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		img.SetNRGBA(r.Min.X, y, c)
		img.SetNRGBA(r.Max.X-1, y, c)
	}
}

func readPNG(path string) (*image.NRGBA, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open render: %w", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, fmt.Errorf("decode %s: %w", path, err)
	}
	if n, ok := img.(*image.NRGBA); ok && n.Rect.Min == (image.Point{}) {
		return n, nil
	}
	b := img.Bounds()
	n := image.NewNRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(n, n.Rect, img, b.Min, draw.Src)
	return n, nil
}

func writePNG(path string, img *image.NRGBA) error {
	var buf bytes.Buffer
	if err := encodeRGBA(&buf, img); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
