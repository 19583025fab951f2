package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	_ "embed" // the reference verifier shipped in every bundle
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"

	"github.com/evercast/evercast"
)

// BundleFormat names the regulator bundle format.
const BundleFormat = "evercast-audit-bundle-v1"

// Files of a bundle.
const (
	BundleAudit    = "audit.jsonl"
	BundleChain    = "chain.txt"
	BundleTexts    = "texts.jsonl"
	BundleComments = "comments.jsonl"
	BundleManifest = "manifest.json"
	BundleVerifier = "verify_bundle.py"
	BundleClips    = "clips"
)

//go:embed verify_bundle.py
var verifierScript []byte

// Objects reads stored objects (assets.Store). A missing object wraps
// evercast.ErrNotFound.
type Objects interface {
	Get(ctx context.Context, key string) ([]byte, error)
}

// BundleDeps are what Export reads.
type BundleDeps struct {
	Log     *Log
	Objects Objects
	// Version is the evercast version written in the manifest; empty
	// means the module version of the running binary.
	Version string
	// Now stamps the manifest (nil: time.Now).
	Now func() time.Time
}

// Manifest is a bundle's manifest.json.
type Manifest struct {
	Format      string    `json:"format"`
	SessionID   string    `json:"session_id"`
	MerchantID  string    `json:"merchant_id"`
	GeneratedAt time.Time `json:"generated_at"`
	Tool        string    `json:"tool"`
	ToolVersion string    `json:"tool_version"`
	// Records counts audit.jsonl's lines; Kinds counts them per kind.
	Records  int            `json:"records"`
	Kinds    map[string]int `json:"kinds"`
	Clips    int            `json:"clips"`
	Texts    int            `json:"texts"`
	Comments int            `json:"comments"`
	// LastSeq and Head are the seq and hash of the last record that
	// verified; Chain is the verification at export time.
	LastSeq int64        `json:"last_seq"`
	Head    string       `json:"head"`
	Chain   VerifyResult `json:"chain"`
	// Problems lists what could not be included (a clip whose object is
	// gone or no longer matches its recorded SHA-256).
	Problems []string `json:"problems,omitempty"`
	// Files maps every other file of the bundle (slash-separated path) to
	// its SHA-256.
	Files map[string]string `json:"files"`
}

// TextLine is one line of texts.jsonl: a text that aired, or a script the
// claims checker judged.
type TextLine struct {
	Seq      int64  `json:"seq"`
	At       string `json:"at"`
	Record   string `json:"record"`
	ClipID   string `json:"clip_id,omitempty"`
	AirSeq   int64  `json:"air_seq,omitempty"`
	Kind     string `json:"kind,omitempty"`
	Language string `json:"language,omitempty"`
	Text     string `json:"text"`
	Verdict  string `json:"verdict"`
	Aired    bool   `json:"aired"`
	// File is the aired clip's file in the bundle.
	File string `json:"file,omitempty"`
}

// CommentLine is one line of comments.jsonl.
type CommentLine struct {
	Seq int64  `json:"seq"`
	At  string `json:"at"`
	Comment
}

// clipFile is the bundle path of the clip aired by record seq.
func clipFile(seq int64, clipID string) string {
	return fmt.Sprintf("%s/%06d-%s.ts", BundleClips, seq, safeName(clipID))
}

// safeName keeps a clip id usable as a file name.
func safeName(s string) string {
	if s == "" {
		return "clip"
	}
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == 0 || r == ':' {
			return '_'
		}
		return r
	}, s)
}

// derived turns one record into its lines of texts.jsonl and
// comments.jsonl, and the clip it aired. Export and VerifyBundle share it,
// so that VerifyBundle can rebuild those files from audit.jsonl.
func derived(r Record) (text *TextLine, comment *CommentLine, clip *ClipAired, err error) {
	at := r.At.UTC().Format(timeLayout)
	switch r.Kind {
	case KindClipAired:
		var c ClipAired
		if err := json.Unmarshal(r.Data, &c); err != nil {
			return nil, nil, nil, fmt.Errorf("record %d: %w", r.Seq, err)
		}
		t := &TextLine{Seq: r.Seq, At: at, Record: r.Kind, ClipID: c.ClipID, AirSeq: c.AirSeq, Kind: c.Kind,
			Language: c.Language, Text: c.Text, Verdict: c.Verdict, Aired: true}
		if c.VideoKey != "" {
			t.File = clipFile(r.Seq, c.ClipID)
			clip = &c
		}
		return t, nil, clip, nil
	case KindVerdict:
		var v Verdict
		if err := json.Unmarshal(r.Data, &v); err != nil {
			return nil, nil, nil, fmt.Errorf("record %d: %w", r.Seq, err)
		}
		verdict := "ok"
		if !v.OK {
			verdict = "violation:" + v.Category + ":" + v.Span
		}
		return &TextLine{Seq: r.Seq, At: at, Record: r.Kind, ClipID: v.ClipID, Text: v.Text, Verdict: verdict}, nil, nil, nil
	case KindComment:
		var c Comment
		if err := json.Unmarshal(r.Data, &c); err != nil {
			return nil, nil, nil, fmt.Errorf("record %d: %w", r.Seq, err)
		}
		return nil, &CommentLine{Seq: r.Seq, At: at, Comment: c}, nil, nil
	}
	return nil, nil, nil, nil
}

// jsonLine writes v as one line of JSON without HTML escaping.
func jsonLine(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// Export writes the session's regulator bundle into dir, which must be
// missing or empty:
//
//	audit.jsonl      every record, one JSON object per line, in seq order
//	chain.txt        the head hash and how to verify, step by step
//	verify_bundle.py a reference verifier (Python 3, standard library)
//	clips/<seq>-<clip id>.ts  every aired clip, checked against its SHA-256
//	texts.jsonl      every aired text and every judged script, with verdicts
//	comments.jsonl   every viewer comment, what was done with it and why
//	manifest.json    session, merchant, counts, head hash, time, tool
//	                 version and the SHA-256 of every other file
//
// A clip whose object is missing or no longer matches its recorded SHA-256
// is left out and named in the manifest's problems; a broken chain is
// exported as it is, with the verification in the manifest. Errors are
// those of the store, the object store (other than a missing object) and
// the file system.
func Export(ctx context.Context, deps BundleDeps, sessionID, dir string) (*Manifest, error) {
	if deps.Log == nil || deps.Objects == nil {
		return nil, fmt.Errorf("audit export: %w", evercast.Invalid("deps", "need a Log and Objects"))
	}
	if err := emptyDir(dir); err != nil {
		return nil, fmt.Errorf("audit export: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, BundleClips), 0o755); err != nil {
		return nil, fmt.Errorf("audit export: %w", err)
	}
	now := time.Now
	if deps.Now != nil {
		now = deps.Now
	}
	m := &Manifest{Format: BundleFormat, SessionID: sessionID, GeneratedAt: now().UTC().Truncate(time.Millisecond),
		Tool: "evercast", ToolVersion: toolVersion(deps.Version), Kinds: map[string]int{}, Files: map[string]string{}}

	files := map[string]*bufio.Writer{}
	var closers []*os.File
	defer func() {
		for _, f := range closers {
			_ = f.Close()
		}
	}()
	for _, name := range []string{BundleAudit, BundleTexts, BundleComments} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return nil, fmt.Errorf("audit export: %w", err)
		}
		closers = append(closers, f)
		files[name] = bufio.NewWriterSize(f, 256<<10)
	}

	v := NewVerifier(sessionID)
	written := map[string]string{} // clip SHA-256 → first bundle path holding it
	err := deps.Log.each(ctx, sessionID, func(r Record) error {
		v.Add(r)
		m.Records++
		m.Kinds[r.Kind]++
		if m.MerchantID == "" {
			m.MerchantID = r.MerchantID
		}
		if err := jsonLine(files[BundleAudit], r); err != nil {
			return err
		}
		text, comment, clip, err := derived(r)
		if err != nil {
			m.Problems = append(m.Problems, err.Error())
			return nil
		}
		if text != nil {
			m.Texts++
			if err := jsonLine(files[BundleTexts], text); err != nil {
				return err
			}
		}
		if comment != nil {
			m.Comments++
			if err := jsonLine(files[BundleComments], comment); err != nil {
				return err
			}
		}
		if clip != nil {
			problem, err := exportClip(ctx, deps.Objects, dir, text.File, clip, written)
			if err != nil {
				return err
			}
			if problem != "" {
				m.Problems = append(m.Problems, fmt.Sprintf("record %d: %s", r.Seq, problem))
			} else {
				m.Clips++
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("audit export %s: %w", sessionID, err)
	}
	for _, w := range files {
		if err := w.Flush(); err != nil {
			return nil, fmt.Errorf("audit export: %w", err)
		}
	}
	for _, f := range closers {
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("audit export: %w", err)
		}
	}
	closers = nil
	m.Chain = v.Result()
	m.LastSeq, m.Head = m.Chain.LastSeq, m.Chain.Head
	if err := os.WriteFile(filepath.Join(dir, BundleChain), chainText(m), 0o644); err != nil {
		return nil, fmt.Errorf("audit export: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, BundleVerifier), verifierScript, 0o644); err != nil {
		return nil, fmt.Errorf("audit export: %w", err)
	}
	sums, err := hashTree(dir)
	if err != nil {
		return nil, fmt.Errorf("audit export: %w", err)
	}
	delete(sums, BundleManifest)
	m.Files = sums
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, BundleManifest), append(b, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("audit export: %w", err)
	}
	return m, nil
}

// exportClip writes the clip's video to rel, reusing (hard-linking) a file
// already written with the same content. It returns a problem when the
// object is missing or does not match the recorded SHA-256.
func exportClip(ctx context.Context, objs Objects, dir, rel string, c *ClipAired, written map[string]string) (string, error) {
	dst := filepath.Join(dir, filepath.FromSlash(rel))
	if prev, ok := written[c.VideoSHA256]; ok && c.VideoSHA256 != "" {
		if err := os.Link(filepath.Join(dir, filepath.FromSlash(prev)), dst); err == nil {
			return "", nil
		}
	}
	b, err := objs.Get(ctx, c.VideoKey)
	if errors.Is(err, evercast.ErrNotFound) {
		return fmt.Sprintf("clip %s: object %s is missing", c.ClipID, c.VideoKey), nil
	}
	if err != nil {
		return "", fmt.Errorf("clip %s: %w", c.ClipID, err)
	}
	sum := sha256.Sum256(b)
	if got := hex.EncodeToString(sum[:]); got != c.VideoSHA256 {
		return fmt.Sprintf("clip %s: object %s has SHA-256 %s, the record says %q", c.ClipID, c.VideoKey, got, c.VideoSHA256), nil
	}
	if err := os.WriteFile(dst, b, 0o644); err != nil {
		return "", err
	}
	written[c.VideoSHA256] = rel
	return "", nil
}

// emptyDir accepts a missing or empty directory.
func emptyDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if len(entries) > 0 {
		return evercast.Invalid("out", "directory %s is not empty", dir)
	}
	return nil
}

// hashTree returns the SHA-256 of every regular file under dir by
// slash-separated relative path.
func hashTree(dir string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file", rel)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		out[filepath.ToSlash(rel)] = hex.EncodeToString(h.Sum(nil))
		return nil
	})
	return out, err
}

func toolVersion(v string) string {
	if v != "" {
		return v
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "dev"
}

// chainText is chain.txt: the head and how to verify.
func chainText(m *Manifest) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "Evercast audit bundle (%s)\n", BundleFormat)
	fmt.Fprintf(&b, "Session:   %s\nMerchant:  %s\nGenerated: %s by %s %s\n\n", m.SessionID, m.MerchantID,
		m.GeneratedAt.Format(timeLayout), m.Tool, m.ToolVersion)
	fmt.Fprintf(&b, "Records:   %d\n", m.Records)
	fmt.Fprintf(&b, "Head:      record %d, hash %s\n", m.LastSeq, m.Head)
	if m.Chain.OK {
		fmt.Fprintf(&b, "Chain:     verified at export\n")
	} else {
		fmt.Fprintf(&b, "Chain:     BROKEN at record %d: %s\n", m.Chain.FirstBroken, m.Chain.Reason)
	}
	b.WriteString(`
How to verify (python3 verify_bundle.py DIR does all of this)

1. Files. manifest.json lists the SHA-256 of every other file in this
   directory ("files"). Recompute each; none may differ, be missing or be
   unlisted.

2. Chain. audit.jsonl holds one record per line, in seq order, seq 1, 2, 3...
   without gaps. For each record compute

     hash = lower-case hex SHA-256 of the pre-image
       "evercast-audit-v1\n"
       then for each field, in this order:
         seq, session_id, merchant_id, kind, at_ms, actor, data, prev_hash
       the bytes  <decimal byte length of the field> ":" <field> "\n"

   seq and at_ms (unix milliseconds, UTC) in decimal ASCII; text fields as
   UTF-8; data as its canonical JSON (RFC 8785 JSON Canonicalization Scheme:
   members sorted, no whitespace, minimal escaping; for these records
   Python's json.dumps(data, sort_keys=True, separators=(",", ":"),
   ensure_ascii=False) gives the same bytes). The record's "hash" must equal
   it. Its "prev_hash" must equal the previous record's hash; the first
   record's prev_hash is the SHA-256 of "evercast-audit-v1:" + session id.
   The first record failing any check is the first broken link.

3. Head. The last record's hash must equal the head above and the one in
   manifest.json. Compare it with a head held elsewhere: the operator's
   archive under object lock (archive/audit/<session>/...manifest.json,
   "head") or one published when the bundle was handed over. A bundle
   rewritten as a whole verifies on its own; only an outside head catches
   that.

4. Clips. For each "clip.aired" record, clips/<seq>-<clip id>.ts must have
   the SHA-256 in the record's data.video_sha256 (<seq> is the record's seq,
   six digits). texts.jsonl and comments.jsonl are derived from audit.jsonl
   and must agree with it.
`)
	if len(m.Problems) > 0 {
		b.WriteString("\nLeft out at export:\n")
		for _, p := range m.Problems {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
	}
	return b.Bytes()
}

// BundleReport is the outcome of VerifyBundle.
type BundleReport struct {
	SessionID string `json:"session_id"`
	// OK: every file matches the manifest, the chain verifies and ends at
	// the manifest's head, every clip matches its record, and the derived
	// files agree with audit.jsonl.
	OK bool `json:"ok"`
	// Complete: every aired clip is in the bundle.
	Complete bool         `json:"complete"`
	Chain    VerifyResult `json:"chain"`
	Head     string       `json:"head"`
	Problems []string     `json:"problems,omitempty"`
}

// VerifyBundle checks a bundle written by Export, offline: the auditor's
// side. It returns an error only when dir has no readable manifest; every
// other finding is a problem in the report.
func VerifyBundle(dir string) (BundleReport, error) {
	var rep BundleReport
	mb, err := os.ReadFile(filepath.Join(dir, BundleManifest))
	if err != nil {
		return rep, fmt.Errorf("verify bundle: %w", err)
	}
	var m Manifest
	if err := json.Unmarshal(mb, &m); err != nil {
		return rep, fmt.Errorf("verify bundle: manifest.json: %w", err)
	}
	if m.Format != BundleFormat {
		return rep, fmt.Errorf("verify bundle: manifest format %q, want %q", m.Format, BundleFormat)
	}
	rep.SessionID, rep.Complete = m.SessionID, true
	problem := func(format string, args ...any) { rep.Problems = append(rep.Problems, fmt.Sprintf(format, args...)) }

	// 1. Files.
	sums, err := hashTree(dir)
	if err != nil {
		problem("reading the bundle: %v", err)
	}
	delete(sums, BundleManifest)
	names := make([]string, 0, len(sums)+len(m.Files))
	seen := map[string]bool{}
	for n := range sums {
		names, seen[n] = append(names, n), true
	}
	for n := range m.Files {
		if !seen[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	for _, n := range names {
		want, listed := m.Files[n]
		got, present := sums[n]
		switch {
		case !listed:
			problem("%s is not listed in the manifest", n)
		case !present:
			problem("%s is listed in the manifest but missing", n)
		case got != want:
			problem("%s does not match its SHA-256 in the manifest (it was changed)", n)
		}
	}

	// 2. Chain, 4. clips and derived files, from audit.jsonl.
	var texts, comments bytes.Buffer
	f, err := os.Open(filepath.Join(dir, BundleAudit))
	if err != nil {
		problem("%s: %v", BundleAudit, err)
	} else {
		defer f.Close()
		v := NewVerifier(m.SessionID)
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		line := 0
		for sc.Scan() {
			line++
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				problem("%s line %d: %v", BundleAudit, line, err)
				v.Add(Record{Seq: -1, SessionID: m.SessionID})
				continue
			}
			v.Add(r)
			text, comment, clip, err := derived(r)
			if err != nil {
				problem("%v", err)
				continue
			}
			if text != nil {
				_ = jsonLine(&texts, text)
			}
			if comment != nil {
				_ = jsonLine(&comments, comment)
			}
			if clip != nil {
				p := filepath.Join(dir, filepath.FromSlash(text.File))
				if _, ok := sums[text.File]; !ok {
					rep.Complete = false
					if !strings.Contains(strings.Join(m.Problems, "\n"), fmt.Sprintf("record %d:", r.Seq)) {
						problem("%s (record %d) is missing and the manifest does not say why", text.File, r.Seq)
					}
					continue
				}
				if got := fileSHA(p); got != clip.VideoSHA256 {
					problem("%s does not match the SHA-256 recorded in record %d", text.File, r.Seq)
				}
			}
		}
		if err := sc.Err(); err != nil {
			problem("%s: %v", BundleAudit, err)
		}
		rep.Chain = v.Result()
		rep.Head = rep.Chain.Head
		if !rep.Chain.OK {
			problem("chain broken at record %d: %s", rep.Chain.FirstBroken, rep.Chain.Reason)
		}
		if rep.Chain.Head != m.Head || rep.Chain.LastSeq != m.LastSeq {
			problem("the chain ends at record %d (%s), the manifest says record %d (%s)",
				rep.Chain.LastSeq, rep.Chain.Head, m.LastSeq, m.Head)
		}
		if rep.Chain.Records != m.Records {
			problem("audit.jsonl has %d records, the manifest says %d", rep.Chain.Records, m.Records)
		}
	}
	for name, want := range map[string][]byte{BundleTexts: texts.Bytes(), BundleComments: comments.Bytes()} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			problem("%s: %v", name, err)
			continue
		}
		if !bytes.Equal(got, want) {
			problem("%s does not agree with %s", name, BundleAudit)
		}
	}
	sort.Strings(rep.Problems)
	rep.OK = len(rep.Problems) == 0
	return rep, nil
}

// fileSHA returns the hex SHA-256 of a file, or "" when it cannot be read.
func fileSHA(p string) string {
	f, err := os.Open(p)
	if err != nil {
		return ""
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}
