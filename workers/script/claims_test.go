package script

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/claims"
	"github.com/evercast/evercast/internal/demo"
)

// TestOfflinePassesTheChecker: everything the offline writer composes from
// the demo catalog passes the claims checker, on any day (with or without
// recent price history), in both languages.
func TestOfflinePassesTheChecker(t *testing.T) {
	products, err := demo.Products()
	if err != nil {
		t.Fatal(err)
	}
	chk := claims.New(claims.Options{})
	days := []time.Time{time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC), time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC)}
	kinds := []evercast.ClipKind{evercast.KindOpening, evercast.KindPitch, evercast.KindPromotion, evercast.KindDisclosure, evercast.KindClosing, evercast.KindStandby}
	n := 0
	for _, lang := range evercast.Languages() {
		for _, p := range products {
			for _, kind := range kinds {
				for beat := 0; beat < 6; beat++ {
					for seed := 0; seed < 6; seed++ {
						s, err := Offline{}.Write(context.Background(), Request{ClipID: fmt.Sprintf("clp_%d_%d", beat, seed), Kind: kind, Beat: beat,
							Language: lang, Title: "Evercast 好物直播间", Product: p, Products: products})
						if err != nil {
							t.Fatal(err)
						}
						for _, day := range days {
							res := chk.Check(claims.Input{Lang: lang, Text: s.Text, Product: p, Catalog: products, SessionDate: day})
							if v, bad := res.FirstViolation(); bad {
								t.Errorf("%s %s %s: %q: %s %q (%s)", lang, p.SKU, kind, s.Text, v.Category, v.Span, v.Reason)
							}
							n++
						}
					}
				}
			}
		}
	}
	t.Logf("%d scripts checked", n)
}
