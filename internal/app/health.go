package app

import (
	"context"
	"fmt"
	"time"

	"github.com/evercast/evercast/internal/control"
	"github.com/hibiken/asynq"
)

// watchQueues publishes the task queues' depths and the workers' health
// every few seconds, for consoles.
func (a *App) watchQueues(ctx context.Context) error {
	insp := asynq.NewInspector(a.redisOpt)
	defer insp.Close()
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		qs := control.QueueData{Queues: map[string]control.QueueDepth{}}
		for _, q := range []string{"critical", "default", "low"} {
			info, err := insp.GetQueueInfo(q)
			if err != nil {
				continue // a queue that never had a task does not exist yet
			}
			qs.Queues[q] = control.QueueDepth{Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled, Retry: info.Retry}
		}
		a.Bus.Publish(control.Event{Name: control.EventQueue, At: time.Now(), Data: qs})
		servers, err := insp.Servers()
		if err != nil {
			a.Bus.Publish(control.Event{Name: control.EventWorker, At: time.Now(),
				Data: control.WorkerData{Worker: "*", State: "down", Error: err.Error()}})
			continue
		}
		for _, s := range servers {
			var queues []string
			for q := range s.Queues {
				queues = append(queues, q)
			}
			state := "up"
			if s.Status != "active" {
				state = "degraded"
			}
			a.Bus.Publish(control.Event{Name: control.EventWorker, At: time.Now(), Data: control.WorkerData{
				Worker: fmt.Sprintf("%s:%d", s.Host, s.PID), State: state, Queues: queues, Active: len(s.ActiveWorkers)}})
		}
	}
}
