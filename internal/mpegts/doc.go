// Package mpegts joins rendered MPEG-TS clips into one endless, gapless
// transport stream without a TS library: it rewrites the 188-byte packets in
// place.
//
// Parse checks that a clip is one the playout can join (H.264 without
// B-frames starting at a keyframe, AAC in ADTS frames, a whole number of
// 320 ms quanta) and indexes it. A Splicer then moves each clip's PTS, DTS
// and PCR onto the stream's timeline (modulo 2^33), keeps the continuity
// counters of every PID running across clips and drops the audio frames
// that outlast the video.
//
// The timing rule: a clip of D ticks (D = 3600 per video frame) keeps its
// first D/1920 audio frames; video frame i lands at offset+i*3600 and audio
// frame j at offset+j*1920. ffmpeg's AAC encoder puts one priming frame
// before the first video frame, so the sound sits one AAC frame (21 ms) late
// inside every clip, constantly, and both streams run exactly D per clip.
//
// Splicer.Begin hands a clip out in chunks, one per 320 ms quantum: video
// frames [8i, 8i+8) and audio frames [15i, 15i+15), packets assigned by the
// frame they carry (an audio PES that holds frames of two quanta is split in
// two), so that the playout can stop a clip at any quantum boundary
// (Cursor.Stop) and the next clip joins there, as gaplessly as at a clip's
// end. SegmentBuilder groups chunks into HLS segments that each begin with
// PAT, PMT and a keyframe. Splicer.Splice does both for a whole clip.
package mpegts
