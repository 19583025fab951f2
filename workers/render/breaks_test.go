package render

import (
	"context"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/evercast/evercast/internal/media"
)

func TestPauseBreaks(t *testing.T) {
	// 4 quanta of speech, silence around the boundary of quantum 2.
	rms := make([]float64, 32)
	for i := range rms {
		rms[i] = 1000
	}
	for _, i := range []int{14, 15, 16, 17} {
		rms[i] = 10
	}
	got := pauseBreaks(rms)
	if len(got) != 1 || got[0] != 2 {
		t.Fatalf("breaks %v, want [2]", got)
	}
	rms[17] = 900 // the voice resumes right at the boundary: no break
	if got := pauseBreaks(rms); len(got) != 0 {
		t.Fatalf("breaks %v, want none", got)
	}
	if got := pauseBreaks(make([]float64, 32)); got != nil {
		t.Fatalf("silence has breaks %v", got)
	}
}

// TestBreaksFromSpeech: a real two-sentence voice has a pause between its
// sentences that the renderer reports as a break.
func TestBreaksFromSpeech(t *testing.T) {
	dir := t.TempDir()
	wav := filepath.Join(dir, "v.wav")
	if b, err := exec.Command("espeak-ng", "-v", "en-us", "-w", wav, "Welcome to the live room. Today we present green tea from Hangzhou.").CombinedOutput(); err != nil {
		t.Fatalf("espeak-ng: %v %s", err, b)
	}
	r := testRenderer(t)
	res, err := r.Render(context.Background(), Job{Format: media.Landscape, AudioPath: wav, Text: "x", Avatar: testAvatar()}, filepath.Join(dir, "c.ts"))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Breaks) == 0 {
		t.Fatalf("no pause found in a two-sentence clip of %v", res.Duration)
	}
	for _, q := range res.Breaks {
		if q <= 0 || q*320 >= int(res.Duration.Milliseconds()) {
			t.Fatalf("break %d outside the clip of %v", q, res.Duration)
		}
	}
}
