package aigc

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var testLabel = Label{
	AIGenerated: true,
	Provider:    "示例科技有限公司",
	ContentID:   "clip_01J9ZK3X",
	Producer:    DefaultProducer,
	Propagator:  "live.example",
	PropagateID: "room:42,seq=7",
}

func TestLabelJSON(t *testing.T) {
	tests := []struct {
		name  string
		label Label
		want  string
	}{
		{
			name:  "full",
			label: testLabel,
			want: `{"AIGC":{"Label":"1","ContentProducer":"示例科技有限公司","ProduceID":"clip_01J9ZK3X",` +
				`"ReservedCode1":"Evercast","ContentPropagator":"live.example","PropagateID":"room:42,seq=7","ReservedCode2":""}}`,
		},
		{
			name:  "provider defaults to producer",
			label: Label{AIGenerated: true, Producer: "Evercast", ContentID: "c1"},
			want: `{"AIGC":{"Label":"1","ContentProducer":"Evercast","ProduceID":"c1",` +
				`"ReservedCode1":"Evercast","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}`,
		},
		{
			name:  "not AI-generated",
			label: Label{Provider: "p"},
			want: `{"AIGC":{"Label":"","ContentProducer":"p","ProduceID":"",` +
				`"ReservedCode1":"","ContentPropagator":"","PropagateID":"","ReservedCode2":""}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.label)
			if err != nil {
				t.Fatal(err)
			}
			if string(b) != tt.want {
				t.Fatalf("got  %s\nwant %s", b, tt.want)
			}
			var back Label
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			want := tt.label
			if want.Provider == "" {
				want.Provider = want.Producer
			}
			if back != want {
				t.Fatalf("round trip: got %+v, want %+v", back, want)
			}
		})
	}
}

func TestSEIUserDataIsSafeForFFmpegOptions(t *testing.T) {
	safe := regexp.MustCompile(`^[0-9a-f]{32}\+[A-Za-z0-9_-]+$`)
	for _, l := range []Label{testLabel, {}, {Provider: `a:b,c=d'e"f\g`, ContentID: strings.Repeat("长", 300)}} {
		s := l.SEIUserData()
		if !safe.MatchString(s) {
			t.Errorf("SEIUserData(%+v) = %q: has characters outside hex, '+' and base64url", l, s)
		}
		got, err := decodePayload([]byte(strings.SplitN(s, "+", 2)[1] + "\x00"))
		if err != nil {
			t.Fatal(err)
		}
		want := l
		if want.Provider == "" {
			want.Provider = want.Producer
		}
		if got != want {
			t.Errorf("payload round trip: got %+v, want %+v", got, want)
		}
	}
}

func TestServiceMetadata(t *testing.T) {
	p, n := testLabel.ServiceMetadata()
	if p != "示例科技有限公司" || n != "AIGC Label=1 ProduceID=clip_01J9ZK3X" {
		t.Fatalf("got %q, %q", p, n)
	}
	p, _ = Label{Provider: strings.Repeat("长", 100)}.ServiceMetadata()
	if len(p) > 100 || !strings.HasPrefix(strings.Repeat("长", 100), p) {
		t.Fatalf("long provider not clipped on a rune boundary: %q", p)
	}
}

// seiNAL builds an Annex B SEI NAL unit holding the given messages
// (payload type 5, each data prefixed with its UUID), escaped as H.264
// requires.
func seiNAL(msgs ...[]byte) []byte {
	var rbsp []byte
	for _, m := range msgs {
		rbsp = append(rbsp, seiUserData)
		n := len(m)
		for ; n >= 255; n -= 255 {
			rbsp = append(rbsp, 0xFF)
		}
		rbsp = append(rbsp, byte(n))
		rbsp = append(rbsp, m...)
	}
	rbsp = append(rbsp, 0x80)
	out := []byte{0, 0, 0, 1, 0x06}
	zeros := 0
	for _, c := range rbsp {
		if zeros >= 2 && c <= 3 {
			out = append(out, 3)
			zeros = 0
		}
		if c == 0 {
			zeros++
		} else {
			zeros = 0
		}
		out = append(out, c)
	}
	return out
}

func userData(uuid [16]byte, data []byte) []byte {
	return append(uuid[:], data...)
}

// annexB is a small H.264-like stream: an SPS-like NAL, a foreign SEI whose
// data needs emulation prevention, Evercast's SEI, a slice-like NAL.
func annexB(l Label) []byte {
	var b []byte
	b = append(b, 0, 0, 0, 1, 0x67, 0x64, 0x00, 0x1f, 0xac)
	other := [16]byte{0xdc, 0x45, 0xe9, 0xbd, 0xe6, 0xd9, 0x48, 0xb7, 0x96, 0x2c, 0xd8, 0x20, 0xd9, 0x23, 0xee, 0xef}
	b = append(b, seiNAL(userData(other, []byte{0, 0, 0, 1, 0, 0, 3, 'x', 0}))...)
	b = append(b, seiNAL(userData(UUID, append([]byte(l.Payload()), 0)))...)
	b = append(b, 0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01, 0xff)
	return b
}

// tsPackets wraps an elementary stream into MPEG-TS packets of one PES on
// pid with stream id sid, after a PAT-like packet that must be ignored.
func tsPackets(pid uint16, sid byte, es []byte) []byte {
	var out []byte
	pat := make([]byte, tsPacketSize)
	copy(pat, []byte{tsSync, 0x40, 0x00, 0x10, 0x00, 0x00, 0xb0, 0x0d})
	out = append(out, pat...)
	pes := append([]byte{0, 0, 1, sid, 0, 0, 0x80, 0x80, 5, 0x21, 0, 1, 0, 1}, es...)
	first := true
	for cc := byte(0); len(pes) > 0; cc++ {
		pkt := make([]byte, tsPacketSize)
		pkt[0] = tsSync
		pkt[1] = byte(pid>>8) & 0x1f
		if first {
			pkt[1] |= 0x40
			first = false
		}
		pkt[2] = byte(pid)
		room := tsPacketSize - 4
		if len(pes) >= room {
			pkt[3] = 0x10 | cc&0xf
			copy(pkt[4:], pes[:room])
			pes = pes[room:]
		} else {
			// Adaptation field stuffing fills the rest.
			pkt[3] = 0x30 | cc&0xf
			stuff := room - len(pes) - 1
			pkt[4] = byte(stuff)
			if stuff > 0 {
				pkt[5] = 0
				for i := 6; i < 5+stuff; i++ {
					pkt[i] = 0xff
				}
			}
			copy(pkt[5+stuff:], pes)
			pes = nil
		}
		out = append(out, pkt...)
	}
	return out
}

func TestRead(t *testing.T) {
	es := annexB(testLabel)
	malformed := append([]byte{0, 0, 0, 1, 0x67, 0x42}, seiNAL(userData(UUID, []byte("not base64!\x00")))...)
	tests := []struct {
		name    string
		stream  []byte
		want    Label
		wantErr error
	}{
		{name: "annex b", stream: es, want: testLabel},
		{name: "annex b without label", stream: []byte{0, 0, 0, 1, 0x67, 1, 2, 0, 0, 1, 0x65, 9}, wantErr: ErrMissing},
		{name: "annex b label last, no trailing start code", stream: append([]byte{0, 0, 1, 0x09, 0xf0}, seiNAL(userData(UUID, []byte(testLabel.Payload())))...), want: testLabel},
		{name: "ts", stream: tsPackets(0x100, 0xE0, es), want: testLabel},
		{name: "ts label in audio stream is ignored", stream: tsPackets(0x101, 0xC0, es), wantErr: ErrMissing},
		{name: "empty", stream: nil, wantErr: ErrMissing},
		{name: "malformed", stream: malformed, wantErr: ErrMalformed},
		{name: "truncated ts", stream: tsPackets(0x100, 0xE0, es)[:tsPacketSize+100], wantErr: ErrMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Read(bytes.NewReader(tt.stream))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// oneByteReader returns one byte per Read, to check that NAL units split
// across reads are found.
type oneByteReader struct{ b []byte }

func (r *oneByteReader) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	p[0] = r.b[0]
	r.b = r.b[1:]
	return 1, nil
}

func TestReadSplitReads(t *testing.T) {
	got, err := Read(&oneByteReader{b: annexB(testLabel)})
	if err != nil || got != testLabel {
		t.Fatalf("got %+v, %v", got, err)
	}
}

func TestReadFFmpeg(t *testing.T) {
	ffmpeg, err := exec.LookPath("ffmpeg")
	if err != nil {
		t.Fatal("ffmpeg not found: install it with `apt-get install ffmpeg`")
	}
	dir := t.TempDir()
	tests := []struct {
		name    string
		format  string
		bsf     bool
		wantErr error
	}{
		{name: "mpegts", format: "mpegts", bsf: true},
		{name: "raw h264", format: "h264", bsf: true},
		{name: "mpegts without label", format: "mpegts", wantErr: ErrMissing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_"))
			args := []string{"-v", "error", "-f", "lavfi", "-i", "testsrc2=s=320x240:r=25:d=4",
				"-c:v", "libx264", "-preset", "ultrafast", "-g", "50"}
			if tt.bsf {
				args = append(args, "-bsf:v", "h264_metadata=sei_user_data="+testLabel.SEIUserData())
			}
			args = append(args, "-f", tt.format, "-y", out)
			if b, err := exec.Command(ffmpeg, args...).CombinedOutput(); err != nil {
				t.Fatalf("ffmpeg: %v\n%s", err, b)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := Read(f)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != testLabel {
				t.Fatalf("got %+v, want %+v", got, testLabel)
			}
			// The label repeats at every keyframe: a stream cut after the
			// first GOP still has it.
			raw, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if n := bytes.Count(raw, []byte(testLabel.Payload()[:40])); n < 2 {
				t.Fatalf("label found %d times in a 2-GOP stream, want one per keyframe", n)
			}
		})
	}
}

func FuzzRead(f *testing.F) {
	es := annexB(testLabel)
	f.Add(es)
	f.Add(tsPackets(0x100, 0xE0, es))
	f.Add(seiNAL(userData(UUID, []byte("eyJ9"))))
	f.Add([]byte{tsSync})
	f.Add([]byte{0, 0, 1, 6, 5, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Read(bytes.NewReader(b))
		switch {
		case err == nil:
			// A label that decodes must survive a re-encode.
			if l.Provider == "" {
				l.Provider = l.Producer
			}
			back, err := decodePayload([]byte(l.Payload()))
			if err != nil || back != l {
				t.Fatalf("label %+v does not round-trip: %+v, %v", l, back, err)
			}
		case errors.Is(err, ErrMissing), errors.Is(err, ErrMalformed):
		default:
			t.Fatalf("unexpected error from a byte slice: %v", err)
		}
	})
}
