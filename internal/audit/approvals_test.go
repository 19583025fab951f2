package audit

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// sessionFixture creates a merchant, anchor, product and session, and n
// clips in state scripted.
func sessionFixture(t *testing.T, d *db, n int) (*evercast.Session, []*evercast.Clip) {
	t.Helper()
	m := &evercast.Merchant{Name: "西湖茶庄"}
	must(t, d.st.CreateMerchant(d.ctx, m))
	a := &evercast.Anchor{MerchantID: m.ID, Name: "小云", Language: evercast.LangZH, Voice: evercast.Voice{Name: "cmn-latn-pinyin"}}
	must(t, d.st.CreateAnchor(d.ctx, a))
	p := &evercast.Product{MerchantID: m.ID, SKU: "LJ-250", Title: evercast.Text{evercast.LangZH: "龙井"}, Price: 9990}
	must(t, d.st.CreateProduct(d.ctx, p))
	s := &evercast.Session{MerchantID: m.ID, AnchorID: a.ID, Title: "全天直播", ProductIDs: []string{p.ID}}
	must(t, d.st.CreateSession(d.ctx, s))
	var clips []*evercast.Clip
	for range n {
		clips = append(clips, &evercast.Clip{Kind: evercast.KindPitch, Language: evercast.LangZH, ProductID: p.ID})
	}
	must(t, d.st.PlanClips(d.ctx, s.ID, clips, nil))
	for i, c := range clips {
		text, verdict := fmt.Sprintf("龙井第%d句。", i), `{"verdict":"ok","sentences":1}`
		got, err := d.st.AdvanceClip(d.ctx, c.ID, evercast.ClipPlanned, store.ClipUpdate{State: evercast.ClipScripted, Text: &text, Verdict: &verdict})
		must(t, err)
		clips[i] = got
	}
	return s, clips
}

func TestApprovals(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			d := newDB(t, b)
			ctx := d.ctx
			l := NewLog(d.st, d.clk.Now)
			ap := NewApprovals(d.st, l)
			s, clips := sessionFixture(t, d, 4)
			original := clips[0].Verdict

			// Without the requirement, clips are cleared.
			ok, err := ap.Cleared(ctx, clips[0])
			must(t, err)
			if !ok {
				t.Fatal("clip not cleared though the session requires no approval")
			}
			wantErr(t, ap.SetRequired(ctx, s.ID, true, ""), evercast.ErrInvalid)
			must(t, ap.SetRequired(ctx, s.ID, true, "merchant:"+s.MerchantID))
			if req, err := ap.Required(ctx, s.ID); err != nil || !req {
				t.Fatalf("Required = %t, %v", req, err)
			}
			if ok, _ := ap.Cleared(ctx, clips[0]); ok {
				t.Fatal("clip cleared before approval though the session requires it")
			}

			for _, c := range clips[:3] {
				a, err := ap.Request(ctx, c)
				must(t, err)
				if !a.Pending() || a.Text != c.Text || a.Verdict != original || a.MerchantID != s.MerchantID {
					t.Fatalf("request %+v", a)
				}
				got, err := d.st.GetClip(ctx, c.ID)
				must(t, err)
				if got.State != evercast.ClipScripted || got.Verdict != VerdictPendingApproval {
					t.Fatalf("clip after request: %s %q, want scripted pending-approval", got.State, got.Verdict)
				}
			}
			// Requesting again (a retried task) records nothing new.
			again, err := d.st.GetClip(ctx, clips[0].ID)
			must(t, err)
			_, err = ap.Request(ctx, again)
			must(t, err)
			planned := &evercast.Clip{Kind: evercast.KindPitch}
			must(t, d.st.PlanClips(ctx, s.ID, []*evercast.Clip{planned}, nil))
			_, err = ap.Request(ctx, planned)
			wantErr(t, err, evercast.ErrConflict)

			pending, err := ap.Pending(ctx, s.ID)
			must(t, err)
			if len(pending) != 3 || pending[0].ClipID != clips[0].ID || pending[2].ClipID != clips[2].ID {
				t.Fatalf("pending %+v, want the three requests oldest first", pending)
			}

			// Approve: the claims verdict comes back and the clip is cleared.
			a, err := ap.Decide(ctx, clips[0].ID, true, "operator:li", "符合事实")
			must(t, err)
			if a.Pending() || !*a.Approved || a.Actor != "operator:li" || a.DecidedAt == nil {
				t.Fatalf("decision %+v", a)
			}
			c0, err := d.st.GetClip(ctx, clips[0].ID)
			must(t, err)
			if c0.Verdict != original || c0.State != evercast.ClipScripted {
				t.Fatalf("approved clip: %s %q, want scripted with verdict %q", c0.State, c0.Verdict, original)
			}
			if ok, err := ap.Cleared(ctx, c0); err != nil || !ok {
				t.Fatalf("approved clip not cleared: %v", err)
			}
			// Deciding the same again is a no-op; the other way a conflict.
			_, err = ap.Decide(ctx, clips[0].ID, true, "operator:li", "again")
			must(t, err)
			_, err = ap.Decide(ctx, clips[0].ID, false, "operator:wang", "changed my mind")
			wantErr(t, err, evercast.ErrConflict)

			// Reject: the clip fails and is never cleared.
			_, err = ap.Decide(ctx, clips[1].ID, false, "operator:li", "功效夸大")
			must(t, err)
			c1, err := d.st.GetClip(ctx, clips[1].ID)
			must(t, err)
			if c1.State != evercast.ClipFailed || !strings.Contains(c1.Error, "rejected by operator:li: 功效夸大") {
				t.Fatalf("rejected clip: %s %q", c1.State, c1.Error)
			}
			if ok, _ := ap.Cleared(ctx, c1); ok {
				t.Fatal("rejected clip cleared")
			}
			_, err = ap.Decide(ctx, clips[1].ID, false, "operator:li", "功效夸大")
			must(t, err)

			_, err = ap.Decide(ctx, "clp_missing", true, "operator:li", "")
			wantErr(t, err, evercast.ErrNotFound)
			_, err = ap.Decide(ctx, clips[2].ID, true, "", "")
			wantErr(t, err, evercast.ErrInvalid)

			// Concurrent decisions on one clip: exactly one is recorded.
			var wg sync.WaitGroup
			var mu sync.Mutex
			conflicts := 0
			for i := range 8 {
				wg.Go(func() {
					_, err := ap.Decide(ctx, clips[2].ID, i%2 == 0, fmt.Sprintf("operator:%d", i), "")
					mu.Lock()
					defer mu.Unlock()
					switch {
					case errors.Is(err, evercast.ErrConflict):
						conflicts++
					case err != nil:
						t.Errorf("decide: %v", err)
					}
				})
			}
			wg.Wait()
			final, err := ap.Get(ctx, clips[2].ID)
			must(t, err)
			if final.Pending() || conflicts != 4 {
				t.Fatalf("after 8 concurrent decisions: %+v with %d conflicts, want decided with 4 conflicts", final, conflicts)
			}

			pending, err = ap.Pending(ctx, "")
			must(t, err)
			if len(pending) != 0 {
				t.Fatalf("pending after decisions: %+v", pending)
			}

			// The record: policy, three requests, three decisions, in a
			// valid chain.
			res, err := l.Verify(ctx, s.ID)
			must(t, err)
			recs, err := l.Records(ctx, s.ID, 0, 0)
			must(t, err)
			var kinds []string
			for _, r := range recs {
				kinds = append(kinds, r.Kind)
			}
			want := []string{KindApprovalPolicy, KindApprovalRequested, KindApprovalRequested, KindApprovalRequested,
				KindApproval, KindApproval, KindApproval}
			if !res.OK || strings.Join(kinds, " ") != strings.Join(want, " ") {
				t.Fatalf("records %v (verify %+v), want %v", kinds, res, want)
			}
			var dec ApprovalDecision
			must(t, json.Unmarshal(recs[4].Data, &dec))
			if dec.ClipID != clips[0].ID || !dec.Approved || dec.Text != clips[0].Text || recs[4].Actor != "operator:li" ||
				recs[4].MerchantID != s.MerchantID {
				t.Fatalf("approval record %+v %s", dec, recs[4].Data)
			}
		})
	}
}
