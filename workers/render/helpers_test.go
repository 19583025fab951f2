package render

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// testAvatar draws a simple presenter in Go: shoulders, a face, hair, eyes
// and a mouth; the patches are cut from renders of the same face with the
// mouth opened further and the eyes shut, as a real avatar pack is made.
func testAvatar() *Avatar {
	const size = 512
	skin := color.NRGBA{236, 188, 150, 255}
	face := func(mouth int, closed bool) *image.NRGBA {
		img := image.NewNRGBA(image.Rect(0, 0, size, size))
		ellipse(img, 256, 560, 200, 150, color.NRGBA{40, 84, 140, 255}) // shoulders
		ellipse(img, 256, 360, 46, 60, color.NRGBA{220, 172, 136, 255}) // neck
		ellipse(img, 256, 170, 132, 126, color.NRGBA{54, 36, 30, 255})  // hair
		ellipse(img, 256, 215, 112, 128, skin)                          // face
		for _, x := range []float64{212, 300} {
			if closed {
				ellipse(img, x, 208, 20, 3, color.NRGBA{60, 40, 36, 255})
			} else {
				ellipse(img, x, 204, 18, 14, color.NRGBA{255, 255, 255, 255})
				ellipse(img, x, 205, 9, 10, color.NRGBA{60, 40, 36, 255})
			}
		}
		ellipse(img, 256, 240, 8, 6, color.NRGBA{214, 160, 124, 255}) // nose
		h := []float64{3, 12, 22}[mouth]
		ellipse(img, 256, 286, 34, h, color.NRGBA{150, 50, 60, 255})
		if mouth > 0 {
			ellipse(img, 256, 286-h/3, 26, h/3, color.NRGBA{250, 250, 250, 255}) // teeth
		}
		return img
	}
	mouthRect := image.Rect(212, 256, 300, 316)
	eyesRect := image.Rect(182, 184, 330, 228)
	cut := func(img *image.NRGBA, r image.Rectangle) *image.NRGBA {
		out := image.NewNRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
		draw.Draw(out, out.Rect, img, r.Min, draw.Src)
		return out
	}
	a := &Avatar{Body: face(0, false), MouthPos: mouthRect.Min, EyesPos: eyesRect.Min}
	for m := range 3 {
		a.Mouths = append(a.Mouths, cut(face(m, false), mouthRect))
	}
	a.EyesOpen = cut(face(0, false), eyesRect)
	a.EyesClosed = cut(face(0, true), eyesRect)
	return a
}

// ellipse fills an anti-aliased ellipse.
func ellipse(img *image.NRGBA, cx, cy, rx, ry float64, c color.NRGBA) {
	b := img.Bounds()
	for y := max(b.Min.Y, int(cy-ry-2)); y < min(b.Max.Y, int(cy+ry+2)); y++ {
		for x := max(b.Min.X, int(cx-rx-2)); x < min(b.Max.X, int(cx+rx+2)); x++ {
			dx, dy := (float64(x)+0.5-cx)/rx, (float64(y)+0.5-cy)/ry
			d := (math.Sqrt(dx*dx+dy*dy) - 1) * math.Min(rx, ry)
			a := math.Max(0, math.Min(1, 0.5-d))
			if a == 0 {
				continue
			}
			i := img.PixOffset(x, y)
			p := img.Pix[i : i+4]
			da := float64(p[3]) / 255
			oa := a + da*(1-a)
			for k, v := range []uint8{c.R, c.G, c.B} {
				p[k] = uint8((float64(v)*a + float64(p[k])*da*(1-a)) / oa)
			}
			p[3] = uint8(oa * 255)
		}
	}
}

// tool finds a command-line tool or fails the test with how to install it.
func tool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Fatalf("%s not found: install it with `apt-get install %s`", name, pkg)
	}
	return p
}

// espeak speaks text into a WAV file in dir.
func espeak(t testing.TB, dir, voice, text string) string {
	t.Helper()
	bin := tool(t, "espeak-ng", "espeak-ng")
	path := filepath.Join(dir, voice+".wav")
	if out, err := exec.Command(bin, "-v", voice, "-w", path, text).CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v\n%s", err, out)
	}
	return path
}

// testRenderer is a Renderer with the default options.
func testRenderer(t testing.TB) *Renderer {
	t.Helper()
	tool(t, "ffmpeg", "ffmpeg")
	r, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// probe runs ffprobe and decodes its JSON.
func probe(t testing.TB, path string, args ...string) map[string]any {
	t.Helper()
	bin := tool(t, "ffprobe", "ffmpeg")
	out, err := exec.Command(bin, append([]string{"-v", "error", "-of", "json"}, append(args, path)...)...).Output()
	if err != nil {
		t.Fatalf("ffprobe %v: %v", args, err)
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// decodeFrames decodes the frames at the given indices to RGB.
func decodeFrames(t testing.TB, path string, w, h int, idx []int) map[int]*image.RGBA {
	t.Helper()
	bin := tool(t, "ffmpeg", "ffmpeg")
	var sel []string
	for _, i := range idx {
		sel = append(sel, "eq(n\\,"+strconv.Itoa(i)+")")
	}
	cmd := exec.Command(bin, "-v", "error", "-i", path, "-an", "-vf", "select='"+strings.Join(sel, "+")+"'",
		"-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("decode frames: %v\n%s", err, stderr.String())
	}
	uniq := map[int]bool{}
	var order []int
	for _, i := range idx {
		if !uniq[i] {
			uniq[i] = true
			order = append(order, i)
		}
	}
	slices.Sort(order)
	n := w * h * 3
	if len(out) != n*len(order) {
		t.Fatalf("decoded %d bytes, want %d frames of %d", len(out), len(order), n)
	}
	frames := map[int]*image.RGBA{}
	for k, i := range order {
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		src := out[k*n : (k+1)*n]
		for p := range w * h {
			copy(img.Pix[p*4:], src[p*3:p*3+3])
			img.Pix[p*4+3] = 255
		}
		frames[i] = img
	}
	return frames
}

// mae is the mean absolute difference of the RGB channels of a and b over r.
func mae(a, b *image.RGBA, r image.Rectangle) float64 {
	var sum float64
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i, j := a.PixOffset(x, y), b.PixOffset(x, y)
			for c := range 3 {
				sum += math.Abs(float64(a.Pix[i+c]) - float64(b.Pix[j+c]))
			}
			n += 3
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

func num(v any) float64 {
	switch x := v.(type) {
	case float64:
		return x
	case string:
		f, _ := strconv.ParseFloat(x, 64)
		return f
	}
	return math.NaN()
}

func writeFile(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func describe(st state) string {
	return fmt.Sprintf("page %d mouth %d closed %v", st.page, st.mouth, st.closed)
}
