// Package tasks holds what the orchestrator and the workers share: task type
// names, queue names, payloads, and task ids derived from clip ids so that a
// retried or duplicated enqueue never does a stage's work twice.
package tasks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/evercast/evercast"
	"github.com/hibiken/asynq"
)

// Task types, one per pipeline stage.
const (
	TypeScript = "clip:script" // write the script (LLM or offline writer), check it
	TypeSpeech = "clip:speech" // voice the script
	TypeRender = "clip:render" // render the avatar speaking it
	TypeStore  = "clip:store"  // store the rendered clip under its content address
)

// Queues, by urgency.
const (
	QueueCritical = "critical" // live replies and say-now
	QueueDefault  = "default"  // the lookahead buffer
	QueueLow      = "low"      // pre-generation (standby, far-ahead clips)
)

// Queues returns asynq's queue weights.
func Queues() map[string]int {
	return map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1}
}

// Retention keeps a completed task's id so that a duplicate enqueue is
// refused while it lasts.
const Retention = 2 * time.Hour

// MaxRetry is how often a stage is retried before the clip fails.
const MaxRetry = 4

// TaskID derives a stage's task id from the clip id.
func TaskID(taskType, clipID string) string { return taskType + ":" + clipID }

// Payload is what every stage carries.
type Payload struct {
	ClipID    string `json:"clip_id"`
	SessionID string `json:"session_id"`
	// StagingKey is where the render stage left the clip for the store stage.
	StagingKey string `json:"staging_key,omitempty"`
	// Duration of the rendered clip in milliseconds (store stage).
	DurationMS int64 `json:"duration_ms,omitempty"`
	// Breaks are the rendered clip's pause quanta (store stage).
	Breaks []int `json:"breaks,omitempty"`
}

// Validate checks the payload for the given task type.
func (p Payload) Validate(taskType string) error {
	if !strings.HasPrefix(p.ClipID, evercast.PrefixClip+"_") || len(p.ClipID) > 64 {
		return fmt.Errorf("clip_id: want a clip id, got %q", p.ClipID)
	}
	if !strings.HasPrefix(p.SessionID, evercast.PrefixSession+"_") || len(p.SessionID) > 64 {
		return fmt.Errorf("session_id: want a session id, got %q", p.SessionID)
	}
	if taskType == TypeStore {
		if p.StagingKey == "" || strings.Contains(p.StagingKey, "..") {
			return fmt.Errorf("staging_key: required")
		}
		if p.DurationMS <= 0 {
			return fmt.Errorf("duration_ms: must be positive")
		}
		for _, q := range p.Breaks {
			if q <= 0 || int64(q)*320 >= p.DurationMS {
				return fmt.Errorf("breaks: quantum %d is outside the clip", q)
			}
		}
	}
	return nil
}

// New builds a stage task for a clip, with its derived id, queue and
// retention.
func New(taskType string, p Payload, queue string) (*asynq.Task, error) {
	return NewVariant(taskType, p, queue, "")
}

// NewVariant is New with a suffix on the task id, for a stage that must run
// again after an earlier run of it completed (and is still retained):
// voicing a script once a person approved it.
func NewVariant(taskType string, p Payload, queue, variant string) (*asynq.Task, error) {
	if err := p.Validate(taskType); err != nil {
		return nil, fmt.Errorf("task %s: %w", taskType, err)
	}
	b, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	id := TaskID(taskType, p.ClipID)
	if variant != "" {
		id += ":" + variant
	}
	return asynq.NewTask(taskType, b,
		asynq.TaskID(id),
		asynq.Queue(queue),
		asynq.MaxRetry(MaxRetry),
		asynq.Retention(Retention),
		asynq.Timeout(5*time.Minute),
	), nil
}

// Decode reads a task's payload strictly. A malformed payload is a permanent
// failure: the returned error wraps asynq.SkipRetry.
func Decode(t *asynq.Task) (Payload, error) {
	var p Payload
	dec := json.NewDecoder(bytes.NewReader(t.Payload()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&p); err != nil {
		return p, fmt.Errorf("decode %s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	if err := p.Validate(t.Type()); err != nil {
		return p, fmt.Errorf("%s payload: %v: %w", t.Type(), err, asynq.SkipRetry)
	}
	return p, nil
}
