// Package events carries Evercast's live events between processes: every
// role publishes (the orchestrator plans, workers render, playout airs) and
// every API process subscribes and hands the events to its control hub, which
// numbers them and fans them out to consoles and platforms, and to its webhook
// dispatcher. Every event gets a random id when it is published, the same in
// every subscribing process, so that work done once per event (a webhook
// delivery) can be deduplicated across processes. The transport is
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

	"github.com/evercast/evercast"
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
	pending []envelope
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

// IDPrefix prefixes event ids, such as "ev_3v8k2m0q9x4r7t1c5b6n".
const IDPrefix = "ev"

// Message is an event as a subscriber receives it.
type Message struct {
	// ID is the event's id, assigned by Publish: random, unique, the same in
	// every process that receives the event.
	ID string
	// Source names the publishing process.
	Source string
	// Event is the event; its Data is the JSON the publisher encoded, as a
	// json.RawMessage (nil when the event has none).
	Event control.Event
}

// envelope is an event on the wire.
type envelope struct {
	ID     string        `json:"id"`
	Source string        `json:"source"`
	Event  control.Event `json:"event"`
}

// wireEnvelope is envelope as a subscriber decodes it, the event data kept
// raw so that numbers and field order pass through untouched.
type wireEnvelope struct {
	ID     string `json:"id"`
	Source string `json:"source"`
	Event  struct {
		SessionID string          `json:"session_id"`
		Name      string          `json:"event"`
		At        time.Time       `json:"at"`
		Data      json.RawMessage `json:"data"`
	} `json:"event"`
}

// maxPending bounds the events waiting to be sent: when Redis is down,
// the oldest are dropped (consoles resync from the API).
const maxPending = 10000

// Publish queues an event under a fresh id; it never blocks the caller.
func (b *Bus) Publish(e control.Event) {
	id := evercast.NewID(IDPrefix)
	if e.At.IsZero() {
		e.At = time.Now()
	}
	b.mu.Lock()
	if len(b.pending) >= maxPending {
		b.pending = b.pending[1:]
	}
	b.pending = append(b.pending, envelope{ID: id, Source: b.source, Event: e})
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
	for _, env := range batch {
		msg, err := json.Marshal(env)
		if err != nil {
			b.log.Error("events: encode", "event", env.Event.Name, "err", err)
			continue
		}
		pipe.Publish(ctx, Channel, msg)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		b.log.Warn("events: publish failed; events dropped", "n", len(batch), "err", err)
	}
}

// Subscribe delivers every event published by any process to fn until ctx
// ends, reconnecting when Redis drops. fn runs on the subscription's
// goroutine: it must not block.
func (b *Bus) Subscribe(ctx context.Context, fn func(Message)) error {
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
				msg, err := decode([]byte(m.Payload))
				if err != nil {
					b.log.Warn("events: undecodable message", "err", err)
					continue
				}
				fn(msg)
			}
		}
		ps.Close()
	}
	return nil
}

// decode reads a message off the wire.
func decode(b []byte) (Message, error) {
	var env wireEnvelope
	if err := json.Unmarshal(b, &env); err != nil {
		return Message{}, err
	}
	m := Message{ID: env.ID, Source: env.Source, Event: control.Event{
		SessionID: env.Event.SessionID, Name: env.Event.Name, At: env.Event.At}}
	if len(env.Event.Data) > 0 && string(env.Event.Data) != "null" {
		m.Event.Data = env.Event.Data
	}
	return m, nil
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
