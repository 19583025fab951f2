package orchestrator

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/moderation"
	"github.com/evercast/evercast/internal/tasks"
)

// Interaction limits, per session.
const (
	// Replies: at most this many planned per minute, and this many waiting
	// to air at once; beyond, comments are recorded as rate_limited.
	repliesPerMinute = 6
	pendingReplies   = 2
	// The same question (intent and product) is answered once per window.
	dedupeWindow = 2 * time.Minute
	// Greetings are answered at most once per window, whoever greets.
	greetWindow = time.Minute
	// Moderation budget: comments classified per second (burst twice
	// that). A flood beyond it is recorded unread (action "flood").
	classifyPerSecond = 200
)

// budget is a token bucket for moderation work.
type budget struct {
	mu     sync.Mutex
	tokens float64
	last   time.Time
}

func (b *budget) take(now time.Time, rate float64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last.IsZero() {
		b.tokens, b.last = 2*rate, now
	}
	b.tokens = min(2*rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

func (x *Orchestrator) budgetFor(sessionID string) *budget {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.budgets == nil {
		x.budgets = map[string]*budget{}
	}
	b := x.budgets[sessionID]
	if b == nil {
		b = &budget{}
		x.budgets[sessionID] = b
	}
	return b
}

// Comments takes viewer comments for a session: moderation first (abuse,
// spam, personal data and instructions to the anchor are never read out),
// then intent; product questions, the "are you a real person?" question and
// greetings get a reply clip on the critical queue that airs at the next
// clip boundary once rendered. Repeated questions are answered once,
// replies are rate-limited, and every comment is recorded with what was done
// with it and why. Comments whose id the session already has are ignored.
func (x *Orchestrator) Comments(ctx context.Context, sessionID string, cs []evercast.Comment) (*evercast.CommentResult, error) {
	if len(cs) > evercast.MaxCommentBatch {
		return nil, evercast.Invalid("comments", "has %d comments; at most %d per request", len(cs), evercast.MaxCommentBatch)
	}
	if len(cs) == 0 {
		return nil, evercast.Invalid("comments", "is empty")
	}
	now := x.o.Clock.Now()
	seen := map[string]bool{}
	for i := range cs {
		if err := cs[i].Normalize(i, now); err != nil {
			return nil, err
		}
		if seen[cs[i].ID] {
			return nil, evercast.Invalid(fmt.Sprintf("comments[%d].id", i), "repeats %q in this batch", cs[i].ID)
		}
		seen[cs[i].ID] = true
	}
	s, err := x.o.Store.GetSession(ctx, sessionID)
	if err != nil {
		return nil, err
	}
	res := &evercast.CommentResult{Received: len(cs), Actions: map[string]int{}}
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	known, err := x.o.Store.KnownComments(ctx, sessionID, ids)
	if err != nil {
		return nil, err
	}
	anchor, err := x.o.Store.GetAnchor(ctx, s.AnchorID)
	if err != nil {
		return nil, err
	}
	products, err := x.o.Store.GetProducts(ctx, s.ProductIDs)
	if err != nil {
		return nil, err
	}
	current := x.currentProduct(ctx, s, products)
	live := s.State == evercast.SessionLive
	bud := x.budgetFor(sessionID)
	planned, pending, err := x.o.Store.RepliesSince(ctx, sessionID, now.Add(-time.Minute))
	if err != nil {
		return nil, err
	}
	var records []*evercast.CommentRecord
	var replies []*evercast.Clip
	keys := map[string]bool{}
	for _, c := range cs {
		if known[c.ID] {
			res.Duplicate++
			continue
		}
		r := &evercast.CommentRecord{Comment: c, ReceivedAt: now}
		records = append(records, r)
		if !bud.take(now, classifyPerSecond) {
			r.Action, r.Reason = "flood", "more comments than can be read; not classified"
			continue
		}
		d := moderation.ClassifyFor(products, moderation.Comment{ID: c.ID, User: c.User, Text: c.Text, At: c.At}, anchor.Language)
		r.Action, r.Reason, r.Intent, r.SKU = d.Action, d.Reason, d.Intent, d.SKU
		if d.Action == moderation.ActionIgnore {
			continue
		}
		if !live {
			r.Action, r.Reason = "ignore", "session is not live"
			continue
		}
		key := dedupeKey(d, current)
		r.DedupeKey = key
		window := dedupeWindow
		if d.Action == moderation.ActionGreet {
			window = greetWindow
		}
		dup := keys[key]
		if !dup {
			if dup, err = x.o.Store.AnsweredSince(ctx, sessionID, key, now.Add(-window)); err != nil {
				return nil, err
			}
		}
		if dup {
			r.Action, r.Reason = "duplicate", "answered recently: "+key
			continue
		}
		if planned+len(replies) >= repliesPerMinute || pending+len(replies) >= pendingReplies {
			r.Action, r.Reason = "rate_limited", fmt.Sprintf("reply limit: %d a minute, %d waiting", repliesPerMinute, pendingReplies)
			continue
		}
		keys[key] = true
		at := now
		clip := &evercast.Clip{
			ID: evercast.NewID(evercast.PrefixClip), SessionID: sessionID, Kind: evercast.KindReply, Priority: true,
			Language: anchor.Language, State: evercast.ClipPlanned, CommentID: c.ID, CommentAt: &at, Brief: c.Text, PlannedAt: now,
		}
		if p := productFor(products, d.SKU, current); p != nil {
			clip.ProductID = p.ID
		}
		r.ReplyClipID = clip.ID
		replies = append(replies, clip)
	}
	if len(replies) > 0 {
		if err := x.o.Store.PlanClips(ctx, sessionID, replies, nil); err != nil {
			return nil, err
		}
	}
	fresh, err := x.o.Store.RecordComments(ctx, sessionID, records)
	if err != nil {
		return nil, err
	}
	res.New = len(fresh)
	for _, r := range records {
		res.Actions[r.Action]++
	}
	for _, c := range replies {
		x.dispatch(ctx, tasks.TypeScript, c, tasks.QueueCritical)
	}
	res.Replies = len(replies)
	if len(fresh) > 0 {
		batch := commentBatch{Comments: make([]audit.Comment, 0, len(fresh))}
		for _, r := range fresh {
			batch.Comments = append(batch.Comments, audit.Comment{CommentID: r.ID, User: r.User, Text: r.Text, Language: string(anchor.Language),
				AtMS: r.At.UnixMilli(), Action: r.Action, Reason: r.Reason, Intent: r.Intent, SKU: r.SKU, ReplyClipID: r.ReplyClipID})
		}
		x.record(ctx, sessionID, audit.KindComment, batch)
	}
	for i, r := range records {
		if i >= 50 {
			x.publish(sessionID, control.EventAlert, map[string]any{"alert": "comment_flood", "comments": len(records),
				"message": fmt.Sprintf("%d comments in one batch; the first 50 are shown", len(records))})
			break
		}
		d := control.CommentData{Comment: control.Comment{ID: r.ID, User: r.User, Text: r.Text, At: r.At}, ReceivedAt: r.ReceivedAt,
			Action: r.Action, Reason: r.Reason, Intent: r.Intent}
		x.publish(sessionID, control.EventComment, d)
	}
	for _, c := range replies {
		x.publish(sessionID, control.EventReply, control.ReplyData{CommentID: c.CommentID, ClipID: c.ID, State: "planned"})
	}
	if x.o.OnComments != nil {
		x.o.OnComments(sessionID, records)
	}
	return res, nil
}

// commentBatch is the audit record of one batch of comments: each with
// what was done with it and why.
type commentBatch struct {
	Comments []audit.Comment `json:"comments"`
}

func dedupeKey(d moderation.Decision, current *evercast.Product) string {
	if d.Action == moderation.ActionGreet {
		return "greet"
	}
	sku := d.SKU
	if sku == "" && current != nil {
		sku = current.SKU
	}
	return strings.ToLower(d.Intent + ":" + sku)
}

func productFor(products []*evercast.Product, sku string, current *evercast.Product) *evercast.Product {
	for _, p := range products {
		if sku != "" && strings.EqualFold(p.SKU, sku) {
			return p
		}
	}
	return current
}

// currentProduct is the product on air, else the next one to air, else the
// first of the rotation.
func (x *Orchestrator) currentProduct(ctx context.Context, s *evercast.Session, products []*evercast.Product) *evercast.Product {
	byID := map[string]*evercast.Product{}
	for _, p := range products {
		byID[p.ID] = p
	}
	if st, err := x.o.Store.ClipStats(ctx, s.ID); err == nil && st.OnAir != nil && byID[st.OnAir.ProductID] != nil {
		return byID[st.OnAir.ProductID]
	}
	if len(products) > 0 {
		return products[0]
	}
	return nil
}
