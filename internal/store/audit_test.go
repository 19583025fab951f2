package store

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
)

// auditBuild returns a build func that links a row of kind to the head
// with a stand-in hash (the audit package computes real ones).
func auditBuild(kind string) func(h AuditHead) (*AuditRow, error) {
	return func(h AuditHead) (*AuditRow, error) {
		prev := h.Hash
		if h.Seq == 0 {
			prev = "genesis"
		}
		return &AuditRow{Seq: h.Seq + 1, MerchantID: "mer_1", Kind: kind, At: time.UnixMilli(1740816000123),
			Actor: "system", Data: `{"n":1}`, PrevHash: prev, Hash: fmt.Sprintf("h%d", h.Seq+1)}, nil
	}
}

func TestAudit(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := e.ctx
			_, err := e.s.GetAuditHead(ctx, "ses_1")
			wantErr(t, err, evercast.ErrNotFound)
			for i := 1; i <= 5; i++ {
				row, err := e.s.AppendAudit(ctx, "ses_1", auditBuild("note"))
				must(t, err)
				if row.Seq != int64(i) || row.SessionID != "ses_1" || !row.At.Equal(time.UnixMilli(1740816000123)) {
					t.Fatalf("append %d: %+v", i, row)
				}
			}
			for _, tc := range []struct {
				name  string
				ses   string
				build func(h AuditHead) (*AuditRow, error)
			}{
				{"no session", "", auditBuild("note")},
				{"wrong seq", "ses_1", func(h AuditHead) (*AuditRow, error) {
					r, _ := auditBuild("note")(h)
					r.Seq += 2
					return r, nil
				}},
				{"wrong prev", "ses_1", func(h AuditHead) (*AuditRow, error) {
					r, _ := auditBuild("note")(h)
					r.PrevHash = "h1"
					return r, nil
				}},
				{"other session", "ses_1", func(h AuditHead) (*AuditRow, error) {
					r, _ := auditBuild("note")(h)
					r.SessionID = "ses_2"
					return r, nil
				}},
				{"no kind", "ses_1", auditBuild("")},
			} {
				t.Run(tc.name, func(t *testing.T) {
					_, err := e.s.AppendAudit(ctx, tc.ses, tc.build)
					wantErr(t, err, evercast.ErrInvalid)
				})
			}
			rows, err := e.s.ListAudit(ctx, "ses_1", 1, 2)
			must(t, err)
			if len(rows) != 2 || rows[0].Seq != 2 || rows[1].PrevHash != "h2" {
				t.Fatalf("ListAudit(after 1, limit 2) = %+v", rows)
			}
			h, err := e.s.GetAuditHead(ctx, "ses_1")
			must(t, err)
			if h.Seq != 5 || h.Hash != "h5" || h.MerchantID != "mer_1" || h.ArchivedSeq != 0 {
				t.Fatalf("head %+v", h)
			}

			_, err = e.s.AppendAudit(ctx, "ses_2", auditBuild("note"))
			must(t, err)
			backlog, err := e.s.AuditBacklog(ctx, 0)
			must(t, err)
			if len(backlog) != 2 {
				t.Fatalf("backlog %+v, want both sessions", backlog)
			}
			must(t, e.s.MarkAuditArchived(ctx, "ses_1", 5))
			must(t, e.s.MarkAuditArchived(ctx, "ses_1", 3)) // never moves back
			wantErr(t, e.s.MarkAuditArchived(ctx, "ses_none", 1), evercast.ErrNotFound)
			backlog, err = e.s.AuditBacklog(ctx, 0)
			must(t, err)
			if len(backlog) != 1 || backlog[0].SessionID != "ses_2" {
				t.Fatalf("backlog after archiving ses_1: %+v", backlog)
			}
			h, _ = e.s.GetAuditHead(ctx, "ses_1")
			if h.ArchivedSeq != 5 {
				t.Fatalf("archived mark %d, want 5", h.ArchivedSeq)
			}

			// The guards refuse changes; the rows stay.
			must(t, e.s.GuardAudit(ctx))
			must(t, e.open().GuardAudit(ctx))
			for _, q := range []string{
				"UPDATE audit_log SET data = '{}' WHERE session_id = 'ses_1'",
				"DELETE FROM audit_log WHERE session_id = 'ses_1' AND seq = 5",
			} {
				if _, err := e.s.db.ExecContext(ctx, q); err == nil || !strings.Contains(err.Error(), "append-only") {
					t.Errorf("%s: %v, want the append-only refusal", q, err)
				}
			}
			rows, err = e.s.ListAudit(ctx, "ses_1", 0, 0)
			must(t, err)
			if len(rows) != 5 || rows[4].Data != `{"n":1}` {
				t.Fatalf("rows after refused changes: %d", len(rows))
			}
		})
	}
}

func TestApprovalRows(t *testing.T) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) {
			e := newEnv(t, b)
			ctx := e.ctx
			req, err := e.s.ApprovalRequired(ctx, "ses_1")
			must(t, err)
			if req {
				t.Fatal("approval required by default")
			}
			must(t, e.s.SetApprovalRequired(ctx, "ses_1", true, "merchant:m"))
			must(t, e.s.SetApprovalRequired(ctx, "ses_1", false, "merchant:m"))
			must(t, e.s.SetApprovalRequired(ctx, "ses_1", true, "merchant:m"))
			if req, _ := e.s.ApprovalRequired(ctx, "ses_1"); !req {
				t.Fatal("approval not required after setting it")
			}

			row := ApprovalRow{ClipID: "clp_1", SessionID: "ses_1", MerchantID: "mer_1", Text: "龙井", Verdict: "ok"}
			a, created, err := e.s.RequestApproval(ctx, row, auditBuild("approval.requested"))
			must(t, err)
			if !created || a.Approved != nil || a.RequestedAt.IsZero() {
				t.Fatalf("request %+v created %t", a, created)
			}
			_, created, err = e.s.RequestApproval(ctx, row, auditBuild("approval.requested"))
			must(t, err)
			if created {
				t.Fatal("second request created a row")
			}
			other := row
			other.SessionID = "ses_2"
			_, _, err = e.s.RequestApproval(ctx, other, auditBuild("approval.requested"))
			wantErr(t, err, evercast.ErrConflict)
			// A failing audit append rolls the request back.
			_, _, err = e.s.RequestApproval(ctx, ApprovalRow{ClipID: "clp_2", SessionID: "ses_1"}, auditBuild(""))
			wantErr(t, err, evercast.ErrInvalid)
			_, err = e.s.GetApproval(ctx, "clp_2")
			wantErr(t, err, evercast.ErrNotFound)

			build := func(a *ApprovalRow, h AuditHead) (*AuditRow, error) { return auditBuild("approval")(h) }
			_, _, err = e.s.DecideApproval(ctx, "clp_none", true, "op", "", time.Time{}, build)
			wantErr(t, err, evercast.ErrNotFound)
			d, decided, err := e.s.DecideApproval(ctx, "clp_1", false, "op", "no", time.Time{}, build)
			must(t, err)
			if !decided || d.Approved == nil || *d.Approved || d.Actor != "op" || d.Reason != "no" || d.DecidedAt == nil {
				t.Fatalf("decision %+v", d)
			}
			got, err := e.s.GetApproval(ctx, "clp_1")
			must(t, err)
			sameJSON(t, "approval", got, d)
			rows, err := e.s.ListAudit(ctx, "ses_1", 0, 0)
			must(t, err)
			if len(rows) != 2 || rows[0].Kind != "approval.requested" || rows[1].Kind != "approval" {
				t.Fatalf("audit rows %+v", rows)
			}
			pending, err := e.s.PendingApprovals(ctx, "")
			must(t, err)
			if len(pending) != 0 {
				t.Fatalf("pending %+v", pending)
			}
		})
	}
}
