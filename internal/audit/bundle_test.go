package audit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/assets"
	"github.com/evercast/evercast/internal/s3local"
)

// fakeTS returns n transport-stream-shaped packets of distinct content.
func fakeTS(seed byte, n int) []byte {
	b := make([]byte, 188*n)
	for i := range n {
		p := b[i*188 : (i+1)*188]
		p[0] = 0x47
		for j := 1; j < 188; j++ {
			p[j] = seed + byte(i*j)
		}
	}
	return b
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// bundleFixture records a small session with clips in a real (embedded)
// object store and returns the log and objects.
func bundleFixture(t *testing.T) (*db, *Log, *assets.Store, string) {
	t.Helper()
	ctx := context.Background()
	srv, err := s3local.Start(t.TempDir(), testLogger(t))
	must(t, err)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	objs, err := assets.Open(ctx, assets.Options{Endpoint: srv.Endpoint, AccessKey: "k", SecretKey: "s", Bucket: "bundle"})
	must(t, err)
	d := newDB(t, backends()[0])
	l := NewLog(d.st, d.clk.Now)
	const ses, mer = "ses_bundle", "mer_bundle"
	add := func(kind, actor string, data any) Record {
		t.Helper()
		r, err := l.Append(ctx, ses, mer, kind, actor, data)
		must(t, err)
		return r
	}
	put := func(b []byte) (string, string) {
		s := sha(b)
		must(t, objs.Put(ctx, assets.ClipKey(s), b, "video/mp2t", nil))
		return assets.ClipKey(s), s
	}
	add(KindSession, ActorSystem, SessionEvent{Event: "started", From: "scheduled", To: "warming"})
	standbyKey, standbySHA := put(fakeTS(1, 20))
	pitchKey, pitchSHA := put(fakeTS(2, 30))
	clip := func(id string, seq int64, kind evercast.ClipKind, text, key, sum string) *evercast.Clip {
		start := (seq - 1) * 4480
		at := time.Date(2025, 3, 1, 8, 0, int(seq), 0, time.UTC)
		return &evercast.Clip{ID: id, Seq: seq, Kind: kind, Language: evercast.LangZH, Text: text, VideoKey: key, VideoSHA256: sum,
			DurationMS: 4480, StartMS: &start, OnAirAt: &at, Verdict: `{"verdict":"ok","sentences":1}`}
	}
	add(KindClipAired, ActorPlayout, ClipAiredOf(clip("clp_standby1", 1, evercast.KindStandby, "", standbyKey, standbySHA)))
	add(KindVerdict, "worker", Verdict{ClipID: "clp_pitch", Attempt: 0, Writer: "llm", Text: "全网最低价，买到就是赚到！",
		OK: false, Category: "absolute", Span: "全网最低", Reason: "absolute term", Outcome: "rewrite"})
	add(KindVerdict, "worker", Verdict{ClipID: "clp_pitch", Attempt: 1, Writer: "llm", Text: "西湖龙井，明前采摘，到手价99.9元。", OK: true, Outcome: "voiced"})
	add(KindClipAired, ActorPlayout, ClipAiredOf(clip("clp_pitch", 2, evercast.KindPitch, "西湖龙井，明前采摘，到手价99.9元。", pitchKey, pitchSHA)))
	add(KindComment, "viewer:小王", Comment{CommentID: "cmt_1", User: "小王", Text: "多少钱？", Action: "answer", Intent: "price", ReplyClipID: "clp_reply"})
	add(KindComment, "viewer:spam", Comment{CommentID: "cmt_2", User: "spam", Text: "加我微信 abc123", Action: "ignore", Reason: "spam"})
	add(KindClipAired, ActorPlayout, ClipAiredOf(clip("clp_standby2", 3, evercast.KindStandby, "", standbyKey, standbySHA)))
	add(KindClipAired, ActorPlayout, ClipAiredOf(clip("clp_lost", 4, evercast.KindPitch, "这段视频的对象丢了。", "clips/zz/lost.ts", strings.Repeat("e", 64))))
	add(KindCommand, "operator:li", Command{Command: CommandCutToStandby, Scope: "session", Target: ses, Result: "ok", LatencyMS: 420})
	add(KindApproval, "merchant:mer_bundle", ApprovalDecision{ClipID: "clp_x", Approved: true, Text: "新脚本"})
	return d, l, objs, ses
}

func python(t testing.TB) string {
	t.Helper()
	p, err := exec.LookPath("python3")
	if err != nil {
		t.Fatalf("python3 not found: the bundle test runs the reference verifier; install it with `apt-get install python3`")
	}
	return p
}

// runPy runs the reference verifier shipped in the bundle and returns its
// exit code and output.
func runPy(t testing.TB, dir string) (int, string) {
	t.Helper()
	cmd := exec.Command(python(t), filepath.Join(dir, BundleVerifier), dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("python3: %v\n%s", err, out)
		}
		return ee.ExitCode(), string(out)
	}
	return 0, string(out)
}

func TestBundle(t *testing.T) {
	ctx := context.Background()
	d, l, objs, ses := bundleFixture(t)
	dir := filepath.Join(t.TempDir(), "bundle")
	gen := time.Date(2025, 3, 2, 9, 0, 0, 0, time.UTC)
	m, err := Export(ctx, BundleDeps{Log: l, Objects: objs, Version: "v1.2.3", Now: func() time.Time { return gen }}, ses, dir)
	must(t, err)
	head, err := l.Verify(ctx, ses)
	must(t, err)
	if m.Records != 11 || m.Clips != 3 || m.Texts != 6 || m.Comments != 2 || m.Head != head.Head || m.LastSeq != 11 ||
		!m.Chain.OK || m.MerchantID != "mer_bundle" || m.ToolVersion != "v1.2.3" || !m.GeneratedAt.Equal(gen) ||
		m.Kinds[KindClipAired] != 4 || len(m.Problems) != 1 || !strings.Contains(m.Problems[0], "record 9: clip clp_lost") {
		b, _ := json.MarshalIndent(m, "", "  ")
		t.Fatalf("manifest:\n%s", b)
	}
	for _, f := range []string{BundleAudit, BundleChain, BundleTexts, BundleComments, BundleVerifier,
		"clips/000002-clp_standby1.ts", "clips/000005-clp_pitch.ts", "clips/000008-clp_standby2.ts"} {
		if m.Files[f] == "" {
			t.Errorf("manifest lists no %s", f)
		}
	}
	if got := m.Files["clips/000005-clp_pitch.ts"]; got != sha(fakeTS(2, 30)) {
		t.Errorf("pitch clip hash %s", got)
	}
	chain, err := os.ReadFile(filepath.Join(dir, BundleChain))
	must(t, err)
	if !strings.Contains(string(chain), "Head:      record 11, hash "+head.Head) || !strings.Contains(string(chain), "Left out at export") {
		t.Fatalf("chain.txt:\n%s", chain)
	}
	texts, err := os.ReadFile(filepath.Join(dir, BundleTexts))
	must(t, err)
	if !strings.Contains(string(texts), `"verdict":"violation:absolute:全网最低"`) || !strings.Contains(string(texts), `"file":"clips/000005-clp_pitch.ts"`) {
		t.Fatalf("texts.jsonl:\n%s", texts)
	}

	rep, err := VerifyBundle(dir)
	must(t, err)
	if !rep.OK || rep.Complete || rep.Head != head.Head || rep.Chain.Records != 11 {
		t.Fatalf("VerifyBundle = %+v, want OK, incomplete (one clip lost), head %s", rep, head.Head)
	}
	if code, out := runPy(t, dir); code != 0 || !strings.Contains(out, "OK: session ses_bundle, 11 records, head "+head.Head) {
		t.Fatalf("reference verifier: exit %d\n%s", code, out)
	}

	// Export refuses a directory with something in it.
	_, err = Export(ctx, BundleDeps{Log: l, Objects: objs}, ses, dir)
	wantErr(t, err, evercast.ErrInvalid)

	lines := func(b string) []string { return strings.SplitAfter(strings.TrimSuffix(b, "\n"), "\n") }
	editFile := func(name string, fn func(string) string) func(t *testing.T, dir string) {
		return func(t *testing.T, dir string) {
			p := filepath.Join(dir, filepath.FromSlash(name))
			b, err := os.ReadFile(p)
			must(t, err)
			must(t, os.WriteFile(p, []byte(fn(string(b))), 0o644))
		}
	}
	fixManifest := func(t *testing.T, dir string) {
		m := readManifest(t, dir)
		sums, err := hashTree(dir)
		must(t, err)
		delete(sums, BundleManifest)
		m.Files = sums
		writeManifest(t, dir, m)
	}
	for _, tc := range []struct {
		name   string
		tamper []func(t *testing.T, dir string)
		want   []string // substrings of Go's problems
		py     bool     // the reference verifier must fail too
	}{
		{"edit a text", []func(*testing.T, string){editFile(BundleAudit, func(s string) string {
			return strings.Replace(s, "到手价99.9元", "到手价9.9元", 1)
		})}, []string{"audit.jsonl does not match its SHA-256", "chain broken at record 4: hash of record 4"}, true},
		{"edit a text and fix the manifest", []func(*testing.T, string){editFile(BundleAudit, func(s string) string {
			return strings.Replace(s, "多少钱？", "怎么买？", 1)
		}), fixManifest}, []string{"chain broken at record 6: hash of record 6", "comments.jsonl does not agree"}, true},
		{"delete a record", []func(*testing.T, string){editFile(BundleAudit, func(s string) string {
			l := lines(s)
			return strings.Join(append(l[:3:3], l[4:]...), "")
		}), fixManifest}, []string{"chain broken at record 4: expected record 4, found record 5"}, true},
		{"swap two records", []func(*testing.T, string){editFile(BundleAudit, func(s string) string {
			l := lines(s)
			l[6], l[7] = l[7], l[6]
			return strings.Join(l, "")
		}), fixManifest}, []string{"chain broken at record 7: expected record 7, found record 8"}, true},
		{"drop the newest record", []func(*testing.T, string){editFile(BundleAudit, func(s string) string {
			l := lines(s)
			return strings.Join(l[:len(l)-1], "")
		}), fixManifest}, []string{"the chain ends at record 10"}, true},
		{"change a clip", []func(*testing.T, string){func(t *testing.T, dir string) {
			p := filepath.Join(dir, "clips", "000005-clp_pitch.ts")
			b, err := os.ReadFile(p)
			must(t, err)
			b[1000] ^= 0xff
			must(t, os.WriteFile(p, b, 0o644))
		}, fixManifest}, []string{"clips/000005-clp_pitch.ts does not match the SHA-256 recorded in record 5"}, true},
		{"remove a clip", []func(*testing.T, string){func(t *testing.T, dir string) {
			must(t, os.Remove(filepath.Join(dir, "clips", "000002-clp_standby1.ts")))
		}}, []string{"clips/000002-clp_standby1.ts is listed in the manifest but missing"}, true},
		{"add a file", []func(*testing.T, string){func(t *testing.T, dir string) {
			must(t, os.WriteFile(filepath.Join(dir, "clips", "000099-extra.ts"), fakeTS(9, 2), 0o644))
		}}, []string{"clips/000099-extra.ts is not listed in the manifest"}, true},
		{"edit a derived file", []func(*testing.T, string){editFile(BundleTexts, func(s string) string {
			return strings.Replace(s, "violation:absolute:全网最低", "ok", 1)
		}), fixManifest}, []string{"texts.jsonl does not agree with audit.jsonl"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cp := copyDir(t, dir)
			for _, fn := range tc.tamper {
				fn(t, cp)
			}
			rep, err := VerifyBundle(cp)
			must(t, err)
			all := strings.Join(rep.Problems, "\n")
			if rep.OK {
				t.Fatalf("tampered bundle verified: %+v", rep)
			}
			for _, w := range tc.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems lack %q:\n%s", w, all)
				}
			}
			if code, out := runPy(t, cp); tc.py && code != 1 {
				t.Errorf("reference verifier: exit %d, want 1\n%s", code, out)
			}
		})
	}

	// A chain broken in the database is exported as it is, and says so.
	r := d.raw()
	d.dropGuards(r)
	must(t, d.exec(r, "UPDATE audit_log SET actor = 'operator:nobody' WHERE session_id = ? AND seq = 10", ses))
	broken := filepath.Join(t.TempDir(), "broken")
	m, err = Export(ctx, BundleDeps{Log: l, Objects: objs}, ses, broken)
	must(t, err)
	if m.Chain.OK || m.Chain.FirstBroken != 10 || m.LastSeq != 9 {
		t.Fatalf("manifest chain %+v, want broken at 10", m.Chain)
	}
	rep, err = VerifyBundle(broken)
	must(t, err)
	if rep.OK || rep.Chain.FirstBroken != 10 {
		t.Fatalf("VerifyBundle of a broken chain = %+v", rep)
	}
	if code, out := runPy(t, broken); code != 1 || !strings.Contains(out, "chain broken at record 10") {
		t.Fatalf("reference verifier on a broken chain: exit %d\n%s", code, out)
	}
}

func readManifest(t testing.TB, dir string) *Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, BundleManifest))
	must(t, err)
	var m Manifest
	must(t, json.Unmarshal(b, &m))
	return &m
}

func writeManifest(t testing.TB, dir string, m *Manifest) {
	t.Helper()
	b, err := json.MarshalIndent(m, "", "  ")
	must(t, err)
	must(t, os.WriteFile(filepath.Join(dir, BundleManifest), b, 0o644))
}

// copyDir copies a bundle (hard links become copies).
func copyDir(t testing.TB, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	must(t, err)
	return dst
}
