// Package events carries Evercast's live events between processes: every
// role publishes (the orchestrator plans, workers render, playout airs) and
// every API process subscribes and hands the events to its control hub, which
// numbers them and fans them out to consoles and platforms. The transport is
// Redis pub/sub on the deployment's Redis (the embedded one included), so
// that no role needs to know where the others run.
package events

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/evercast/evercast/internal/control"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Channel is the Redis pub/sub channel of the events.
const Channel = "evercast:events"

// Bus publishes events and delivers them to subscribers.
type Bus struct {
	client redis.UniversalClient
	log    *slog.Logger
	// source names this process, so that a process's own events can be told
	// apart when that matters.
	source string

	mu      sync.Mutex
	pending []control.Event
	wake    chan struct{}
	done    chan struct{}
	wg      sync.WaitGroup
}

// New connects to the Redis that opt names.
func New(opt asynq.RedisConnOpt, source string, log *slog.Logger) (*Bus, error) {
	c, ok := opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		return nil, fmt.Errorf("events: unexpected Redis client type")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{client: c, log: log, source: source, wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.wg.Add(1)
	go b.sender()
	return b, nil
}

// envelope is an event on the wire.
type envelope struct {
	Source string        `json:"source"`
	Event  control.Event `json:"event"`
}

// maxPending bounds the events waiting to be sent: when Redis is down,
// the oldest are dropped (consoles resync from the API).
const maxPending = 10000

// Publish queues an event; it never blocks the caller.
func (b *Bus) Publish(e control.Event) {
	if e.At.IsZero() {
		e.At = time.Now()
	}
	b.mu.Lock()
	if len(b.pending) >= maxPending {
		b.pending = b.pending[1:]
	}
	b.pending = append(b.pending, e)
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
}

func (b *Bus) sender() {
	defer b.wg.Done()
	for {
		select {
		case <-b.done:
			b.flush(context.Background())
			return
		case <-b.wake:
		}
		b.flush(context.Background())
	}
}

func (b *Bus) flush(ctx context.Context) {
	b.mu.Lock()
	batch := b.pending
	b.pending = nil
	b.mu.Unlock()
	if len(batch) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	pipe := b.client.Pipeline()
	for _, e := range batch {
		msg, err := json.Marshal(envelope{Source: b.source, Event: e})
		if err != nil {
			b.log.Error("events: encode", "event", e.Name, "err", err)
			continue
		}
		pipe.Publish(ctx, Channel, msg)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.log.Warn("events: publish failed; events dropped", "n", len(batch), "err", err)
	}
}

// Subscribe delivers every event published by any process to fn until ctx
// ends, reconnecting when Redis drops.
func (b *Bus) Subscribe(ctx context.Context, fn func(control.Event)) error {
	for ctx.Err() == nil {
		ps := b.client.Subscribe(ctx, Channel)
		if _, err := ps.Receive(ctx); err != nil {
			ps.Close()
			if ctx.Err() != nil {
				break
			}
			b.log.Warn("events: subscribe failed; retrying", "err", err)
			select {
			case <-ctx.Done():
			case <-time.After(time.Second):
			}
			continue
		}
		ch := ps.Channel(redis.WithChannelSize(4096))
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case m, ok := <-ch:
				if !ok {
					break loop
				}
				var env envelope
				if err := json.Unmarshal([]byte(m.Payload), &env); err != nil {
					b.log.Warn("events: undecodable message", "err", err)
					continue
				}
				fn(env.Event)
			}
		}
		ps.Close()
	}
	return nil
}

// Close flushes what is queued and stops the sender.
func (b *Bus) Close() error {
	select {
	case <-b.done:
	default:
		close(b.done)
	}
	b.wg.Wait()
	return b.client.Close()
}
