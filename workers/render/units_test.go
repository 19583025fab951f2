package render

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast/internal/media"
)

func TestWrap(t *testing.T) {
	f, err := loadFont(DefaultFontPath)
	if err != nil {
		t.Fatal(err)
	}
	face := newFace(f, 40)
	em := measure(face, "中") // one CJK rune
	tests := []struct {
		name  string
		text  string
		width int
		want  []string
	}{
		{"cjk per rune", "一二三四五六七八九十", 4 * em, []string{"一二三四", "五六七八", "九十"}},
		{"no comma at line start", "一二三四，五六", 4 * em, []string{"一二三", "四，五六"}},
		{"no opening bracket at line end", "一二三《四五》", 4 * em, []string{"一二三", "《四五》"}},
		{"latin per word", "the quick brown fox jumps", measure(face, "the quick brown"), []string{"the quick brown", "fox jumps"}},
		{"long word broken", "abcdefghijklmnop", measure(face, "abcdefgh"), []string{"abcdefgh", "ijklmnop"}},
		{"mixed", "只要¥99 today only", measure(face, "只要¥99 today"), []string{"只要¥99 today", "only"}},
		{"phrase break at space", "景德镇手工茶具 六杯一壶", measure(face, "景德镇手工茶具 六杯"), []string{"景德镇手工茶具", "六杯一壶"}},
		{"white space collapsed", "  a \n\t b  ", 1000, []string{"a b"}},
		{"empty", "", 100, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := wrap(face, tt.text, tt.width)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("wrap(%q, %d) = %q, want %q", tt.text, tt.width, got, tt.want)
			}
			for _, l := range got {
				if w := measure(face, l); w > tt.width {
					t.Errorf("line %q is %d px wide, over %d", l, w, tt.width)
				}
			}
		})
	}
	if got := balancedWrap(face, "一二三四五六七八九", 8*em); !slices.Equal(got, []string{"一二三四五", "六七八九"}) {
		t.Errorf("balancedWrap = %q", got)
	}
}

func TestPaginate(t *testing.T) {
	f, err := loadFont(DefaultFontPath)
	if err != nil {
		t.Fatal(err)
	}
	face := newFace(f, 40)
	em := measure(face, "中")
	tests := []struct {
		name string
		text string
		want [][]string
	}{
		{"short sentences share a page", "一二三。四五六。", [][]string{{"一二三。四五", "六。"}}},
		{"long sentence pages alone", "一二三四五六七八九十一二三四五六七八。再见。",
			[][]string{{"一二三四五六", "七八九十一二"}, {"三四五六七八", "。再见。"}}},
		{"latin", "Hello there. This is a test.", [][]string{{"Hello there.", "This is a test."}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := paginate(face, tt.text, 6*em+em/2, 2)
			if len(got) != len(tt.want) {
				t.Fatalf("pages %q, want %q", got, tt.want)
			}
			var all strings.Builder
			for i := range got {
				if len(got[i]) > 2 {
					t.Errorf("page %d has %d lines", i, len(got[i]))
				}
				all.WriteString(strings.Join(got[i], ""))
			}
			if strings.ReplaceAll(all.String(), " ", "") != strings.ReplaceAll(tt.text, " ", "") {
				t.Errorf("pages %q lose text of %q", got, tt.text)
			}
		})
	}
	// Weight: CJK counts three, Latin letters one, punctuation nothing.
	if w := weight([]string{"你好, ab!"}); w != 8 {
		t.Errorf("weight = %d, want 8", w)
	}
}

func TestSanitize(t *testing.T) {
	f, err := loadFont(DefaultFontPath)
	if err != nil {
		t.Fatal(err)
	}
	face := newFace(f, 30)
	if got := sanitize(face, "好\x07货 🍵 ¥99\n"); got != "好货  ¥99" {
		t.Errorf("sanitize = %q", got)
	}
}

func TestMouthLevels(t *testing.T) {
	// Silence, speech, a dip that the hysteresis holds, silence.
	rms := []float64{0, 0, 0.5, 0.5, 0.12, 0.5, 0.3, 0.02, 0, 0}
	got := mouthLevels(rms, 3)
	want := []int{0, 0, 2, 2, 1, 2, 2, 0, 0, 0}
	if !slices.Equal(got, want) {
		t.Errorf("mouthLevels = %v, want %v", got, want)
	}
	if got := mouthLevels(make([]float64, 5), 3); slices.Max(got) != 0 {
		t.Errorf("silence opens the mouth: %v", got)
	}
	// Louder audio, same shape: same mouths (thresholds are relative).
	loud := make([]float64, len(rms))
	for i, r := range rms {
		loud[i] = r * 1.8
	}
	if got2 := mouthLevels(loud, 3); !slices.Equal(got2, got) {
		t.Errorf("levels depend on volume: %v vs %v", got2, got)
	}
}

func TestBlinks(t *testing.T) {
	frames := 60 * media.FPS
	a, b := blinks(42, frames), blinks(42, frames)
	if !slices.Equal(a, b) {
		t.Fatal("blinks differ for the same seed")
	}
	if slices.Equal(a, blinks(43, frames)) {
		t.Error("blinks are the same for different seeds")
	}
	var starts []int
	for i, c := range a {
		if c && (i == 0 || !a[i-1]) {
			starts = append(starts, i)
			for k := range blinkFrames {
				if !a[i+k] {
					t.Fatalf("blink at %d shorter than %d frames", i, blinkFrames)
				}
			}
		}
	}
	if len(starts) < 60/5 || starts[0] > 3*media.FPS {
		t.Fatalf("blinks start at %v", starts)
	}
	for i := 1; i < len(starts); i++ {
		gap := float64(starts[i]-starts[i-1]) / media.FPS
		if gap < blinkMin-0.05 || gap > blinkMax+0.05 {
			t.Errorf("%.2f s between blinks", gap)
		}
	}
}

func TestPageFrames(t *testing.T) {
	got := pageFrames([]int{1, 1, 2}, 10, 50, 60)
	// Pages start at 0, 10+40*1/4=20, 10+40*2/4=30.
	for i, want := range map[int]int{0: 0, 19: 0, 20: 1, 29: 1, 30: 2, 59: 2} {
		if got[i] != want {
			t.Errorf("frame %d shows page %d, want %d", i, got[i], want)
		}
	}
	if none := pageFrames(nil, 0, 10, 10); slices.Max(none) != -1 {
		t.Errorf("no pages: %v", none)
	}
}

func TestClipDuration(t *testing.T) {
	tests := []struct {
		speech, min, want time.Duration
	}{
		{0, 0, 1280 * time.Millisecond},
		{0, 5 * time.Second, 5120 * time.Millisecond},
		{300 * time.Millisecond, 0, 1280 * time.Millisecond},
		{20608 * time.Millisecond, 0, 21120 * time.Millisecond},
		{2 * time.Second, 0, 2560 * time.Millisecond},
		{2 * time.Second, 4 * time.Second, 4160 * time.Millisecond},
		{1990 * time.Millisecond, 0, 2240 * time.Millisecond}, // 2.24 s is a whole 7 quanta
	}
	for _, tt := range tests {
		got := clipDuration(tt.speech, tt.min)
		if got != tt.want || got%media.Quantum != 0 {
			t.Errorf("clipDuration(%v, %v) = %v, want %v", tt.speech, tt.min, got, tt.want)
		}
	}
}

func TestToI420(t *testing.T) {
	img := image.NewRGBA(image.Rect(0, 0, 4, 2))
	cols := []color.RGBA{{0, 0, 0, 255}, {255, 255, 255, 255}, {255, 0, 0, 255}, {0, 0, 255, 255},
		{0, 255, 0, 255}, {128, 128, 128, 255}, {255, 0, 0, 255}, {0, 0, 255, 255}}
	for i, c := range cols {
		img.SetRGBA(i%4, i/4, c)
	}
	buf := make([]byte, 4*2*3/2)
	toI420(buf, img, img.Bounds())
	ref := func(r, g, b float64) (y, cb, cr float64) {
		y = 16 + (65.481*r+128.553*g+24.966*b)/255
		cb = 128 + (-37.797*r-74.203*g+112*b)/255
		cr = 128 + (112*r-93.786*g-18.214*b)/255
		return
	}
	for i, c := range cols {
		y, _, _ := ref(float64(c.R), float64(c.G), float64(c.B))
		if math.Abs(float64(buf[i])-y) > 0.51 {
			t.Errorf("Y of %v = %d, want %.1f", c, buf[i], y)
		}
	}
	// The right 2x2 block: red, blue, red, blue.
	_, cb, cr := ref(127.5, 0, 127.5)
	if math.Abs(float64(buf[9])-cb) > 0.51 || math.Abs(float64(buf[11])-cr) > 0.51 {
		t.Errorf("chroma of the red/blue block = %d, %d, want %.1f, %.1f", buf[9], buf[11], cb, cr)
	}
	if buf[0] != 16 || buf[1] != 235 {
		t.Errorf("black and white map to %d and %d, want 16 and 235 (limited range)", buf[0], buf[1])
	}
}

// wav builds a 16-bit PCM WAV file.
func wav(channels, rate int, samples []int16, dataSize int) []byte {
	var b bytes.Buffer
	le := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.WriteString("RIFF")
	le(uint32(36 + len(samples)*2))
	b.WriteString("WAVEfmt ")
	le(uint32(16))
	le(uint16(1))
	le(uint16(channels))
	le(uint32(rate))
	le(uint32(rate * channels * 2))
	le(uint16(channels * 2))
	le(uint16(16))
	b.WriteString("LIST")
	le(uint32(3))
	b.WriteString("abc\x00") // odd-sized chunk and its pad byte
	b.WriteString("data")
	le(uint32(dataSize))
	le(samples)
	return b.Bytes()
}

func TestParseWAV(t *testing.T) {
	stereo := []int16{1000, 3000, -2000, -4000}
	tests := []struct {
		name    string
		data    []byte
		want    []float32
		rate    int
		wantErr bool
	}{
		{name: "mono", data: wav(1, 22050, []int16{16384, -32768}, 4), want: []float32{0.5, -1}, rate: 22050},
		{name: "stereo mixed to mono", data: wav(2, 48000, stereo, 8), want: []float32{2000.0 / 32768, -3000.0 / 32768}, rate: 48000},
		{name: "streaming size", data: wav(1, 16000, []int16{1, 2, 3}, 0x7FFFFFFF), want: []float32{1.0 / 32768, 2.0 / 32768, 3.0 / 32768}, rate: 16000},
		{name: "truncated data", data: wav(1, 16000, []int16{1, 2, 3}, 600), wantErr: true},
		{name: "no samples", data: wav(1, 16000, nil, 0), wantErr: true},
		{name: "not riff", data: []byte("RIFX...."), wantErr: true},
		{name: "header cut", data: wav(1, 16000, []int16{1}, 2)[:20], wantErr: true},
		{name: "8-bit", data: bytes.Replace(wav(1, 8000, []int16{1}, 2), []byte{16, 0, 'L'}, []byte{8, 0, 'L'}, 1), wantErr: true},
		{name: "5 channels", data: bytes.Replace(wav(1, 8000, []int16{1}, 2), []byte{1, 0, 1, 0, 0x40}, []byte{1, 0, 5, 0, 0x40}, 1), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := parseWAV(tt.data)
			if tt.wantErr {
				if !errors.Is(err, ErrBadWAV) {
					t.Fatalf("err = %v, want ErrBadWAV", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if p.rate != tt.rate || !slices.Equal(p.samples, tt.want) {
				t.Fatalf("got %d Hz %v, want %d Hz %v", p.rate, p.samples, tt.rate, tt.want)
			}
		})
	}
}

func FuzzParseWAV(f *testing.F) {
	f.Add(wav(1, 22050, []int16{1, 2, 3}, 6))
	f.Add(wav(2, 48000, []int16{1, 2, 3, 4}, 0xFFFFFFFF))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parseWAV(b)
		if err != nil {
			if !errors.Is(err, ErrBadWAV) {
				t.Fatalf("error %v does not wrap ErrBadWAV", err)
			}
			return
		}
		if len(p.samples) == 0 || p.rate < 8000 {
			t.Fatalf("accepted %d samples at %d Hz", len(p.samples), p.rate)
		}
	})
}

func TestRepackSFNT(t *testing.T) {
	b, err := os.ReadFile(DefaultFontPath)
	if err != nil {
		t.Fatalf("%v: install the font with `apt-get install fonts-wqy-microhei`", err)
	}
	out, err := repackSFNT(b, 0)
	if err != nil {
		t.Fatal(err)
	}
	num := int(binary.BigEndian.Uint16(out[4:]))
	for i := range num {
		rec := 12 + 16*i
		off, n := binary.BigEndian.Uint32(out[rec+8:]), binary.BigEndian.Uint32(out[rec+12:])
		if off%4 != 0 || int(off+n) > len(out) {
			t.Fatalf("table %q at %d+%d: not aligned or outside", out[rec:rec+4], off, n)
		}
	}
	for _, bad := range [][]byte{nil, []byte("ttcf\x00\x01\x00\x00\x00\x00\x00\x05"), out[:40], []byte("not a font at all")} {
		if _, err := repackSFNT(bad, 0); err == nil {
			t.Errorf("repackSFNT(%q...) accepted a broken font", bad[:min(len(bad), 12)])
		}
	}
	if _, err := repackSFNT(b, 5); err == nil {
		t.Error("font 5 of a two-font collection accepted")
	}
}

func TestLabelDefaults(t *testing.T) {
	l := label(&Job{}, "/clips/clip_9.ts")
	if !l.AIGenerated || l.Producer != "Evercast" || l.ContentID != "clip_9" {
		t.Errorf("label = %+v", l)
	}
	j := &Job{}
	j.AIGC.ContentID = "c1"
	j.AIGC.Producer = "Other"
	if l := label(j, "x.ts"); !l.AIGenerated || l.ContentID != "c1" || l.Producer != "Other" {
		t.Errorf("label = %+v", l)
	}
}

// TestPlaceAvatarSeamless checks that the face variants, scaled from the
// face region alone, match the scaled body exactly where the patches
// reproduce it (closed mouth, open eyes), and differ where they do not.
func TestPlaceAvatarSeamless(t *testing.T) {
	for _, f := range []media.Format{media.Landscape, media.Portrait, {Width: 640, Height: 360}} {
		lay := newLayout(f.Width, f.Height)
		bg := background(f.Width, f.Height, lay.focus)
		a := testAvatar()
		p := placeAvatar(a, lay, bg)
		if p.faceRect.Empty() || p.faceRect.Min.X%2 != 0 || p.faceRect.Min.Y%2 != 0 || p.faceRect.Dx()%2 != 0 || p.faceRect.Dy()%2 != 0 {
			t.Fatalf("%v: face region %v is empty or not even-aligned", f, p.faceRect)
		}
		ref := image.NewRGBA(p.faceRect)
		draw.Draw(ref, p.faceRect, bg, p.faceRect.Min, draw.Src)
		draw.Draw(ref, p.faceRect, p.body, p.faceRect.Min, draw.Over)
		if !bytes.Equal(ref.Pix, p.faces[0][0].Pix) {
			t.Errorf("%v: the closed-mouth, open-eyes variant differs from the scaled body", f)
		}
		for m := range a.Mouths {
			for e := range 2 {
				if (m > 0 || e > 0) && bytes.Equal(ref.Pix, p.faces[m][e].Pix) {
					t.Errorf("%v: variant mouth %d eyes %d looks like the body", f, m, e)
				}
			}
		}
	}
}
