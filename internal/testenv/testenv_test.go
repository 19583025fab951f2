package testenv

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRTMPRoundTrip(t *testing.T) {
	r := StartRTMP(t)
	url := r.URL("probe")
	push := exec.Command("ffmpeg", "-v", "error", "-re", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=8",
		"-f", "lavfi", "-i", "sine=r=48000:d=8", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-f", "flv", url)
	if err := push.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = push.Process.Kill(); _ = push.Wait() }()
	time.Sleep(2 * time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "stream=codec_name,width", "-of", "csv=p=0", url).CombinedOutput()
	if err != nil {
		t.Fatalf("ffprobe %s: %v %s", url, err, out)
	}
	if !strings.Contains(string(out), "h264") || !strings.Contains(string(out), "aac") {
		t.Fatalf("read back %q", out)
	}
}

func TestRedisAndPostgresIsolation(t *testing.T) {
	a, b := Redis(t), Redis(t)
	if a == b {
		t.Fatalf("two tests share Redis database %s", a)
	}
	p1, p2 := Postgres(t), Postgres(t)
	if p1 == p2 {
		t.Fatal("two tests share a PostgreSQL database")
	}
}
