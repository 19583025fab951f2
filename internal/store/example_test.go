package store_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// A session's clips go through the pipeline and on air in order.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "evercast-store-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	s, err := store.Open(ctx, "sqlite://"+filepath.Join(dir, "evercast.db"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()

	m := &evercast.Merchant{Name: "Tea House"}
	a := &evercast.Anchor{Name: "Yun", Language: evercast.LangZH}
	p := &evercast.Product{SKU: "LJ-250", Title: evercast.Text{evercast.LangZH: "龙井"}, Price: 12990}
	ses := &evercast.Session{Title: "all day"}
	if err := s.CreateMerchant(ctx, m); err != nil {
		log.Fatal(err)
	}
	a.MerchantID, p.MerchantID, ses.MerchantID = m.ID, m.ID, m.ID
	if err := s.CreateAnchor(ctx, a); err != nil {
		log.Fatal(err)
	}
	if err := s.CreateProduct(ctx, p); err != nil {
		log.Fatal(err)
	}
	ses.AnchorID, ses.ProductIDs = a.ID, []string{p.ID}
	if err := s.CreateSession(ctx, ses); err != nil {
		log.Fatal(err)
	}

	clip := &evercast.Clip{Kind: evercast.KindOpening, Language: evercast.LangZH}
	if err := s.PlanClips(ctx, ses.ID, []*evercast.Clip{clip}, nil); err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	if _, err := s.Cue(ctx, ses.ID, 0, now); errors.Is(err, store.ErrNotReady) {
		fmt.Println("not ready yet")
	}
	for _, step := range []store.ClipUpdate{
		{State: evercast.ClipScripted, Text: ptr("大家好")},
		{State: evercast.ClipVoiced, AudioKey: ptr("a.wav")},
		{State: evercast.ClipRendered, VideoKey: ptr("v.ts"), DurationMS: ptr(int64(3200))},
	} {
		from := clip.State
		if clip, err = s.AdvanceClip(ctx, clip.ID, from, step); err != nil {
			log.Fatal(err)
		}
	}
	on, err := s.Cue(ctx, ses.ID, 0, now)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(on.Seq, on.State, on.Text)
	// Output:
	// not ready yet
	// 1 on_air 大家好
}

func ptr[T any](v T) *T { return &v }
