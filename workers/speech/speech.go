// Package speech voices scripts: espeak-ng locally (Mandarin through the
// cmn-latn-pinyin voice, which reads Han characters correctly where the plain
// cmn voice does not), or any OpenAI-compatible /v1/audio/speech endpoint.
// Both return 16-bit PCM WAV.
package speech

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unicode"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/media"
	openai "github.com/sashabaranov/go-openai"
)

// Synthesizer turns text into WAV audio.
type Synthesizer interface {
	Synthesize(ctx context.Context, text string, lang evercast.Language, v evercast.Voice) ([]byte, error)
}

// ErrPermanent marks failures that retrying will not fix (bad voice, bad
// input, refused credentials).
var ErrPermanent = errors.New("speech: permanent error")

// MaxText is the longest text voiced at once.
const MaxText = 2000

// DefaultVoice is the espeak-ng voice for a language.
func DefaultVoice(lang evercast.Language) string {
	if lang == evercast.LangZH {
		return "cmn-latn-pinyin"
	}
	return "en-us"
}

// Clean removes what a speech engine should not read: control characters
// and markup-like symbols. It refuses empty or overlong text.
func Clean(text string) (string, error) {
	var b strings.Builder
	for _, r := range text {
		switch {
		case r == '\n' || r == '\t':
			b.WriteRune(' ')
		case unicode.IsControl(r) || r == '<' || r == '>' || r == '[' || r == ']' || r == 0xFFFD:
		default:
			b.WriteRune(r)
		}
	}
	s := strings.Join(strings.Fields(b.String()), " ")
	if s == "" {
		return "", fmt.Errorf("%w: nothing to say", ErrPermanent)
	}
	if len(s) > MaxText {
		return "", fmt.Errorf("%w: text of %d bytes is over %d", ErrPermanent, len(s), MaxText)
	}
	return s, nil
}

// Espeak voices text with the espeak-ng program.
type Espeak struct {
	Binary string // default "espeak-ng"
}

var _ Synthesizer = Espeak{}

// Check verifies that espeak-ng runs and has the voices Evercast uses.
func (e Espeak) Check(ctx context.Context) error {
	out, err := exec.CommandContext(ctx, e.bin(), "--voices").Output()
	if err != nil {
		return fmt.Errorf("espeak-ng is not usable (%v): install it with `apt-get install espeak-ng`", err)
	}
	for _, v := range []string{"cmn-latn-pinyin", "en-us"} {
		if !bytes.Contains(bytes.ToLower(out), []byte(v)) {
			return fmt.Errorf("espeak-ng lacks the %s voice: install espeak-ng-data (apt-get install espeak-ng)", v)
		}
	}
	return nil
}

func (e Espeak) bin() string {
	if e.Binary == "" {
		return "espeak-ng"
	}
	return e.Binary
}

func validVoiceName(v string) bool {
	if v == "" || len(v) > 64 {
		return false
	}
	for _, r := range v {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '+' || r == '_') {
			return false
		}
	}
	return true
}

// Synthesize runs espeak-ng with the text on stdin.
func (e Espeak) Synthesize(ctx context.Context, text string, lang evercast.Language, v evercast.Voice) ([]byte, error) {
	text, err := Clean(text)
	if err != nil {
		return nil, err
	}
	voice := v.Name
	if voice == "" {
		voice = DefaultVoice(lang)
	}
	if !validVoiceName(voice) {
		return nil, fmt.Errorf("%w: bad espeak-ng voice %q", ErrPermanent, voice)
	}
	dir, err := os.MkdirTemp("", "evercast-speech-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	out := filepath.Join(dir, "speech.wav")
	args := []string{"-v", voice, "-w", out, "--stdin"}
	if v.Rate > 0 {
		args = append(args, "-s", strconv.Itoa(v.Rate))
	}
	cmd := exec.CommandContext(ctx, e.bin(), args...)
	cmd.Stdin = strings.NewReader(text)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 2 * time.Second
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("espeak-ng not found: install it with `apt-get install espeak-ng`: %w", err)
		}
		return nil, fmt.Errorf("espeak-ng: %v: %s", err, strings.TrimSpace(stderr.String()))
	}
	if msg := strings.TrimSpace(stderr.String()); strings.Contains(msg, "not found") || strings.Contains(msg, "Error") {
		return nil, fmt.Errorf("%w: espeak-ng: %s", ErrPermanent, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		return nil, fmt.Errorf("espeak-ng wrote no audio: %w", err)
	}
	if _, err := media.ParseWAV(b); err != nil {
		return nil, fmt.Errorf("espeak-ng output: %w", err)
	}
	return b, nil
}

// OpenAI voices text through an OpenAI-compatible speech endpoint.
type OpenAI struct {
	client *openai.Client
	model  string
}

var _ Synthesizer = (*OpenAI)(nil)

// NewOpenAI returns a synthesizer for the endpoint.
func NewOpenAI(baseURL, apiKey, model string) *OpenAI {
	cfg := openai.DefaultConfig(apiKey)
	cfg.BaseURL = strings.TrimRight(baseURL, "/")
	return &OpenAI{client: openai.NewClientWithConfig(cfg), model: model}
}

// Synthesize asks the endpoint for WAV audio.
func (o *OpenAI) Synthesize(ctx context.Context, text string, lang evercast.Language, v evercast.Voice) ([]byte, error) {
	text, err := Clean(text)
	if err != nil {
		return nil, err
	}
	voice := v.Name
	if voice == "" {
		voice = "alloy"
	}
	speed := 1.0
	if v.Rate > 0 {
		speed = float64(v.Rate) / 100
	}
	resp, err := o.client.CreateSpeech(ctx, openai.CreateSpeechRequest{
		Model: openai.SpeechModel(o.model), Input: text, Voice: openai.SpeechVoice(voice),
		ResponseFormat: openai.SpeechResponseFormatWav, Speed: speed,
	})
	if err != nil {
		var apiErr *openai.APIError
		if errors.As(err, &apiErr) && apiErr.HTTPStatusCode >= 400 && apiErr.HTTPStatusCode < 500 && apiErr.HTTPStatusCode != 429 {
			return nil, fmt.Errorf("%w: speech endpoint: %v", ErrPermanent, err)
		}
		return nil, fmt.Errorf("speech endpoint: %w", err)
	}
	defer resp.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(resp); err != nil {
		return nil, fmt.Errorf("speech endpoint: read: %w", err)
	}
	if _, err := media.ParseWAV(buf.Bytes()); err != nil {
		return nil, fmt.Errorf("speech endpoint answer: %w", err)
	}
	return buf.Bytes(), nil
}

// Router picks the synthesizer named by the anchor's voice provider.
type Router map[string]Synthesizer

// Synthesize dispatches on v.Provider ("espeak" by default).
func (r Router) Synthesize(ctx context.Context, text string, lang evercast.Language, v evercast.Voice) ([]byte, error) {
	p := v.Provider
	if p == "" {
		p = "espeak"
	}
	s, ok := r[p]
	if !ok {
		return nil, fmt.Errorf("%w: voice provider %q is not configured (set EVERCAST_TTS_BASE_URL for openai)", ErrPermanent, p)
	}
	return s.Synthesize(ctx, text, lang, v)
}
