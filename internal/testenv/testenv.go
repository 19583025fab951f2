// Package testenv gives tests real services, each isolated per test: an
// nginx with the RTMP module on a free port, a MinIO server on a free port
// with its own directory, a Redis database number of its own (or a whole
// redis-server of its own, for fault injection), a PostgreSQL database of
// its own, and the evercast binary built once. It never skips:
// a service that cannot start fails the test with the reason and the fix
// (`make test` installs and starts everything first).
package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"crypto/rand"
	"encoding/hex"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver for database setup
)

// FreePort returns a TCP port free on loopback right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func waitPort(addr string, d time.Duration) error {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("nothing listens on %s after %s", addr, d)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// RTMP is a running nginx-rtmp server.
type RTMP struct {
	Port int
	// URL returns the ingest/playback URL of a stream key.
	dir string
}

// URL of stream key in application "live".
func (r *RTMP) URL(key string) string { return fmt.Sprintf("rtmp://127.0.0.1:%d/live/%s", r.Port, key) }

// StartRTMP runs nginx with the RTMP module for the test's lifetime.
func StartRTMP(t testing.TB) *RTMP {
	t.Helper()
	nginx, err := exec.LookPath("nginx")
	if err != nil {
		t.Fatalf("nginx not found: install it with `apt-get install nginx libnginx-mod-rtmp` (make test does)")
	}
	module := ""
	for _, m := range []string{"/usr/lib/nginx/modules/ngx_rtmp_module.so", "/usr/share/nginx/modules/ngx_rtmp_module.so"} {
		if _, err := os.Stat(m); err == nil {
			module = m
		}
	}
	if module == "" {
		t.Fatalf("the nginx RTMP module is missing: install it with `apt-get install libnginx-mod-rtmp` (make test does)")
	}
	dir := t.TempDir()
	port := FreePort(t)
	conf := fmt.Sprintf(`load_module %s;
daemon off;
master_process off;
worker_processes 1;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 256; }
rtmp {
  server {
    listen 127.0.0.1:%d;
    chunk_size 4096;
    application live { live on; record off; }
  }
}
`, module, dir, dir, port)
	cf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(cf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(nginx, "-p", dir, "-c", cf, "-e", filepath.Join(dir, "error.log"))
	out, _ := os.Create(filepath.Join(dir, "stdout.log"))
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start nginx: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		out.Close()
	})
	if err := waitPort(fmt.Sprintf("127.0.0.1:%d", port), 10*time.Second); err != nil {
		b, _ := os.ReadFile(filepath.Join(dir, "error.log"))
		t.Fatalf("nginx-rtmp did not start: %v\n%s", err, b)
	}
	return &RTMP{Port: port, dir: dir}
}

// MinIO is a running MinIO server.
type MinIO struct {
	Endpoint  string
	AccessKey string
	SecretKey string
	cmd       *exec.Cmd
	dir       string
	port      int
}

// MinIOBinary finds the MinIO server `make test` builds into the cache.
func MinIOBinary(t testing.TB) string {
	t.Helper()
	if p, err := exec.LookPath("minio"); err == nil {
		return p
	}
	home, _ := os.UserHomeDir()
	p := filepath.Join(home, ".cache", "evercast", "bin", "minio")
	if _, err := os.Stat(p); err == nil {
		return p
	}
	t.Fatalf("no MinIO server: run `make test` (it builds one with go install github.com/minio/minio@<pinned> into ~/.cache/evercast/bin)")
	return ""
}

// StartMinIO runs a MinIO server with its own data directory.
func StartMinIO(t testing.TB) *MinIO {
	t.Helper()
	m := &MinIO{AccessKey: "evercast", SecretKey: "evercast-" + randHex(8), dir: t.TempDir(), port: FreePort(t)}
	m.Endpoint = fmt.Sprintf("127.0.0.1:%d", m.port)
	m.start(t)
	t.Cleanup(m.Stop)
	return m
}

func (m *MinIO) start(t testing.TB) {
	t.Helper()
	bin := MinIOBinary(t)
	cmd := exec.Command(bin, "server", "--quiet", "--address", m.Endpoint, "--console-address", fmt.Sprintf("127.0.0.1:%d", FreePort(t)), m.dir)
	cmd.Env = append(os.Environ(), "MINIO_ROOT_USER="+m.AccessKey, "MINIO_ROOT_PASSWORD="+m.SecretKey, "MINIO_BROWSER=off", "MINIO_UPDATE=off")
	log, _ := os.Create(filepath.Join(os.TempDir(), fmt.Sprintf("evercast-minio-%d.log", m.port)))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start minio: %v", err)
	}
	m.cmd = cmd
	if err := waitPort(m.Endpoint, 20*time.Second); err != nil {
		t.Fatalf("minio did not start: %v (log %s)", err, log.Name())
	}
}

// Stop kills the server (its data stays).
func (m *MinIO) Stop() {
	if m.cmd != nil && m.cmd.Process != nil {
		_ = m.cmd.Process.Kill()
		_ = m.cmd.Wait()
		m.cmd = nil
	}
}

// Restart starts the server again on the same address and data.
func (m *MinIO) Restart(t testing.TB) { m.Stop(); m.start(t) }

// Redis returns a redis:// URL on the shared test Redis with a database
// number of its own (1..15), flushed before and after the test.
func Redis(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("EVERCAST_TEST_REDIS_ADDR")
	if addr == "" {
		addr = "127.0.0.1:6379"
	}
	if err := waitPort(addr, 3*time.Second); err != nil {
		t.Fatalf("Redis at %s: %v: start it (make test does) or set EVERCAST_TEST_REDIS_ADDR", addr, err)
	}
	db := allocDB(t)
	url := fmt.Sprintf("redis://%s/%d", addr, db)
	flush := func() {
		out, err := exec.Command("redis-cli", "-u", url, "FLUSHDB").CombinedOutput()
		if err != nil {
			t.Logf("flush redis db %d: %v %s", db, err, out)
		}
	}
	flush()
	t.Cleanup(flush)
	return url
}

var (
	dbMu   sync.Mutex
	dbUsed = map[int]bool{}
)

// allocDB hands out Redis database numbers within this test process; a
// lock file per number keeps parallel test processes apart.
func allocDB(t testing.TB) int {
	t.Helper()
	dbMu.Lock()
	defer dbMu.Unlock()
	for db := 1; db <= 15; db++ {
		if dbUsed[db] {
			continue
		}
		lock := filepath.Join(os.TempDir(), fmt.Sprintf("evercast-redis-db-%d.lock", db))
		f, err := os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
		if err != nil {
			// Stale lock from a crashed run: older than an hour is free.
			if st, serr := os.Stat(lock); serr == nil && time.Since(st.ModTime()) > time.Hour {
				_ = os.Remove(lock)
				f, err = os.OpenFile(lock, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			}
			if err != nil {
				continue
			}
		}
		f.Close()
		dbUsed[db] = true
		t.Cleanup(func() {
			dbMu.Lock()
			delete(dbUsed, db)
			dbMu.Unlock()
			_ = os.Remove(lock)
		})
		return db
	}
	t.Fatalf("no free Redis database number (1..15) for this test")
	return 0
}

// Postgres creates a database of its own and returns its URL.
func Postgres(t testing.TB) string {
	t.Helper()
	base := os.Getenv("EVERCAST_TEST_POSTGRES_URL")
	if base == "" {
		base = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if err := admin.PingContext(ctx); err != nil {
		t.Fatalf("PostgreSQL at %s: %v: start it (make test does) or set EVERCAST_TEST_POSTGRES_URL", base, err)
	}
	name := "evercast_e_" + randHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_, _ = a.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
	})
	i := strings.LastIndex(base, "/")
	rest := ""
	if q := strings.Index(base[i:], "?"); q >= 0 {
		rest = base[i+q:]
	}
	return base[:i+1] + name + rest
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Binary builds cmd/evercast once per test process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "evercast-bin-")
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "evercast")
		root := moduleRoot()
		cmd := exec.Command("go", "build", "-o", buildPath, "./cmd/evercast")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

func moduleRoot() string {
	dir, _ := os.Getwd()
	for d := dir; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d
		}
	}
	return dir
}

// RedisServer is a redis-server of a test's own, on a free port, that the
// test may stop and start again (on the same address, with its data kept
// in an append-only file) to inject faults. Never stop the shared Redis.
type RedisServer struct {
	Addr string
	// Password is required of clients when set (StartRedisAuth).
	Password string
	cmd      *exec.Cmd
	dir      string
	port     int
	log      string
}

// URL is the redis:// URL of database db (with the password, if any).
func (r *RedisServer) URL(db int) string {
	if r.Password != "" {
		return fmt.Sprintf("redis://:%s@%s/%d", r.Password, r.Addr, db)
	}
	return fmt.Sprintf("redis://%s/%d", r.Addr, db)
}

// StartRedis runs a redis-server of the test's own until the test ends.
func StartRedis(t testing.TB) *RedisServer { t.Helper(); return StartRedisAuth(t, "") }

// StartRedisAuth runs a redis-server of the test's own that requires
// password (none when empty).
func StartRedisAuth(t testing.TB, password string) *RedisServer {
	t.Helper()
	r := &RedisServer{Password: password, dir: t.TempDir(), port: FreePort(t)}
	r.Addr = fmt.Sprintf("127.0.0.1:%d", r.port)
	r.log = filepath.Join(r.dir, "redis.log")
	r.start(t)
	t.Cleanup(r.Stop)
	return r
}

func (r *RedisServer) start(t testing.TB) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Fatalf("redis-server not found: install it with `apt-get install redis-server` (make test does)")
	}
	args := []string{"--port", fmt.Sprint(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--save", "", "--appendonly", "yes", "--appendfsync", "everysec", "--protected-mode", "no",
		"--logfile", r.log}
	if r.Password != "" {
		args = append(args, "--requirepass", r.Password)
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatalf("start redis-server: %v", err)
	}
	r.cmd = cmd
	if err := waitPort(r.Addr, 10*time.Second); err != nil {
		b, _ := os.ReadFile(r.log)
		r.Stop()
		t.Fatalf("redis-server did not start: %v\n%s", err, b)
	}
}

// Stop kills the server at once, as a crash would (data written to the
// append-only file up to the last second stays).
func (r *RedisServer) Stop() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		_ = r.cmd.Wait()
		r.cmd = nil
	}
}

// Restart starts the server again on the same address and data.
func (r *RedisServer) Restart(t testing.TB) { r.Stop(); r.start(t) }
