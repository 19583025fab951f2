package render

import (
	"context"
	"errors"
	"image"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/aigc"
	"github.com/evercast/evercast/internal/media"
)

const (
	zhText = "欢迎来到直播间。今天给大家介绍一款手工陶瓷茶具，每个杯子容量一百二十毫升，适合泡绿茶。"
	enText = "Welcome to the live room. Today we look at a hand made ceramic tea set, fired in small batches by a family workshop."
)

var testCard = &Card{Title: "手工陶瓷茶具 Ceramic Tea Set", Price: "¥129.9", Badge: "限时优惠 / Promo"}

func TestRender(t *testing.T) {
	r := testRenderer(t)
	dir := t.TempDir()
	zh := espeak(t, dir, "cmn-latn-pinyin", zhText)
	en := espeak(t, dir, "en-us", enText)
	avatar := testAvatar()
	tests := []struct {
		name string
		job  Job
	}{
		{"zh landscape", Job{Format: media.Landscape, AudioPath: zh, Text: zhText, Language: evercast.LangZH, Card: testCard, Avatar: avatar, Seed: 1}},
		{"zh portrait", Job{Format: media.Portrait, AudioPath: zh, Text: zhText, Language: evercast.LangZH, Card: testCard, Avatar: avatar, Seed: 2}},
		{"en landscape", Job{Format: media.Landscape, AudioPath: en, Text: enText, Language: evercast.LangEN,
			Card: &Card{Title: "Ceramic Tea Set, six cups and a bamboo tray", Price: "¥99"}, Avatar: avatar, Seed: 3,
			AIGC: aigc.Label{Provider: "Example Tea Co.", ContentID: "clip-en-1"}}},
		{"en portrait", Job{Format: media.Portrait, AudioPath: en, Text: enText, Language: evercast.LangEN, Avatar: avatar, Seed: 4}},
		{"standby", Job{Format: media.Landscape, Idle: true, MinDuration: 5 * time.Second, Caption: "马上回来 / Back in a moment",
			Card: testCard, Avatar: avatar, Seed: 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".ts")
			res, err := r.Render(context.Background(), tt.job, out)
			if err != nil {
				t.Fatal(err)
			}
			checkResult(t, tt.job, res)
			checkStreams(t, out, tt.job, res)
			checkLabel(t, out, tt.job)
			checkPictures(t, r, out, tt.job, res)
		})
	}
}

func checkResult(t *testing.T, job Job, res Result) {
	t.Helper()
	if res.Duration%media.Quantum != 0 || res.Duration < MinClipDuration {
		t.Errorf("duration %v is not a whole multiple of 320 ms of at least 1.28 s", res.Duration)
	}
	if res.Frames != int(res.Duration/(40*time.Millisecond)) || res.Samples != int(res.Duration/time.Millisecond)*48 {
		t.Errorf("result %+v: frames or samples do not match the duration", res)
	}
	if job.Idle {
		if want := media.Quantize(job.MinDuration); res.Duration != want {
			t.Errorf("standby duration %v, want %v", res.Duration, want)
		}
		return
	}
	voice, err := readWAV(job.AudioPath)
	if err != nil {
		t.Fatal(err)
	}
	speech := voice.duration()
	if res.Duration < speech+Tail || res.Duration >= speech+Tail+media.Quantum {
		t.Errorf("duration %v for %v of speech: want the speech, a %v tail, rounded up to 320 ms", res.Duration, speech, Tail)
	}
}

func checkStreams(t *testing.T, path string, job Job, res Result) {
	t.Helper()
	info := probe(t, path, "-count_frames", "-count_packets", "-show_streams", "-show_programs")
	streams := info["streams"].([]any)
	if len(streams) != 2 {
		t.Fatalf("%d streams, want video and audio", len(streams))
	}
	for _, s := range streams {
		s := s.(map[string]any)
		switch s["codec_type"] {
		case "video":
			want := map[string]any{"codec_name": "h264", "profile": "High", "pix_fmt": "yuv420p",
				"r_frame_rate": "25/1", "has_b_frames": 0.0, "color_space": "smpte170m", "color_range": "tv",
				"width": float64(job.Format.Width), "height": float64(job.Format.Height)}
			for k, v := range want {
				if s[k] != v {
					t.Errorf("video %s = %v, want %v", k, s[k], v)
				}
			}
			if n := int(num(s["nb_read_frames"])); n != res.Frames || n%media.QuantumFrames != 0 {
				t.Errorf("decoded %d video frames, want %d (a whole number of 320 ms)", n, res.Frames)
			}
			// A demuxer sees one packet per frame, each with its timestamp
			// (a misplaced SEI makes parsers split frames).
			if n := int(num(s["nb_read_packets"])); n != res.Frames {
				t.Errorf("%d video packets for %d frames", n, res.Frames)
			}
		case "audio":
			want := map[string]any{"codec_name": "aac", "profile": "LC", "sample_rate": "48000", "channels": 2.0, "channel_layout": "stereo"}
			for k, v := range want {
				if s[k] != v {
					t.Errorf("audio %s = %v, want %v", k, s[k], v)
				}
			}
			// One AAC frame per packet, plus the encoder's priming frame.
			if n := int(num(s["nb_read_packets"])); n != res.Samples/media.AACFrame {
				t.Errorf("%d audio packets, want %d (%d samples / 1024: the priming frame plus the conformed audio)", n, res.Samples/media.AACFrame, res.Samples)
			}
		}
	}
	progs := info["programs"].([]any)
	if len(progs) != 1 {
		t.Fatalf("%d programs", len(progs))
	}
	tags := progs[0].(map[string]any)["tags"].(map[string]any)
	if !strings.HasPrefix(tags["service_name"].(string), "AIGC Label=1") || tags["service_provider"] == "" {
		t.Errorf("service metadata %v lacks the AIGC label", tags)
	}

	pk := probe(t, path, "-select_streams", "v:0", "-show_entries", "packet=flags,pts")
	var keys []int
	for i, p := range pk["packets"].([]any) {
		if _, ok := p.(map[string]any)["pts"]; !ok {
			t.Fatalf("video packet %d has no timestamp: a frame was split (misplaced SEI?)", i)
		}
		if strings.Contains(p.(map[string]any)["flags"].(string), "K") {
			keys = append(keys, i)
		}
	}
	if len(keys) == 0 || keys[0] != 0 {
		t.Fatalf("keyframes at %v: the first frame must be one", keys)
	}
	for i, k := range keys {
		if k != i*media.GOPFrames {
			t.Fatalf("keyframes at %v, want every %d frames", keys, media.GOPFrames)
		}
	}
	if want := (res.Frames + media.GOPFrames - 1) / media.GOPFrames; len(keys) != want {
		t.Errorf("%d keyframes, want %d", len(keys), want)
	}
}

func checkLabel(t *testing.T, path string, job Job) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := aigc.Read(f)
	if err != nil {
		t.Fatalf("aigc.Read: %v", err)
	}
	want := label(&job, path)
	if want.Provider == "" {
		want.Provider = want.Producer
	}
	if got != want || !got.AIGenerated || got.Producer != "Evercast" || got.ContentID == "" {
		t.Errorf("hidden label %+v, want %+v", got, want)
	}
}

// checkPictures decodes frames of the clip and compares them with the
// pictures composed in Go: the label on the first, middle and last frames,
// the subtitles, the mouth following the voice and the eyes blinking.
func checkPictures(t *testing.T, r *Renderer, path string, job Job, res Result) {
	t.Helper()
	var voice *pcm
	if !job.Idle {
		var err error
		if voice, err = readWAV(job.AudioPath); err != nil {
			t.Fatal(err)
		}
	}
	sc, states := r.prepare(&job, voice, res.Frames)
	last := len(states) - 1
	mid := last / 2
	// A loud and a silent frame on the same page with open eyes, and a blink.
	loud, silent, blink := -1, -1, -1
	top := len(job.Avatar.Mouths) - 1
	for i, st := range states {
		if st.mouth == top && !st.closed && loud < 0 {
			loud = i
		}
		if st.closed && blink < 0 {
			blink = i
		}
	}
	if loud >= 0 {
		for i, st := range states {
			if st.mouth == 0 && !st.closed && st.page == states[loud].page {
				silent = i
				break
			}
		}
	}
	if blink < 0 {
		t.Fatalf("no frame with the eyes closed in %d frames", len(states))
	}
	if job.Idle {
		for i, st := range states {
			if st.mouth != 0 {
				t.Fatalf("standby frame %d has mouth %d, want closed", i, st.mouth)
			}
		}
	} else if loud < 0 || silent < 0 {
		t.Fatalf("no loud (%d) and silent (%d) frames on one page: mouth does not follow the voice", loud, silent)
	}
	idx := []int{0, mid, last, blink}
	if loud >= 0 {
		idx = append(idx, loud, silent)
	}
	dec := decodeFrames(t, path, job.Format.Width, job.Format.Height, idx)

	lay := newLayout(job.Format.Width, job.Format.Height)
	labelR := labelRect(r.font, lay)
	noLabel := *sc
	noLabel.label = image.NewRGBA(image.Rectangle{})
	noSubs := *sc
	noSubs.pages = nil
	noSubs.work = image.NewRGBA(sc.work.Rect)
	noLabel.work = image.NewRGBA(sc.work.Rect)
	for _, i := range []int{0, mid, last} {
		want := sc.picture(states[i])
		if d := mae(dec[i], want, dec[i].Bounds()); d > 4 {
			t.Errorf("frame %d (%s) differs from the composed picture by %.1f on average", i, describe(states[i]), d)
		}
		if d := mae(dec[i], want, labelR); d > 6 {
			t.Errorf("frame %d: label region differs from the composed label by %.1f", i, d)
		}
		if d := mae(dec[i], noLabel.picture(states[i]), labelR); d < 40 {
			t.Errorf("frame %d: label region is close (%.1f) to a picture without the label", i, d)
		}
		if states[i].page >= 0 {
			bare := noSubs.picture(states[i])
			r := diffRect(want, bare, sc.subRect)
			if r.Empty() {
				t.Fatalf("frame %d: page %d draws nothing", i, states[i].page)
			}
			if dw, db := mae(dec[i], want, r), mae(dec[i], bare, r); dw > 6 || db < 15 {
				t.Errorf("frame %d: subtitle box %v is %.1f from the composed subtitles and %.1f from none", i, r, dw, db)
			}
		}
	}
	// The region where two states' pictures differ, and whether the decoded
	// frame is nearer the first.
	nearer := func(i int, a, b state) (image.Rectangle, float64, float64) {
		pa, pb := sc.picture(a), sc.picture(b)
		r := diffRect(pa, pb, sc.av.faceRect)
		return r, mae(dec[i], pa, r), mae(dec[i], pb, r)
	}
	open := states[blink]
	open.closed = false
	if r, dc, do := nearer(blink, states[blink], open); r.Empty() || dc*3 > do {
		t.Errorf("blink frame %d: eyes region %v is %.1f from closed eyes and %.1f from open ones", blink, r, dc, do)
	}
	if loud >= 0 {
		r, dl, ds := nearer(loud, states[loud], states[silent])
		if r.Empty() || dl*3 > ds {
			t.Errorf("loud frame %d: mouth region %v is %.1f from the open mouth and %.1f from the closed one", loud, r, dl, ds)
		}
		if d := mae(dec[loud], dec[silent], r); d < 15 {
			t.Errorf("mouth region differs by only %.1f between loud frame %d and silent frame %d", d, loud, silent)
		}
	}
}

// diffRect bounds the pixels where a and b differ inside r.
func diffRect(a, b *image.RGBA, r image.Rectangle) image.Rectangle {
	var out image.Rectangle
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			i := a.PixOffset(x, y)
			if a.Pix[i] != b.Pix[i] || a.Pix[i+1] != b.Pix[i+1] || a.Pix[i+2] != b.Pix[i+2] {
				out = out.Union(image.Rect(x, y, x+1, y+1))
			}
		}
	}
	return out
}

func TestRenderBadInput(t *testing.T) {
	r := testRenderer(t)
	dir := t.TempDir()
	en := espeak(t, dir, "en-us", "A short line.")
	good, err := os.ReadFile(en)
	if err != nil {
		t.Fatal(err)
	}
	truncated := filepath.Join(dir, "truncated.wav")
	writeFile(t, truncated, good[:len(good)/2])
	notWAV := filepath.Join(dir, "text.wav")
	writeFile(t, notWAV, []byte("this is not audio at all"))
	headerOnly := filepath.Join(dir, "header.wav")
	writeFile(t, headerOnly, good[:30])
	base := Job{Format: media.Landscape, Text: "x", Avatar: testAvatar()}
	with := func(f func(*Job)) Job { j := base; f(&j); return j }
	tests := []struct {
		name string
		job  Job
		want error
	}{
		{"truncated wav", with(func(j *Job) { j.AudioPath = truncated }), ErrBadWAV},
		{"not a wav", with(func(j *Job) { j.AudioPath = notWAV }), ErrBadWAV},
		{"header only", with(func(j *Job) { j.AudioPath = headerOnly }), ErrBadWAV},
		{"missing wav", with(func(j *Job) { j.AudioPath = filepath.Join(dir, "nope.wav") }), fs.ErrNotExist},
		{"no avatar", with(func(j *Job) { j.AudioPath = en; j.Avatar = nil }), ErrInvalidJob},
		{"two mouths", with(func(j *Job) { j.AudioPath = en; a := *testAvatar(); a.Mouths = a.Mouths[:2]; j.Avatar = &a }), ErrInvalidJob},
		{"odd size", with(func(j *Job) { j.AudioPath = en; j.Format = media.Format{Width: 1279, Height: 720} }), ErrInvalidJob},
		{"bad language", with(func(j *Job) { j.AudioPath = en; j.Language = "fr" }), ErrInvalidJob},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".ts")
			_, err := r.Render(context.Background(), tt.job, out)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("output file left behind after a failure (%v)", err)
			}
		})
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".*.part"))
	if len(leftovers) > 0 {
		t.Errorf("temporary files left: %v", leftovers)
	}
}

func TestRenderFFmpegFailure(t *testing.T) {
	dir := t.TempDir()
	en := espeak(t, dir, "en-us", "A short line.")
	bad, err := New(Options{Preset: "no-such-preset"})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "x.ts")
	_, err = bad.Render(context.Background(), Job{Format: media.Landscape, AudioPath: en, Avatar: testAvatar()}, out)
	if !errors.Is(err, ErrFFmpeg) || !strings.Contains(err.Error(), "no-such-preset") {
		t.Fatalf("err = %v, want ErrFFmpeg naming the bad preset from ffmpeg's stderr", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("output file left behind")
	}
}

func TestRenderCancel(t *testing.T) {
	r := testRenderer(t)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	out := filepath.Join(dir, "long.ts")
	go func() {
		_, err := r.Render(ctx, Job{Format: media.Landscape, Idle: true, MinDuration: 5 * time.Minute, Avatar: testAvatar()}, out)
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Render did not return after cancel")
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("output file left behind after cancel")
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"missing font", Options{FontPath: "/nonexistent/wqy-microhei.ttc"}, "apt-get install fonts-wqy-microhei"},
		{"not a font", Options{FontPath: "/etc/hostname"}, "not a TrueType"},
		{"missing ffmpeg", Options{FFmpeg: "ffmpeg-that-is-not-installed"}, "apt-get install ffmpeg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}
