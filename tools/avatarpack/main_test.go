package main

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDiffBounds(t *testing.T) {
	for _, c := range []struct {
		name   string
		change []image.Point
		want   image.Rectangle
	}{
		{"equal", nil, image.Rectangle{}},
		{"one pixel", []image.Point{{3, 4}}, image.Rect(3, 4, 4, 5)},
		{"corners", []image.Point{{0, 0}, {9, 7}}, image.Rect(0, 0, 10, 8)},
		{"spread", []image.Point{{2, 6}, {5, 1}, {7, 3}}, image.Rect(2, 1, 8, 7)},
	} {
		t.Run(c.name, func(t *testing.T) {
			a := solid(10, 8, color.NRGBA{10, 20, 30, 255})
			b := solid(10, 8, color.NRGBA{10, 20, 30, 255})
			for _, p := range c.change {
				b.SetNRGBA(p.X, p.Y, color.NRGBA{10, 20, 30, 254}) // alpha alone counts
			}
			if got := diffBounds(a, b); got != c.want {
				t.Errorf("diffBounds = %v, want %v", got, c.want)
			}
		})
	}
}

func TestGrow(t *testing.T) {
	within := image.Rect(0, 0, 100, 50)
	for _, c := range []struct {
		name string
		r    image.Rectangle
		want image.Rectangle
	}{
		{"inside", image.Rect(10, 10, 20, 20), image.Rect(6, 6, 24, 24)},
		{"clipped", image.Rect(1, 2, 99, 48), image.Rect(0, 0, 100, 50)},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := grow(c.r, 4, within); got != c.want {
				t.Errorf("grow(%v) = %v, want %v", c.r, got, c.want)
			}
		})
	}
}

func TestEncodeRGBA(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	noisy := image.NewNRGBA(image.Rect(0, 0, 37, 23))
	for i := range noisy.Pix {
		noisy.Pix[i] = byte(rng.IntN(256))
	}
	gradient := image.NewNRGBA(image.Rect(0, 0, 64, 40))
	for y := range 40 {
		for x := range 64 {
			gradient.SetNRGBA(x, y, color.NRGBA{uint8(4 * x), uint8(6 * y), uint8(x + y), uint8(255 - 3*y)})
		}
	}
	sub := gradient.SubImage(image.Rect(5, 7, 30, 33)).(*image.NRGBA)
	for _, c := range []struct {
		name string
		img  *image.NRGBA
	}{
		{"opaque", solid(5, 3, color.NRGBA{200, 100, 50, 255})},
		{"transparent", solid(4, 4, color.NRGBA{})},
		{"noise", noisy},
		{"gradient", gradient},
		{"sub-image", sub},
		{"one pixel", solid(1, 1, color.NRGBA{1, 2, 3, 4})},
	} {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := encodeRGBA(&buf, c.img); err != nil {
				t.Fatal(err)
			}
			if ct := buf.Bytes()[25]; ct != 6 {
				t.Errorf("colour type %d, want 6 (RGBA)", ct)
			}
			got, err := png.Decode(bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatalf("image/png cannot decode it: %v", err)
			}
			n, ok := got.(*image.NRGBA)
			if !ok {
				t.Fatalf("decoded as %T, want *image.NRGBA", got)
			}
			want := crop(c.img, c.img.Rect)
			if n.Rect != want.Rect || !bytes.Equal(n.Pix, want.Pix) {
				t.Errorf("round trip changed the pixels")
			}
		})
	}
}

// TestRun cuts a synthetic avatar: a face whose mouth and eyes change.
func TestRun(t *testing.T) {
	in, out := t.TempDir(), t.TempDir()
	skin := color.NRGBA{0xed, 0xb9, 0x8a, 0xff}
	dark := color.NRGBA{0x40, 0x30, 0x20, 0xff}
	face := func(mouth image.Rectangle, eyes []image.Rectangle) *image.NRGBA {
		img := image.NewNRGBA(image.Rect(0, 0, 64, 64)) // transparent
		fill(img, image.Rect(12, 8, 52, 56), skin)
		fill(img, mouth, dark)
		for _, e := range eyes {
			fill(img, e, dark)
		}
		return img
	}
	open := []image.Rectangle{image.Rect(20, 20, 24, 24), image.Rect(40, 20, 44, 24)}
	closed := []image.Rectangle{image.Rect(20, 23, 24, 24), image.Rect(40, 23, 44, 24)}
	renders := map[string]*image.NRGBA{
		"body":        face(image.Rect(28, 40, 36, 41), open),
		"mouth-1":     face(image.Rect(28, 39, 36, 43), open),
		"mouth-2":     face(image.Rect(27, 38, 37, 46), open),
		"eyes-closed": face(image.Rect(28, 40, 36, 41), closed),
	}
	for name, img := range renders {
		if err := writePNG(filepath.Join(in, name+".png"), img); err != nil {
			t.Fatal(err)
		}
	}
	manifest := `{"name":"default","style":"x@1","license":"CC0","source":"https://example.test","size":[64,64],
		"body":"body.svg","mouths":["body.svg","mouth-1.svg","mouth-2.svg"],"eyes_open":"body.svg","eyes_closed":"eyes-closed.svg"}`
	if err := os.WriteFile(filepath.Join(in, "render.json"), []byte(manifest), 0o644); err != nil {
		t.Fatal(err)
	}
	sheet := filepath.Join(out, "sheet.png")
	if err := run(options{in: in, out: out, margin: 2, sheet: sheet}, io.Discard); err != nil {
		t.Fatal(err)
	}

	raw, err := os.ReadFile(filepath.Join(out, "pack.json"))
	if err != nil {
		t.Fatal(err)
	}
	var got packManifest
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatalf("pack.json: %v\n%s", err, raw)
	}
	// Mouth diff box is (27,38)-(37,46), eyes (20,20)-(44,23); margin 2.
	if got.MouthPos != [2]int{25, 36} || got.EyesPos != [2]int{18, 18} {
		t.Errorf("mouth_pos %v, eyes_pos %v; want [25 36], [18 18]", got.MouthPos, got.EyesPos)
	}
	if !strings.HasPrefix(string(raw), "{\n  \"name\": \"default\",\n  \"style\": \"x@1\",") {
		t.Errorf("pack.json keys out of order:\n%s", raw)
	}
	wantSize := map[string]image.Point{
		"body.png": {64, 64}, "mouth-0.png": {14, 12}, "mouth-1.png": {14, 12}, "mouth-2.png": {14, 12},
		"eyes-open.png": {28, 7}, "eyes-closed.png": {28, 7},
	}
	for f, size := range wantSize {
		img, err := readPNG(filepath.Join(out, f))
		if err != nil {
			t.Fatal(err)
		}
		if img.Rect.Size() != size {
			t.Errorf("%s is %v, want %v", f, img.Rect.Size(), size)
		}
	}
	mouth2, _ := readPNG(filepath.Join(out, "mouth-2.png"))
	want := crop(renders["mouth-2"], image.Rect(25, 36, 39, 48))
	if !bytes.Equal(mouth2.Pix, want.Pix) {
		t.Error("mouth-2.png is not the crop of its render")
	}
	if _, err := os.Stat(sheet); err != nil {
		t.Errorf("no contact sheet: %v", err)
	}
}

func TestCutRejects(t *testing.T) {
	m := renderManifest{Name: "default", Size: [2]int{16, 16}}
	base := solid(16, 16, color.NRGBA{1, 2, 3, 255})
	changed := func(r image.Rectangle) *image.NRGBA {
		img := crop(base, base.Rect)
		fill(img, r, color.NRGBA{9, 9, 9, 255})
		return img
	}
	for _, c := range []struct {
		name       string
		mouths     []*image.NRGBA
		eyesClosed *image.NRGBA
		want       string
	}{
		{"mouth unchanged", []*image.NRGBA{base, base}, changed(image.Rect(2, 2, 4, 3)), "does not differ"},
		{"eyes unchanged", []*image.NRGBA{base, changed(image.Rect(6, 12, 9, 13))}, base, "closed eyes"},
		{"overlap", []*image.NRGBA{base, changed(image.Rect(6, 6, 9, 9))}, changed(image.Rect(6, 2, 9, 4)), "overlaps"},
		{"wrong size", []*image.NRGBA{base, solid(8, 8, color.NRGBA{})}, changed(image.Rect(2, 2, 4, 3)), "render is"},
		{"one mouth", []*image.NRGBA{base}, changed(image.Rect(2, 2, 4, 3)), "at least 2"},
		{"mouth 0 is not the body", []*image.NRGBA{changed(image.Rect(6, 12, 9, 13)), base}, changed(image.Rect(2, 2, 4, 3)), "body render itself"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := cut(m, base, c.mouths, base, c.eyesClosed, 2)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("cut: %v, want an error mentioning %q", err, c.want)
			}
		})
	}
}

func solid(w, h int, c color.NRGBA) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	fill(img, img.Rect, c)
	return img
}

func fill(img *image.NRGBA, r image.Rectangle, c color.NRGBA) {
	draw.Draw(img, r, image.NewUniform(c), image.Point{}, draw.Src)
}
