package avatars

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"io/fs"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoadDefault(t *testing.T) {
	p, err := Load("default")
	if err != nil {
		t.Fatalf("Load(default): %v", err)
	}
	bounds := p.Body.Rect

	t.Run("layers", func(t *testing.T) {
		if p.Name != "default" {
			t.Errorf("Name = %q", p.Name)
		}
		if p.Size != bounds.Size() || p.Size.X < 256 || p.Size.Y < 256 {
			t.Errorf("Size = %v, body is %v", p.Size, bounds)
		}
		if len(p.Mouths) < 3 {
			t.Fatalf("%d mouths, want at least 3 (closed, half open, wide open)", len(p.Mouths))
		}
		all := append([]*image.NRGBA{p.Body, p.EyesOpen, p.EyesClosed}, p.Mouths...)
		for i, img := range all {
			if img.Rect.Min != (image.Point{}) || img.Rect.Empty() {
				t.Errorf("layer %d has bounds %v, want a non-empty image at the origin", i, img.Rect)
			}
		}
	})

	t.Run("patches inside the body, apart", func(t *testing.T) {
		mr, er := p.MouthRect(), p.EyesRect()
		if !mr.In(bounds) || !er.In(bounds) {
			t.Errorf("mouth %v or eyes %v outside body %v", mr, er, bounds)
		}
		if mr.Overlaps(er) {
			t.Errorf("mouth %v overlaps eyes %v: pasting order would matter", mr, er)
		}
		if er.Max.Y > mr.Min.Y {
			t.Errorf("eyes %v are not above the mouth %v", er, mr)
		}
	})

	t.Run("mouths differ from each other", func(t *testing.T) {
		for i := range p.Mouths {
			for j := i + 1; j < len(p.Mouths); j++ {
				if bytes.Equal(p.Mouths[i].Pix, p.Mouths[j].Pix) {
					t.Errorf("mouth %d equals mouth %d", i, j)
				}
			}
		}
	})

	t.Run("mouths open wider in order", func(t *testing.T) {
		// The patch's corner is skin (the crop has a margin). Count the
		// pixels that are not skin: lips, teeth, tongue, the dark inside.
		skin := p.Mouths[0].NRGBAAt(0, 0)
		prev := -1
		for i, m := range p.Mouths {
			n := countNot(m, skin)
			t.Logf("mouth %d: %d non-skin pixels", i, n)
			if n <= prev {
				t.Errorf("mouth %d has %d non-skin pixels, mouth %d has %d: not ordered closed to wide open", i, n, i-1, prev)
			}
			prev = n
		}
	})

	t.Run("eyes differ", func(t *testing.T) {
		if bytes.Equal(p.EyesOpen.Pix, p.EyesClosed.Pix) {
			t.Error("open and closed eyes are identical")
		}
	})

	t.Run("closed mouth and open eyes reproduce the body", func(t *testing.T) {
		for _, c := range []struct {
			name  string
			patch *image.NRGBA
			at    image.Rectangle
		}{
			{"mouth", p.Mouths[0], p.MouthRect()},
			{"eyes", p.EyesOpen, p.EyesRect()},
		} {
			frame := image.NewNRGBA(bounds)
			copy(frame.Pix, p.Body.Pix)
			draw.Draw(frame, c.at, c.patch, image.Point{}, draw.Src)
			if !bytes.Equal(frame.Pix, p.Body.Pix) {
				t.Errorf("pasting the %s patch at %v changes the body", c.name, c.at)
			}
		}
	})

	t.Run("other states change only their rectangle", func(t *testing.T) {
		frame := image.NewNRGBA(bounds)
		copy(frame.Pix, p.Body.Pix)
		draw.Draw(frame, p.MouthRect(), p.Mouths[len(p.Mouths)-1], image.Point{}, draw.Src)
		draw.Draw(frame, p.EyesRect(), p.EyesClosed, image.Point{}, draw.Src)
		changed := diffBounds(frame, p.Body)
		if changed.Empty() || !changed.In(p.MouthRect().Union(p.EyesRect())) {
			t.Errorf("wide mouth + closed eyes changed %v", changed)
		}
	})

	t.Run("transparent background", func(t *testing.T) {
		if a := p.Body.NRGBAAt(0, 0).A; a != 0 {
			t.Errorf("top-left body pixel alpha = %d, want 0", a)
		}
		mid := p.Body.NRGBAAt(p.MouthPos.X, p.MouthPos.Y)
		if mid.A != 0xff {
			t.Errorf("face pixel at %v alpha = %d, want opaque", p.MouthPos, mid.A)
		}
	})

	t.Run("licence", func(t *testing.T) {
		for _, want := range []string{"Avataaars", "Pablo Stanley", "MIT License"} {
			if !strings.Contains(p.License, want) {
				t.Errorf("licence lacks %q", want)
			}
		}
	})
}

func TestLoadUnknown(t *testing.T) {
	for _, name := range []string{"nope", "", ".", "..", "../avatars", "default/", "default/pack.json", `default\x`, "DEFAULT "} {
		t.Run(name, func(t *testing.T) {
			p, err := Load(name)
			if !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("Load(%q) = %v, %v; want an error wrapping fs.ErrNotExist", name, p, err)
			}
		})
	}
}

func TestNames(t *testing.T) {
	names := Names()
	if !slices.Contains(names, "default") {
		t.Fatalf("Names() = %v, want it to contain default", names)
	}
	if !slices.IsSorted(names) {
		t.Errorf("Names() = %v, not sorted", names)
	}
	for _, n := range names {
		if _, err := Load(n); err != nil {
			t.Errorf("Load(%q): %v", n, err)
		}
	}
}

func TestLoadInvalid(t *testing.T) {
	const good = `{"name":"p","size":[8,8],"body":"body.png","mouths":["m0.png","m1.png"],"mouth_pos":[2,5],` +
		`"eyes_open":"eo.png","eyes_closed":"ec.png","eyes_pos":[1,1]}`
	base := func() fstest.MapFS {
		return fstest.MapFS{
			"p/pack.json": {Data: []byte(good)},
			"p/LICENSE":   {Data: []byte("CC0")},
			"p/body.png":  {Data: pngOf(t, 8, 8)},
			"p/m0.png":    {Data: pngOf(t, 4, 2)},
			"p/m1.png":    {Data: pngOf(t, 4, 2)},
			"p/eo.png":    {Data: pngOf(t, 6, 2)},
			"p/ec.png":    {Data: pngOf(t, 6, 2)},
		}
	}
	if _, err := load(base(), "p"); err != nil {
		t.Fatalf("the valid base pack does not load: %v", err)
	}
	for _, c := range []struct {
		name   string
		change func(fstest.MapFS)
		want   string
	}{
		{"bad json", func(f fstest.MapFS) { f["p/pack.json"].Data = []byte("{") }, "parse pack.json"},
		{"other name", func(f fstest.MapFS) { setJSON(f, `"name":"p"`, `"name":"q"`) }, `names "q"`},
		{"one mouth", func(f fstest.MapFS) { setJSON(f, `["m0.png","m1.png"]`, `["m0.png"]`) }, "need at least 2"},
		{"no licence", func(f fstest.MapFS) { delete(f, "p/LICENSE") }, "licence"},
		{"missing layer", func(f fstest.MapFS) { delete(f, "p/m1.png") }, "m1.png"},
		{"layer in another dir", func(f fstest.MapFS) { setJSON(f, `"m1.png"`, `"../p/m1.png"`) }, "bad file name"},
		{"not a png", func(f fstest.MapFS) { f["p/eo.png"].Data = []byte("GIF89a") }, "decode eo.png"},
		{"size mismatch", func(f fstest.MapFS) { setJSON(f, `[8,8]`, `[8,9]`) }, "pack.json says"},
		{"mouths differ in size", func(f fstest.MapFS) { f["p/m1.png"].Data = pngOf(t, 4, 3) }, "mouth m1.png"},
		{"eyes differ in size", func(f fstest.MapFS) { f["p/ec.png"].Data = pngOf(t, 5, 2) }, "closed eyes"},
		{"mouth outside", func(f fstest.MapFS) { setJSON(f, `"mouth_pos":[2,5]`, `"mouth_pos":[5,5]`) }, "mouth rectangle"},
		{"eyes outside", func(f fstest.MapFS) { setJSON(f, `"eyes_pos":[1,1]`, `"eyes_pos":[-1,1]`) }, "eyes rectangle"},
	} {
		t.Run(c.name, func(t *testing.T) {
			fsys := base()
			c.change(fsys)
			_, err := load(fsys, "p")
			if !errors.Is(err, ErrInvalidPack) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v; want ErrInvalidPack mentioning %q", err, c.want)
			}
			if errors.Is(err, fs.ErrNotExist) {
				t.Errorf("err = %v wraps fs.ErrNotExist: a broken pack would read as an unknown one", err)
			}
		})
	}
}

func BenchmarkLoad(b *testing.B) {
	for b.Loop() {
		if _, err := Load("default"); err != nil {
			b.Fatal(err)
		}
	}
}

func ExampleLoad() {
	p, err := Load("default")
	if err != nil {
		fmt.Println(err)
		return
	}
	// One frame of a talking, blinking anchor: wide mouth, eyes closed.
	frame := image.NewNRGBA(p.Body.Rect)
	draw.Draw(frame, frame.Rect, p.Body, image.Point{}, draw.Src)
	draw.Draw(frame, p.MouthRect(), p.Mouths[len(p.Mouths)-1], image.Point{}, draw.Src)
	draw.Draw(frame, p.EyesRect(), p.EyesClosed, image.Point{}, draw.Src)
	fmt.Println(p.Name, p.Size, len(p.Mouths), "mouths at", p.MouthPos, "eyes at", p.EyesPos)
	// Output: default (560,560) 3 mouths at (238,290) eyes at (196,208)
}

// countNot counts the pixels of img that are not c.
func countNot(img *image.NRGBA, c color.NRGBA) int {
	n := 0
	for y := img.Rect.Min.Y; y < img.Rect.Max.Y; y++ {
		for x := img.Rect.Min.X; x < img.Rect.Max.X; x++ {
			if img.NRGBAAt(x, y) != c {
				n++
			}
		}
	}
	return n
}

// diffBounds is the bounding box of the pixels where a and b differ.
func diffBounds(a, b *image.NRGBA) image.Rectangle {
	var r image.Rectangle
	for y := a.Rect.Min.Y; y < a.Rect.Max.Y; y++ {
		for x := a.Rect.Min.X; x < a.Rect.Max.X; x++ {
			if a.NRGBAAt(x, y) != b.NRGBAAt(x, y) {
				r = r.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return r
}

func setJSON(f fstest.MapFS, old, repl string) {
	f["p/pack.json"].Data = []byte(strings.Replace(string(f["p/pack.json"].Data), old, repl, 1))
}

func pngOf(t testing.TB, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Rect, image.NewUniform(color.NRGBA{0x80, 0x40, 0x20, 0xff}), image.Point{}, draw.Src)
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
