// Package apitest holds in-memory stand-ins for what the API depends on: a
// map-backed Store and a Controller built from function fields. They let the
// API (and anything that drives it, such as the console) run with no
// database and no orchestrator.
package apitest

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/evercast/evercast"
)

// Store keeps merchants, API keys, anchors, products and sessions in maps.
// It copies objects in and out, as a database would, and is safe for
// concurrent use. The zero value is not usable: call NewStore.
type Store struct {
	mu        sync.Mutex
	seq       int64 // creation order
	merchants map[string]*evercast.Merchant
	keys      map[string]string // token -> merchant id
	anchors   map[string]*evercast.Anchor
	products  map[string]*evercast.Product
	sessions  map[string]*evercast.Session
	order     map[string]int64 // id -> creation order
}

// NewStore returns an empty Store.
func NewStore() *Store {
	return &Store{
		merchants: map[string]*evercast.Merchant{},
		keys:      map[string]string{},
		anchors:   map[string]*evercast.Anchor{},
		products:  map[string]*evercast.Product{},
		sessions:  map[string]*evercast.Session{},
		order:     map[string]int64{},
	}
}

// clone deep-copies v through JSON, as a store that serialises would.
func clone[T any](v *T) *T {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("apitest: marshal %T: %v", v, err))
	}
	var c T
	if err := json.Unmarshal(b, &c); err != nil {
		panic(fmt.Sprintf("apitest: unmarshal %T: %v", v, err))
	}
	return &c
}

func notFound(what, id string) error { return fmt.Errorf("%s %s: %w", what, id, evercast.ErrNotFound) }

func (s *Store) created(id string) {
	s.seq++
	s.order[id] = s.seq
}

// sorted lists the values of m in creation order, filtered by keep.
func sorted[T any](s *Store, m map[string]*T, keep func(*T) bool) []*T {
	ids := make([]string, 0, len(m))
	for id, v := range m {
		if keep(v) {
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return s.order[ids[i]] < s.order[ids[j]] })
	out := make([]*T, 0, len(ids))
	for _, id := range ids {
		out = append(out, clone(m[id]))
	}
	return out
}

// CreateMerchant stores m, assigning an ID when it has none.
func (s *Store) CreateMerchant(_ context.Context, m *evercast.Merchant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.ID == "" {
		m.ID = evercast.NewID(evercast.PrefixMerchant)
	}
	if _, ok := s.merchants[m.ID]; ok {
		return fmt.Errorf("merchant %s exists: %w", m.ID, evercast.ErrConflict)
	}
	if m.CreatedAt.IsZero() {
		m.CreatedAt = time.Now().UTC()
	}
	s.merchants[m.ID] = clone(m)
	s.created(m.ID)
	return nil
}

// GetMerchant returns the merchant id.
func (s *Store) GetMerchant(_ context.Context, id string) (*evercast.Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.merchants[id]
	if !ok {
		return nil, notFound("merchant", id)
	}
	return clone(m), nil
}

// ListMerchants returns every merchant in creation order.
func (s *Store) ListMerchants(context.Context) ([]*evercast.Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sorted(s, s.merchants, func(*evercast.Merchant) bool { return true }), nil
}

// CreateAPIKey issues a token for the merchant.
func (s *Store) CreateAPIKey(_ context.Context, merchantID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.merchants[merchantID]; !ok {
		return "", notFound("merchant", merchantID)
	}
	token := "evk_" + evercast.NewID("key")
	s.keys[token] = merchantID
	return token, nil
}

// MerchantByAPIKey returns the merchant owning token.
func (s *Store) MerchantByAPIKey(_ context.Context, token string) (*evercast.Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.keys[token]
	if !ok {
		return nil, fmt.Errorf("api key: %w", evercast.ErrNotFound)
	}
	return clone(s.merchants[id]), nil
}

func (s *Store) needMerchant(id string) error {
	if _, ok := s.merchants[id]; !ok {
		return notFound("merchant", id)
	}
	return nil
}

// CreateAnchor stores a; its merchant must exist.
func (s *Store) CreateAnchor(_ context.Context, a *evercast.Anchor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.needMerchant(a.MerchantID); err != nil {
		return err
	}
	if a.ID == "" {
		a.ID = evercast.NewID(evercast.PrefixAnchor)
	}
	if _, ok := s.anchors[a.ID]; ok {
		return fmt.Errorf("anchor %s exists: %w", a.ID, evercast.ErrConflict)
	}
	s.anchors[a.ID] = clone(a)
	s.created(a.ID)
	return nil
}

// GetAnchor returns the anchor id.
func (s *Store) GetAnchor(_ context.Context, id string) (*evercast.Anchor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.anchors[id]
	if !ok {
		return nil, notFound("anchor", id)
	}
	return clone(a), nil
}

// ListAnchors returns the merchant's anchors, or every anchor for "".
func (s *Store) ListAnchors(_ context.Context, merchantID string) ([]*evercast.Anchor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sorted(s, s.anchors, func(a *evercast.Anchor) bool { return merchantID == "" || a.MerchantID == merchantID }), nil
}

// UpdateAnchor replaces the anchor a.ID.
func (s *Store) UpdateAnchor(_ context.Context, a *evercast.Anchor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.anchors[a.ID]; !ok {
		return notFound("anchor", a.ID)
	}
	s.anchors[a.ID] = clone(a)
	return nil
}

// DeleteAnchor removes the anchor id; one that a session uses is a conflict.
func (s *Store) DeleteAnchor(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.anchors[id]; !ok {
		return notFound("anchor", id)
	}
	for _, ses := range s.sessions {
		if ses.AnchorID == id {
			return fmt.Errorf("anchor %s is used by session %s: %w", id, ses.ID, evercast.ErrConflict)
		}
	}
	delete(s.anchors, id)
	return nil
}

// CreateProduct stores p; its merchant must exist and its SKU be new.
func (s *Store) CreateProduct(_ context.Context, p *evercast.Product) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.needMerchant(p.MerchantID); err != nil {
		return err
	}
	if p.ID == "" {
		p.ID = evercast.NewID(evercast.PrefixProduct)
	}
	if err := s.skuFree(p); err != nil {
		return err
	}
	s.products[p.ID] = clone(p)
	s.created(p.ID)
	return nil
}

// skuFree refuses a SKU that another product of the merchant has.
func (s *Store) skuFree(p *evercast.Product) error {
	for _, o := range s.products {
		if o.ID != p.ID && o.MerchantID == p.MerchantID && o.SKU == p.SKU {
			return fmt.Errorf("sku %s is taken by product %s: %w", p.SKU, o.ID, evercast.ErrConflict)
		}
	}
	return nil
}

// GetProduct returns the product id.
func (s *Store) GetProduct(_ context.Context, id string) (*evercast.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.products[id]
	if !ok {
		return nil, notFound("product", id)
	}
	return clone(p), nil
}

// ListProducts returns the merchant's products, or every product for "".
func (s *Store) ListProducts(_ context.Context, merchantID string) ([]*evercast.Product, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sorted(s, s.products, func(p *evercast.Product) bool { return merchantID == "" || p.MerchantID == merchantID }), nil
}

// UpdateProduct replaces the product p.ID.
func (s *Store) UpdateProduct(_ context.Context, p *evercast.Product) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.products[p.ID]; !ok {
		return notFound("product", p.ID)
	}
	if err := s.skuFree(p); err != nil {
		return err
	}
	s.products[p.ID] = clone(p)
	return nil
}

// DeleteProduct removes the product id; one that a session sells is a
// conflict.
func (s *Store) DeleteProduct(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.products[id]; !ok {
		return notFound("product", id)
	}
	for _, ses := range s.sessions {
		for _, pid := range ses.ProductIDs {
			if pid == id {
				return fmt.Errorf("product %s is sold by session %s: %w", id, ses.ID, evercast.ErrConflict)
			}
		}
	}
	delete(s.products, id)
	return nil
}

// CreateSession stores ses; its merchant must exist.
func (s *Store) CreateSession(_ context.Context, ses *evercast.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.needMerchant(ses.MerchantID); err != nil {
		return err
	}
	if ses.ID == "" {
		ses.ID = evercast.NewID(evercast.PrefixSession)
	}
	if _, ok := s.sessions[ses.ID]; ok {
		return fmt.Errorf("session %s exists: %w", ses.ID, evercast.ErrConflict)
	}
	s.sessions[ses.ID] = clone(ses)
	s.created(ses.ID)
	return nil
}

// GetSession returns the session id.
func (s *Store) GetSession(_ context.Context, id string) (*evercast.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ses, ok := s.sessions[id]
	if !ok {
		return nil, notFound("session", id)
	}
	return clone(ses), nil
}

// ListSessions returns the merchant's sessions, or every session for "".
func (s *Store) ListSessions(_ context.Context, merchantID string) ([]*evercast.Session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return sorted(s, s.sessions, func(ses *evercast.Session) bool { return merchantID == "" || ses.MerchantID == merchantID }), nil
}

// UpdateSession replaces the session ses.ID.
func (s *Store) UpdateSession(_ context.Context, ses *evercast.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[ses.ID]; !ok {
		return notFound("session", ses.ID)
	}
	s.sessions[ses.ID] = clone(ses)
	return nil
}

// DeleteSession removes the session id.
func (s *Store) DeleteSession(_ context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.sessions[id]; !ok {
		return notFound("session", id)
	}
	delete(s.sessions, id)
	return nil
}

// Controller is an orchestrator stand-in made of function fields. A nil
// field answers an error that wraps evercast.ErrNotFound, as an orchestrator
// that does not run the session would.
type Controller struct {
	StartFunc   func(ctx context.Context, sessionID string) (*evercast.Session, error)
	StopFunc    func(ctx context.Context, sessionID string) (*evercast.Session, error)
	StatusFunc  func(ctx context.Context, sessionID string) (*evercast.SessionStatus, error)
	RundownFunc func(ctx context.Context, sessionID string) (*evercast.Rundown, error)
}

// Start calls StartFunc.
func (c *Controller) Start(ctx context.Context, id string) (*evercast.Session, error) {
	if c.StartFunc == nil {
		return nil, notFound("running session", id)
	}
	return c.StartFunc(ctx, id)
}

// Stop calls StopFunc.
func (c *Controller) Stop(ctx context.Context, id string) (*evercast.Session, error) {
	if c.StopFunc == nil {
		return nil, notFound("running session", id)
	}
	return c.StopFunc(ctx, id)
}

// Status calls StatusFunc.
func (c *Controller) Status(ctx context.Context, id string) (*evercast.SessionStatus, error) {
	if c.StatusFunc == nil {
		return nil, notFound("running session", id)
	}
	return c.StatusFunc(ctx, id)
}

// Rundown calls RundownFunc.
func (c *Controller) Rundown(ctx context.Context, id string) (*evercast.Rundown, error) {
	if c.RundownFunc == nil {
		return nil, notFound("running session", id)
	}
	return c.RundownFunc(ctx, id)
}

// StateController returns a Controller that moves sessions of st through
// their lifecycle (start: scheduled → live; stop: → ended, each a conflict
// from the wrong state) and reports a fixed status: bufferAhead seconds
// ready, one pitch clip on air and two more queued.
func StateController(st *Store, bufferAhead float64) *Controller {
	set := func(ctx context.Context, id string, ok func(evercast.SessionState) bool, to evercast.SessionState) (*evercast.Session, error) {
		st.mu.Lock()
		defer st.mu.Unlock()
		ses, found := st.sessions[id]
		if !found {
			return nil, notFound("session", id)
		}
		if !ok(ses.State) {
			return nil, fmt.Errorf("session %s is %s: %w", id, ses.State, evercast.ErrConflict)
		}
		t := time.Now().UTC()
		ses.State, ses.UpdatedAt = to, t
		if to == evercast.SessionLive {
			ses.StartedAt, ses.EndedAt = &t, nil
		} else {
			ses.EndedAt = &t
		}
		return clone(ses), nil
	}
	clips := func(id string) []*evercast.RundownEntry {
		start := 0.0
		return []*evercast.RundownEntry{
			{ID: id + "-1", Seq: 1, Kind: evercast.KindOpening, Language: evercast.LangZH, Text: "欢迎来到直播间，我是AI数字人主播。", State: evercast.ClipAired, Start: &start, Duration: 6.4},
			{ID: id + "-2", Seq: 2, Kind: evercast.KindPitch, Product: "prd_demo", Language: evercast.LangZH, Text: "今天给大家介绍明前龙井。", State: evercast.ClipOnAir, Duration: 9.6},
			{ID: id + "-3", Seq: 3, Kind: evercast.KindPromotion, Product: "prd_demo", Language: evercast.LangZH, Text: "现在下单立减十元。", State: evercast.ClipRendered, Duration: 6.4},
			{ID: id + "-4", Seq: 4, Kind: evercast.KindDisclosure, Language: evercast.LangZH, Text: "温馨提示：本直播由AI生成。", State: evercast.ClipVoiced, Duration: 3.2},
		}
	}
	return &Controller{
		StartFunc: func(ctx context.Context, id string) (*evercast.Session, error) {
			return set(ctx, id, func(s evercast.SessionState) bool { return !s.OnAir() }, evercast.SessionLive)
		},
		StopFunc: func(ctx context.Context, id string) (*evercast.Session, error) {
			return set(ctx, id, evercast.SessionState.OnAir, evercast.SessionEnded)
		},
		StatusFunc: func(_ context.Context, id string) (*evercast.SessionStatus, error) {
			st.mu.Lock()
			ses, found := st.sessions[id]
			var state evercast.SessionState
			if found {
				state = ses.State
			}
			st.mu.Unlock()
			if !found || !state.OnAir() {
				return nil, notFound("running session", id)
			}
			c := clips(id)
			return &evercast.SessionStatus{State: state, Owner: "apitest", BufferAheadSeconds: bufferAhead,
				AiredSeconds: 6.4, OnAir: c[1], Next: c[2:], InFlight: 1}, nil
		},
		RundownFunc: func(_ context.Context, id string) (*evercast.Rundown, error) {
			return &evercast.Rundown{SessionID: id, Clips: clips(id)}, nil
		},
	}
}
