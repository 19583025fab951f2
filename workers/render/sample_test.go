package render

import (
	"context"
	"flag"
	"image"
	"image/draw"
	"image/png"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/media"
	xdraw "golang.org/x/image/draw"
)

var sampleDir = flag.String("sampledir", "", "keep the sample clips and contact sheets of TestSample in this directory")

// TestSample renders a sample clip in each orientation and a contact sheet
// of decoded frames (first, a loud one, a blink, the last), to look at:
//
//	go test ./workers/render -run TestSample -sampledir /tmp/sample
func TestSample(t *testing.T) {
	r := testRenderer(t)
	dir := *sampleDir
	if dir == "" {
		dir = t.TempDir()
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	text := "大家好，欢迎来到直播间！这款手工陶瓷茶具采用传统柴窑烧制，每只杯子约一百二十毫升。Hand made in Jingdezhen, six cups with a bamboo tray."
	wav := espeak(t, t.TempDir(), "cmn-latn-pinyin", text)
	for _, f := range []media.Format{media.Landscape, media.Portrait} {
		name := "landscape"
		if f == media.Portrait {
			name = "portrait"
		}
		job := Job{Format: f, AudioPath: wav, Text: text, Language: evercast.LangZH, Avatar: testAvatar(), Seed: 7,
			Card: &Card{Title: "景德镇手工陶瓷茶具 六杯一壶 竹制茶盘", Price: "¥129.9", Badge: "限时优惠 / Promo"}}
		out := filepath.Join(dir, "sample-"+name+".ts")
		res, err := r.Render(context.Background(), job, out)
		if err != nil {
			t.Fatal(err)
		}
		voice, err := readWAV(wav)
		if err != nil {
			t.Fatal(err)
		}
		_, states := r.prepare(&job, voice, res.Frames)
		idx := []int{0}
		for i, st := range states {
			if st.mouth == 2 && i > len(states)/3 {
				idx = append(idx, i)
				break
			}
		}
		for i, st := range states {
			if st.closed {
				idx = append(idx, i)
				break
			}
		}
		idx = append(idx, len(states)-1)
		frames := decodeFrames(t, out, f.Width, f.Height, idx)
		// Full size first frame, and a sheet of the others at half size.
		first := frames[0]
		sheet := image.NewRGBA(image.Rect(0, 0, f.Width/2*len(idx), f.Height/2))
		for k, i := range idx {
			dst := image.Rect(k*f.Width/2, 0, (k+1)*f.Width/2, f.Height/2)
			xdraw.ApproxBiLinear.Scale(sheet, dst, frames[i], frames[i].Bounds(), draw.Src, nil)
		}
		writePNG(t, filepath.Join(dir, "frame-"+name+".png"), first)
		writePNG(t, filepath.Join(dir, "sheet-"+name+".png"), sheet)
		t.Logf("%s: %v, %d frames, %d bytes; frames %v in %s", name, res.Duration, res.Frames, res.Bytes, idx, dir)
	}
	standby := Job{Format: media.Landscape, Idle: true, MinDuration: 3 * time.Second, Caption: "马上回来 / Back in a moment",
		Avatar: testAvatar(), Seed: 7}
	out := filepath.Join(dir, "sample-standby.ts")
	if _, err := r.Render(context.Background(), standby, out); err != nil {
		t.Fatal(err)
	}
	f := standby.Format
	writePNG(t, filepath.Join(dir, "frame-standby.png"), decodeFrames(t, out, f.Width, f.Height, []int{0})[0])
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	w, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(w, img); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}
