package audit

import (
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

func TestLog(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			for _, tc := range []struct {
				name string
				run  func(t *testing.T, d *db)
			}{
				{"AppendVerify", testAppendVerify},
				{"Guards", testGuards},
				{"Tamper", testTamper},
				{"ConcurrentAppends", testConcurrentAppends},
			} {
				t.Run(tc.name, func(t *testing.T) { tc.run(t, newDB(t, b)) })
			}
		})
	}
}

func testAppendVerify(t *testing.T, d *db) {
	l := NewLog(d.st, d.clk.Now)
	const ses, mer = "ses_a", "mer_a"
	first, err := l.Append(d.ctx, ses, mer, KindSession, ActorSystem, SessionEvent{Event: "started"})
	must(t, err)
	if first.Seq != 1 || first.PrevHash != GenesisHash(ses) || first.Hash != first.ComputeHash() || first.MerchantID != mer {
		t.Fatalf("first record %+v: want seq 1 linked to the genesis hash, hashed, merchant %s", first, mer)
	}
	// Data is stored canonical: key order and spacing do not matter.
	a, err := l.Append(d.ctx, ses, "", "note", "operator:li", json.RawMessage(`{ "b": 1, "a": "<x> & y" }`))
	must(t, err)
	if string(a.Data) != `{"a":"<x> & y","b":1}` || a.MerchantID != mer || a.PrevHash != first.Hash {
		t.Fatalf("second record %+v: want canonical data, merchant inherited, linked to the first", a)
	}
	c := &evercast.Clip{ID: "clp_1", Seq: 1, Kind: evercast.KindPitch, Language: evercast.LangZH, Text: "龙井茶，明前采摘。",
		AudioKey: "audio/ab/" + strings.Repeat("ab", 32) + ".wav", VideoKey: "clips/cd/x.ts", VideoSHA256: strings.Repeat("cd", 32),
		DurationMS: 4480, StartMS: ptr(int64(0)), Verdict: `{"verdict":"ok"}`}
	for i := range 5 {
		c.Seq = int64(i + 1)
		_, err := l.Append(d.ctx, ses, mer, KindClipAired, ActorPlayout, ClipAiredOf(c))
		must(t, err)
	}
	_, err = l.Append(d.ctx, ses, "mer_other", KindComment, "viewer", Comment{CommentID: "c1", Text: "hi", Action: "greet"})
	wantErr(t, err, evercast.ErrInvalid)
	_, err = l.Append(d.ctx, ses, mer, KindComment, "viewer", func() {})
	wantErr(t, err, evercast.ErrInvalid)
	_, err = l.Append(d.ctx, ses, mer, "", "viewer", nil)
	wantErr(t, err, evercast.ErrInvalid)

	// Another session's chain is its own.
	o, err := l.Append(d.ctx, "ses_b", "mer_b", KindSession, ActorSystem, nil)
	must(t, err)
	if o.Seq != 1 || o.PrevHash != GenesisHash("ses_b") || string(o.Data) != "null" {
		t.Fatalf("other session's first record %+v", o)
	}

	res, err := l.Verify(d.ctx, ses)
	must(t, err)
	if !res.OK || res.Records != 7 || res.LastSeq != 7 || res.FirstBroken != 0 {
		t.Fatalf("Verify = %+v, want 7 records OK", res)
	}
	recs, err := l.Records(d.ctx, ses, 2, 3)
	must(t, err)
	if len(recs) != 3 || recs[0].Seq != 3 || recs[2].Seq != 5 {
		t.Fatalf("Records(after 2, limit 3) = %d records from %d", len(recs), recs[0].Seq)
	}
	var got ClipAired
	must(t, json.Unmarshal(recs[0].Data, &got))
	if got.AudioSHA256 != strings.Repeat("ab", 32) || got.Text != c.Text || got.AirSeq != 1 {
		t.Fatalf("clip.aired data %+v", got)
	}
	if res.Head != recs[2].Hash && res.Head == "" {
		t.Fatalf("head %q", res.Head)
	}
	h, err := d.st.GetAuditHead(d.ctx, ses)
	must(t, err)
	if h.Seq != 7 || h.Hash != res.Head || h.MerchantID != mer {
		t.Fatalf("head row %+v, want seq 7 hash %s", h, res.Head)
	}
	res, err = l.Verify(d.ctx, "ses_none")
	must(t, err)
	if !res.OK || res.Records != 0 {
		t.Fatalf("Verify of a session without records = %+v", res)
	}
	// Records round-trip through their JSON form.
	for _, r := range recs {
		b, err := json.Marshal(r)
		must(t, err)
		var back Record
		must(t, json.Unmarshal(b, &back))
		if back.ComputeHash() != r.Hash || !back.At.Equal(r.At) {
			t.Fatalf("record %d after a JSON round trip no longer hashes to its hash:\n%s", r.Seq, b)
		}
	}
}

// testGuards: the database itself refuses to change or remove records.
func testGuards(t *testing.T, d *db) {
	l := NewLog(d.st, d.clk.Now)
	for range 3 {
		_, err := l.Append(d.ctx, "ses_g", "mer_g", "note", ActorSystem, map[string]int{"n": 1})
		must(t, err)
	}
	// Guarding twice (another process starting) is harmless.
	must(t, d.open().GuardAudit(d.ctx))
	r := d.raw()
	stmts := []string{
		"UPDATE audit_log SET data = '{}' WHERE session_id = 'ses_g' AND seq = 2",
		"UPDATE audit_log SET hash = 'x'",
		"DELETE FROM audit_log WHERE session_id = 'ses_g' AND seq = 3",
		"DELETE FROM audit_log",
	}
	if d.dialect == store.DialectPostgres {
		stmts = append(stmts, "TRUNCATE audit_log")
	}
	for _, s := range stmts {
		err := d.exec(r, s)
		if err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", s, err)
		}
	}
	res, err := l.Verify(d.ctx, "ses_g")
	must(t, err)
	if !res.OK || res.Records != 3 {
		t.Fatalf("after refused tampering Verify = %+v", res)
	}
}

// testTamper changes stored records behind the log's back (after dropping
// the triggers) and checks that Verify names the exact first broken seq.
func testTamper(t *testing.T, d *db) {
	l := NewLog(d.st, d.clk.Now)
	// Install the guards, then remove them as an attacker with DDL rights
	// would.
	_, err := l.Append(d.ctx, "ses_setup", "mer_t", "note", ActorSystem, nil)
	must(t, err)
	r := d.raw()
	d.dropGuards(r)

	const n = 6
	for _, tc := range []struct {
		name   string
		tamper []string // SQL; ? is the session id
		broken int64    // 0: the chain still verifies
		reason string
		left   int
	}{
		{name: "edit data", tamper: []string{"UPDATE audit_log SET data = REPLACE(data, 'said 3', 'said THREE') WHERE session_id = ? AND seq = 3"},
			broken: 3, reason: "was changed", left: n},
		{name: "edit actor", tamper: []string{"UPDATE audit_log SET actor = 'operator:mallory' WHERE session_id = ? AND seq = 2"},
			broken: 2, reason: "was changed", left: n},
		{name: "edit time", tamper: []string{"UPDATE audit_log SET at = at + 1 WHERE session_id = ? AND seq = 5"},
			broken: 5, reason: "was changed", left: n},
		{name: "edit kind of the first", tamper: []string{"UPDATE audit_log SET kind = 'noise' WHERE session_id = ? AND seq = 1"},
			broken: 1, reason: "was changed", left: n},
		{name: "delete a record", tamper: []string{"DELETE FROM audit_log WHERE session_id = ? AND seq = 4"},
			broken: 4, reason: "expected record 4, found record 5", left: n - 1},
		{name: "delete the first", tamper: []string{"DELETE FROM audit_log WHERE session_id = ? AND seq = 1"},
			broken: 1, reason: "expected record 1, found record 2", left: n - 1},
		{name: "swap two records", tamper: []string{
			"UPDATE audit_log SET seq = -1 WHERE session_id = ? AND seq = 3",
			"UPDATE audit_log SET seq = 3 WHERE session_id = ? AND seq = 4",
			"UPDATE audit_log SET seq = 4 WHERE session_id = ? AND seq = -1",
		}, broken: 3, reason: "prev_hash of record 3", left: n},
		{name: "change prev hash", tamper: []string{
			"UPDATE audit_log SET prev_hash = (SELECT hash FROM audit_log WHERE session_id = ? AND seq = 1) WHERE session_id = ? AND seq = 5",
		}, broken: 5, reason: "prev_hash of record 5", left: n},
		{name: "change hash", tamper: []string{"UPDATE audit_log SET hash = prev_hash WHERE session_id = ? AND seq = 6"},
			broken: 6, reason: "was changed", left: n},
		{name: "rehash a changed record", tamper: nil, // done in Go below
			broken: 3, reason: "prev_hash of record 3 does not match", left: n},
		{name: "delete the newest", tamper: []string{"DELETE FROM audit_log WHERE session_id = ? AND seq = 6"},
			broken: 0, left: n - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ses := "ses_" + strings.ReplaceAll(tc.name, " ", "_")
			var recs []Record
			for i := 1; i <= n; i++ {
				rec, err := l.Append(d.ctx, ses, "mer_t", KindClipAired, ActorPlayout, map[string]any{"text": fmt.Sprintf("said %d", i)})
				must(t, err)
				recs = append(recs, rec)
			}
			res, err := l.Verify(d.ctx, ses)
			must(t, err)
			if !res.OK || res.Records != n {
				t.Fatalf("before tampering: %+v", res)
			}
			for _, q := range tc.tamper {
				args := make([]any, strings.Count(q, "?"))
				for i := range args {
					args[i] = ses
				}
				must(t, d.exec(r, q, args...))
			}
			if tc.tamper == nil {
				// Change record 2 and give it a correct hash: only the
				// next link shows it.
				forged := recs[1]
				forged.Data = json.RawMessage(`{"text":"forged"}`)
				forged.Hash = forged.ComputeHash()
				must(t, d.exec(r, "UPDATE audit_log SET data = ?, hash = ? WHERE session_id = ? AND seq = 2", string(forged.Data), forged.Hash, ses))
			}
			res, err = l.Verify(d.ctx, ses)
			must(t, err)
			if tc.broken == 0 {
				if !res.OK || res.Records != tc.left {
					t.Fatalf("Verify = %+v, want OK with %d records", res, tc.left)
				}
				return
			}
			if res.OK || res.FirstBroken != tc.broken || !strings.Contains(res.Reason, tc.reason) || res.Records != tc.left {
				t.Fatalf("Verify = %+v, want first broken %d (%q) of %d records", res, tc.broken, tc.reason, tc.left)
			}
		})
	}

	// After the newest record was deleted, the next append continues after
	// the head kept beside the log, so the gap shows.
	ses := "ses_delete_the_newest"
	rec, err := l.Append(d.ctx, ses, "", "note", ActorSystem, nil)
	must(t, err)
	if rec.Seq != n+1 {
		t.Fatalf("append after a deleted tail got seq %d, want %d", rec.Seq, n+1)
	}
	res, err := l.Verify(d.ctx, ses)
	must(t, err)
	if res.OK || res.FirstBroken != n {
		t.Fatalf("Verify after the append = %+v, want record %d missing", res, n)
	}
}

// testConcurrentAppends: 8 goroutines on one handle, then 8 handles on one
// database, give one contiguous, valid chain.
func testConcurrentAppends(t *testing.T, d *db) {
	const workers, each = 8, 25
	for _, mode := range []string{"goroutines", "handles"} {
		t.Run(mode, func(t *testing.T) {
			ses := "ses_conc_" + mode
			logs := make([]*Log, workers)
			for i := range logs {
				st := d.st
				if mode == "handles" {
					st = d.open()
				}
				logs[i] = NewLog(st, d.clk.Now)
			}
			var wg sync.WaitGroup
			errs := make(chan error, workers*each)
			for w := range workers {
				wg.Go(func() {
					for i := range each {
						if _, err := logs[w].Append(d.ctx, ses, "mer_c", KindComment, fmt.Sprintf("worker-%d", w),
							Comment{CommentID: fmt.Sprintf("%d-%d", w, i), Text: "多少钱", Action: "answer"}); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			res, err := logs[0].Verify(d.ctx, ses)
			must(t, err)
			if !res.OK || res.Records != workers*each || res.LastSeq != workers*each {
				t.Fatalf("Verify = %+v, want %d contiguous records", res, workers*each)
			}
			seen := map[string]bool{}
			recs, err := logs[0].Records(d.ctx, ses, 0, 0)
			must(t, err)
			for _, r := range recs {
				var c Comment
				must(t, json.Unmarshal(r.Data, &c))
				if seen[c.CommentID] {
					t.Fatalf("comment %s recorded twice", c.CommentID)
				}
				seen[c.CommentID] = true
			}
			if len(seen) != workers*each {
				t.Fatalf("%d distinct records, want %d", len(seen), workers*each)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }
