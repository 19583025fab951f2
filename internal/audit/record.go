package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"strconv"
	"time"
)

// ChainVersion names the hash-chain serialisation. It starts every hash
// pre-image and the genesis string.
const ChainVersion = "evercast-audit-v1"

// timeLayout writes Record.At with exactly three fractional digits.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

// Record is one entry of a session's audit log.
type Record struct {
	// Seq numbers the session's records contiguously from 1.
	Seq        int64
	SessionID  string
	MerchantID string
	// Kind says what happened: one of the Kind constants, or another
	// dotted name.
	Kind string
	// At is when it happened: UTC, whole milliseconds.
	At time.Time
	// Actor is who did it: "system", a worker or role, "operator:<name>",
	// "merchant:<id>", or a viewer for comments.
	Actor string
	// Data is the record's details as canonical JSON (see Canonical).
	Data json.RawMessage
	// PrevHash is the Hash of the record before; the first record's is
	// GenesisHash(SessionID).
	PrevHash string
	// Hash is ComputeHash of the record: lower-case hex SHA-256.
	Hash string
}

// GenesisHash is the PrevHash of a session's first record: the hex SHA-256
// of "evercast-audit-v1:" followed by the session id.
func GenesisHash(sessionID string) string {
	h := sha256.Sum256([]byte(ChainVersion + ":" + sessionID))
	return hex.EncodeToString(h[:])
}

// ComputeHash returns the hash the record must carry: the lower-case hex
// SHA-256 of the pre-image
//
//	"evercast-audit-v1\n"
//	then, for each field in this order: seq, session_id, merchant_id, kind,
//	at_ms, actor, data, prev_hash —
//	    <length of the field in bytes, decimal> ":" <field's UTF-8 bytes> "\n"
//
// where seq and at_ms (unix milliseconds) are written in decimal ASCII and
// data is the canonical JSON of Data (RFC 8785). Data that is not JSON
// hashes as written, so that it can never verify.
func (r *Record) ComputeHash() string {
	data, err := Canonical(r.Data)
	if err != nil {
		data = r.Data
	}
	h := sha256.New()
	h.Write([]byte(ChainVersion + "\n"))
	field := func(b []byte) {
		writeField(h, b)
	}
	field([]byte(strconv.FormatInt(r.Seq, 10)))
	field([]byte(r.SessionID))
	field([]byte(r.MerchantID))
	field([]byte(r.Kind))
	field([]byte(strconv.FormatInt(r.At.UnixMilli(), 10)))
	field([]byte(r.Actor))
	field(data)
	field([]byte(r.PrevHash))
	return hex.EncodeToString(h.Sum(nil))
}

func writeField(h hash.Hash, b []byte) {
	h.Write([]byte(strconv.Itoa(len(b))))
	h.Write([]byte{':'})
	h.Write(b)
	h.Write([]byte{'\n'})
}

// recordJSON is the wire form of a Record.
type recordJSON struct {
	Seq        int64           `json:"seq"`
	SessionID  string          `json:"session_id"`
	MerchantID string          `json:"merchant_id"`
	Kind       string          `json:"kind"`
	At         string          `json:"at"`
	AtMS       int64           `json:"at_ms"`
	Actor      string          `json:"actor"`
	Data       json.RawMessage `json:"data"`
	PrevHash   string          `json:"prev_hash"`
	Hash       string          `json:"hash"`
}

// MarshalJSON writes the record as one JSON object: seq, session_id,
// merchant_id, kind, at (RFC 3339 UTC with milliseconds), at_ms (the same
// instant in unix milliseconds: the hashed form), actor, data (the
// canonical JSON as is), prev_hash and hash. It escapes no HTML.
func (r Record) MarshalJSON() ([]byte, error) {
	data := r.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	err := enc.Encode(recordJSON{
		Seq: r.Seq, SessionID: r.SessionID, MerchantID: r.MerchantID, Kind: r.Kind,
		At: r.At.UTC().Format(timeLayout), AtMS: r.At.UnixMilli(), Actor: r.Actor, Data: data,
		PrevHash: r.PrevHash, Hash: r.Hash,
	})
	if err != nil {
		return nil, err
	}
	return bytes.TrimRight(b.Bytes(), "\n"), nil
}

// UnmarshalJSON reads the form MarshalJSON writes. at_ms is authoritative;
// an at that names another instant is an error.
func (r *Record) UnmarshalJSON(b []byte) error {
	var w recordJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return err
	}
	at := time.UnixMilli(w.AtMS).UTC()
	if w.At != "" {
		t, err := time.Parse(time.RFC3339Nano, w.At)
		if err != nil {
			return fmt.Errorf("record %d: at: %w", w.Seq, err)
		}
		if !t.Equal(at) {
			return fmt.Errorf("record %d: at %s and at_ms %d disagree", w.Seq, w.At, w.AtMS)
		}
	}
	*r = Record{Seq: w.Seq, SessionID: w.SessionID, MerchantID: w.MerchantID, Kind: w.Kind, At: at,
		Actor: w.Actor, Data: w.Data, PrevHash: w.PrevHash, Hash: w.Hash}
	return nil
}

// VerifyResult is the outcome of checking a session's chain.
type VerifyResult struct {
	// Records is how many records were read.
	Records int `json:"records"`
	// OK is true when every record links to the one before and matches
	// its hash.
	OK bool `json:"ok"`
	// FirstBroken is the seq of the first record that fails (the place it
	// should hold, for a missing or misplaced record); 0 when OK.
	FirstBroken int64 `json:"first_broken,omitempty"`
	// Reason says how it fails.
	Reason string `json:"reason,omitempty"`
	// LastSeq and Head are the seq and hash of the last record that
	// verified: the head to compare with an archived or published one.
	LastSeq int64  `json:"last_seq"`
	Head    string `json:"head"`
}

// Verifier checks a session's records one by one, in seq order.
type Verifier struct {
	sessionID string
	next      int64
	prev      string
	res       VerifyResult
}

// NewVerifier starts checking the chain of sessionID at its first record.
func NewVerifier(sessionID string) *Verifier {
	return &Verifier{sessionID: sessionID, next: 1, prev: GenesisHash(sessionID), res: VerifyResult{OK: true}}
}

// Add checks the next record and reports whether the chain still holds.
// After the first broken link, records are counted but no longer checked.
func (v *Verifier) Add(r Record) bool {
	v.res.Records++
	if !v.res.OK {
		return false
	}
	fail := func(seq int64, format string, args ...any) bool {
		v.res.OK, v.res.FirstBroken, v.res.Reason = false, seq, fmt.Sprintf(format, args...)
		return false
	}
	switch {
	case r.SessionID != v.sessionID:
		return fail(v.next, "record %d belongs to session %q, not %q", r.Seq, r.SessionID, v.sessionID)
	case r.Seq != v.next:
		return fail(v.next, "expected record %d, found record %d: a record was deleted, inserted or reordered", v.next, r.Seq)
	case r.PrevHash != v.prev:
		if v.next == 1 {
			return fail(r.Seq, "prev_hash of record 1 is not the session's genesis hash")
		}
		return fail(r.Seq, "prev_hash of record %d does not match the hash of record %d", r.Seq, r.Seq-1)
	}
	if _, err := Canonical(r.Data); err != nil {
		return fail(r.Seq, "data of record %d is not valid JSON: %v", r.Seq, err)
	}
	if r.ComputeHash() != r.Hash {
		return fail(r.Seq, "hash of record %d does not match its content: the record was changed", r.Seq)
	}
	v.prev, v.next = r.Hash, v.next+1
	v.res.LastSeq, v.res.Head = r.Seq, r.Hash
	return true
}

// Result returns the outcome so far.
func (v *Verifier) Result() VerifyResult { return v.res }

// VerifyRecords checks a whole chain given in seq order.
func VerifyRecords(sessionID string, recs []Record) VerifyResult {
	v := NewVerifier(sessionID)
	for _, r := range recs {
		v.Add(r)
	}
	return v.Result()
}
