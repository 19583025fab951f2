package evercast

import "context"

type actorKey struct{}

// WithActor records who is acting (an operator, a merchant id, "system") in
// ctx, for the audit record of what the call does.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor recorded in ctx, or "system".
func ActorFrom(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}
