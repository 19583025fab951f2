package app

import (
	"context"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// storeAdapter narrows the store to the API's interface.
type storeAdapter struct{ *store.Store }

// ListSessions lists a merchant's sessions ("" = all).
func (s storeAdapter) ListSessions(ctx context.Context, merchantID string) ([]*evercast.Session, error) {
	return s.Store.ListSessions(ctx, store.SessionFilter{MerchantID: merchantID})
}
