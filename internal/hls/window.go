// Package hls writes an HLS media playlist and its MPEG-TS segments into a
// directory that an HTTP server serves while the playout writes: a live
// sliding window, or an event/VOD playlist that keeps every segment.
//
// Every file is written to a temporary name and renamed into place, so a
// reader sees either the old or the new playlist and only complete segments.
package hls

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// ErrClosed is returned by Append after Close.
var ErrClosed = errors.New("hls: window closed")

// Defaults for WindowOptions.
const (
	DefaultTargetDuration = 4 * time.Second
	DefaultName           = "index.m3u8"
)

// WindowOptions configures a Window.
type WindowOptions struct {
	// Size is the number of segments the playlist lists: a live sliding
	// window. Zero keeps every segment (an event playlist, VOD once closed).
	Size int
	// TargetDuration is the longest segment expected (DefaultTargetDuration
	// when zero); the playlist's EXT-X-TARGETDURATION is it in whole seconds,
	// raised if a longer segment is appended.
	TargetDuration time.Duration
	// Name is the playlist's file name in the directory (DefaultName when
	// empty).
	Name string
}

// Window is an HLS media playlist and its segments in a directory. Its
// methods are safe for concurrent use, and the directory can be served while
// it writes.
type Window struct {
	dir  string
	opts WindowOptions

	mu       sync.Mutex
	target   int64 // EXT-X-TARGETDURATION, seconds
	seq      int64 // media sequence number of list[0]
	discSeq  int64 // EXT-X-DISCONTINUITY-SEQUENCE
	list     []entry
	next     int64 // number of the next segment
	oldest   int64 // lowest segment number whose file may remain (live)
	nextDisc bool  // mark the next segment as a discontinuity
	closed   bool
}

type entry struct {
	name string
	dur  time.Duration
	disc bool
}

var segName = regexp.MustCompile(`^seg-(\d{8,})\.ts$`)

func segmentName(n int64) string { return fmt.Sprintf("seg-%08d.ts", n) }

// NewWindow opens a window in dir, creating dir if needed. When dir already
// holds the playlist, the window resumes it: it keeps the listed segments,
// continues the media sequence after the last one and marks the next
// appended segment as a discontinuity.
func NewWindow(dir string, opts WindowOptions) (*Window, error) {
	if opts.Size < 0 {
		return nil, fmt.Errorf("hls: window size %d is negative", opts.Size)
	}
	if opts.TargetDuration <= 0 {
		opts.TargetDuration = DefaultTargetDuration
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if filepath.Base(opts.Name) != opts.Name || strings.HasPrefix(opts.Name, ".") {
		return nil, fmt.Errorf("hls: playlist name %q is not a plain file name", opts.Name)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("hls: create window directory: %w", err)
	}
	w := &Window{
		dir:    dir,
		opts:   opts,
		target: int64(math.Ceil(opts.TargetDuration.Seconds())),
		seq:    1,
		next:   1,
		oldest: 1,
	}
	if err := w.resume(); err != nil {
		return nil, err
	}
	return w, nil
}

// resume reads the playlist and segment files left in the directory.
func (w *Window) resume() error {
	files, err := os.ReadDir(w.dir)
	if err != nil {
		return fmt.Errorf("hls: read window directory: %w", err)
	}
	lowest, highest := int64(-1), int64(0)
	for _, f := range files {
		m := segName.FindStringSubmatch(f.Name())
		if m == nil {
			continue
		}
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err != nil {
			continue
		}
		if lowest < 0 || n < lowest {
			lowest = n
		}
		highest = max(highest, n)
	}
	b, err := os.ReadFile(filepath.Join(w.dir, w.opts.Name))
	if errors.Is(err, fs.ErrNotExist) {
		b = nil
	} else if err != nil {
		return fmt.Errorf("hls: read playlist: %w", err)
	}
	if b != nil {
		if err := w.parse(b); err != nil {
			return fmt.Errorf("hls: resume %s: %w", w.opts.Name, err)
		}
	}
	w.next = max(w.seq+int64(len(w.list)), highest+1)
	w.nextDisc = len(w.list) > 0
	if lowest >= 0 {
		w.oldest = lowest
	} else {
		w.oldest = w.next
	}
	w.trim()
	return nil
}

// parse reads a playlist that a Window wrote.
func (w *Window) parse(b []byte) error {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var dur time.Duration
	var disc bool
	first := true
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if first {
			if line != "#EXTM3U" {
				return errors.New("not an M3U playlist")
			}
			first = false
			continue
		}
		tag, val, _ := strings.Cut(line, ":")
		var err error
		switch {
		case line == "":
		case tag == "#EXT-X-MEDIA-SEQUENCE":
			w.seq, err = strconv.ParseInt(val, 10, 64)
		case tag == "#EXT-X-DISCONTINUITY-SEQUENCE":
			w.discSeq, err = strconv.ParseInt(val, 10, 64)
		case tag == "#EXT-X-TARGETDURATION":
			var t int64
			t, err = strconv.ParseInt(val, 10, 64)
			w.target = max(w.target, t)
		case tag == "#EXTINF":
			num, _, _ := strings.Cut(val, ",")
			var s float64
			s, err = strconv.ParseFloat(num, 64)
			dur = time.Duration(math.Round(s*1000)) * time.Millisecond
		case line == "#EXT-X-DISCONTINUITY":
			disc = true
		case strings.HasPrefix(line, "#"):
		default:
			w.list = append(w.list, entry{name: line, dur: dur, disc: disc})
			dur, disc = 0, false
		}
		if err != nil {
			return fmt.Errorf("%s: %w", line, err)
		}
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if first {
		return errors.New("empty playlist")
	}
	return nil
}

// Append writes data as the next segment, of duration dur, then the
// playlist, and returns the segment's file name. discontinuity marks a
// segment whose timestamps or encoding do not continue the previous one. In
// a live window, the segment file that left the playlist Size appends ago is
// deleted; the returned name is valid even when err reports that deletion
// failed.
func (w *Window) Append(data []byte, dur time.Duration, discontinuity bool) (string, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return "", ErrClosed
	}
	if dur <= 0 {
		return "", fmt.Errorf("hls: segment duration %v is not positive", dur)
	}
	name := segmentName(w.next)
	if err := writeFile(w.dir, name, data); err != nil {
		return "", fmt.Errorf("hls: write segment: %w", err)
	}
	w.list = append(w.list, entry{name: name, dur: dur, disc: discontinuity || w.nextDisc})
	w.next++
	w.nextDisc = false
	w.target = max(w.target, int64(math.Round(roundMillis(dur).Seconds())))
	w.trim()
	if err := w.writePlaylist(false); err != nil {
		return "", err
	}
	if err := w.deleteOld(); err != nil {
		return name, err
	}
	return name, nil
}

// trim drops the segments beyond the live window from the list.
func (w *Window) trim() {
	if w.opts.Size == 0 || len(w.list) <= w.opts.Size {
		return
	}
	drop := len(w.list) - w.opts.Size
	for _, e := range w.list[:drop] {
		if e.disc {
			w.discSeq++
		}
	}
	w.list = append(w.list[:0], w.list[drop:]...)
	w.seq += int64(drop)
}

// deleteOld deletes the files of the segments that left the live window
// more than Size segments ago: numbers up to last-2*Size.
func (w *Window) deleteOld() error {
	if w.opts.Size == 0 {
		return nil
	}
	upto := w.next - 1 - 2*int64(w.opts.Size)
	var errs []error
	for ; w.oldest <= upto; w.oldest++ {
		err := os.Remove(filepath.Join(w.dir, segmentName(w.oldest)))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("hls: delete old segments: %w", err)
	}
	return nil
}

// Close stops the window. With endlist it writes the playlist's end (and,
// for a window that keeps every segment, marks it VOD) so that players stop
// waiting for more; without, the playlist stays as it is, to be resumed.
func (w *Window) Close(endlist bool) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return nil
	}
	w.closed = true
	if !endlist {
		return nil
	}
	return w.writePlaylist(true)
}

func roundMillis(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// writePlaylist renders and atomically replaces the playlist.
func (w *Window) writePlaylist(end bool) error {
	var b bytes.Buffer
	b.WriteString("#EXTM3U\n#EXT-X-VERSION:3\n")
	fmt.Fprintf(&b, "#EXT-X-TARGETDURATION:%d\n", w.target)
	fmt.Fprintf(&b, "#EXT-X-MEDIA-SEQUENCE:%d\n", w.seq)
	if w.discSeq > 0 {
		fmt.Fprintf(&b, "#EXT-X-DISCONTINUITY-SEQUENCE:%d\n", w.discSeq)
	}
	if end && w.opts.Size == 0 {
		b.WriteString("#EXT-X-PLAYLIST-TYPE:VOD\n")
	}
	for _, e := range w.list {
		if e.disc {
			b.WriteString("#EXT-X-DISCONTINUITY\n")
		}
		fmt.Fprintf(&b, "#EXTINF:%.3f,\n%s\n", roundMillis(e.dur).Seconds(), e.name)
	}
	if end {
		b.WriteString("#EXT-X-ENDLIST\n")
	}
	if err := writeFile(w.dir, w.opts.Name, b.Bytes()); err != nil {
		return fmt.Errorf("hls: write playlist: %w", err)
	}
	return nil
}

// writeFile writes data to dir/name through a temporary file and a rename.
func writeFile(dir, name string, data []byte) error {
	f, err := os.CreateTemp(dir, "."+name+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
