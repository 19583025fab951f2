package store

import (
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
)

func testSessions(t *testing.T, e *env) {
	f := newFixture(t, e)
	if !strings.HasPrefix(f.session.ID, "ses_") || f.session.State != evercast.SessionScheduled ||
		f.session.LookaheadSeconds != evercast.DefaultLookaheadSeconds {
		t.Fatalf("created session %+v: want ses_ ID, state scheduled, defaults filled", f.session)
	}
	full := &evercast.Session{
		MerchantID: f.merchant.ID, AnchorID: f.anchor.ID, Title: "夜间专场",
		ProductIDs: []string{f.products[2].ID, f.products[0].ID},
		Schedule: evercast.Schedule{Mode: "windows", TimeZone: "Asia/Shanghai",
			Windows: []evercast.Window{{Start: "20:00", End: "02:00"}, {Start: "09:00", End: "11:30"}}},
		Outputs: []evercast.Output{{Name: "douyin", URL: "rtmp://push.example.com/live/key1"},
			{URL: "rtmps://live.example.com:443/app/key2"}},
		Orientation: evercast.Portrait, LookaheadSeconds: 90, ClipsPerProduct: 3, DisclosureSeconds: 300, MaxAirSeconds: 7200,
		// Ignored by create:
		State: evercast.SessionLive, Owner: "someone", StartedAt: ptr(time.Now()),
	}
	must(t, e.s.CreateSession(e.ctx, full))
	if full.State != evercast.SessionScheduled || full.Owner != "" || full.StartedAt != nil {
		t.Fatalf("create kept lifecycle fields: %+v", full)
	}
	got, err := e.s.GetSession(e.ctx, full.ID)
	must(t, err)
	sameJSON(t, "session", got, full)

	// References must exist and be the merchant's.
	other := &evercast.Merchant{Name: "other"}
	must(t, e.s.CreateMerchant(e.ctx, other))
	theirs := fullProduct(other.ID, "THEIRS")
	must(t, e.s.CreateProduct(e.ctx, theirs))
	for _, tc := range []struct {
		name   string
		mutate func(s *evercast.Session)
		want   error
	}{
		{"missing merchant", func(s *evercast.Session) { s.MerchantID = "mer_missing" }, evercast.ErrNotFound},
		{"missing anchor", func(s *evercast.Session) { s.AnchorID = "anc_missing" }, evercast.ErrNotFound},
		{"missing product", func(s *evercast.Session) { s.ProductIDs = []string{f.products[0].ID, "prd_missing"} }, evercast.ErrNotFound},
		{"other merchant's product", func(s *evercast.Session) { s.ProductIDs = []string{theirs.ID} }, evercast.ErrNotFound},
		{"no products", func(s *evercast.Session) { s.ProductIDs = nil }, evercast.ErrInvalid},
		{"bad output", func(s *evercast.Session) { s.Outputs = []evercast.Output{{URL: "http://x/y"}} }, evercast.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &evercast.Session{MerchantID: f.merchant.ID, AnchorID: f.anchor.ID, ProductIDs: []string{f.products[0].ID}}
			tc.mutate(s)
			wantErr(t, e.s.CreateSession(e.ctx, s), tc.want)
			// and the same through update
			u := *got
			tc.mutate(&u)
			if u.MerchantID == got.MerchantID {
				wantErr(t, e.s.UpdateSession(e.ctx, &u), tc.want)
			}
		})
	}

	// Update replaces configuration only.
	live, err := e.s.SetSessionState(e.ctx, full.ID, evercast.SessionWarming, evercast.SessionScheduled)
	must(t, err)
	ok, err := e.s.AcquireLease(e.ctx, full.ID, "orch-1", time.Minute, time.Now())
	must(t, err)
	if !ok {
		t.Fatal("lease on a fresh session refused")
	}
	upd := *got
	upd.Title, upd.ProductIDs, upd.Outputs, upd.Schedule = "改名", []string{f.products[1].ID}, nil, evercast.Schedule{}
	upd.State, upd.Owner, upd.StartedAt, upd.EndedAt = evercast.SessionEnded, "thief", nil, ptr(time.Now())
	must(t, e.s.UpdateSession(e.ctx, &upd))
	if upd.State != evercast.SessionWarming || upd.Owner != "orch-1" || upd.EndedAt != nil ||
		upd.StartedAt == nil || !upd.StartedAt.Equal(*live.StartedAt) || !upd.UpdatedAt.After(live.UpdatedAt) {
		t.Fatalf("update touched lifecycle fields or kept UpdatedAt: %+v", upd)
	}
	got2, err := e.s.GetSession(e.ctx, full.ID)
	must(t, err)
	sameJSON(t, "updated session", got2, &upd)
	if got2.Schedule.Mode != "always" {
		t.Fatalf("schedule mode %q, want the default always", got2.Schedule.Mode)
	}
	wantErr(t, e.s.UpdateSession(e.ctx, &evercast.Session{ID: "ses_missing", AnchorID: f.anchor.ID,
		ProductIDs: []string{f.products[0].ID}}), evercast.ErrNotFound)
	_, err = e.s.GetSession(e.ctx, "ses_missing")
	wantErr(t, err, evercast.ErrNotFound)

	// Lists: newest last, filtered.
	third := &evercast.Session{MerchantID: other.ID, AnchorID: mustAnchor(t, e, other.ID).ID, ProductIDs: []string{theirs.ID}}
	must(t, e.s.CreateSession(e.ctx, third))
	first, err := e.s.GetSession(e.ctx, f.session.ID)
	must(t, err)
	for _, tc := range []struct {
		name string
		f    SessionFilter
		want []*evercast.Session
	}{
		{"all", SessionFilter{}, []*evercast.Session{first, got2, third}},
		{"merchant", SessionFilter{MerchantID: f.merchant.ID}, []*evercast.Session{first, got2}},
		{"scheduled", SessionFilter{States: []evercast.SessionState{evercast.SessionScheduled}}, []*evercast.Session{first, third}},
		{"on air", SessionFilter{States: []evercast.SessionState{evercast.SessionWarming, evercast.SessionLive, evercast.SessionPaused}},
			[]*evercast.Session{got2}},
		{"merchant and state", SessionFilter{MerchantID: other.ID, States: []evercast.SessionState{evercast.SessionWarming}}, nil},
	} {
		t.Run("list "+tc.name, func(t *testing.T) {
			list, err := e.s.ListSessions(e.ctx, tc.f)
			must(t, err)
			sameJSON(t, "sessions", list, tc.want)
		})
	}
}

func mustAnchor(t testing.TB, e *env, merchantID string) *evercast.Anchor {
	t.Helper()
	a := &evercast.Anchor{MerchantID: merchantID, Name: "a", Language: evercast.LangEN}
	must(t, e.s.CreateAnchor(e.ctx, a))
	return a
}

func testDeleteGuards(t *testing.T, e *env) {
	f := newFixture(t, e)
	ses := f.session.ID
	inRotation, notInRotation := f.products[0].ID, f.products[2].ID

	// scheduled: the anchor is in use; products may go; the session may go.
	wantErr(t, e.s.DeleteAnchor(e.ctx, f.anchor.ID), evercast.ErrConflict)
	for _, to := range []evercast.SessionState{evercast.SessionWarming, evercast.SessionLive, evercast.SessionPaused} {
		_, err := e.s.SetSessionState(e.ctx, ses, to)
		must(t, err)
		err = e.s.DeleteProduct(e.ctx, inRotation)
		wantErr(t, err, evercast.ErrConflict)
		if !strings.Contains(err.Error(), ses) {
			t.Errorf("product guard error %q does not name the session", err)
		}
		wantErr(t, e.s.DeleteSession(e.ctx, ses), evercast.ErrConflict)
		wantErr(t, e.s.DeleteAnchor(e.ctx, f.anchor.ID), evercast.ErrConflict)
	}
	must(t, e.s.DeleteProduct(e.ctx, notInRotation))

	// A session's clips go with it.
	c := &evercast.Clip{Kind: evercast.KindPitch}
	must(t, e.s.PlanClips(e.ctx, ses, []*evercast.Clip{c}, nil))

	_, err := e.s.SetSessionState(e.ctx, ses, evercast.SessionEnded)
	must(t, err)
	must(t, e.s.DeleteProduct(e.ctx, inRotation))
	must(t, e.s.DeleteAnchor(e.ctx, f.anchor.ID))
	must(t, e.s.DeleteSession(e.ctx, ses))
	_, err = e.s.GetSession(e.ctx, ses)
	wantErr(t, err, evercast.ErrNotFound)
	_, err = e.s.GetClip(e.ctx, c.ID)
	wantErr(t, err, evercast.ErrNotFound)
	wantErr(t, e.s.DeleteSession(e.ctx, ses), evercast.ErrNotFound)
}

func testSessionState(t *testing.T, e *env) {
	f := newFixture(t, e)
	id := f.session.ID
	S := func(ss ...evercast.SessionState) []evercast.SessionState { return ss }
	var startedAt *time.Time
	steps := []struct {
		name      string
		to        evercast.SessionState
		from      []evercast.SessionState
		conflict  string // current state named by the conflict
		invalid   bool
		ended     bool
		startedAt bool
	}{
		{name: "not from live", to: evercast.SessionPaused, from: S(evercast.SessionLive), conflict: "scheduled"},
		{name: "start", to: evercast.SessionWarming, from: S(evercast.SessionScheduled), startedAt: true},
		{name: "start twice", to: evercast.SessionWarming, from: S(evercast.SessionScheduled), conflict: "warming", startedAt: true},
		{name: "go live", to: evercast.SessionLive, from: S(evercast.SessionWarming, evercast.SessionPaused), startedAt: true},
		{name: "pause", to: evercast.SessionPaused, from: S(evercast.SessionLive), startedAt: true},
		{name: "resume", to: evercast.SessionLive, from: S(evercast.SessionPaused), startedAt: true},
		{name: "unknown state", to: "dancing", invalid: true, startedAt: true},
		{name: "out of window", to: evercast.SessionScheduled, from: S(evercast.SessionLive), startedAt: true},
		{name: "back on", to: evercast.SessionWarming, from: S(evercast.SessionScheduled), startedAt: true},
		{name: "end", to: evercast.SessionEnded, from: S(evercast.SessionWarming, evercast.SessionLive, evercast.SessionPaused), ended: true, startedAt: true},
		{name: "end again", to: evercast.SessionEnded, from: S(evercast.SessionWarming, evercast.SessionLive, evercast.SessionPaused), conflict: "ended", ended: true, startedAt: true},
		{name: "restart unconditionally", to: evercast.SessionScheduled, startedAt: true},
	}
	prev, err := e.s.GetSession(e.ctx, id)
	must(t, err)
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			ses, err := e.s.SetSessionState(e.ctx, id, st.to, st.from...)
			switch {
			case st.invalid:
				wantErr(t, err, evercast.ErrInvalid)
			case st.conflict != "":
				wantErr(t, err, evercast.ErrConflict)
				if !strings.Contains(err.Error(), "is "+st.conflict) {
					t.Fatalf("conflict %q does not name the current state %s", err, st.conflict)
				}
			default:
				must(t, err)
				if ses.State != st.to || !ses.UpdatedAt.After(prev.UpdatedAt) {
					t.Fatalf("state %s updated %v, want %s after %v", ses.State, ses.UpdatedAt, st.to, prev.UpdatedAt)
				}
				prev = ses
			}
			cur, err := e.s.GetSession(e.ctx, id)
			must(t, err)
			if (cur.StartedAt != nil) != st.startedAt {
				t.Fatalf("StartedAt %v, want set=%v", cur.StartedAt, st.startedAt)
			}
			if startedAt == nil {
				startedAt = cur.StartedAt
			} else if !cur.StartedAt.Equal(*startedAt) {
				t.Fatalf("StartedAt moved from %v to %v", startedAt, cur.StartedAt)
			}
			if (cur.EndedAt != nil) != st.ended {
				t.Fatalf("EndedAt %v, want set=%v", cur.EndedAt, st.ended)
			}
		})
	}
	_, err = e.s.SetSessionState(e.ctx, "ses_missing", evercast.SessionLive)
	wantErr(t, err, evercast.ErrNotFound)
	_, err = e.s.SetSessionState(e.ctx, "ses_missing", evercast.SessionLive, evercast.SessionWarming)
	wantErr(t, err, evercast.ErrNotFound)
}

func testLease(t *testing.T, e *env) {
	f := newFixture(t, e)
	id := f.session.ID
	t0 := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	ttl := 10 * time.Second
	steps := []struct {
		name    string
		op      string // acquire or release
		owner   string
		at      time.Duration // after t0
		want    bool
		wantErr error
		holder  string
	}{
		{name: "free", op: "acquire", owner: "a", want: true, holder: "a"},
		{name: "held by a", op: "acquire", owner: "b", at: 5 * time.Second, want: false, holder: "a"},
		{name: "renew", op: "acquire", owner: "a", at: 8 * time.Second, want: true, holder: "a"},
		{name: "renewal counts", op: "acquire", owner: "b", at: 15 * time.Second, want: false, holder: "a"},
		{name: "expired: steal", op: "acquire", owner: "b", at: 18 * time.Second, want: true, holder: "b"},
		{name: "old owner refused", op: "acquire", owner: "a", at: 19 * time.Second, want: false, holder: "b"},
		{name: "release by non-owner", op: "release", owner: "a", wantErr: evercast.ErrConflict, holder: "b"},
		{name: "release", op: "release", owner: "b", holder: ""},
		{name: "release when free", op: "release", owner: "b", holder: ""},
		{name: "free again", op: "acquire", owner: "a", at: 20 * time.Second, want: true, holder: "a"},
		{name: "empty owner", op: "acquire", owner: "", wantErr: evercast.ErrInvalid, holder: "a"},
	}
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			var err error
			if st.op == "acquire" {
				var ok bool
				ok, err = e.s.AcquireLease(e.ctx, id, st.owner, ttl, t0.Add(st.at))
				if err == nil && ok != st.want {
					t.Fatalf("AcquireLease = %v, want %v", ok, st.want)
				}
			} else {
				err = e.s.ReleaseLease(e.ctx, id, st.owner)
			}
			if st.wantErr != nil {
				wantErr(t, err, st.wantErr)
			} else {
				must(t, err)
			}
			ses, err := e.s.GetSession(e.ctx, id)
			must(t, err)
			if ses.Owner != st.holder {
				t.Fatalf("Owner = %q, want %q", ses.Owner, st.holder)
			}
		})
	}
	_, err := e.s.AcquireLease(e.ctx, "ses_missing", "a", ttl, t0)
	wantErr(t, err, evercast.ErrNotFound)
	wantErr(t, e.s.ReleaseLease(e.ctx, "ses_missing", "a"), evercast.ErrNotFound)
}
