package audit

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/evercast/evercast/internal/s3local"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/testenv"
)

func minioClient(t testing.TB, endpoint, access, secret string) *minio.Client {
	t.Helper()
	c, err := minio.New(endpoint, &minio.Options{Creds: credentials.NewStaticV4(access, secret, "")})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// appendN appends n notes to the session and returns them.
func appendN(t testing.TB, l *Log, ses, mer string, n int) []Record {
	t.Helper()
	var out []Record
	for i := range n {
		r, err := l.Append(context.Background(), ses, mer, KindClipAired, ActorPlayout,
			ClipAired{ClipID: fmt.Sprintf("clp_%s_%d", ses, i), Text: fmt.Sprintf("第%d句 <ok> & fine", i), VideoKey: "clips/x.ts"})
		must(t, err)
		out = append(out, r)
	}
	return out
}

// readChunk reads one archived chunk version and parses its records.
func readChunk(t testing.TB, c *minio.Client, bucket, key, version string) []Record {
	t.Helper()
	obj, err := c.GetObject(context.Background(), bucket, key, minio.GetObjectOptions{VersionID: version})
	must(t, err)
	defer obj.Close()
	b, err := io.ReadAll(obj)
	must(t, err)
	var out []Record
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		var r Record
		must(t, json.Unmarshal(sc.Bytes(), &r))
		out = append(out, r)
	}
	return out
}

// TestArchiveMinIO archives to a real MinIO server under object lock.
func TestArchiveMinIO(t *testing.T) {
	ctx := context.Background()
	m := testenv.StartMinIO(t)
	client := minioClient(t, m.Endpoint, m.AccessKey, m.SecretKey)
	d := newDB(t, backends()[0])
	l := NewLog(d.st, d.clk.Now)
	now := time.Now().UTC()
	a, err := NewArchiver(ArchiverOptions{Store: d.st, Client: client, Bucket: ArchiveBucket("evercast"),
		Retention: 24 * time.Hour, ChunkRecords: 4, Now: func() time.Time { return now }, Log: testLogger(t)})
	must(t, err)

	recs := appendN(t, l, "ses_1", "mer_1", 7)
	appendN(t, l, "ses_2", "mer_1", 3)
	res, err := a.ArchiveAll(ctx)
	must(t, err)
	if res != (ArchiveResult{Sessions: 2, Chunks: 3, Records: 10}) {
		t.Fatalf("ArchiveAll = %+v, want 2 sessions, 3 chunks, 10 records", res)
	}
	locked, note, err := a.Locked(ctx)
	must(t, err)
	if !locked {
		t.Fatalf("MinIO bucket not locked: %s", note)
	}
	lock, _, _, _, err := client.GetObjectLockConfig(ctx, ArchiveBucket("evercast"))
	must(t, err)
	if lock != "Enabled" {
		t.Fatalf("bucket object lock %q, want Enabled", lock)
	}
	backlog, err := d.st.AuditBacklog(ctx, 0)
	must(t, err)
	if len(backlog) != 0 {
		t.Fatalf("backlog after archiving: %+v", backlog)
	}

	chunks, err := a.Chunks(ctx, "ses_1")
	must(t, err)
	if len(chunks) != 2 || chunks[0].Key != ChunkKey("ses_1", 1, 4) || chunks[1].Key != ChunkKey("ses_1", 5, 7) {
		t.Fatalf("chunks %+v, want 1-4 and 5-7", chunks)
	}
	if want := "archive/audit/ses_1/000000000001-000000000004.jsonl"; chunks[0].Key != want {
		t.Fatalf("chunk key %s, want %s", chunks[0].Key, want)
	}
	c0 := chunks[0]
	if !c0.Locked || c0.Mode != "COMPLIANCE" || c0.RetainUntil == nil || c0.VersionID == "" || !c0.ChainOK ||
		c0.PrevHash != GenesisHash("ses_1") || c0.Head != recs[3].Hash || c0.Records != 4 {
		t.Fatalf("manifest %+v: want locked COMPLIANCE with version, linked to genesis, head of record 4", c0)
	}

	// The retention is on the object itself.
	mode, until, err := client.GetObjectRetention(ctx, a.o.Bucket, c0.Key, c0.VersionID)
	must(t, err)
	if mode == nil || *mode != minio.Compliance || until == nil || until.Before(now.Add(24*time.Hour-time.Second)) {
		t.Fatalf("retention %v until %v, want COMPLIANCE until %v", mode, until, now.Add(24*time.Hour))
	}
	st, err := client.StatObject(ctx, a.o.Bucket, c0.Key, minio.StatObjectOptions{VersionID: c0.VersionID})
	must(t, err)
	if st.Metadata.Get("X-Amz-Object-Lock-Mode") != "COMPLIANCE" || st.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date") == "" {
		t.Fatalf("StatObject lock headers: mode %q until %q", st.Metadata.Get("X-Amz-Object-Lock-Mode"),
			st.Metadata.Get("X-Amz-Object-Lock-Retain-Until-Date"))
	}

	// The locked version cannot be deleted, not even with the governance
	// bypass, nor can its retention be shortened.
	for _, opts := range []minio.RemoveObjectOptions{{VersionID: c0.VersionID}, {VersionID: c0.VersionID, GovernanceBypass: true}} {
		err := client.RemoveObject(ctx, a.o.Bucket, c0.Key, opts)
		if err == nil || !strings.Contains(err.Error(), "WORM protected") {
			t.Fatalf("RemoveObject(version %s, bypass %t) of a locked version: %v, want the WORM refusal", opts.VersionID, opts.GovernanceBypass, err)
		}
	}
	shorter := now.Add(time.Hour)
	if err := client.PutObjectRetention(ctx, a.o.Bucket, c0.Key, minio.PutObjectRetentionOptions{
		VersionID: c0.VersionID, Mode: ptr(minio.Governance), RetainUntilDate: &shorter, GovernanceBypass: true}); err == nil || !strings.Contains(err.Error(), "WORM protected") {
		t.Fatalf("shortening a COMPLIANCE retention: %v, want the WORM refusal", err)
	}
	// A plain delete only hides it behind a delete marker; a forged new
	// version of its manifest does not replace the locked one.
	must(t, client.RemoveObject(ctx, a.o.Bucket, c0.Key, minio.RemoveObjectOptions{}))
	forged := c0
	forged.Head = strings.Repeat("0", 64)
	fb, _ := json.Marshal(forged)
	_, err = client.PutObject(ctx, a.o.Bucket, manifestKey(c0.Key), bytes.NewReader(fb), int64(len(fb)), minio.PutObjectOptions{})
	must(t, err)

	// The content round-trips and verifies.
	got := readChunk(t, client, a.o.Bucket, c0.Key, c0.VersionID)
	if len(got) != 4 {
		t.Fatalf("chunk holds %d records, want 4", len(got))
	}
	for i, r := range got {
		if !sameRecord(r, recs[i]) {
			t.Fatalf("archived record %d differs:\n got %+v\nwant %+v", i+1, r, recs[i])
		}
	}
	if v := VerifyRecords("ses_1", append(got, readChunk(t, client, a.o.Bucket, chunks[1].Key, chunks[1].VersionID)...)); !v.OK || v.Records != 7 {
		t.Fatalf("archived chain: %+v", v)
	}
	check, err := a.Verify(ctx, "ses_1")
	must(t, err)
	if !check.OK || check.Records != 7 || check.ArchivedSeq != 7 || check.Chunks != 2 || check.Unlocked != 0 {
		t.Fatalf("Verify = %+v, want OK, 7 records, all archived in 2 locked chunks", check)
	}

	// New records go into a new chunk that continues the chain.
	recs = append(recs, appendN(t, l, "ses_1", "", 2)...)
	res, err = a.ArchiveAll(ctx)
	must(t, err)
	if res != (ArchiveResult{Sessions: 1, Chunks: 1, Records: 2}) {
		t.Fatalf("second pass = %+v, want one chunk of 2", res)
	}
	chunks, err = a.Chunks(ctx, "ses_1")
	must(t, err)
	if len(chunks) != 3 || chunks[2].FirstSeq != 8 || chunks[2].PrevHash != recs[6].Hash || !chunks[2].ChainOK {
		t.Fatalf("chunks after the second pass: %+v", chunks)
	}
	// Records not archived yet are checked against the chain too.
	appendN(t, l, "ses_1", "", 1)
	check, err = a.Verify(ctx, "ses_1")
	must(t, err)
	if !check.OK || check.Records != 10 || check.ArchivedSeq != 9 {
		t.Fatalf("Verify = %+v, want OK with 10 records, 9 archived", check)
	}

	// Rewrite the database's chain from record 2 on with correct hashes:
	// the database alone verifies, the archive exposes it.
	r := d.raw()
	d.dropGuards(r)
	all, err := l.Records(ctx, "ses_1", 0, 0)
	must(t, err)
	prev := all[0].Hash
	for i := 1; i < len(all); i++ {
		rec := all[i]
		if i == 1 {
			rec.Data = json.RawMessage(`{"clip_id":"clp_ses_1_1","text":"第1句 全网最低价","video_key":"clips/x.ts"}`)
		}
		rec.PrevHash = prev
		rec.Hash = rec.ComputeHash()
		prev = rec.Hash
		must(t, d.exec(r, "UPDATE audit_log SET data = ?, prev_hash = ?, hash = ? WHERE session_id = ? AND seq = ?",
			string(rec.Data), rec.PrevHash, rec.Hash, "ses_1", rec.Seq))
	}
	if v, err := l.Verify(ctx, "ses_1"); err != nil || !v.OK {
		t.Fatalf("the rewritten database chain should verify on its own: %+v %v", v, err)
	}
	check, err = a.Verify(ctx, "ses_1")
	must(t, err)
	if check.OK || check.FirstBroken != 2 || !strings.Contains(check.Reason, "differs from its archived copy") {
		t.Fatalf("Verify after a rewrite = %+v, want record 2 differing from the archive", check)
	}
	// Deleting archived records from the database shows too.
	must(t, d.exec(r, "DELETE FROM audit_log WHERE session_id = ? AND seq >= 3", "ses_2"))
	check, err = a.Verify(ctx, "ses_2")
	must(t, err)
	if check.OK || check.FirstBroken != 3 || !strings.Contains(check.Reason, "missing from the database") {
		t.Fatalf("Verify after deleting records = %+v, want record 3 missing from the database", check)
	}
}

// warnCounter counts warnings logged.
type warnCounter struct {
	mu   sync.Mutex
	n    int
	msgs []string
}

func (w *warnCounter) Enabled(context.Context, slog.Level) bool { return true }
func (w *warnCounter) Handle(_ context.Context, r slog.Record) error {
	if r.Level == slog.LevelWarn {
		w.mu.Lock()
		w.n++
		w.msgs = append(w.msgs, r.Message)
		w.mu.Unlock()
	}
	return nil
}
func (w *warnCounter) WithAttrs([]slog.Attr) slog.Handler { return w }
func (w *warnCounter) WithGroup(string) slog.Handler      { return w }

// TestArchiveWithoutObjectLock archives to the embedded object store
// (gofakes3), which has no object lock: plain copies, one warning, and
// manifests that say so.
func TestArchiveWithoutObjectLock(t *testing.T) {
	ctx := context.Background()
	srv, err := s3local.Start(t.TempDir(), testLogger(t))
	must(t, err)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	client := minioClient(t, srv.Endpoint, "evercast", "evercast")
	d := newDB(t, backends()[0])
	l := NewLog(d.st, d.clk.Now)
	warns := &warnCounter{}
	a, err := NewArchiver(ArchiverOptions{Store: d.st, Client: client, Bucket: ArchiveBucket("local"), ChunkRecords: 3, Log: slog.New(warns)})
	must(t, err)
	appendN(t, l, "ses_f", "mer_f", 5)
	res, err := a.ArchiveAll(ctx)
	must(t, err)
	if res.Chunks != 2 || res.Records != 5 {
		t.Fatalf("ArchiveAll = %+v", res)
	}
	appendN(t, l, "ses_f", "", 2)
	_, err = a.ArchiveAll(ctx)
	must(t, err)
	locked, note, err := a.Locked(ctx)
	must(t, err)
	if locked || note == "" {
		t.Fatalf("Locked = %t %q, want false with a reason", locked, note)
	}
	if warns.n != 1 || !strings.Contains(warns.msgs[0], "NOT under object lock") {
		t.Fatalf("warnings %d %q, want one about the missing lock", warns.n, warns.msgs)
	}
	chunks, err := a.Chunks(ctx, "ses_f")
	must(t, err)
	if len(chunks) != 3 {
		t.Fatalf("%d chunks, want 3", len(chunks))
	}
	for _, c := range chunks {
		if c.Locked || c.Note == "" || c.RetainUntil != nil {
			t.Fatalf("manifest %+v should say the copy is not locked, and why", c)
		}
	}
	check, err := a.Verify(ctx, "ses_f")
	must(t, err)
	if !check.OK || check.ArchivedSeq != 7 || check.Unlocked != 3 {
		t.Fatalf("Verify = %+v, want OK with 7 archived records in 3 unlocked chunks", check)
	}
}

// TestRunArchives checks that Run archives on its own and makes a last
// pass when stopped.
func TestRunArchives(t *testing.T) {
	srv, err := s3local.Start(t.TempDir(), testLogger(t))
	must(t, err)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	d := newDB(t, backends()[0])
	l := NewLog(d.st, d.clk.Now)
	a, err := NewArchiver(ArchiverOptions{Store: d.st, Client: minioClient(t, srv.Endpoint, "k", "s"), Bucket: "run-audit",
		Interval: time.Hour, Log: testLogger(t)})
	must(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	appendN(t, l, "ses_r", "mer_r", 2)
	go func() { done <- a.Run(ctx) }()
	waitFor(t, func() bool { h, _ := d.st.GetAuditHead(context.Background(), "ses_r"); return h.ArchivedSeq == 2 })
	appendN(t, l, "ses_r", "", 1)
	cancel()
	must(t, <-done)
	h, err := d.st.GetAuditHead(context.Background(), "ses_r")
	must(t, err)
	if h.ArchivedSeq != 3 {
		t.Fatalf("after Run stopped, archived up to %d, want 3 (the last pass)", h.ArchivedSeq)
	}
}

func waitFor(t testing.TB, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 20 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var _ ArchiveStore = (*store.Store)(nil)
