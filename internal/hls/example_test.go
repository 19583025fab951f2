package hls_test

import (
	"fmt"
	"os"

	"github.com/evercast/evercast/internal/hls"
	"github.com/evercast/evercast/internal/mpegts"
)

// Example joins rendered clips into a live HLS window of six segments.
func Example() {
	w, err := hls.NewWindow("/var/lib/evercast/hls/session-1", hls.WindowOptions{Size: 6})
	if err != nil {
		fmt.Println(err)
		return
	}
	var s mpegts.Splicer
	for _, path := range []string{"clip-1.ts", "clip-2.ts"} {
		b, err := os.ReadFile(path)
		if err != nil {
			fmt.Println(err)
			return
		}
		clip, err := mpegts.Parse(b)
		if err != nil {
			fmt.Println(err)
			return
		}
		segs, err := s.Splice(clip)
		if err != nil {
			fmt.Println(err)
			return
		}
		for _, g := range segs {
			// g.Data also goes to the RTMP pusher: ffmpeg -c copy -f flv.
			if _, err := w.Append(g.Data, g.Duration(), false); err != nil {
				fmt.Println(err)
				return
			}
		}
	}
	if err := w.Close(true); err != nil {
		fmt.Println(err)
	}
}
