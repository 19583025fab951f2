// Package render is Evercast's built-in 2D avatar renderer: it turns a
// voiced script (a WAV file) into one MPEG-TS clip of the avatar speaking
// it, with the product card, subtitles and the visible "AI生成 /
// AI-generated" label, and the hidden AIGC label of package aigc.
//
// Every clip has the same codec parameters (see internal/media), so that
// the playout can splice clips with -c copy: H.264 High yuv420p at 25 fps
// without B-frames, a keyframe at frame 0 and every 50 frames, AAC-LC
// 48 kHz stereo, in MPEG-TS with one AAC frame per PES packet. A clip lasts
// a whole multiple of 320 ms: exactly D×25 video frames and D×48000 audio
// samples.
//
// Speed comes from doing the picture work once. The renderer composes the
// picture in Go and converts it to I420 once per distinct picture state
// (subtitle page × mouth × eyes); it then pipes the raw frames to ffmpeg,
// which only encodes. A 20 s 720p clip renders several times faster than
// real time on two cores (see BenchmarkRender20s).
package render

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/maphash"
	"image"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/image/font/opentype"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/aigc"
	"github.com/evercast/evercast/internal/media"
)

// Limits and defaults.
const (
	// MinClipDuration is the shortest clip.
	MinClipDuration = 4 * media.Quantum // 1.28 s
	// MaxClipDuration is the longest clip Render makes.
	MaxClipDuration = 10 * time.Minute
	// Tail is the silence kept after the speech before the clip ends.
	Tail = 250 * time.Millisecond
	// DefaultAACCoder is ffmpeg's fast AAC coder: about twice as fast as its
	// default ("twoloop"), transparent enough for speech at 128 kbit/s.
	DefaultAACCoder = "fast"
)

// Errors. Render's errors wrap one of these, ErrBadWAV, or the error of the
// tool that failed.
var (
	// ErrInvalidJob means the job cannot be rendered as given.
	ErrInvalidJob = errors.New("render: invalid job")
	// ErrFFmpeg means ffmpeg failed; the error text carries its stderr.
	ErrFFmpeg = errors.New("render: ffmpeg failed")
)

// Options configure a Renderer. The zero value works on a machine with
// ffmpeg and fonts-wqy-microhei installed.
type Options struct {
	// FFmpeg is the ffmpeg binary: a path or a name looked up in PATH.
	// Default "ffmpeg".
	FFmpeg string
	// FontPath is the CJK font (TrueType, OpenType or a .ttc collection, of
	// which the first font is used). Default DefaultFontPath.
	FontPath string
	// Preset is the x264 preset. Default media.X264Preset ("veryfast").
	// Every clip of a stream must use the same one.
	Preset string
	// AACCoder is ffmpeg's AAC coder ("fast" or "twoloop"). Default
	// DefaultAACCoder.
	AACCoder string
	// Log receives a line per clip. Default: discard.
	Log *slog.Logger
}

// Renderer renders clips. It is safe for concurrent use; its fields are
// read-only after New.
type Renderer struct {
	FFmpeg   string
	FontPath string
	Preset   string
	AACCoder string
	Log      *slog.Logger

	font *opentype.Font

	seed        maphash.Seed
	mu          sync.Mutex
	backgrounds map[media.Format]*image.RGBA
	avatars     map[avatarKey]*placed
}

// avatarKey identifies a placed avatar: the avatar's content and the frame
// size.
type avatarKey struct {
	sum  uint64
	w, h int
}

// maxAvatars bounds the placed avatars a Renderer keeps.
const maxAvatars = 16

// New checks that ffmpeg is there and loads the font. Its errors name the
// missing tool or font and how to install it.
func New(opts Options) (*Renderer, error) {
	r := &Renderer{
		FFmpeg:      opts.FFmpeg,
		FontPath:    opts.FontPath,
		Preset:      opts.Preset,
		AACCoder:    opts.AACCoder,
		Log:         opts.Log,
		seed:        maphash.MakeSeed(),
		backgrounds: map[media.Format]*image.RGBA{},
		avatars:     map[avatarKey]*placed{},
	}
	if r.FFmpeg == "" {
		r.FFmpeg = "ffmpeg"
	}
	if r.FontPath == "" {
		r.FontPath = DefaultFontPath
	}
	if r.Preset == "" {
		r.Preset = media.X264Preset
	}
	if r.AACCoder == "" {
		r.AACCoder = DefaultAACCoder
	}
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	path, err := exec.LookPath(r.FFmpeg)
	if err != nil {
		return nil, fmt.Errorf("render: %s not found (install it with `apt-get install ffmpeg`, or set FFmpeg): %w", r.FFmpeg, err)
	}
	r.FFmpeg = path
	if r.font, err = loadFont(r.FontPath); err != nil {
		return nil, err
	}
	return r, nil
}

// Job is one clip to render.
type Job struct {
	// Format is the picture size: media.Landscape or media.Portrait (any
	// even size works; wider than tall gets the landscape layout).
	Format media.Format
	// AudioPath is the voice: a WAV file of 16-bit PCM, mono or stereo, any
	// sample rate. Ignored when Idle.
	AudioPath string
	// Text is what the voice says, shown as subtitles.
	Text string
	// Language is the language of Text (optional).
	Language evercast.Language
	// Card is the product shown beside the avatar, or nil.
	Card *Card
	// Avatar is the presenter.
	Avatar *Avatar
	// Background runs the encoder at a lower CPU priority (nice 10), so
	// that urgent renders (live replies) on the same machine go first.
	Background bool
	// Seed drives the blinking, so a clip renders the same every time.
	Seed int64
	// Idle makes a standby clip: silence, mouth closed, blinking, Caption
	// instead of subtitles.
	Idle bool
	// MinDuration is the shortest the clip may be (the length of a standby
	// clip); it is rounded up to whole 320 ms.
	MinDuration time.Duration
	// Caption is shown on a standby clip, for example "马上回来 / Back in a
	// moment".
	Caption string
	// AIGC is the hidden label. Render always marks the clip AI-generated,
	// defaults Producer to "Evercast" and ContentID to the output file's
	// name without extension.
	AIGC aigc.Label
}

// Card is a product card.
type Card struct {
	Title string
	// Price is the offer price as displayed, for example "¥99" or "¥129.9".
	// There is deliberately no "original price": a struck-through reference
	// price is a legal claim that the catalogue cannot prove here.
	Price string
	// Badge is an optional tag, for example "限时优惠 / Promo".
	Badge string
}

// Avatar is a 2D presenter: a body image and patches that replace parts of
// it. Patches are pasted (replacing pixels, alpha included) over Body with
// their top-left corner at MouthPos or EyesPos, in Body's coordinates.
type Avatar struct {
	Body *image.NRGBA
	// Mouths run from closed to wide open; at least 3.
	Mouths     []*image.NRGBA
	MouthPos   image.Point
	EyesOpen   *image.NRGBA
	EyesClosed *image.NRGBA
	EyesPos    image.Point
}

func (a *Avatar) mouthRect(i int) image.Rectangle {
	return image.Rectangle{Min: a.MouthPos, Max: a.MouthPos.Add(a.Mouths[i].Bounds().Size())}.Add(a.Body.Bounds().Min)
}

func (a *Avatar) eyesRect() image.Rectangle {
	return image.Rectangle{Min: a.EyesPos, Max: a.EyesPos.Add(a.EyesOpen.Bounds().Size())}.Add(a.Body.Bounds().Min)
}

func (a *Avatar) validate() error {
	switch {
	case a == nil:
		return fmt.Errorf("%w: no avatar", ErrInvalidJob)
	case a.Body == nil || a.Body.Bounds().Empty():
		return fmt.Errorf("%w: avatar has no body image", ErrInvalidJob)
	case len(a.Mouths) < 3:
		return fmt.Errorf("%w: avatar has %d mouth patches, want at least 3", ErrInvalidJob, len(a.Mouths))
	case a.EyesOpen == nil || a.EyesClosed == nil:
		return fmt.Errorf("%w: avatar lacks an eyes patch", ErrInvalidJob)
	case a.EyesOpen.Bounds().Size() != a.EyesClosed.Bounds().Size():
		return fmt.Errorf("%w: open and closed eyes patches differ in size", ErrInvalidJob)
	}
	for i, m := range a.Mouths {
		if m == nil || m.Bounds().Empty() {
			return fmt.Errorf("%w: avatar mouth patch %d is empty", ErrInvalidJob, i)
		}
		if !a.mouthRect(i).In(a.Body.Bounds()) {
			return fmt.Errorf("%w: avatar mouth patch %d lies outside the body", ErrInvalidJob, i)
		}
	}
	if !a.eyesRect().In(a.Body.Bounds()) {
		return fmt.Errorf("%w: avatar eyes patch lies outside the body", ErrInvalidJob)
	}
	return nil
}

// Result describes a rendered clip.
type Result struct {
	// Breaks are the 320 ms quanta at whose start the voice pauses (a
	// comma, between sentences): where a live reply may cut in.
	Breaks   []int
	Duration time.Duration // a whole multiple of 320 ms
	Frames   int           // video frames: Duration × 25
	Samples  int           // audio samples per channel: Duration × 48000
	Bytes    int64         // size of the file
}

func (j *Job) validate() error {
	f := j.Format
	switch {
	case f.Width < 320 || f.Height < 320 || f.Width > 3840 || f.Height > 3840 || f.Width%2 != 0 || f.Height%2 != 0:
		return fmt.Errorf("%w: picture size %dx%d (want even sizes from 320 to 3840)", ErrInvalidJob, f.Width, f.Height)
	case j.Language != "" && !j.Language.Valid():
		return fmt.Errorf("%w: language %q", ErrInvalidJob, j.Language)
	case !j.Idle && j.AudioPath == "":
		return fmt.Errorf("%w: no audio path", ErrInvalidJob)
	case j.MinDuration > MaxClipDuration:
		return fmt.Errorf("%w: minimum duration %v is over %v", ErrInvalidJob, j.MinDuration, MaxClipDuration)
	}
	return j.Avatar.validate()
}

// clipDuration is the clip length for speech of length speech (0 when
// idle): speech plus Tail, rounded up to whole 320 ms, at least
// MinClipDuration and minDur (rounded up likewise).
func clipDuration(speech, minDur time.Duration) time.Duration {
	return max(media.Quantize(speech+Tail), MinClipDuration, media.Quantize(minDur))
}

// Render renders job into outPath (an MPEG-TS file, replaced atomically:
// no partial file is left at outPath on failure). It returns ErrInvalidJob
// for a job it cannot render, ErrBadWAV for a voice that is not a 16-bit
// PCM WAV (the os error, such as fs.ErrNotExist, for one it cannot read),
// ErrFFmpeg (with ffmpeg's stderr) when the encode fails, and ctx.Err()
// when cancelled.
func (r *Renderer) Render(ctx context.Context, job Job, outPath string) (Result, error) {
	start := time.Now()
	if err := job.validate(); err != nil {
		return Result{}, err
	}
	var voice *pcm
	var speech time.Duration
	if !job.Idle {
		var err error
		if voice, err = readWAV(job.AudioPath); err != nil {
			return Result{}, fmt.Errorf("render: voice %s: %w", job.AudioPath, err)
		}
		speech = voice.duration()
	}
	dur := clipDuration(speech, job.MinDuration)
	if dur > MaxClipDuration {
		return Result{}, fmt.Errorf("%w: clip of %v is over %v", ErrInvalidJob, dur, MaxClipDuration)
	}
	res := Result{Duration: dur, Frames: frameCount(dur), Samples: sampleCount(dur)}

	dir := filepath.Dir(outPath)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(outPath)+".*.part")
	if err != nil {
		return Result{}, fmt.Errorf("render: %w", err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath) // after a successful rename this fails harmlessly

	// ffmpeg starts up (loads, opens the voice) while the pictures are
	// prepared.
	var (
		states   []state
		prepared time.Duration
	)
	args := r.args(&job, tmpPath, dur, label(&job, outPath))
	nice := 0
	if job.Background {
		nice = 10
	}
	err = r.encode(ctx, args, nice, func(w io.Writer) error {
		var sc *scene
		sc, states = r.prepare(&job, voice, res.Frames)
		prepared = time.Since(start)
		return writeFrames(ctx, w, sc, states)
	})
	if err != nil {
		return Result{}, err
	}
	st, err := os.Stat(tmpPath)
	if err != nil {
		return Result{}, fmt.Errorf("render: %w", err)
	}
	if err := os.Rename(tmpPath, outPath); err != nil {
		return Result{}, fmt.Errorf("render: %w", err)
	}
	res.Bytes = st.Size()
	if voice != nil {
		res.Breaks = pauseBreaks(frameRMS(voice, res.Frames))
	}
	took := time.Since(start)
	r.Log.Info("clip rendered", "out", outPath, "duration", dur, "frames", res.Frames,
		"pictures", countStates(states), "prepare", prepared.Round(time.Millisecond),
		"took", took.Round(time.Millisecond), "x_realtime", float64(dur)/float64(took))
	return res, nil
}

// prepare builds the scene and the state of every frame.
func (r *Renderer) prepare(job *Job, voice *pcm, frames int) (*scene, []state) {
	lay := newLayout(job.Format.Width, job.Format.Height)
	bg := r.background(job.Format, lay)
	in := &sceneInput{
		bg:     bg,
		font:   r.font,
		avatar: r.placeAvatar(job.Avatar, lay, bg),
		card:   job.Card,
		text:   job.Text,
		idle:   job.Idle,
		lay:    lay,
	}
	if job.Idle {
		in.text = job.Caption
	}
	sc := newScene(in)

	states := make([]state, frames)
	eyes := blinks(job.Seed, frames)
	var mouths, pages []int
	if job.Idle {
		mouths = make([]int, frames)
		pages = make([]int, frames)
		if len(sc.pages) == 0 {
			for i := range pages {
				pages[i] = -1
			}
		}
	} else {
		rms := frameRMS(voice, frames)
		mouths = mouthLevels(rms, len(job.Avatar.Mouths))
		weights := make([]int, len(sc.pages))
		for i, p := range sc.pages {
			weights[i] = weight(p)
		}
		from, to := speechSpan(rms)
		pages = pageFrames(weights, from, to, frames)
	}
	for i := range states {
		states[i] = state{page: pages[i], mouth: mouths[i], closed: eyes[i]}
	}
	return sc, states
}

// background returns the backdrop for a format, made once per Renderer.
func (r *Renderer) background(f media.Format, lay layout) *image.RGBA {
	r.mu.Lock()
	defer r.mu.Unlock()
	if bg, ok := r.backgrounds[f]; ok {
		return bg
	}
	bg := background(f.Width, f.Height, lay.focus)
	r.backgrounds[f] = bg
	return bg
}

// placeAvatar returns the avatar scaled and placed for the layout. Scaling
// is the costliest part of preparing a clip, and a worker renders clip
// after clip with the same avatar, so the result is kept, keyed by the
// avatar's pixels (not its pointer: a caller may reuse or change images).
func (r *Renderer) placeAvatar(a *Avatar, lay layout, bg *image.RGBA) *placed {
	var h maphash.Hash
	h.SetSeed(r.seed)
	img := func(m *image.NRGBA) {
		fmt.Fprint(&h, m.Rect, m.Stride)
		h.Write(m.Pix)
	}
	img(a.Body)
	for _, m := range a.Mouths {
		img(m)
	}
	img(a.EyesOpen)
	img(a.EyesClosed)
	fmt.Fprint(&h, a.MouthPos, a.EyesPos)
	key := avatarKey{sum: h.Sum64(), w: lay.w, h: lay.h}
	r.mu.Lock()
	p, ok := r.avatars[key]
	r.mu.Unlock()
	if ok {
		return p
	}
	p = placeAvatar(a, lay, bg)
	r.mu.Lock()
	if len(r.avatars) >= maxAvatars {
		clear(r.avatars)
	}
	r.avatars[key] = p
	r.mu.Unlock()
	return p
}

// encode runs ffmpeg with args and feeds its stdin with frames, run on
// another goroutine; it returns when both are done.
func (r *Renderer) encode(ctx context.Context, args []string, nice int, frames func(io.Writer) error) error {
	cmd := exec.CommandContext(ctx, r.FFmpeg, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
	cmd.WaitDelay = 5 * time.Second
	stderr := &tailBuffer{max: 16 << 10}
	cmd.Stderr = stderr
	pr, pw, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	growPipe(pw)
	cmd.Stdin = pr
	err = cmd.Start()
	pr.Close()
	if err != nil {
		pw.Close()
		return fmt.Errorf("render: start ffmpeg: %w", err)
	}
	if nice != 0 {
		// Before ffmpeg starts its encoder threads, which inherit it. A
		// failure (no permission) only costs the priority.
		_ = setNice(cmd.Process.Pid, nice)
	}
	writeErr := make(chan error, 1)
	go func() {
		err := frames(pw)
		pw.Close()
		writeErr <- err
	}()
	waitErr := cmd.Wait()
	// ffmpeg has exited, so a blocked write has failed with EPIPE by now.
	werr := <-writeErr
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("render: %w", ctx.Err())
	case waitErr != nil:
		return fmt.Errorf("%w: %w: %s", ErrFFmpeg, waitErr, strings.TrimSpace(stderr.String()))
	case werr != nil:
		return fmt.Errorf("%w: writing frames: %w: %s", ErrFFmpeg, werr, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// writeFrames writes the I420 picture of every state, composing each
// distinct state once. Pages advance monotonically, so frames of earlier
// pages are dropped from the cache as the clip moves on.
func writeFrames(ctx context.Context, w io.Writer, sc *scene, states []state) error {
	cache := map[state][]byte{}
	page := -2
	var free [][]byte
	size := sc.w * sc.h * 3 / 2
	for _, st := range states {
		if err := ctx.Err(); err != nil {
			return err
		}
		if st.page != page {
			for k, b := range cache {
				if k.page != st.page {
					free = append(free, b)
					delete(cache, k)
				}
			}
			page = st.page
		}
		buf, ok := cache[st]
		if !ok {
			if n := len(free); n > 0 {
				buf, free = free[n-1], free[:n-1]
			} else {
				buf = make([]byte, size)
			}
			sc.frame(st, buf)
			cache[st] = buf
		}
		if _, err := w.Write(buf); err != nil {
			return err
		}
	}
	return nil
}

func countStates(states []state) int {
	seen := map[state]bool{}
	for _, s := range states {
		seen[s] = true
	}
	return len(seen)
}

func frameCount(d time.Duration) int  { return int(d * media.FPS / time.Second) }
func sampleCount(d time.Duration) int { return int(d * media.SampleRate / time.Second) }

// label is the hidden label of a job's clip: always AI-generated, Producer
// "Evercast" unless set, ContentID the output's base name unless set.
func label(job *Job, outPath string) aigc.Label {
	l := job.AIGC
	l.AIGenerated = true
	if l.Producer == "" {
		l.Producer = aigc.DefaultProducer
	}
	if l.ContentID == "" {
		base := filepath.Base(outPath)
		l.ContentID = strings.TrimSuffix(base, filepath.Ext(base))
		if l.ContentID == "" || l.ContentID == "." {
			sum := sha256.Sum256([]byte(job.Text + "\x00" + job.AudioPath + "\x00" + strconv.FormatInt(job.Seed, 10)))
			l.ContentID = hex.EncodeToString(sum[:8])
		}
	}
	return l
}

// Args returns the ffmpeg arguments (without the program name) that encode
// job into outPath at duration dur: raw I420 frames on stdin, the voice (or
// silence) as the second input, every clip's common codec settings, the
// hidden AIGC label. Render passes a temporary path in outPath's directory
// and renames it at the end.
func (r *Renderer) Args(job Job, outPath string, dur time.Duration) []string {
	return r.args(&job, outPath, dur, label(&job, outPath))
}

func (r *Renderer) args(job *Job, outPath string, dur time.Duration, l aigc.Label) []string {
	args := []string{
		"-hide_banner", "-nostdin", "-nostats", "-loglevel", "error",
		"-f", "rawvideo", "-pix_fmt", "yuv420p",
		"-video_size", fmt.Sprintf("%dx%d", job.Format.Width, job.Format.Height),
		"-framerate", strconv.Itoa(media.FPS), "-i", "pipe:0",
	}
	if job.Idle {
		args = append(args, "-f", "lavfi", "-i", fmt.Sprintf("anullsrc=channel_layout=stereo:sample_rate=%d", media.SampleRate))
	} else {
		args = append(args, "-i", "file:"+job.AudioPath)
	}
	return append(args, r.outputArgs(dur, outPath, l)...)
}

// outputArgs are the output options shared by every clip (and by the
// benchmark's floor): stream mapping, audio conform, codecs, label, muxer.
// The video input sets the frame count (Render writes exactly dur×25
// frames): an output frame limit (-frames:v) would make ffmpeg close the
// file before the audio encoder has flushed the end of the audio.
//
// The audio is conformed to one AAC frame (1024 samples) less than the
// clip: ffmpeg's AAC encoder adds one priming frame, so the clip then holds
// exactly D/21.333 ms audio frames spanning the video's length, and playout
// splices it without cutting audio (decision 2; the lost 21 ms are tail
// silence).
func (r *Renderer) outputArgs(dur time.Duration, outPath string, l aigc.Label) []string {
	samples := sampleCount(dur) - media.AACFrame
	provider, service := l.ServiceMetadata()
	return []string{
		"-map", "0:v:0", "-map", "1:a:0",
		"-filter:a", fmt.Sprintf("aresample=%d,aformat=sample_fmts=fltp:channel_layouts=stereo,apad=whole_len=%d,atrim=end_sample=%d",
			media.SampleRate, samples, samples),
		"-c:v", "libx264", "-preset", r.Preset, "-profile:v", media.X264Profile, "-pix_fmt", "yuv420p",
		"-bf", "0", "-g", strconv.Itoa(media.GOPFrames), "-keyint_min", strconv.Itoa(media.GOPFrames), "-sc_threshold", "0",
		"-b:v", media.VideoBitrate, "-maxrate", media.VideoMaxrate, "-bufsize", media.VideoBufsize,
		// HRD signalling makes x264 open every keyframe's access unit with a
		// buffering-period SEI, which the AIGC label's SEI then joins. Without
		// one, h264_metadata appends a new SEI NAL after the slice of every
		// later keyframe and demuxers split that frame in two.
		"-x264-params", "nal-hrd=vbr",
		"-color_range", "tv", "-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc", "smpte170m",
		"-bsf:v", "h264_metadata=sei_user_data=" + l.SEIUserData(),
		"-c:a", "aac", "-aac_coder", r.AACCoder, "-profile:a", "aac_low", "-b:a", media.AudioBitrate,
		"-ar", strconv.Itoa(media.SampleRate), "-ac", strconv.Itoa(media.Channels),
		"-metadata", "service_provider=" + provider, "-metadata", "service_name=" + service,
		"-f", "mpegts", "-pes_payload_size", "0", "-y", "file:" + outPath,
	}
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf.Write(p)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return len(p), nil
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.buf.String()
}
