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

// TestRedisServerRestartKeepsData stops a test's own redis-server and starts
// it again: same address, data kept, and the shared server untouched.
func TestRedisServerRestartKeepsData(t *testing.T) {
	r := StartRedis(t)
	cli := func(args ...string) string {
		t.Helper()
		out, err := exec.Command("redis-cli", append([]string{"-u", r.URL(0)}, args...)...).CombinedOutput()
		if err != nil {
			t.Fatalf("redis-cli %v: %v %s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := cli("SET", "k", "v"); got != "OK" {
		t.Fatalf("SET: %q", got)
	}
	time.Sleep(1500 * time.Millisecond) // appendfsync everysec
	r.Stop()
	if err := waitPort(r.Addr, 300*time.Millisecond); err == nil {
		t.Fatalf("something still listens on %s after Stop", r.Addr)
	}
	r.Restart(t)
	if got := cli("GET", "k"); got != "v" {
		t.Fatalf("after restart GET k = %q, want v", got)
	}
}

// TestMinIORestartKeepsAddress stops MinIO and starts it again on the same
// address.
func TestMinIORestartKeepsAddress(t *testing.T) {
	m := StartMinIO(t)
	m.Stop()
	if err := waitPort(m.Endpoint, 300*time.Millisecond); err == nil {
		t.Fatalf("something still listens on %s after Stop", m.Endpoint)
	}
	m.Restart(t)
	if err := waitPort(m.Endpoint, time.Second); err != nil {
		t.Fatal(err)
	}
}

// TestRedisAuthRejectsWrongPassword checks a password-protected server
// refuses a client without the password.
func TestRedisAuthRejectsWrongPassword(t *testing.T) {
	r := StartRedisAuth(t, "s3cret-pass")
	host, port, _ := strings.Cut(r.Addr, ":")
	ping := func(pw string) string {
		out, _ := exec.Command("redis-cli", "-h", host, "-p", port, "-a", pw, "--no-auth-warning", "PING").CombinedOutput()
		return strings.TrimSpace(string(out))
	}
	if out := ping(r.Password); out != "PONG" {
		t.Fatalf("with the password: %s", out)
	}
	out := ping("wrong")
	if strings.Contains(out, "PONG") {
		t.Fatalf("a wrong password was accepted: %s", out)
	}
}
