package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/testenv"
)

// TestOutagesWhileLive airs a session on the real clock and takes MinIO
// away for 30 s, then Redis for 30 s. Playout must keep airing at about
// real time through each outage (standby covers what cannot be read), and
// once the service is back, clips must be generated and aired again without
// anyone's help; no clip airs twice and the aired seqs have no gap.
func TestOutagesWhileLive(t *testing.T) {
	ctx := context.Background()
	d, minio, redis := newDeployment(t)
	t.Cleanup(func() {
		if t.Failed() {
			d.dumpLogs(6000)
		}
	})
	p := d.start("solo", "api,orchestrator,worker,playout")
	id := d.seed(p.api)
	var st *evercast.SessionStatus
	if !waitFor(ctx, 4*time.Minute, time.Second, func() bool {
		st = p.api.status(t, id)
		return st.State == evercast.SessionLive && st.AiredSeconds >= 10 && st.BufferAheadSeconds >= 20
	}) {
		t.Fatalf("session not live with a buffer after 4 min: %+v", st)
	}

	const outage = 30 * time.Second
	for _, svc := range []struct {
		name          string
		stop, restart func()
		// standby: the outage must show standby on air (the buffer cannot
		// be read without the object store).
		standby bool
	}{
		{"minio", minio.Stop, func() { minio.Restart(t) }, true},
		{"redis", redis.Stop, func() { redis.Restart(t) }, false},
	} {
		known := map[string]bool{}
		for _, c := range p.api.rundown(t, id).Clips {
			known[c.ID] = true
		}
		before := p.api.status(t, id)
		start := time.Now()
		svc.stop()
		t.Logf("%s stopped", svc.name)
		// Sample the aired timeline through the outage.
		var samples []string
		for time.Since(start) < outage {
			time.Sleep(5 * time.Second)
			s := p.api.status(t, id)
			samples = append(samples, fmt.Sprintf("%.0fs→%.1f", time.Since(start).Seconds(), s.AiredSeconds))
			if !p.alive() {
				t.Fatalf("evercast exited during the %s outage", svc.name)
			}
		}
		during := p.api.status(t, id)
		wall := time.Since(start)
		svc.restart()
		restored := time.Now()
		grown := during.AiredSeconds - before.AiredSeconds
		t.Logf("%s down %.0f s: aired timeline grew %.1f s (%s)", svc.name, wall.Seconds(), grown, strings.Join(samples, ", "))
		// The aired end runs up to one clip ahead of the playhead, so allow
		// the length of a clip either way.
		if grown < wall.Seconds()-20 || grown > wall.Seconds()+30 {
			t.Errorf("during the %s outage the aired timeline grew %.1f s in %.0f s of wall time", svc.name, grown, wall.Seconds())
		}
		rd := p.api.rundown(t, id)
		standby := 0
		for _, c := range aired(rd) {
			if !known[c.ID] && c.Kind == evercast.KindStandby {
				standby++
			}
		}
		t.Logf("%d standby clips went on air during the %s outage", standby, svc.name)
		if svc.standby && standby == 0 {
			t.Errorf("no standby clip aired while %s was down", svc.name)
		}
		for _, c := range rd.Clips {
			known[c.ID] = true
		}

		// Generation resumes by itself: a clip planned after the service
		// came back is rendered, and regular clips air again.
		var rendered, airedRegular string
		if !waitFor(ctx, 4*time.Minute, time.Second, func() bool {
			rd = p.api.rundown(t, id)
			for _, c := range rd.Clips {
				if known[c.ID] || c.Kind == evercast.KindStandby {
					continue
				}
				if rendered == "" && (c.State == evercast.ClipRendered || c.State == evercast.ClipOnAir || c.State == evercast.ClipAired) {
					rendered = c.ID
				}
				if airedRegular == "" && c.State == evercast.ClipAired {
					airedRegular = c.ID
				}
			}
			return rendered != "" && airedRegular != ""
		}) {
			t.Fatalf("4 min after %s came back: new clip rendered %q, new clip aired %q", svc.name, rendered, airedRegular)
		}
		t.Logf("after %s came back: clip %s rendered, clip %s aired, %.0f s after the restart", svc.name, rendered, airedRegular, time.Since(restored).Seconds())
		checkAiredTimeline(t, aired(rd))
	}

	// Nothing was lost: no clip failed, and the aired timeline is whole.
	rd := p.api.rundown(t, id)
	checkAiredTimeline(t, aired(rd))
	failed := 0
	for _, c := range rd.Clips {
		if c.State == evercast.ClipFailed {
			failed++
			t.Logf("failed clip %s (%s): %s", c.ID, c.Kind, c.Error)
		}
	}
	if st := p.api.status(t, id); st.State != evercast.SessionLive {
		t.Fatalf("session is %s after the outages", st.State)
	}
	t.Logf("aired %d clips, %.0f s; %d failed", len(aired(rd)), airedSeconds(rd), failed)
	if failed > 0 {
		// Stage retries (with minio-go's and asynq's own) outlast a 30 s
		// outage: a clip given up for it is a clip lost.
		t.Errorf("%d clips failed because of 30 s outages", failed)
	}
}

// silentServer accepts TCP connections and never answers, like a wrong
// port that swallows traffic.
func silentServer(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var conns []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns = append(conns, c)
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		for _, c := range conns {
			c.Close()
		}
	})
	return ln.Addr().String()
}

// TestBadServiceSettings starts `evercast serve` with one wrong address or
// credential at a time (the other services real and right): start-up must
// fail, soon, with a message that names the setting to fix.
func TestBadServiceSettings(t *testing.T) {
	minio := testenv.StartMinIO(t)
	redis := testenv.StartRedisAuth(t, "redis-pass-0123")
	pg := testenv.Postgres(t)
	silent := silentServer(t)
	closed := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	notS3 := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>not an object store</html>", http.StatusNotFound)
	}))
	t.Cleanup(notS3.Close)
	good := map[string]string{
		"EVERCAST_DATABASE_URL":  pg,
		"EVERCAST_REDIS_URL":     redis.URL(0),
		"EVERCAST_S3_ENDPOINT":   minio.Endpoint,
		"EVERCAST_S3_ACCESS_KEY": minio.AccessKey,
		"EVERCAST_S3_SECRET_KEY": minio.SecretKey,
		"EVERCAST_S3_BUCKET":     "evercast-bad",
		"EVERCAST_ADMIN_TOKEN":   "bad-settings-token-0123456789",
	}
	pgWith := func(hostport, user string) string {
		return fmt.Sprintf("postgres://%s@%s/postgres?sslmode=disable", user, hostport)
	}
	for _, tc := range []struct {
		name, key, value string // value of the setting key, which the message must name
	}{
		{"database refused", "EVERCAST_DATABASE_URL", pgWith(closed, "postgres")},
		{"database silent", "EVERCAST_DATABASE_URL", pgWith(silent, "postgres")},
		{"database unknown role", "EVERCAST_DATABASE_URL", pgWith("127.0.0.1:5432", "no_such_role")},
		{"database unknown database", "EVERCAST_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/no_such_db?sslmode=disable"},
		{"database bad scheme", "EVERCAST_DATABASE_URL", "mysql://root@127.0.0.1/x"},
		{"redis refused", "EVERCAST_REDIS_URL", "redis://" + closed + "/0"},
		{"redis silent", "EVERCAST_REDIS_URL", "redis://" + silent + "/0"},
		{"redis wrong password", "EVERCAST_REDIS_URL", "redis://:wrong@" + redis.Addr + "/0"},
		{"redis no password", "EVERCAST_REDIS_URL", "redis://" + redis.Addr + "/0"},
		{"redis bad db", "EVERCAST_REDIS_URL", "redis://:" + redis.Password + "@" + redis.Addr + "/99"},
		{"s3 refused", "EVERCAST_S3_ENDPOINT", closed},
		{"s3 silent", "EVERCAST_S3_ENDPOINT", silent},
		{"s3 not s3", "EVERCAST_S3_ENDPOINT", notS3.URL},
		{"s3 access key", "EVERCAST_S3_ACCESS_KEY", "nobody"},
		{"s3 secret key", "EVERCAST_S3_SECRET_KEY", "wrong-secret-123"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := []string{"EVERCAST_DATA_DIR=" + t.TempDir(), "EVERCAST_HTTP_ADDR=127.0.0.1:0"}
			for k, v := range good {
				if k == tc.key {
					v = tc.value
				}
				env = append(env, k+"="+v)
			}
			code, stderr, took := serveExit(t, env, 90*time.Second)
			if code == 0 {
				t.Fatalf("serve exited 0 with %s=%s", tc.key, tc.value)
			}
			if code < 0 {
				t.Fatalf("serve with %s=%s still ran after %s:\n%s", tc.key, tc.value, took, tail(stderr, 2000))
			}
			if !strings.Contains(stderr, tc.key) {
				t.Fatalf("serve with %s=%s failed (exit %d) without naming it:\n%s", tc.key, tc.value, code, tail(stderr, 2000))
			}
			if took > 30*time.Second {
				t.Errorf("serve took %s to fail", took)
			}
			t.Logf("exit %d after %s: %s", code, took.Round(10*time.Millisecond), lastLine(stderr))
		})
	}
}

// serveExit runs `evercast serve` with env and returns its exit code (-1
// when it was still running at the timeout), its stderr and how long it ran.
func serveExit(t *testing.T, env []string, timeout time.Duration) (int, string, time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, testenv.Binary(t), "serve")
	cmd.Env = append(cleanEnv(), env...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stderr, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	var ee *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return -1, stderr.String(), took
	case err == nil:
		return 0, stderr.String(), took
	case errors.As(err, &ee):
		return ee.ExitCode(), stderr.String(), took
	}
	t.Fatal(err)
	return 0, "", took
}

func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}
