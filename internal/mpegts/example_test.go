package mpegts_test

import (
	"fmt"
	"os"

	"github.com/evercast/evercast/internal/mpegts"
)

// Example plays clips chunk by chunk, so that an operator's skip stops the
// clip at the next 320 ms boundary and the standby clip joins there. Chunks
// go to the live outputs as they are due; a SegmentBuilder groups them into
// HLS segments.
func Example() {
	var s mpegts.Splicer
	var hls mpegts.SegmentBuilder
	skip := make(chan struct{}, 1) // the operator's command
	publish := func(g mpegts.Segment) { fmt.Println("segment", g.Start, g.Duration()) }
	for _, path := range []string{"clip-1.ts", "standby.ts"} {
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
		cur, err := s.Begin(clip)
		if err != nil {
			fmt.Println(err)
			return
		}
	chunks:
		for {
			select {
			case <-skip:
				cur.Stop() // the next clip joins after the last chunk taken
				break chunks
			default:
			}
			ch, ok := cur.Next()
			if !ok {
				break
			}
			// Wait until ch.Start is due, then write ch.Data to the
			// RTMP pushers (ffmpeg -c copy -f flv).
			if g, ok := hls.Add(ch); ok {
				publish(g)
			}
		}
		if g, ok := hls.Flush(); ok {
			publish(g)
		}
	}
}
