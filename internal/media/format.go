// Package media holds Evercast's media format: picture sizes, frame and
// sample rates, the 320 ms join quantum, and the encoder settings that every
// clip shares so that clips join gaplessly with `-c copy`.
package media

import "time"

// Timing constants. 320 ms is 8 video frames at 25 fps and exactly 15 AAC
// frames of 1024 samples at 48 kHz: clips last a whole multiple of it.
const (
	FPS            = 25
	SampleRate     = 48000
	Channels       = 2
	AACFrame       = 1024                          // samples per AAC-LC frame
	Clock          = 90000                         // MPEG-TS timestamp ticks per second
	FrameTicks     = Clock / FPS                   // 3600
	AACFrameTicks  = Clock * AACFrame / SampleRate // 1920
	Quantum        = 320 * time.Millisecond
	QuantumFrames  = 8
	QuantumSamples = 15360
	QuantumTicks   = 28800
	GOPFrames      = 2 * FPS // keyframe every 2 s (and at every clip start)
)

// Encoder settings shared by every clip.
const (
	VideoBitrate = "2500k"
	VideoMaxrate = "3000k"
	VideoBufsize = "5000k"
	AudioBitrate = "128k"
	X264Preset   = "veryfast"
	X264Profile  = "high"
)

// Format is a picture size.
type Format struct {
	Width  int
	Height int
}

// Picture sizes for the two orientations.
var (
	Landscape = Format{Width: 1280, Height: 720}
	Portrait  = Format{Width: 720, Height: 1280}
)

// ForOrientation returns the format of "landscape" (the default) or "portrait".
func ForOrientation(o string) Format {
	if o == "portrait" {
		return Portrait
	}
	return Landscape
}

// Quantize rounds d up to a whole multiple of Quantum (at least one).
func Quantize(d time.Duration) time.Duration {
	n := (d + Quantum - 1) / Quantum
	if n < 1 {
		n = 1
	}
	return n * Quantum
}
