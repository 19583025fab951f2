package render

import (
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/media"
)

// benchText is about 20.6 s of espeak-ng en-us speech: a 21.12 s clip.
const benchText = "Welcome to the Evercast live room. Today we are looking at a hand made ceramic tea set, " +
	"fired in small batches by a family workshop. Each cup holds about one hundred and twenty millilitres, " +
	"which is just right for green tea or oolong. The glaze is food safe, and the set comes with a bamboo " +
	"tray and a gift box. Send your questions in the comments."

// BenchmarkRender20s renders a 20 s English clip at 720p: the renderer's
// real work, speech analysis, composing and converting pictures in Go, and
// ffmpeg encoding the piped frames.
//
//	go test ./workers/render -run '^$' -bench 20s -benchtime 3x
func BenchmarkRender20s(b *testing.B) {
	r := testRenderer(b)
	dir := b.TempDir()
	wav := espeak(b, dir, "en-us", benchText)
	job := Job{Format: media.Landscape, AudioPath: wav, Text: benchText, Language: evercast.LangEN,
		Card: testCard, Avatar: testAvatar(), Seed: 1}
	out := filepath.Join(dir, "clip.ts")
	// Warm up as a long-lived worker is: backdrop and placed avatar cached.
	if _, err := r.Render(context.Background(), job, out); err != nil {
		b.Fatal(err)
	}
	var clip time.Duration
	for b.Loop() {
		res, err := r.Render(context.Background(), job, out)
		if err != nil {
			b.Fatal(err)
		}
		clip += res.Duration
	}
	b.ReportMetric(clip.Seconds()/b.Elapsed().Seconds(), "x_realtime")
}

// BenchmarkFloor20s is the floor the renderer is measured against: ffmpeg
// alone encoding a still PNG of the backdrop, looped, with the same WAV,
// codec settings and output format (the same output arguments as Render).
func BenchmarkFloor20s(b *testing.B) {
	r := testRenderer(b)
	dir := b.TempDir()
	wav := espeak(b, dir, "en-us", benchText)
	voice, err := readWAV(wav)
	if err != nil {
		b.Fatal(err)
	}
	dur := clipDuration(voice.duration(), 0)
	lay := newLayout(media.Landscape.Width, media.Landscape.Height)
	bg := filepath.Join(dir, "bg.png")
	f, err := os.Create(bg)
	if err != nil {
		b.Fatal(err)
	}
	if err := png.Encode(f, r.background(media.Landscape, lay)); err != nil {
		b.Fatal(err)
	}
	f.Close()
	out := filepath.Join(dir, "floor.ts")
	job := Job{Format: media.Landscape, AudioPath: wav}
	args := append([]string{"-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
		"-loop", "1", "-framerate", strconv.Itoa(media.FPS), "-t", strconv.FormatFloat(dur.Seconds(), 'f', 2, 64), "-i", "file:" + bg,
		"-i", "file:" + wav}, r.outputArgs(dur, out, label(&job, out))...)
	run := func() {
		if msg, err := exec.Command(r.FFmpeg, args...).CombinedOutput(); err != nil {
			b.Fatalf("ffmpeg: %v\n%s", err, msg)
		}
	}
	run() // warm up, as for the render
	var clip time.Duration
	for b.Loop() {
		run()
		clip += dur
	}
	b.ReportMetric(clip.Seconds()/b.Elapsed().Seconds(), "x_realtime")
}
