package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/store"
)

// Store is what Log needs of the metadata store (*store.Store).
type Store interface {
	// AppendAudit appends the row build returns, serialised per session.
	AppendAudit(ctx context.Context, sessionID string, build func(head store.AuditHead) (*store.AuditRow, error)) (*store.AuditRow, error)
	// ListAudit returns records after afterSeq by seq (limit <= 0: all).
	ListAudit(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]*store.AuditRow, error)
	// GuardAudit installs the triggers that refuse UPDATE and DELETE.
	GuardAudit(ctx context.Context) error
}

var _ Store = (*store.Store)(nil)

// pageSize is how many records Verify and the exporters read at a time.
const pageSize = 1000

// Log is the append-only, hash-chained audit log of every session. It is
// safe for concurrent use, and several processes may append to one session
// at once: the store serialises appends per session.
type Log struct {
	st  Store
	now func() time.Time

	mu      sync.Mutex
	guarded bool
}

// NewLog returns the log kept in st. now is the clock records are stamped
// with (nil: time.Now).
func NewLog(st Store, now func() time.Time) *Log {
	if now == nil {
		now = time.Now
	}
	return &Log{st: st, now: now}
}

// guard installs the store's append-only triggers once per Log.
func (l *Log) guard(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.guarded {
		return nil
	}
	if err := l.st.GuardAudit(ctx); err != nil {
		return err
	}
	l.guarded = true
	return nil
}

// Append records that kind happened in the session, done by actor, with
// data (any value encoding/json marshals, or JSON text as json.RawMessage),
// stamped now. An empty merchantID takes the merchant of the session's
// earlier records; a different one than theirs is ErrInvalid. It returns the
// stored record with its Seq and Hash.
func (l *Log) Append(ctx context.Context, sessionID, merchantID, kind, actor string, data any) (Record, error) {
	if err := l.guard(ctx); err != nil {
		return Record{}, fmt.Errorf("audit append: %w", err)
	}
	switch {
	case sessionID == "":
		return Record{}, fmt.Errorf("audit append: %w", evercast.Invalid("session_id", "is required"))
	case kind == "":
		return Record{}, fmt.Errorf("audit append: %w", evercast.Invalid("kind", "is required"))
	}
	canon, err := CanonicalOf(data)
	if err != nil {
		return Record{}, fmt.Errorf("audit append %s: %w", kind, evercast.Invalid("data", "%v", err))
	}
	at := l.now()
	row, err := l.st.AppendAudit(ctx, sessionID, func(head store.AuditHead) (*store.AuditRow, error) {
		return buildRow(head, sessionID, merchantID, kind, actor, canon, at)
	})
	if err != nil {
		return Record{}, fmt.Errorf("audit append %s: %w", kind, err)
	}
	return fromRow(row), nil
}

// buildRow makes the next record after head and hashes it.
func buildRow(head store.AuditHead, sessionID, merchantID, kind, actor string, canon []byte, at time.Time) (*store.AuditRow, error) {
	if merchantID == "" {
		merchantID = head.MerchantID
	}
	if head.MerchantID != "" && merchantID != head.MerchantID {
		return nil, evercast.Invalid("merchant_id", "is %s, but session %s is recorded under merchant %s", merchantID, sessionID, head.MerchantID)
	}
	r := Record{
		Seq: head.Seq + 1, SessionID: sessionID, MerchantID: merchantID, Kind: kind,
		At: time.UnixMilli(at.UnixMilli()).UTC(), Actor: actor, Data: canon, PrevHash: head.Hash,
	}
	if head.Seq == 0 {
		r.PrevHash = GenesisHash(sessionID)
	}
	r.Hash = r.ComputeHash()
	return toRow(r), nil
}

func toRow(r Record) *store.AuditRow {
	return &store.AuditRow{SessionID: r.SessionID, Seq: r.Seq, MerchantID: r.MerchantID, Kind: r.Kind, At: r.At,
		Actor: r.Actor, Data: string(r.Data), PrevHash: r.PrevHash, Hash: r.Hash}
}

func fromRow(a *store.AuditRow) Record {
	return Record{Seq: a.Seq, SessionID: a.SessionID, MerchantID: a.MerchantID, Kind: a.Kind, At: a.At.UTC(),
		Actor: a.Actor, Data: json.RawMessage(a.Data), PrevHash: a.PrevHash, Hash: a.Hash}
}

// Records returns the session's records with Seq above afterSeq, by Seq, at
// most limit (limit <= 0: all).
func (l *Log) Records(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]Record, error) {
	rows, err := l.st.ListAudit(ctx, sessionID, afterSeq, limit)
	if err != nil {
		return nil, fmt.Errorf("audit records: %w", err)
	}
	out := make([]Record, len(rows))
	for i, r := range rows {
		out[i] = fromRow(r)
	}
	return out, nil
}

// errStop ends an each loop early without error.
var errStop = errors.New("stop")

// each calls fn with every record of the session in seq order, a page at a
// time.
func (l *Log) each(ctx context.Context, sessionID string, fn func(Record) error) error {
	after := int64(0)
	for {
		recs, err := l.Records(ctx, sessionID, after, pageSize)
		if err != nil {
			return err
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				if errors.Is(err, errStop) {
					return nil
				}
				return err
			}
		}
		if len(recs) < pageSize {
			return nil
		}
		after = recs[len(recs)-1].Seq
	}
}

// Verify recomputes the session's chain from its first record and names
// the first broken link: a changed record (its hash no longer matches), a
// deleted, inserted or reordered one (seq out of step), or a wrong
// prev_hash. A session without records verifies with Records 0. Removing
// the newest records leaves a shorter chain that still verifies: compare
// Head with an archived or exported head to catch that (Archiver.Verify
// does).
func (l *Log) Verify(ctx context.Context, sessionID string) (VerifyResult, error) {
	v := NewVerifier(sessionID)
	if err := l.each(ctx, sessionID, func(r Record) error { v.Add(r); return nil }); err != nil {
		return VerifyResult{}, fmt.Errorf("audit verify: %w", err)
	}
	return v.Result(), nil
}
