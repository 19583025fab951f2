package playout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/evercast/evercast"
)

// pusher feeds one RTMP target with an ffmpeg `-c copy` process. Each target
// has its own goroutine and bounded queue: a slow, failing or reconnecting
// target drops its own data and restarts its own ffmpeg, never touching the
// others or the playout.
type pusher struct {
	name   string
	url    string
	ffmpeg string
	log    *slog.Logger
	in     chan []byte
	// onState, when set, hears every change of state.
	onState func(evercast.OutputStatus)

	mu         sync.Mutex
	state      string
	reconnects int
	lastErr    string
	dropped    int
}

const pusherQueue = 32 // segments (about a minute of stream)

func newPusher(o evercast.Output, ffmpeg string, log *slog.Logger) *pusher {
	name := o.Name
	if name == "" {
		name = redact(o.URL)
	}
	return &pusher{name: name, url: o.URL, ffmpeg: ffmpeg, log: log.With("output", name), in: make(chan []byte, pusherQueue), state: "connecting"}
}

// Write queues a segment; when the queue is full the oldest segment is
// dropped (every segment starts with PAT, PMT and a keyframe, so the target
// resumes cleanly at any of them).
func (p *pusher) Write(seg []byte) {
	for {
		select {
		case p.in <- seg:
			return
		default:
		}
		select {
		case <-p.in:
			p.mu.Lock()
			p.dropped++
			p.mu.Unlock()
		default:
		}
	}
}

func (p *pusher) setState(s string, err error) {
	p.mu.Lock()
	changed := p.state != s
	p.state = s
	if err != nil {
		p.lastErr = err.Error()
	}
	p.mu.Unlock()
	if changed && p.onState != nil {
		p.onState(p.Status())
	}
}

// Status reports the target's state.
func (p *pusher) Status() evercast.OutputStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return evercast.OutputStatus{Name: p.name, URL: redact(p.url), State: p.state, Reconnects: p.reconnects, LastError: p.lastErr}
}

// run keeps an ffmpeg process pushing until ctx ends, restarting it with
// backoff when it fails.
func (p *pusher) run(ctx context.Context) {
	backoff := 500 * time.Millisecond
	for ctx.Err() == nil {
		start := time.Now()
		err := p.push(ctx)
		if ctx.Err() != nil {
			break
		}
		if time.Since(start) > 30*time.Second {
			backoff = 500 * time.Millisecond
		}
		p.mu.Lock()
		p.reconnects++
		p.mu.Unlock()
		p.setState("retrying", err)
		p.log.Warn("rtmp push stopped; reconnecting", "err", err, "in", backoff)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
		case <-t.C:
		}
		backoff = min(backoff*2, 15*time.Second)
	}
	p.setState("stopped", nil)
}

func (p *pusher) push(ctx context.Context) error {
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	args := []string{"-hide_banner", "-loglevel", "error", "-nostdin",
		"-f", "mpegts", "-i", "pipe:0", "-map", "0", "-c", "copy",
		"-flvflags", "no_duration_filesize", "-f", "flv", p.url}
	cmd := exec.CommandContext(pctx, p.ffmpeg, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 3 * time.Second
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var stderr bytes.Buffer
	cmd.Stderr = &limited{w: &stderr, n: 4096}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start ffmpeg: %w", err)
	}
	p.setState("pushing", nil)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	for {
		select {
		case <-ctx.Done():
			stdin.Close()
			<-done
			return ctx.Err()
		case err := <-done:
			msg := strings.TrimSpace(stderr.String())
			if err == nil {
				err = errors.New("ffmpeg exited")
			}
			return fmt.Errorf("%w: %s", err, msg)
		case seg := <-p.in:
			if _, err := stdin.Write(seg); err != nil {
				cancel()
				werr := <-done
				return fmt.Errorf("write to ffmpeg: %v (%v): %s", err, werr, strings.TrimSpace(stderr.String()))
			}
		}
	}
}

type limited struct {
	w io.Writer
	n int
}

func (l *limited) Write(b []byte) (int, error) {
	if l.n > 0 {
		k := min(len(b), l.n)
		l.n -= k
		_, _ = l.w.Write(b[:k])
	}
	return len(b), nil
}

// redact hides the stream key (the last path element) and any password.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "rtmp://(invalid)"
	}
	u.User = nil
	u.RawQuery = ""
	if i := strings.LastIndex(u.Path, "/"); i > 0 {
		u.Path = u.Path[:i] + "/****"
	}
	return u.String()
}
