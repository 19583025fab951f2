package render

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast/internal/aigc"
	"github.com/evercast/evercast/internal/media"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestArgs checks the ffmpeg command lines against golden files, one
// argument per line; refresh them with -update after a deliberate change.
func TestArgs(t *testing.T) {
	r := testRenderer(t)
	tests := []struct {
		name string
		job  Job
		out  string
		dur  time.Duration
	}{
		{"speech_landscape", Job{Format: media.Landscape, AudioPath: "/data/voice/clip_01.wav",
			AIGC: aigc.Label{Provider: "Example Tea Co.", ContentID: "clip_01"}}, "/data/clips/clip_01.ts", 21120 * time.Millisecond},
		{"speech_portrait", Job{Format: media.Portrait, AudioPath: "voice.wav"}, "out/clip_02.ts", 1280 * time.Millisecond},
		{"standby", Job{Format: media.Landscape, Idle: true, AudioPath: "/ignored.wav"}, "/data/clips/standby_01.ts", 6400 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := strings.Join(r.Args(tt.job, tt.out, tt.dur), "\n") + "\n"
			path := filepath.Join("testdata", "args_"+tt.name+".golden")
			if *update {
				if err := os.MkdirAll("testdata", 0o755); err != nil {
					t.Fatal(err)
				}
				writeFile(t, path, []byte(got))
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("ffmpeg arguments changed (run with -update if intended):\ngot:\n%s\nwant:\n%s", got, want)
			}
		})
	}
}
