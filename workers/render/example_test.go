package render_test

import (
	"context"
	"fmt"
	"image"
	"log"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/aigc"
	"github.com/evercast/evercast/internal/media"
	"github.com/evercast/evercast/workers/render"
)

// loadAvatar stands for the avatar pack loader.
func loadAvatar() *render.Avatar {
	patch := func(w, h int) *image.NRGBA { return image.NewNRGBA(image.Rect(0, 0, w, h)) }
	return &render.Avatar{
		Body:   patch(560, 560),
		Mouths: []*image.NRGBA{patch(84, 46), patch(84, 46), patch(84, 46)}, MouthPos: image.Pt(238, 290),
		EyesOpen: patch(168, 44), EyesClosed: patch(168, 44), EyesPos: image.Pt(196, 208),
	}
}

// A worker renders a voiced script into a clip.
func ExampleRenderer_Render() {
	r, err := render.New(render.Options{}) // ffmpeg from PATH, the WenQuanYi Micro Hei font
	if err != nil {
		log.Fatal(err)
	}
	res, err := r.Render(context.Background(), render.Job{
		Format:    media.Landscape,
		AudioPath: "/var/lib/evercast/voice/clip_01.wav", // from the speech worker
		Text:      "欢迎来到直播间！今天给大家介绍一款手工陶瓷茶具。",
		Language:  evercast.LangZH,
		Card:      &render.Card{Title: "手工陶瓷茶具", Price: "¥129.9", Badge: "限时优惠 / Promo"},
		Avatar:    loadAvatar(),
		Seed:      1,
		AIGC:      aigc.Label{Provider: "Example Tea Co.", ContentID: "clip_01"},
	}, "/var/lib/evercast/clips/clip_01.ts")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Duration, res.Frames, res.Samples)
}

// A standby clip covers a dry buffer: silence, the avatar idling, a caption.
func ExampleRenderer_Render_standby() {
	r, err := render.New(render.Options{})
	if err != nil {
		log.Fatal(err)
	}
	_, err = r.Render(context.Background(), render.Job{
		Format:      media.Portrait,
		Idle:        true,
		MinDuration: 6 * time.Second, // rounded up to 6.08 s
		Caption:     "马上回来 / Back in a moment",
		Avatar:      loadAvatar(),
	}, "/var/lib/evercast/clips/standby.ts")
	if err != nil {
		log.Fatal(err)
	}
}
