package app

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/claims"
	"github.com/evercast/evercast/orchestrator"
	"github.com/evercast/evercast/workers"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// storeAdapter narrows the store to the API's interface.
type storeAdapter struct{ *store.Store }

// ListSessions lists a merchant's sessions ("" = all).
func (s storeAdapter) ListSessions(ctx context.Context, merchantID string) ([]*evercast.Session, error) {
	return s.Store.ListSessions(ctx, store.SessionFilter{MerchantID: merchantID})
}

// claimsChecker adapts the claims checker to the workers' interface.
type claimsChecker struct{ c *claims.Checker }

func newChecker() workers.Checker { return claimsChecker{claims.New(claims.Options{})} }

// Check judges a script; the verdict recorded on the clip is JSON naming
// the first violation, if any.
func (k claimsChecker) Check(_ context.Context, in workers.CheckInput) workers.CheckResult {
	res := k.c.Check(claims.Input{Lang: in.Language, Text: in.Text, Product: in.Product, Catalog: in.Catalog, SessionDate: in.At})
	if res.OK {
		b, _ := json.Marshal(map[string]any{"verdict": "ok", "sentences": len(res.Sentences)})
		return workers.CheckResult{OK: true, Verdict: string(b)}
	}
	var fb []string
	var first claims.Verdict
	for _, v := range res.Sentences {
		if !v.OK {
			if first.Category == "" {
				first = v
			}
			fb = append(fb, fmt.Sprintf("%s「%s」: %s", v.Category, v.Span, v.Reason))
		}
	}
	b, _ := json.Marshal(map[string]any{"verdict": "violation", "category": first.Category, "span": first.Span, "reason": first.Reason})
	return workers.CheckResult{OK: false, Verdict: string(b), Feedback: fb}
}

// interactions joins the orchestrator's comment router and the store's
// comment record for the API.
type interactions struct {
	o  *orchestrator.Orchestrator
	st *store.Store
}

func (i interactions) Comments(ctx context.Context, sessionID string, cs []evercast.Comment) (*evercast.CommentResult, error) {
	return i.o.Comments(ctx, sessionID, cs)
}

func (i interactions) ListComments(ctx context.Context, sessionID string, limit int) ([]*evercast.CommentRecord, error) {
	return i.st.ListComments(ctx, sessionID, limit)
}

// recorder appends to the audit log, naming the session's merchant and the
// actor from the context.
type recorder struct {
	log       *audit.Log
	st        *store.Store
	merchants sync.Map // session id → merchant id
}

// Record appends one record.
func (r *recorder) Record(ctx context.Context, sessionID, kind string, data any) error {
	m, ok := r.merchants.Load(sessionID)
	if !ok {
		s, err := r.st.GetSession(ctx, sessionID)
		if err != nil {
			return err
		}
		m = s.MerchantID
		r.merchants.Store(sessionID, m)
	}
	actor := evercast.ActorFrom(ctx)
	switch kind {
	case audit.KindClipAired:
		actor = audit.ActorPlayout
	}
	_, err := r.log.Append(ctx, sessionID, m.(string), kind, actor, data)
	return err
}
