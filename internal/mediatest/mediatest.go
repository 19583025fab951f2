// Package mediatest checks streams the way a viewer's player sees them,
// with ffprobe: codecs and sizes, and that timestamps run on without a gap
// or an overlap across every clip boundary. Every call has a timeout, since
// ffprobe on a live playlist waits forever.
package mediatest

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"time"
)

// Packets are a stream's packet timestamps (90 kHz) by stream type.
type Packets struct {
	Video []int64
	Audio []int64
	// VideoKey flags keyframes, parallel to Video.
	VideoKey []bool
	// LastAudioDur is the duration of the last audio packet (ticks).
	LastAudioDur int64
	LastVideoDur int64
}

// Probe reads every packet of input (a file, playlist or URL).
func Probe(ctx context.Context, input string, timeout time.Duration) (*Packets, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries", "packet=codec_type,pts,duration,flags",
		"-of", "csv=p=0", input)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("ffprobe %s: %v: %s", input, err, stderr.String())
	}
	p := &Packets{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ",")
		if len(f) < 4 {
			continue
		}
		pts, err1 := strconv.ParseInt(f[1], 10, 64)
		dur, err2 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("ffprobe line %q: missing timestamp", sc.Text())
		}
		switch f[0] {
		case "video":
			p.Video = append(p.Video, pts)
			p.VideoKey = append(p.VideoKey, strings.Contains(f[3], "K"))
			p.LastVideoDur = dur
		case "audio":
			p.Audio = append(p.Audio, pts)
			p.LastAudioDur = dur
		}
	}
	return p, sc.Err()
}

// Continuous checks that video packets are exactly 3600 ticks apart (40 ms),
// audio packets exactly 1920 apart (one AAC frame at 48 kHz), and audio ends
// when video ends. It returns the video length. A stream read from its
// first clip also starts audio and video together: see Aligned.
func (p *Packets) Continuous() (time.Duration, error) {
	if len(p.Video) == 0 || len(p.Audio) == 0 {
		return 0, fmt.Errorf("stream has %d video and %d audio packets", len(p.Video), len(p.Audio))
	}
	for i := 1; i < len(p.Video); i++ {
		if d := p.Video[i] - p.Video[i-1]; d != 3600 {
			return 0, fmt.Errorf("video packet %d is %d ticks after the previous, want 3600 (pts %d)", i, d, p.Video[i])
		}
	}
	for i := 1; i < len(p.Audio); i++ {
		if d := p.Audio[i] - p.Audio[i-1]; d != 1920 {
			return 0, fmt.Errorf("audio packet %d is %d ticks after the previous, want 1920 (pts %d)", i, d, p.Audio[i])
		}
	}
	vEnd := p.Video[len(p.Video)-1] + 3600
	aEnd := p.Audio[len(p.Audio)-1] + 1920
	if vEnd != aEnd {
		return 0, fmt.Errorf("audio [%d,%d) and video [%d,%d) end apart", p.Audio[0], aEnd, p.Video[0], vEnd)
	}
	return time.Duration(vEnd-p.Video[0]) * time.Second / 90000, nil
}

// Aligned checks that audio and video start together and that the first
// video packet is a keyframe (true of a stream read from a clip start).
func (p *Packets) Aligned() error {
	if len(p.Video) == 0 || len(p.Audio) == 0 {
		return fmt.Errorf("stream has %d video and %d audio packets", len(p.Video), len(p.Audio))
	}
	if p.Audio[0] != p.Video[0] {
		return fmt.Errorf("audio starts at %d, video at %d", p.Audio[0], p.Video[0])
	}
	if !p.VideoKey[0] {
		return fmt.Errorf("first video packet is not a keyframe")
	}
	return nil
}

// Streams describes the first video and audio streams.
type Streams struct {
	VideoCodec, AudioCodec string
	Width, Height          int
	FrameRate              string
	SampleRate, Channels   int
}

// ProbeStreams reads codec parameters.
func ProbeStreams(ctx context.Context, input string, timeout time.Duration) (*Streams, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-show_entries",
		"stream=codec_type,codec_name,width,height,r_frame_rate,sample_rate,channels", "-of", "default=nw=0", input).Output()
	if err != nil {
		return nil, fmt.Errorf("ffprobe %s: %w", input, err)
	}
	s := &Streams{}
	var typ string
	kv := map[string]string{}
	flush := func() {
		switch typ {
		case "video":
			if s.VideoCodec == "" {
				s.VideoCodec = kv["codec_name"]
				s.Width, _ = strconv.Atoi(kv["width"])
				s.Height, _ = strconv.Atoi(kv["height"])
				s.FrameRate = kv["r_frame_rate"]
			}
		case "audio":
			if s.AudioCodec == "" {
				s.AudioCodec = kv["codec_name"]
				s.SampleRate, _ = strconv.Atoi(kv["sample_rate"])
				s.Channels, _ = strconv.Atoi(kv["channels"])
			}
		}
		typ, kv = "", map[string]string{}
	}
	for _, line := range strings.Split(string(out), "\n") {
		switch {
		case line == "[STREAM]":
			typ, kv = "", map[string]string{}
		case line == "[/STREAM]":
			flush()
		default:
			if k, v, ok := strings.Cut(line, "="); ok {
				kv[k] = v
				if k == "codec_type" {
					typ = v
				}
			}
		}
	}
	return s, nil
}
