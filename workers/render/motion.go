package render

import (
	"math"
	"math/rand/v2"
	"slices"

	"github.com/evercast/evercast/internal/media"
)

// state is what varies from frame to frame: the subtitle page shown (-1 for
// none), the mouth patch, and whether the eyes are closed. Frames of equal
// state are identical, so each state is composed and converted once.
type state struct {
	page   int
	mouth  int
	closed bool
}

// Mouth thresholds, as fractions of the clip's speech level: a frame's
// loudness must reach mouthLow to open the mouth a little and mouthHigh to
// open it wide (levels in between are spaced evenly). Closing again needs
// the loudness to fall below mouthHold times the threshold it passed.
const (
	mouthLow  = 0.14
	mouthHigh = 0.55
	mouthHold = 0.7
)

// Blinks: the eyes close for blinkFrames frames every blinkMin to blinkMax.
const (
	blinkFrames = 3
	blinkMin    = 2.5 // seconds
	blinkMax    = 5.0
)

// frameRMS is the loudness of the audio under each of frames video frames.
func frameRMS(p *pcm, frames int) []float64 {
	out := make([]float64, frames)
	for i := range out {
		lo := int(int64(i) * int64(p.rate) / media.FPS)
		hi := int(int64(i+1) * int64(p.rate) / media.FPS)
		if lo >= len(p.samples) {
			break
		}
		hi = min(hi, len(p.samples))
		var sum float64
		for _, s := range p.samples[lo:hi] {
			sum += float64(s) * float64(s)
		}
		out[i] = math.Sqrt(sum / float64(hi-lo))
	}
	return out
}

// speechLevel is the loudness of the clip's voiced frames: the 85th
// percentile of the frames louder than a tenth of the loudest.
func speechLevel(rms []float64) float64 {
	peak := slices.Max(append([]float64{0}, rms...))
	var voiced []float64
	for _, r := range rms {
		if r > peak/10 {
			voiced = append(voiced, r)
		}
	}
	if len(voiced) == 0 {
		return 0
	}
	slices.Sort(voiced)
	return voiced[len(voiced)*85/100]
}

// mouthLevels maps loudness to mouth patches 0 (closed) to levels-1 (wide
// open), with hysteresis so that the mouth does not flicker.
func mouthLevels(rms []float64, levels int) []int {
	out := make([]int, len(rms))
	ref := speechLevel(rms)
	if ref <= 1e-4 || levels < 2 {
		return out // silence
	}
	thr := make([]float64, levels) // thr[k]: loudness that opens to level k
	for k := 1; k < levels; k++ {
		f := mouthLow
		if levels > 2 {
			f += (mouthHigh - mouthLow) * float64(k-1) / float64(levels-2)
		}
		thr[k] = f * ref
	}
	cur := 0
	for i, r := range rms {
		up := 0
		for k := levels - 1; k >= 1; k-- {
			if r >= thr[k] {
				up = k
				break
			}
		}
		switch {
		case up >= cur:
			cur = up
		default:
			// Fall only as far as the hold thresholds allow.
			for cur > up && r < thr[cur]*mouthHold {
				cur--
			}
		}
		out[i] = cur
	}
	return out
}

// speechSpan is the first and one past the last frame with voice in it.
func speechSpan(rms []float64) (start, end int) {
	ref := speechLevel(rms)
	start, end = -1, 0
	for i, r := range rms {
		if ref > 0 && r >= ref*mouthLow {
			if start < 0 {
				start = i
			}
			end = i + 1
		}
	}
	if start < 0 {
		return 0, len(rms)
	}
	return start, end
}

// blinks marks the frames with the eyes closed: blinkFrames frames every
// blinkMin-blinkMax seconds, the first one 0.8-2.8 s in, all drawn from
// seed.
func blinks(seed int64, frames int) []bool {
	out := make([]bool, frames)
	rng := rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))
	t := 0.8 + 2*rng.Float64()
	for {
		f := int(t * media.FPS)
		if f >= frames {
			return out
		}
		for i := f; i < min(f+blinkFrames, frames); i++ {
			out[i] = true
		}
		t += blinkMin + (blinkMax-blinkMin)*rng.Float64()
	}
}

// pageFrames gives the subtitle page of every frame. Pages share the
// speech span [start, end) in proportion to their weights; the first page
// shows from frame 0 and the last until the end.
func pageFrames(weights []int, start, end, frames int) []int {
	out := make([]int, frames)
	if len(weights) == 0 {
		for i := range out {
			out[i] = -1
		}
		return out
	}
	total := 0
	for _, w := range weights {
		total += max(w, 1)
	}
	from := make([]int, len(weights))
	acc := 0
	for k, w := range weights {
		from[k] = start + int(math.Round(float64(end-start)*float64(acc)/float64(total)))
		acc += max(w, 1)
	}
	from[0] = 0
	page := 0
	for i := range out {
		for page+1 < len(from) && i >= from[page+1] {
			page++
		}
		out[i] = page
	}
	return out
}

// pauseBreaks returns the 320 ms quanta (1 … n-1) at whose start the voice
// pauses: the frames around the boundary (two before, two after) are all
// quiet against the clip's speech level. A live reply may cut in there
// without cutting a word.
func pauseBreaks(rms []float64) []int {
	level := speechLevel(rms)
	if level == 0 {
		return nil
	}
	quiet := func(i int) bool { return i >= 0 && i < len(rms) && rms[i] < level/8 }
	var out []int
	for q := 1; q*media.QuantumFrames < len(rms); q++ {
		f := q * media.QuantumFrames
		if quiet(f-2) && quiet(f-1) && quiet(f) && quiet(f+1) {
			out = append(out, q)
		}
	}
	return out
}
