package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/testenv"
)

// deployment is a set of `evercast serve` processes sharing PostgreSQL,
// Redis and MinIO, as an operator runs them on several machines. Each
// process has its own data directory and runs in its own process group, so
// that kill -9 takes its ffmpeg children with it.
type deployment struct {
	t     testing.TB
	env   []string // the EVERCAST_* settings every process shares
	token string
	procs []*proc
}

// proc is one process of a deployment.
type proc struct {
	name    string
	roles   string
	cmd     *exec.Cmd
	api     *apiClient // nil without the api role
	logPath string
	done    chan struct{}
}

// newDeployment starts a MinIO and a Redis of the test's own and makes a
// PostgreSQL database of its own; the processes are started with start.
func newDeployment(t testing.TB) (*deployment, *testenv.MinIO, *testenv.RedisServer) {
	t.Helper()
	m := testenv.StartMinIO(t)
	r := testenv.StartRedis(t)
	d := &deployment{t: t, token: "deploy-token-0123456789abcdef"}
	d.env = []string{
		"EVERCAST_DATABASE_URL=" + testenv.Postgres(t),
		"EVERCAST_REDIS_URL=" + r.URL(0),
		"EVERCAST_S3_ENDPOINT=" + m.Endpoint,
		"EVERCAST_S3_ACCESS_KEY=" + m.AccessKey,
		"EVERCAST_S3_SECRET_KEY=" + m.SecretKey,
		"EVERCAST_S3_BUCKET=evercast-e2e",
		"EVERCAST_ADMIN_TOKEN=" + d.token,
	}
	t.Cleanup(d.killAll)
	return d, m, r
}

// start runs `evercast serve --roles roles` named name (its instance id)
// with the shared settings and extra ones, and waits until it serves.
func (d *deployment) start(name, roles string, extra ...string) *proc {
	t := d.t
	t.Helper()
	dir := t.TempDir()
	p := &proc{name: name, roles: roles, logPath: filepath.Join(dir, "serve.log"), done: make(chan struct{})}
	env := append(cleanEnv(), d.env...)
	env = append(env, "EVERCAST_DATA_DIR="+filepath.Join(dir, "data"), "EVERCAST_INSTANCE_ID="+name,
		"EVERCAST_ROLES="+roles, "EVERCAST_LOG_LEVEL=info")
	if strings.Contains(roles, "api") {
		addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
		env = append(env, "EVERCAST_HTTP_ADDR="+addr)
		p.api = &apiClient{base: "http://" + addr, token: d.token}
	}
	env = append(env, extra...)
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	p.cmd = exec.Command(testenv.Binary(t), "serve")
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		_ = p.cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	d.procs = append(d.procs, p)
	deadline := time.Now().Add(90 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			t.Fatalf("%s exited at start-up:\n%s", name, p.logs(4000))
		default:
		}
		if p.api != nil {
			if p.api.healthy() {
				return p
			}
		} else if strings.Contains(p.logs(0), "evercast serving") {
			return p
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s did not come up in 90 s:\n%s", name, p.logs(4000))
	return nil
}

// kill sends SIGKILL to the process group and waits for the process.
func (p *proc) kill(t testing.TB) {
	if p.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Errorf("%s (pid %d) did not exit 30 s after SIGKILL", p.name, p.cmd.Process.Pid)
	}
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// logs returns the last n bytes of the process's log (all when n is 0),
// without the access log.
func (p *proc) logs(n int) string {
	b, _ := os.ReadFile(p.logPath)
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.Contains(l, `msg="http request"`) {
			keep = append(keep, l)
		}
	}
	s := strings.Join(keep, "\n")
	if n > 0 {
		return tail(s, n)
	}
	return s
}

func (d *deployment) killAll() {
	for _, p := range d.procs {
		p.kill(d.t)
	}
}

// proc returns the deployment's process named name.
func (d *deployment) proc(name string) *proc {
	for _, p := range d.procs {
		if p.name == name {
			return p
		}
	}
	return nil
}

// dumpLogs writes the tail of every process's log to the test log.
func (d *deployment) dumpLogs(n int) {
	for _, p := range d.procs {
		d.t.Logf("---- %s (%s) ----\n%s", p.name, p.roles, p.logs(n))
	}
}

// run runs an evercast command with the deployment's settings.
func (d *deployment) run(timeout time.Duration, args ...string) string {
	d.t.Helper()
	out, _ := run(d.t, timeout, append(d.env, "EVERCAST_DATA_DIR="+d.t.TempDir()), args...)
	return out
}

// apiClient calls one API process.
type apiClient struct {
	base, token string
}

var httpc = &http.Client{Timeout: 30 * time.Second}

func (a *apiClient) healthy() bool {
	resp, err := httpc.Get(a.base + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// call sends a JSON request and decodes a 2xx answer into out. It returns
// the status code, or an error when the API cannot be reached.
func (a *apiClient) call(method, path string, body, out any) (int, error) {
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, r)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 != 2 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w: %s", method, path, err, b)
		}
	}
	return resp.StatusCode, nil
}

func (a *apiClient) must(t testing.TB, method, path string, body, out any) {
	t.Helper()
	if _, err := a.call(method, path, body, out); err != nil {
		t.Fatal(err)
	}
}

func (a *apiClient) status(t testing.TB, id string) *evercast.SessionStatus {
	t.Helper()
	var st evercast.SessionStatus
	a.must(t, http.MethodGet, "/v1/sessions/"+id+"/status", nil, &st)
	return &st
}

func (a *apiClient) rundown(t testing.TB, id string) *evercast.Rundown {
	t.Helper()
	var rd evercast.Rundown
	a.must(t, http.MethodGet, "/v1/sessions/"+id+"/rundown", nil, &rd)
	return &rd
}

// seed creates and starts the demo session through the API with
// `evercast demo --seed`.
func (d *deployment) seed(a *apiClient) string {
	d.t.Helper()
	out, _ := run(d.t, time.Minute, []string{"EVERCAST_ADMIN_TOKEN=" + d.token}, "demo", "--seed", "--api", a.base)
	id := strings.TrimSpace(out)
	if !strings.HasPrefix(id, "ses_") {
		d.t.Fatalf("demo --seed printed %q", out)
	}
	return id
}

// airedSeconds sums the durations of the aired and on-air clips.
func airedSeconds(rd *evercast.Rundown) float64 {
	var s float64
	for _, c := range aired(rd) {
		s += c.Duration
	}
	return s
}

// checkAiredTimeline checks the aired part of a rundown: seqs 1..n with no
// repeat and no gap, no clip id twice, each clip starting where the one
// before ended.
func checkAiredTimeline(t testing.TB, clips []*evercast.RundownEntry) {
	t.Helper()
	seen := map[string]int64{}
	var pos float64
	for i, c := range clips {
		if c.Seq != int64(i+1) {
			t.Fatalf("aired clip %d has seq %d, want %d", i, c.Seq, i+1)
		}
		if prev, ok := seen[c.ID]; ok {
			t.Fatalf("clip %s aired twice: seq %d and %d", c.ID, prev, c.Seq)
		}
		seen[c.ID] = c.Seq
		if c.Start == nil || *c.Start-pos > 0.001 || pos-*c.Start > 0.001 {
			t.Fatalf("clip seq %d starts at %v, want %.3f", c.Seq, c.Start, pos)
		}
		if c.Duration <= 0 {
			t.Fatalf("clip seq %d lasts %v", c.Seq, c.Duration)
		}
		pos += c.Duration
	}
}

// groupHas reports whether a process named comm, with arg among its
// arguments, runs in process group pgid (other than its leader).
func groupHas(pgid int, comm, arg string) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return false
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...
		s := string(b)
		lp, rp := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if lp < 0 || rp < lp {
			continue
		}
		f := strings.Fields(s[rp+1:])
		if len(f) < 3 || s[lp+1:rp] != comm {
			continue
		}
		if g, err := strconv.Atoi(f[2]); err != nil || g != pgid || pid == pgid {
			continue
		}
		cmdline, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		for _, a := range bytes.Split(cmdline, []byte{0}) {
			if string(a) == arg {
				return true
			}
		}
	}
	return false
}

// waitFor polls cond every interval until it is true or d has passed.
func waitFor(ctx context.Context, d, interval time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return false
		}
		time.Sleep(interval)
	}
}
