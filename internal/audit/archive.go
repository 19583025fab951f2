package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// Archive defaults.
const (
	// DefaultRetention keeps archived records for three years (1096 days,
	// a leap day included).
	DefaultRetention = 1096 * 24 * time.Hour
	// DefaultArchiveInterval is how often Run archives new records.
	DefaultArchiveInterval = time.Minute
	// DefaultChunkRecords bounds the records of one archived chunk.
	DefaultChunkRecords = 5000
	// ArchivePrefix is where the chunks go: ArchivePrefix + <session>/.
	ArchivePrefix = "archive/audit/"
	// ArchiveFormat names the chunk manifest format.
	ArchiveFormat = "evercast-audit-archive-v1"
)

// ArchiveBucket is the default name of the audit archive bucket beside
// the main bucket.
func ArchiveBucket(mainBucket string) string { return mainBucket + "-audit" }

// ArchiveStore is what the Archiver needs of the metadata store
// (*store.Store).
type ArchiveStore interface {
	// AuditBacklog returns the heads of logs with records not archived.
	AuditBacklog(ctx context.Context, limit int) ([]store.AuditHead, error)
	// GetAuditHead returns a log's head; ErrNotFound when it has none.
	GetAuditHead(ctx context.Context, sessionID string) (store.AuditHead, error)
	// ListAudit returns records after afterSeq by seq (limit <= 0: all).
	ListAudit(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]*store.AuditRow, error)
	// MarkAuditArchived moves the archived mark forward.
	MarkAuditArchived(ctx context.Context, sessionID string, seq int64) error
}

var _ ArchiveStore = (*store.Store)(nil)

// ArchiverOptions configure an Archiver.
type ArchiverOptions struct {
	Store ArchiveStore
	// Client reaches the object store (assets.Store.Client()).
	Client *minio.Client
	// Bucket holds the archive; it is made with object locking when
	// missing. ArchiveBucket(main) is the usual name.
	Bucket string
	Region string
	// Retention is how long each archived object is locked (COMPLIANCE
	// mode): default DefaultRetention.
	Retention time.Duration
	// Interval is how often Run archives: default DefaultArchiveInterval.
	Interval time.Duration
	// ChunkRecords bounds one chunk: default DefaultChunkRecords.
	ChunkRecords int
	// Now is the clock retention is counted from (nil: time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Archiver copies audit records to the object store under object lock.
// It is safe for concurrent use; run one per deployment (two would write
// the same chunks twice, which is harmless).
type Archiver struct {
	o ArchiverOptions

	mu     sync.Mutex
	ready  bool
	locked bool
	note   string
}

// NewArchiver checks opts and fills their defaults.
func NewArchiver(opts ArchiverOptions) (*Archiver, error) {
	switch {
	case opts.Store == nil:
		return nil, evercast.Invalid("store", "is required")
	case opts.Client == nil:
		return nil, evercast.Invalid("client", "is required")
	case opts.Bucket == "":
		return nil, evercast.Invalid("bucket", "is required")
	case opts.Retention < 0:
		return nil, evercast.Invalid("retention", "must not be negative")
	}
	if opts.Retention == 0 {
		opts.Retention = DefaultRetention
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultArchiveInterval
	}
	if opts.ChunkRecords <= 0 {
		opts.ChunkRecords = DefaultChunkRecords
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	return &Archiver{o: opts}, nil
}

// ChunkManifest describes one archived chunk. It is stored beside the chunk
// as <first>-<last>.manifest.json, under the same lock.
type ChunkManifest struct {
	Format     string `json:"format"`
	SessionID  string `json:"session_id"`
	MerchantID string `json:"merchant_id"`
	FirstSeq   int64  `json:"first_seq"`
	LastSeq    int64  `json:"last_seq"`
	Records    int    `json:"records"`
	// PrevHash is the prev_hash of the first record; Head the hash of the
	// last.
	PrevHash string `json:"prev_hash"`
	Head     string `json:"head"`
	// Key, VersionID, SHA256 and Bytes identify the chunk object.
	Key       string `json:"key"`
	VersionID string `json:"version_id,omitempty"`
	SHA256    string `json:"sha256"`
	Bytes     int64  `json:"bytes"`
	// Locked says whether the object store confirmed the retention; Mode
	// and RetainUntil are what it confirmed. Note says why a copy is not
	// locked.
	Locked      bool       `json:"locked"`
	Mode        string     `json:"mode,omitempty"`
	RetainUntil *time.Time `json:"retain_until,omitempty"`
	Note        string     `json:"note,omitempty"`
	// ChainOK says whether the chunk linked to what was archived before
	// and verified when it was written (a chunk is archived either way:
	// it is evidence).
	ChainOK     bool      `json:"chain_ok"`
	ChainReason string    `json:"chain_reason,omitempty"`
	WrittenAt   time.Time `json:"written_at"`
}

// ArchiveResult counts what an archive pass wrote.
type ArchiveResult struct {
	Sessions int
	Chunks   int
	Records  int
}

func (r *ArchiveResult) add(o ArchiveResult) {
	r.Sessions += o.Sessions
	r.Chunks += o.Chunks
	r.Records += o.Records
}

// Run archives every Interval until ctx ends, then makes a last pass.
// Errors are logged, never fatal: the next pass retries.
func (a *Archiver) Run(ctx context.Context) error {
	t := time.NewTicker(a.o.Interval)
	defer t.Stop()
	for {
		if _, err := a.ArchiveAll(ctx); err != nil && ctx.Err() == nil {
			a.o.Log.Error("audit archive pass failed", "err", err)
		}
		select {
		case <-ctx.Done():
			final, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancel()
			if _, err := a.ArchiveAll(final); err != nil {
				a.o.Log.Error("audit archive: last pass failed", "err", err)
			}
			return nil
		case <-t.C:
		}
	}
}

// ArchiveAll archives the new records of every session that has some.
// A session that fails does not stop the others; their errors are joined.
func (a *Archiver) ArchiveAll(ctx context.Context) (ArchiveResult, error) {
	var res ArchiveResult
	heads, err := a.o.Store.AuditBacklog(ctx, 0)
	if err != nil {
		return res, fmt.Errorf("audit archive: %w", err)
	}
	var errs []error
	for _, h := range heads {
		r, err := a.ArchiveSession(ctx, h.SessionID)
		res.add(r)
		if err != nil {
			errs = append(errs, err)
		}
	}
	return res, errors.Join(errs...)
}

// Locked reports whether the archive bucket takes object locks, preparing
// the bucket first when needed; note says why not.
func (a *Archiver) Locked(ctx context.Context) (locked bool, note string, err error) {
	if err := a.prepare(ctx); err != nil {
		return false, "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.locked, a.note, nil
}

// prepare makes the bucket (with object locking) when missing and finds
// out whether it locks, once.
func (a *Archiver) prepare(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.ready {
		return nil
	}
	c, bucket := a.o.Client, a.o.Bucket
	ok, err := c.BucketExists(ctx, bucket)
	if err != nil {
		return fmt.Errorf("audit archive bucket %s: %w", bucket, err)
	}
	if !ok {
		err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: a.o.Region, ObjectLocking: true})
		if err != nil && !bucketExists(err) {
			a.o.Log.Warn("audit archive: cannot make a bucket with object locking; trying without", "bucket", bucket, "err", err)
			if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: a.o.Region}); err != nil && !bucketExists(err) {
				return fmt.Errorf("audit archive: make bucket %s: %w", bucket, err)
			}
		}
	}
	status, _, _, _, err := c.GetObjectLockConfig(ctx, bucket)
	switch {
	case err != nil:
		a.locked, a.note = false, "the object store does not support object lock ("+err.Error()+"): plain copy"
	case status != "Enabled":
		a.locked, a.note = false, "bucket "+bucket+" has no object lock: plain copy"
	default:
		a.locked, a.note = true, ""
	}
	if !a.locked {
		a.o.Log.Warn("audit archive is NOT under object lock: records are copied plainly; use an object store with object lock (MinIO, S3) for compliance",
			"bucket", bucket, "reason", a.note)
	}
	a.ready = true
	return nil
}

func bucketExists(err error) bool {
	code := minio.ToErrorResponse(err).Code
	return code == "BucketAlreadyOwnedByYou" || code == "BucketAlreadyExists"
}

// sessionPrefix is the key prefix of a session's chunks.
func sessionPrefix(sessionID string) (string, error) {
	if sessionID == "" || strings.ContainsAny(sessionID, "/\\") || sessionID == "." || sessionID == ".." {
		return "", evercast.Invalid("session_id", "%q cannot name an archive folder", sessionID)
	}
	return ArchivePrefix + sessionID + "/", nil
}

// ChunkKey is the key of the chunk holding records first..last.
func ChunkKey(sessionID string, first, last int64) string {
	return fmt.Sprintf("%s%s/%012d-%012d.jsonl", ArchivePrefix, sessionID, first, last)
}

func manifestKey(chunkKey string) string {
	return strings.TrimSuffix(chunkKey, ".jsonl") + ".manifest.json"
}

// ArchiveSession archives the session's records not archived yet, in
// chunks of at most ChunkRecords, each locked until now + Retention, and
// moves the session's archived mark after each.
func (a *Archiver) ArchiveSession(ctx context.Context, sessionID string) (ArchiveResult, error) {
	var res ArchiveResult
	if _, err := sessionPrefix(sessionID); err != nil {
		return res, fmt.Errorf("audit archive: %w", err)
	}
	if err := a.prepare(ctx); err != nil {
		return res, err
	}
	head, err := a.o.Store.GetAuditHead(ctx, sessionID)
	if errors.Is(err, evercast.ErrNotFound) {
		return res, nil
	}
	if err != nil {
		return res, fmt.Errorf("audit archive %s: %w", sessionID, err)
	}
	after, prev := head.ArchivedSeq, GenesisHash(sessionID)
	if after > 0 {
		rows, err := a.o.Store.ListAudit(ctx, sessionID, after-1, 1)
		if err != nil {
			return res, fmt.Errorf("audit archive %s: %w", sessionID, err)
		}
		prev = ""
		if len(rows) == 1 && rows[0].Seq == after {
			prev = rows[0].Hash
		}
	}
	for {
		rows, err := a.o.Store.ListAudit(ctx, sessionID, after, a.o.ChunkRecords)
		if err != nil {
			return res, fmt.Errorf("audit archive %s: %w", sessionID, err)
		}
		if len(rows) == 0 {
			break
		}
		recs := make([]Record, len(rows))
		for i, r := range rows {
			recs[i] = fromRow(r)
		}
		m, err := a.writeChunk(ctx, sessionID, recs, after+1, prev)
		if err != nil {
			return res, err
		}
		if err := a.o.Store.MarkAuditArchived(ctx, sessionID, m.LastSeq); err != nil {
			return res, fmt.Errorf("audit archive %s: %w", sessionID, err)
		}
		if res.Sessions == 0 {
			res.Sessions = 1
		}
		res.Chunks++
		res.Records += m.Records
		after, prev = m.LastSeq, m.Head
		if len(rows) < a.o.ChunkRecords {
			break
		}
	}
	return res, nil
}

// writeChunk stores recs (which should continue the chain at seq next after
// prev) and its manifest.
func (a *Archiver) writeChunk(ctx context.Context, sessionID string, recs []Record, next int64, prev string) (ChunkManifest, error) {
	first, last := recs[0], recs[len(recs)-1]
	v := &Verifier{sessionID: sessionID, next: next, prev: prev, res: VerifyResult{OK: true}}
	var body bytes.Buffer
	for _, r := range recs {
		v.Add(r)
		b, err := r.MarshalJSON()
		if err != nil {
			return ChunkManifest{}, err
		}
		body.Write(b)
		body.WriteByte('\n')
	}
	chain := v.Result()
	if !chain.OK {
		a.o.Log.Error("audit archive: the chain is broken in the records being archived; archiving them as they are",
			"session_id", sessionID, "first_broken", chain.FirstBroken, "reason", chain.Reason)
	}
	sum := sha256.Sum256(body.Bytes())
	key := ChunkKey(sessionID, first.Seq, last.Seq)
	m := ChunkManifest{
		Format: ArchiveFormat, SessionID: sessionID, MerchantID: last.MerchantID,
		FirstSeq: first.Seq, LastSeq: last.Seq, Records: len(recs), PrevHash: first.PrevHash, Head: last.Hash,
		Key: key, SHA256: hex.EncodeToString(sum[:]), Bytes: int64(body.Len()),
		ChainOK: chain.OK, ChainReason: chain.Reason, WrittenAt: a.o.Now().UTC(),
	}
	meta := map[string]string{"session-id": sessionID, "first-seq": strconv.FormatInt(first.Seq, 10),
		"last-seq": strconv.FormatInt(last.Seq, 10), "sha256": m.SHA256, "head": m.Head}
	info, err := a.put(ctx, key, body.Bytes(), "application/x-ndjson", meta, &m)
	if err != nil {
		return m, err
	}
	m.VersionID = info.VersionID
	mb, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return m, err
	}
	var mm ChunkManifest // the manifest's own lock status is not recorded in itself
	if _, err := a.put(ctx, manifestKey(key), append(mb, '\n'), "application/json", map[string]string{"session-id": sessionID}, &mm); err != nil {
		return m, err
	}
	return m, nil
}

// put stores one object, locked when the bucket locks, and records in m
// what the object store confirmed.
func (a *Archiver) put(ctx context.Context, key string, b []byte, contentType string, meta map[string]string, m *ChunkManifest) (minio.UploadInfo, error) {
	a.mu.Lock()
	locked, note := a.locked, a.note
	a.mu.Unlock()
	opts := minio.PutObjectOptions{ContentType: contentType, UserMetadata: meta, SendContentMd5: true}
	var until time.Time
	if locked {
		until = a.o.Now().Add(a.o.Retention).UTC().Truncate(time.Second)
		opts.Mode, opts.RetainUntilDate = minio.Compliance, until
	}
	info, err := a.o.Client.PutObject(ctx, a.o.Bucket, key, bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		return info, fmt.Errorf("audit archive: put %s: %w", key, err)
	}
	if !locked {
		m.Locked, m.Note = false, note
		return info, nil
	}
	mode, got, err := a.o.Client.GetObjectRetention(ctx, a.o.Bucket, key, info.VersionID)
	switch {
	case err != nil:
		m.Locked, m.Note = false, "retention not confirmed: "+err.Error()
	case mode == nil || *mode != minio.Compliance || got == nil || got.Before(until):
		m.Locked, m.Note = false, "the object store did not keep the COMPLIANCE retention"
	default:
		t := got.UTC()
		m.Locked, m.Mode, m.RetainUntil = true, string(*mode), &t
	}
	if !m.Locked {
		a.o.Log.Error("audit archive: object not locked", "key", key, "reason", m.Note)
	}
	return info, nil
}

// Chunks returns the manifests of the session's archived chunks by first
// seq. Where the bucket keeps versions, each manifest is read in its oldest
// version: the one written under lock, which a later upload to the same key
// cannot replace.
func (a *Archiver) Chunks(ctx context.Context, sessionID string) ([]ChunkManifest, error) {
	prefix, err := sessionPrefix(sessionID)
	if err != nil {
		return nil, fmt.Errorf("audit archive: %w", err)
	}
	if err := a.prepare(ctx); err != nil {
		return nil, err
	}
	a.mu.Lock()
	versioned := a.locked
	a.mu.Unlock()
	type version struct {
		id  string
		mod time.Time
	}
	oldest := map[string]version{}
	for obj := range a.o.Client.ListObjects(ctx, a.o.Bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithVersions: versioned}) {
		if obj.Err != nil {
			return nil, fmt.Errorf("audit archive: list %s: %w", prefix, obj.Err)
		}
		if obj.IsDeleteMarker || !strings.HasSuffix(obj.Key, ".manifest.json") {
			continue
		}
		if o, ok := oldest[obj.Key]; !ok || obj.LastModified.Before(o.mod) {
			oldest[obj.Key] = version{id: obj.VersionID, mod: obj.LastModified}
		}
	}
	var out []ChunkManifest
	for key, ver := range oldest {
		b, err := a.get(ctx, key, ver.id)
		if err != nil {
			return nil, err
		}
		var m ChunkManifest
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("audit archive: manifest %s: %w", key, err)
		}
		if m.SessionID != sessionID || m.Key == "" || path.Dir(m.Key)+"/" != prefix {
			return nil, fmt.Errorf("audit archive: manifest %s names another session or key", key)
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].FirstSeq != out[j].FirstSeq {
			return out[i].FirstSeq < out[j].FirstSeq
		}
		return out[i].LastSeq < out[j].LastSeq
	})
	return out, nil
}

func (a *Archiver) get(ctx context.Context, key, versionID string) ([]byte, error) {
	obj, err := a.o.Client.GetObject(ctx, a.o.Bucket, key, minio.GetObjectOptions{VersionID: versionID})
	if err != nil {
		return nil, fmt.Errorf("audit archive: get %s: %w", key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
			return nil, fmt.Errorf("audit archive: get %s: %w", key, evercast.ErrNotFound)
		}
		return nil, fmt.Errorf("audit archive: get %s: %w", key, err)
	}
	return b, nil
}

// ArchiveCheck is the outcome of Archiver.Verify.
type ArchiveCheck struct {
	// VerifyResult covers the whole chain: the archived records, the
	// database's agreement with them, and the database's records after.
	VerifyResult
	// Chunks and ArchivedSeq say how much of the log is archived;
	// Unlocked counts chunks stored without a confirmed lock.
	Chunks      int   `json:"chunks"`
	ArchivedSeq int64 `json:"archived_seq"`
	Unlocked    int   `json:"unlocked"`
}

// Verify checks the session's archive against itself and the database:
// every chunk must match the SHA-256 in its manifest, the archived records
// must form a valid chain from record 1, the database must still hold each
// archived record unchanged (so that a rewritten, shortened or deleted log
// in the database shows, even one whose hashes were recomputed), and the
// database's records after the archive must continue the chain.
func (a *Archiver) Verify(ctx context.Context, sessionID string) (ArchiveCheck, error) {
	var out ArchiveCheck
	chunks, err := a.Chunks(ctx, sessionID)
	if err != nil {
		return out, err
	}
	out.Chunks = len(chunks)
	db := &rowCursor{st: a.o.Store, sessionID: sessionID}
	arch := NewVerifier(sessionID)
	v := NewVerifier(sessionID)
	fail := func(seq int64, format string, args ...any) (ArchiveCheck, error) {
		out.VerifyResult = v.Result()
		out.OK, out.FirstBroken, out.Reason = false, seq, fmt.Sprintf(format, args...)
		return out, nil
	}
	for _, m := range chunks {
		if !m.Locked {
			out.Unlocked++
		}
		b, err := a.get(ctx, m.Key, m.VersionID)
		if errors.Is(err, evercast.ErrNotFound) {
			return fail(m.FirstSeq, "archived chunk %s is missing", m.Key)
		}
		if err != nil {
			return out, err
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != m.SHA256 {
			return fail(m.FirstSeq, "archived chunk %s does not match the SHA-256 in its manifest", m.Key)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		sc.Buffer(make([]byte, 1<<20), 64<<20)
		for sc.Scan() {
			var r Record
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				return fail(out.ArchivedSeq+1, "archived chunk %s: %v", m.Key, err)
			}
			if r.Seq <= out.ArchivedSeq {
				continue // chunks written twice overlap; the chain check below covers the first copy
			}
			if !arch.Add(r) {
				res := arch.Result()
				return fail(res.FirstBroken, "archive: %s", res.Reason)
			}
			out.ArchivedSeq = r.Seq
			d, ok, err := db.next(ctx)
			if err != nil {
				return out, err
			}
			switch {
			case !ok || d.Seq > r.Seq:
				return fail(r.Seq, "record %d is archived but missing from the database", r.Seq)
			case d.Seq < r.Seq:
				return fail(d.Seq, "record %d is in the database but not in the archive", d.Seq)
			case !sameRecord(d, r):
				return fail(r.Seq, "database record %d differs from its archived copy", r.Seq)
			}
			v.Add(d)
		}
		if err := sc.Err(); err != nil {
			return fail(out.ArchivedSeq+1, "archived chunk %s: %v", m.Key, err)
		}
	}
	for {
		d, ok, err := db.next(ctx)
		if err != nil {
			return out, err
		}
		if !ok {
			break
		}
		v.Add(d)
	}
	out.VerifyResult = v.Result()
	return out, nil
}

func sameRecord(a, b Record) bool {
	return a.Seq == b.Seq && a.SessionID == b.SessionID && a.MerchantID == b.MerchantID && a.Kind == b.Kind &&
		a.At.Equal(b.At) && a.Actor == b.Actor && bytes.Equal(a.Data, b.Data) && a.PrevHash == b.PrevHash && a.Hash == b.Hash
}

// rowCursor reads a session's records from the store a page at a time.
type rowCursor struct {
	st interface {
		ListAudit(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]*store.AuditRow, error)
	}
	sessionID string
	after     int64
	page      []*store.AuditRow
	done      bool
}

func (c *rowCursor) next(ctx context.Context) (Record, bool, error) {
	if len(c.page) == 0 && !c.done {
		rows, err := c.st.ListAudit(ctx, c.sessionID, c.after, pageSize)
		if err != nil {
			return Record{}, false, err
		}
		c.page, c.done = rows, len(rows) < pageSize
	}
	if len(c.page) == 0 {
		return Record{}, false, nil
	}
	r := c.page[0]
	c.page, c.after = c.page[1:], r.Seq
	return fromRow(r), true, nil
}
