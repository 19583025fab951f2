// Package mpegtstest renders fixture clips with real ffmpeg, encoded exactly
// as Evercast's renderer encodes them, for the tests of the packages that
// join and serve clips.
package mpegtstest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"

	"github.com/evercast/evercast/internal/media"
)

// Spec describes a fixture clip. The zero Spec's variants are off: the clip
// is a valid Evercast clip.
type Spec struct {
	Size   media.Format // picture size; zero means media.Landscape
	Quanta int          // duration in 320 ms quanta; zero means 10 (3.2 s)

	// Silent makes the audio silence (ffmpeg then groups its small AAC
	// frames several to a PES), and Exact conforms the audio to one AAC
	// frame less than the clip so that, with the encoder's priming frame,
	// the clip holds exactly its length in audio frames (as the renderer
	// makes them).
	Silent bool
	Exact  bool

	// Invalid variants.
	BFrames      bool // encode with B-frames (PTS != DTS)
	GroupedAudio bool // leave ffmpeg's default PES payload size: several AAC frames per PES
	NoAudio      bool // no audio stream
}

func (s Spec) norm() Spec {
	if s.Size == (media.Format{}) {
		s.Size = media.Landscape
	}
	if s.Quanta == 0 {
		s.Quanta = 10
	}
	return s
}

// Name returns a file name that identifies s.
func (s Spec) Name() string {
	s = s.norm()
	n := fmt.Sprintf("%dx%d-%d", s.Size.Width, s.Size.Height, s.Quanta)
	if s.BFrames {
		n += "-bframes"
	}
	if s.GroupedAudio {
		n += "-grouped"
	}
	if s.NoAudio {
		n += "-noaudio"
	}
	if s.Silent {
		n += "-silent"
	}
	if s.Exact {
		n += "-exact"
	}
	return n + ".ts"
}

// Args returns ffmpeg's arguments that render s to out: a test picture and a
// 440 Hz tone, padded to the exact duration, encoded with the media package's
// settings.
func Args(s Spec, out string) []string {
	s = s.norm()
	dur := strconv.FormatFloat(float64(s.Quanta)*media.Quantum.Seconds(), 'f', 2, 64)
	n := s.Quanta * media.QuantumSamples
	if s.Exact {
		n -= media.AACFrame
	}
	samples := strconv.Itoa(n)
	source := fmt.Sprintf("sine=f=440:r=%d:d=%s", media.SampleRate, dur)
	if s.Silent {
		source = fmt.Sprintf("anullsrc=r=%d:cl=stereo:d=%s", media.SampleRate, dur)
	}
	args := []string{"-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=s=%dx%d:r=%d:d=%s", s.Size.Width, s.Size.Height, media.FPS, dur),
	}
	if !s.NoAudio {
		args = append(args,
			"-f", "lavfi", "-i", source,
			"-filter_complex", "[1:a]aformat=sample_rates=48000:channel_layouts=stereo,apad=whole_len="+samples+
				",atrim=end_sample="+samples+"[a]",
			"-map", "0:v", "-map", "[a]")
	}
	bf := "0"
	if s.BFrames {
		bf = "2"
	}
	args = append(args,
		"-c:v", "libx264", "-preset", media.X264Preset, "-profile:v", media.X264Profile,
		"-bf", bf, "-g", strconv.Itoa(media.GOPFrames), "-keyint_min", strconv.Itoa(media.GOPFrames),
		"-sc_threshold", "0", "-pix_fmt", "yuv420p",
		"-b:v", media.VideoBitrate, "-maxrate", media.VideoMaxrate, "-bufsize", media.VideoBufsize)
	if !s.NoAudio {
		args = append(args, "-c:a", "aac", "-b:a", media.AudioBitrate,
			"-ar", strconv.Itoa(media.SampleRate), "-ac", strconv.Itoa(media.Channels))
	}
	args = append(args, "-f", "mpegts")
	if !s.GroupedAudio {
		args = append(args, "-pes_payload_size", "0")
	}
	return append(args, out)
}

// Render runs ffmpeg to render s to the file out.
func Render(ctx context.Context, s Spec, out string) error {
	if _, err := exec.LookPath("ffmpeg"); err != nil {
		return fmt.Errorf("ffmpeg not found (install it: apt-get install ffmpeg): %w", err)
	}
	msg, err := exec.CommandContext(ctx, "ffmpeg", Args(s, out)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("render %s: %w: %s", s.Name(), err, msg)
	}
	return nil
}

// Cache renders each Spec once into Dir and hands out its bytes. It is safe
// for concurrent use.
type Cache struct {
	Dir string

	mu    sync.Mutex
	files map[Spec]*entry
}

type entry struct {
	once sync.Once
	data []byte
	err  error
}

// Clip returns the bytes of the clip s, rendering it on first use; it fails
// tb when ffmpeg fails. Callers must not modify the bytes.
func (c *Cache) Clip(tb testing.TB, s Spec) []byte {
	tb.Helper()
	b, err := c.Get(context.Background(), s)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// Path returns the file of the clip s, rendering it on first use.
func (c *Cache) Path(tb testing.TB, s Spec) string {
	tb.Helper()
	c.Clip(tb, s)
	return filepath.Join(c.Dir, s.norm().Name())
}

// Get returns the bytes of the clip s, rendering it on first use.
func (c *Cache) Get(ctx context.Context, s Spec) ([]byte, error) {
	s = s.norm()
	if c.Dir == "" {
		return nil, errors.New("mpegtstest: Cache.Dir is empty")
	}
	c.mu.Lock()
	if c.files == nil {
		c.files = make(map[Spec]*entry)
	}
	e, ok := c.files[s]
	if !ok {
		e = &entry{}
		c.files[s] = e
	}
	c.mu.Unlock()
	e.once.Do(func() {
		out := filepath.Join(c.Dir, s.Name())
		if e.err = Render(ctx, s, out); e.err == nil {
			e.data, e.err = os.ReadFile(out)
		}
	})
	return e.data, e.err
}
