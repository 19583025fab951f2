package orchestrator

import (
	"encoding/json"
	"time"

	"github.com/evercast/evercast"
)

// plan is the planner's memory for one session, saved with every batch of
// clips it plans (in the same transaction), so that a restarted
// orchestrator goes on exactly where the last one stopped.
type plan struct {
	Started       bool   `json:"started"`
	StandbyClipID string `json:"standby_clip_id,omitempty"`
	// Product is the index in the rotation, Beat the next beat on it.
	Product int `json:"product"`
	Beat    int `json:"beat"`
	// PlannedMS estimates content planned so far; SinceDisclosureMS the part
	// of it since the last spoken AI disclosure.
	PlannedMS         int64 `json:"planned_ms"`
	SinceDisclosureMS int64 `json:"since_disclosure_ms"`
	// Closing is set once the closing clip is planned; nothing follows it.
	Closing       bool      `json:"closing,omitempty"`
	ClosingClipID string    `json:"closing_clip_id,omitempty"`
	ClosingAt     time.Time `json:"closing_at,omitempty"`
}

func loadPlan(b []byte) (plan, error) {
	var p plan
	if len(b) == 0 {
		return p, nil
	}
	err := json.Unmarshal(b, &p)
	return p, err
}

func (p plan) bytes() []byte {
	b, _ := json.Marshal(p)
	return b
}

// estimateMS is the expected length of a clip not yet rendered.
const estimateMS = 5000

// next returns the next regular clip of the session's rotation and advances
// the plan: product by product, ClipsPerProduct beats each (introduction,
// selling points and facts, then price and call to action), with the spoken
// AI disclosure due well before the interval runs out.
func (p *plan) next(s *evercast.Session, lang evercast.Language) *evercast.Clip {
	c := &evercast.Clip{SessionID: s.ID, Language: lang, State: evercast.ClipPlanned}
	// Disclose again once 80% of the interval has been planned since the
	// last disclosure: estimates are estimates, and the law's "at least
	// every N minutes" is a ceiling.
	if p.SinceDisclosureMS >= int64(s.DisclosureSeconds)*1000*8/10 {
		c.Kind = evercast.KindDisclosure
		p.SinceDisclosureMS = 0
		p.PlannedMS += estimateMS
		return c
	}
	n := len(s.ProductIDs)
	if p.Product >= n {
		p.Product = 0
	}
	c.ProductID = s.ProductIDs[p.Product]
	if p.Beat >= s.ClipsPerProduct-1 && s.ClipsPerProduct > 1 {
		c.Kind = evercast.KindPromotion
	} else {
		c.Kind = evercast.KindPitch
		c.Beat = p.Beat
	}
	p.Beat++
	if p.Beat >= s.ClipsPerProduct {
		p.Beat = 0
		p.Product = (p.Product + 1) % n
	}
	p.PlannedMS += estimateMS
	p.SinceDisclosureMS += estimateMS
	return c
}
