// Package redislocal runs an in-process Redis (miniredis) for the embedded
// default, and advances its clock: miniredis never expires keys on its own,
// and asynq relies on expiring keys (leases, retention, server heartbeats).
package redislocal

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
)

// Server is a running in-process Redis.
type Server struct {
	m      *miniredis.Miniredis
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start runs miniredis on a random loopback port and ticks its clock every
// tick (default 250 ms).
func Start(tick time.Duration) (*Server, error) {
	m := miniredis.NewMiniRedis()
	if err := m.StartAddr("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("redislocal: %w", err)
	}
	if tick <= 0 {
		tick = 250 * time.Millisecond
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Server{m: m, cancel: cancel}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(tick)
		defer t.Stop()
		last := time.Now()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				// Keep miniredis' notion of time (used by TTLs and TIME) on
				// the wall clock.
				m.SetTime(now)
				m.FastForward(now.Sub(last))
				last = now
			}
		}
	}()
	return s, nil
}

// URL is the redis:// address.
func (s *Server) URL() string { return "redis://" + s.m.Addr() }

// Addr is host:port.
func (s *Server) Addr() string { return s.m.Addr() }

// Close stops the clock and the server.
func (s *Server) Close() {
	s.cancel()
	s.wg.Wait()
	s.m.Close()
}
