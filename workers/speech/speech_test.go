package speech

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/llmtest"
	"github.com/evercast/evercast/internal/media"
)

func TestEspeak(t *testing.T) {
	e := Espeak{}
	if err := e.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		lang evercast.Language
		text string
		min  time.Duration
	}{
		{"mandarin", evercast.LangZH, "欢迎来到直播间，今天介绍西湖龙井，活动价九十九元。", 2 * time.Second},
		{"english", evercast.LangEN, "Welcome to the live room. Today we present green tea.", 2 * time.Second},
		{"control characters", evercast.LangEN, "Hello\x00\x07 <b>there</b>", 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := e.Synthesize(context.Background(), tt.text, tt.lang, evercast.Voice{})
			if err != nil {
				t.Fatal(err)
			}
			w, err := media.ParseWAV(b)
			if err != nil {
				t.Fatal(err)
			}
			if w.Duration() < tt.min || w.Duration() > 30*time.Second {
				t.Fatalf("duration %v", w.Duration())
			}
			var peak int16
			for _, s := range w.Samples {
				peak = max(peak, s)
			}
			if peak < 1000 {
				t.Fatalf("audio is near silent (peak %d)", peak)
			}
		})
	}
	// The rate setting changes the length.
	slow, _ := e.Synthesize(context.Background(), "one two three four five six", evercast.LangEN, evercast.Voice{Rate: 100})
	fast, _ := e.Synthesize(context.Background(), "one two three four five six", evercast.LangEN, evercast.Voice{Rate: 300})
	ws, _ := media.ParseWAV(slow)
	wf, _ := media.ParseWAV(fast)
	if ws.Duration() <= wf.Duration() {
		t.Errorf("rate ignored: slow %v fast %v", ws.Duration(), wf.Duration())
	}
}

func TestEspeakBadInput(t *testing.T) {
	e := Espeak{}
	for _, tc := range []struct {
		text  string
		voice string
	}{
		{"", ""}, {"   \n", ""}, {string(make([]byte, MaxText+1)), ""}, {"hi", "../../etc/passwd"}, {"hi", "en us"},
	} {
		_, err := e.Synthesize(context.Background(), tc.text, evercast.LangEN, evercast.Voice{Name: tc.voice})
		if !errors.Is(err, ErrPermanent) {
			t.Errorf("%q/%q: want ErrPermanent, got %v", tc.text, tc.voice, err)
		}
	}
	if _, err := (Espeak{Binary: "/nonexistent/espeak-ng"}).Synthesize(context.Background(), "hi", evercast.LangEN, evercast.Voice{}); err == nil {
		t.Error("missing binary: no error")
	}
}

func TestOpenAISpeech(t *testing.T) {
	srv := llmtest.New()
	defer srv.Close()
	o := NewOpenAI(srv.BaseURL(), "k", "tts-1")
	b, err := o.Synthesize(context.Background(), "hello there", evercast.LangEN, evercast.Voice{Provider: "openai", Name: "alloy"})
	if err != nil {
		t.Fatal(err)
	}
	w, err := media.ParseWAV(b)
	if err != nil || w.Rate != 24000 || w.Duration() < time.Second {
		t.Fatalf("wav %v %v", w.Duration(), err)
	}
	srv.Status = 401
	if _, err := o.Synthesize(context.Background(), "hello", evercast.LangEN, evercast.Voice{}); !errors.Is(err, ErrPermanent) {
		t.Fatalf("401: want ErrPermanent, got %v", err)
	}
	r := Router{"espeak": Espeak{}}
	if _, err := r.Synthesize(context.Background(), "hi", evercast.LangEN, evercast.Voice{Provider: "openai"}); !errors.Is(err, ErrPermanent) {
		t.Fatalf("unconfigured provider: %v", err)
	}
}
