package hls

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/evercast/evercast/internal/media"
	"github.com/evercast/evercast/internal/mpegts"
	"github.com/evercast/evercast/internal/mpegts/mpegtstest"
)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

// seg is one Append of a golden scenario.
type seg struct {
	dur  time.Duration
	disc bool
}

func appendAll(t *testing.T, w *Window, segs []seg) {
	t.Helper()
	for i, s := range segs {
		if _, err := w.Append([]byte(fmt.Sprintf("segment %d", i)), s.dur, s.disc); err != nil {
			t.Fatal(err)
		}
	}
}

func TestWindowGolden(t *testing.T) {
	tests := []struct {
		name string
		opts WindowOptions
		run  func(t *testing.T, dir string, opts WindowOptions)
	}{
		{"live", WindowOptions{Size: 3}, func(t *testing.T, dir string, opts WindowOptions) {
			w := newWindow(t, dir, opts)
			appendAll(t, w, []seg{{ms(4000), false}, {ms(3040), true}, {ms(4000), false},
				{ms(480), false}, {ms(3200), true}, {ms(4000), false}})
		}},
		{"vod", WindowOptions{}, func(t *testing.T, dir string, opts WindowOptions) {
			w := newWindow(t, dir, opts)
			appendAll(t, w, []seg{{ms(3200), false}, {ms(4000), false}, {ms(3040), false}, {ms(4000), false}, {ms(480), false}})
			closeWindow(t, w, true)
		}},
		{"live-ended", WindowOptions{Size: 2, Name: "live.m3u8", TargetDuration: 2 * time.Second}, func(t *testing.T, dir string, opts WindowOptions) {
			w := newWindow(t, dir, opts)
			appendAll(t, w, []seg{{ms(2000), false}, {ms(2000), false}, {ms(1040), false}})
			closeWindow(t, w, true)
		}},
		{"resumed", WindowOptions{}, func(t *testing.T, dir string, opts WindowOptions) {
			w := newWindow(t, dir, opts)
			appendAll(t, w, []seg{{ms(3200), false}, {ms(4000), false}})
			closeWindow(t, w, false)
			w = newWindow(t, dir, opts)
			appendAll(t, w, []seg{{ms(4480), false}, {ms(3200), false}})
			closeWindow(t, w, true)
		}},
		{"long segment", WindowOptions{}, func(t *testing.T, dir string, opts WindowOptions) {
			w := newWindow(t, dir, opts)
			appendAll(t, w, []seg{{ms(4000), false}, {ms(6500), false}, {ms(1234), false}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.run(t, dir, tt.opts)
			name := tt.opts.Name
			if name == "" {
				name = DefaultName
			}
			got, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join("testdata", strings.ReplaceAll(tt.name, " ", "-")+".m3u8")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("playlist differs from %s:\n--- got\n%s--- want\n%s", golden, got, want)
			}
		})
	}
}

func newWindow(t *testing.T, dir string, opts WindowOptions) *Window {
	t.Helper()
	w, err := NewWindow(dir, opts)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func closeWindow(t *testing.T, w *Window, endlist bool) {
	t.Helper()
	if err := w.Close(endlist); err != nil {
		t.Fatal(err)
	}
}

// listed returns the media sequence and the segment names of a playlist.
func listed(t *testing.T, path string) (seq int64, names []string) {
	t.Helper()
	seq, names, err := readListed(path)
	if err != nil {
		t.Fatal(err)
	}
	return seq, names
}

func readListed(path string) (seq int64, names []string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, nil, err
	}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "#EXT-X-MEDIA-SEQUENCE:"); ok {
			if seq, err = strconv.ParseInt(v, 10, 64); err != nil {
				return 0, nil, err
			}
		} else if line != "" && !strings.HasPrefix(line, "#") {
			names = append(names, line)
		}
	}
	return seq, names, nil
}

// segFiles returns the segment files in dir.
func segFiles(t *testing.T, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "seg-*.ts"))
	if err != nil {
		t.Fatal(err)
	}
	for i := range m {
		m[i] = filepath.Base(m[i])
	}
	return m
}

func names(from, to int) []string {
	var out []string
	for n := from; n <= to; n++ {
		out = append(out, fmt.Sprintf("seg-%08d.ts", n))
	}
	return out
}

func TestWindowLiveRotation(t *testing.T) {
	const size = 3
	dir := t.TempDir()
	w := newWindow(t, dir, WindowOptions{Size: size})
	for n := 1; n <= 10; n++ {
		name, err := w.Append([]byte{byte(n)}, 4*time.Second, false)
		if err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("seg-%08d.ts", n); name != want {
			t.Fatalf("Append %d named %s, want %s", n, name, want)
		}
		first := max(1, n-size+1)
		seq, got := listed(t, filepath.Join(dir, DefaultName))
		if seq != int64(first) || !slices.Equal(got, names(first, n)) {
			t.Errorf("after %d appends: sequence %d, listed %v; want %d, %v", n, seq, got, first, names(first, n))
		}
		// Files stay Size appends after leaving the playlist.
		if want := names(max(1, n-2*size+1), n); !slices.Equal(segFiles(t, dir), want) {
			t.Errorf("after %d appends: files %v, want %v", n, segFiles(t, dir), want)
		}
	}
	closeWindow(t, w, false)
	if _, err := w.Append([]byte{0}, time.Second, false); !errors.Is(err, ErrClosed) {
		t.Errorf("Append after Close = %v, want ErrClosed", err)
	}
}

func TestWindowResume(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		before   int // segments appended before the restart
		endlist  bool
		wantSeq  int64
		wantList []string
	}{
		{"vod", 0, 3, false, 1, names(1, 5)},
		{"vod after endlist", 0, 3, true, 1, names(1, 5)},
		{"live", 3, 7, false, 7, names(7, 9)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			w := newWindow(t, dir, WindowOptions{Size: tt.size})
			for range tt.before {
				if _, err := w.Append([]byte("x"), 4*time.Second, false); err != nil {
					t.Fatal(err)
				}
			}
			closeWindow(t, w, tt.endlist)
			w = newWindow(t, dir, WindowOptions{Size: tt.size})
			for range 2 {
				if _, err := w.Append([]byte("y"), 4*time.Second, false); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, DefaultName)
			seq, got := listed(t, path)
			if seq != tt.wantSeq || !slices.Equal(got, tt.wantList) {
				t.Errorf("sequence %d, listed %v; want %d, %v", seq, got, tt.wantSeq, tt.wantList)
			}
			b, _ := os.ReadFile(path)
			text := string(b)
			disc := "#EXT-X-DISCONTINUITY\n#EXTINF:4.000,\n" + names(tt.before+1, tt.before+1)[0]
			if !strings.Contains(text, disc) || strings.Count(text, "#EXT-X-DISCONTINUITY\n") != 1 {
				t.Errorf("playlist does not mark exactly the first resumed segment as a discontinuity:\n%s", text)
			}
			if strings.Contains(text, "ENDLIST") || strings.Contains(text, "PLAYLIST-TYPE") {
				t.Errorf("resumed playlist still ends:\n%s", text)
			}
		})
	}
}

func TestWindowConcurrentReaders(t *testing.T) {
	const size = 2
	dir := t.TempDir()
	w := newWindow(t, dir, WindowOptions{Size: size})
	payload := bytes.Repeat([]byte{0x47}, 188*200)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var readErr error
	wg.Go(func() {
		for reads := 0; ; reads++ {
			select {
			case <-stop:
				if reads == 0 {
					readErr = errors.New("reader never ran")
				}
				return
			default:
			}
			b, err := os.ReadFile(filepath.Join(dir, DefaultName))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil || !bytes.HasPrefix(b, []byte("#EXTM3U\n")) || !bytes.HasSuffix(b, []byte(".ts\n")) {
				readErr = fmt.Errorf("read a partial playlist: %q, %v", b, err)
				return
			}
			for line := range strings.Lines(string(b)) {
				line = strings.TrimSpace(line)
				if !strings.HasPrefix(line, "seg-") {
					continue
				}
				s, err := os.ReadFile(filepath.Join(dir, line))
				if errors.Is(err, os.ErrNotExist) {
					// A reader that lags by more than Size segments finds
					// the file deleted; a faster one never does.
					n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(line, "seg-"), ".ts"), 10, 64)
					if seq, _, err := readListed(filepath.Join(dir, DefaultName)); err == nil && seq > n+size {
						continue
					}
				}
				if err != nil || !bytes.Equal(s, payload) {
					readErr = fmt.Errorf("listed segment %s: %d bytes, %v", line, len(s), err)
					return
				}
			}
		}
	})
	for range 200 {
		if _, err := w.Append(payload, 4*time.Second, false); err != nil {
			t.Fatal(err)
		}
	}
	close(stop)
	wg.Wait()
	if readErr != nil {
		t.Fatal(readErr)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, ".*")); len(m) != 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// spliceInto splices fixture clips and appends their segments to w. It
// returns the number of video frames.
func spliceInto(t *testing.T, w *Window, quanta ...int) int {
	t.Helper()
	var s mpegts.Splicer
	frames := 0
	for _, q := range quanta {
		c, err := mpegts.Parse(fixtures.Clip(t, mpegtstest.Spec{Quanta: q}))
		if err != nil {
			t.Fatal(err)
		}
		segs, err := s.Splice(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range segs {
			if _, err := w.Append(g.Data, g.Duration(), false); err != nil {
				t.Fatal(err)
			}
		}
		frames += c.VideoFrames()
	}
	return frames
}

// ffprobe runs ffprobe on a playlist under a timeout: ffmpeg reading a live
// playlist waits for new segments forever.
func ffprobe(t *testing.T, args ...string) string {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Fatalf("ffprobe not found (install it: apt-get install ffmpeg): %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffprobe", args...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("ffprobe %v did not finish: %v", args, ctx.Err())
	}
	if err != nil || stderr.Len() > 0 {
		t.Fatalf("ffprobe %v: %v: %s", args, err, stderr.String())
	}
	return out.String()
}

// probeTimes returns the PTS of the video and audio packets that ffprobe
// reads from a playlist.
func probeTimes(t *testing.T, args ...string) (video, audio []int64) {
	t.Helper()
	args = append([]string{"-v", "error", "-show_entries", "packet=codec_type,pts", "-of", "csv=p=0"}, args...)
	for line := range strings.Lines(ffprobe(t, args...)) {
		f := strings.Split(strings.TrimSpace(line), ",")
		if len(f) < 2 {
			continue
		}
		pts, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			t.Fatalf("ffprobe line %q: %v", line, err)
		}
		switch f[0] {
		case "video":
			video = append(video, pts)
		case "audio":
			audio = append(audio, pts)
		}
	}
	return video, audio
}

func checkSteps(t *testing.T, kind string, pts []int64, step int64) {
	t.Helper()
	for i := 1; i < len(pts); i++ {
		if pts[i]-pts[i-1] != step {
			t.Errorf("%s packet %d: pts %d follows %d, want +%d", kind, i, pts[i], pts[i-1], step)
		}
	}
}

func TestWindowReadBack(t *testing.T) {
	t.Run("vod", func(t *testing.T) {
		dir := t.TempDir()
		w := newWindow(t, dir, WindowOptions{})
		frames := spliceInto(t, w, 10, 22, 14)
		closeWindow(t, w, true)
		video, audio := probeTimes(t, filepath.Join(dir, DefaultName))
		if len(video) != frames || len(audio) != frames*media.FrameTicks/media.AACFrameTicks {
			t.Fatalf("read %d video and %d audio packets, want %d and %d", len(video), len(audio),
				frames, frames*media.FrameTicks/media.AACFrameTicks)
		}
		checkSteps(t, "video", video, media.FrameTicks)
		checkSteps(t, "audio", audio, media.AACFrameTicks)
		if video[0] != mpegts.DefaultStart || audio[0] != mpegts.DefaultStart {
			t.Errorf("stream starts at video %d audio %d, want %d", video[0], audio[0], mpegts.DefaultStart)
		}
		if v, a := video[len(video)-1]+media.FrameTicks, audio[len(audio)-1]+media.AACFrameTicks; v != a {
			t.Errorf("video ends at %d, audio at %d", v, a)
		}
	})
	t.Run("live", func(t *testing.T) {
		dir := t.TempDir()
		w := newWindow(t, dir, WindowOptions{Size: 3})
		spliceInto(t, w, 10, 22, 14)
		// No ENDLIST: read a bounded interval, which ffprobe can finish.
		video, audio := probeTimes(t, "-read_intervals", "%+3", filepath.Join(dir, DefaultName))
		if len(video) < 50 || len(audio) < 90 {
			t.Fatalf("read only %d video and %d audio packets", len(video), len(audio))
		}
		checkSteps(t, "video", video, media.FrameTicks)
		checkSteps(t, "audio", audio, media.AACFrameTicks)
	})
}
