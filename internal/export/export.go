// Package export writes what a session has aired as a self-contained HLS
// recording: DIR/index.m3u8 with its segments and ENDLIST, and
// DIR/rundown.json listing every aired clip. The clips are read back from the
// object store and spliced onto one timeline exactly as playout aired them.
package export

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/hls"
	"github.com/evercast/evercast/internal/media"
	"github.com/evercast/evercast/internal/mpegts"
	"github.com/evercast/evercast/internal/store"
)

// Source lists a session's aired clips.
type Source interface {
	GetSession(ctx context.Context, id string) (*evercast.Session, error)
	Rundown(ctx context.Context, sessionID string, opts store.RundownOptions) ([]*evercast.Clip, error)
}

// Objects reads clips.
type Objects interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// Result summarises an export.
type Result struct {
	Clips    int
	Duration time.Duration
	Segments int
}

// Export writes the session's aired stream and rundown into dir.
func Export(ctx context.Context, src Source, objs Objects, sessionID, dir string) (Result, error) {
	var res Result
	if _, err := src.GetSession(ctx, sessionID); err != nil {
		return res, err
	}
	clips, err := src.Rundown(ctx, sessionID, store.RundownOptions{AiredOnly: true})
	if err != nil {
		return res, fmt.Errorf("rundown: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	// Start from an empty directory's worth of playlist and segments.
	for _, pat := range []string{"seg-*.ts", "index.m3u8", "rundown.json"} {
		old, _ := filepath.Glob(filepath.Join(dir, pat))
		for _, f := range old {
			_ = os.Remove(f)
		}
	}
	w, err := hls.NewWindow(dir, hls.WindowOptions{Size: 0, TargetDuration: 2 * time.Second})
	if err != nil {
		return res, err
	}
	sp := mpegts.NewSplicer(mpegts.DefaultStart, mpegts.Options{MaxSegment: 2 * time.Second})
	segs := &mpegts.SegmentBuilder{MaxSegment: 2 * time.Second}
	appendSeg := func(seg mpegts.Segment) error {
		if _, err := w.Append(seg.Data, time.Duration(seg.Ticks)*time.Second/media.Clock, false); err != nil {
			return err
		}
		res.Segments++
		return nil
	}
	rd := evercast.Rundown{SessionID: sessionID, Clips: []*evercast.RundownEntry{}}
	cache := map[string]*mpegts.Clip{}
	for _, c := range clips {
		if c.State != evercast.ClipAired {
			continue
		}
		data, ok := cache[c.VideoKey]
		if !ok {
			b, err := objs.Get(ctx, c.VideoKey)
			if err != nil {
				return res, fmt.Errorf("clip %s (seq %d): %w", c.ID, c.Seq, err)
			}
			if data, err = mpegts.Parse(b); err != nil {
				return res, fmt.Errorf("clip %s (seq %d): %w", c.ID, c.Seq, err)
			}
			if c.Kind == evercast.KindStandby {
				cache[c.VideoKey] = data
			}
		}
		startMS := (sp.Offset() - mpegts.DefaultStart) * 1000 / media.Clock
		// A clip an operator's cut ended early airs as far as it did.
		cur, err := sp.Begin(data)
		if err != nil {
			return res, fmt.Errorf("splice clip %s: %w", c.ID, err)
		}
		limit := cur.Chunks()
		if c.AiredMS != nil {
			limit = min(limit, int(*c.AiredMS/320))
		}
		for cur.Taken() < limit {
			ch, ok := cur.Next()
			if !ok {
				break
			}
			if seg, done := segs.Add(ch); done {
				if err := appendSeg(seg); err != nil {
					return res, err
				}
			}
		}
		cur.Stop()
		if seg, done := segs.Flush(); done {
			if err := appendSeg(seg); err != nil {
				return res, err
			}
		}
		aired := time.Duration(cur.Taken()) * media.Quantum
		e := c.Entry()
		start := float64(startMS) / 1000
		e.Start = &start
		e.Duration = aired.Seconds()
		rd.Clips = append(rd.Clips, e)
		res.Clips++
		res.Duration += aired
	}
	if err := w.Close(true); err != nil {
		return res, err
	}
	b, err := json.MarshalIndent(rd, "", "  ")
	if err != nil {
		return res, err
	}
	if err := os.WriteFile(filepath.Join(dir, "rundown.json"), append(b, '\n'), 0o644); err != nil {
		return res, err
	}
	return res, nil
}
