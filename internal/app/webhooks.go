package app

import (
	"github.com/hibiken/asynq"

	"github.com/evercast/evercast/internal/webhook"
)

// buildWebhooks makes the API side of webhooks: the dispatcher that turns
// the events this process receives into delivery tasks, and the
// registrations the API serves (which tell the dispatcher of changes at
// once).
func (a *App) buildWebhooks() *webhook.Service {
	a.webhooks = webhook.NewDispatcher(webhook.DispatcherOptions{
		Store: a.Store, Queue: a.client, Log: a.Log.With("component", "webhook"), Registry: a.Registry,
	})
	return webhook.NewService(a.Store, webhook.ServiceOptions{
		AllowPrivate: a.Config.WebhookAllowPrivate, Changed: a.webhooks.Changed,
	})
}

// registerWebhooks adds the delivery handler to a worker's task mux.
func (a *App) registerWebhooks(mux *asynq.ServeMux) {
	webhook.NewDeliverer(webhook.DelivererOptions{
		Store: a.Store, AllowPrivate: a.Config.WebhookAllowPrivate, Log: a.Log.With("component", "webhook"), Registry: a.Registry,
	}).Register(mux)
}
