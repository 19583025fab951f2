package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/catalog"
)

// Operations are what operators and merchants do to running sessions
// beyond start and stop: commands (the same as the control channel's),
// the kill switch, script approvals, and the audit record.
type Operations interface {
	Command(ctx context.Context, sessionID, name, text, productID string) (map[string]any, error)
	CutMerchant(ctx context.Context, merchantID, mode string) ([]string, error)
	RequireApproval(ctx context.Context, sessionID string, required bool) error
	ApprovalRequired(ctx context.Context, sessionID string) (bool, error)
	PendingApprovals(ctx context.Context, sessionID string) ([]*audit.Approval, error)
	Decide(ctx context.Context, clipID string, approve bool, reason string) (*audit.Approval, error)
	ClipSession(ctx context.Context, clipID string) (string, error)
	AuditRecords(ctx context.Context, sessionID string, afterSeq int64, limit int) ([]audit.Record, error)
	VerifyAudit(ctx context.Context, sessionID string) (audit.VerifyResult, error)
}

type commandBody struct {
	Command string `json:"command"`
	Args    struct {
		Text      string `json:"text,omitempty"`
		ProductID string `json:"product_id,omitempty"`
	} `json:"args"`
}

func (s *Server) postCommand(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	var body commandBody
	if err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	switch body.Command {
	case "pause", "resume", "skip", "say", "focus", "standby", "stop", "cut":
	case "":
		return evercast.Invalid("command", "is required")
	default:
		return evercast.Invalid("command", "%q is not one of pause, resume, skip, say, focus, standby, stop, cut", body.Command)
	}
	if s.ops == nil {
		return errNoController
	}
	res, err := s.ops.Command(r.Context(), ses.ID, body.Command, body.Args.Text, body.Args.ProductID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"command": body.Command, "result": res})
}

type cutBody struct {
	Mode string `json:"mode"`
}

// cutMerchant is the kill switch: every on-air session of a merchant to
// standby, or off air.
func (s *Server) cutMerchant(w http.ResponseWriter, r *http.Request, c *caller) error {
	id, err := pathID(r)
	if err != nil {
		return err
	}
	if _, err := s.store.GetMerchant(r.Context(), id); err != nil {
		if errors.Is(err, evercast.ErrNotFound) {
			return notFound("merchant")
		}
		return err
	}
	var body cutBody
	if err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Mode != "standby" && body.Mode != "off_air" {
		return evercast.Invalid("mode", "must be standby or off_air")
	}
	if s.ops == nil {
		return errNoController
	}
	ids, err := s.ops.CutMerchant(r.Context(), id, body.Mode)
	if err != nil {
		return err
	}
	if ids == nil {
		ids = []string{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"mode": body.Mode, "sessions": ids})
}

type approvalPolicy struct {
	Required *bool `json:"required"`
}

func (s *Server) putApprovalPolicy(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	var body approvalPolicy
	if err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Required == nil {
		return evercast.Invalid("required", "is required (true or false)")
	}
	if s.ops == nil {
		return errNoController
	}
	if err := s.ops.RequireApproval(r.Context(), ses.ID, *body.Required); err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, map[string]any{"session_id": ses.ID, "required": *body.Required})
}

func (s *Server) listApprovals(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	if s.ops == nil {
		return errNoController
	}
	required, err := s.ops.ApprovalRequired(r.Context(), ses.ID)
	if err != nil {
		return err
	}
	items, err := s.ops.PendingApprovals(r.Context(), ses.ID)
	if err != nil {
		return err
	}
	if items == nil {
		items = []*audit.Approval{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"required": required, "items": items})
}

type decisionBody struct {
	Approve *bool  `json:"approve"`
	Reason  string `json:"reason,omitempty"`
}

func (s *Server) decideApproval(w http.ResponseWriter, r *http.Request, c *caller) error {
	clipID := r.PathValue("clip_id")
	if !validID(clipID) {
		return evercast.Invalid("clip_id", "is not a valid id")
	}
	if s.ops == nil {
		return errNoController
	}
	sid, err := s.ops.ClipSession(r.Context(), clipID)
	if errors.Is(err, evercast.ErrNotFound) {
		return notFound("clip")
	}
	if err != nil {
		return err
	}
	if _, err := load(r.Context(), c, "clip", sid, s.store.GetSession, sessionMerchant); err != nil {
		return notFound("clip")
	}
	var body decisionBody
	if err := s.decodeBody(w, r, &body); err != nil {
		return err
	}
	if body.Approve == nil {
		return evercast.Invalid("approve", "is required (true or false)")
	}
	if len(body.Reason) > 1000 {
		return evercast.Invalid("reason", "is longer than 1000 bytes")
	}
	a, err := s.ops.Decide(r.Context(), clipID, *body.Approve, body.Reason)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, a)
}

func (s *Server) listAudit(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	after, limit := int64(0), 500
	if v := r.URL.Query().Get("after"); v != "" {
		if after, err = strconv.ParseInt(v, 10, 64); err != nil || after < 0 {
			return evercast.Invalid("after", "must be a record seq (0 or more)")
		}
	}
	if v := r.URL.Query().Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 5000 {
			return evercast.Invalid("limit", "must be from 1 to 5000")
		}
	}
	if s.ops == nil {
		return errNoController
	}
	recs, err := s.ops.AuditRecords(r.Context(), ses.ID, after, limit)
	if err != nil {
		return err
	}
	if recs == nil {
		recs = []audit.Record{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"items": recs})
}

func (s *Server) verifyAudit(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	if s.ops == nil {
		return errNoController
	}
	res, err := s.ops.VerifyAudit(r.Context(), ses.ID)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, res)
}

// importCatalog takes a merchant catalog file: products are matched by SKU
// and created or replaced; products not in the file are left alone.
func (s *Server) importCatalog(w http.ResponseWriter, r *http.Request, c *caller) error {
	owner, err := s.ownerFor(r.Context(), c, r.URL.Query().Get("merchant_id"))
	if err != nil {
		return err
	}
	if !isJSON(r) {
		return &httpError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia,
			message: "send the catalog file as Content-Type: application/json"}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, catalog.MaxBytes))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			return &httpError{status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
				message: fmt.Sprintf("the catalog is over %d bytes", catalog.MaxBytes)}
		}
		return evercast.Invalid("body", "cannot be read: %v", err)
	}
	cat, err := catalog.Parse(bytes.NewReader(body))
	if err != nil {
		return err
	}
	existing, err := s.store.ListProducts(r.Context(), owner)
	if err != nil {
		return err
	}
	bySKU := map[string]*evercast.Product{}
	for _, p := range existing {
		bySKU[p.SKU] = p
	}
	created, updated := 0, 0
	var out []*evercast.Product
	for i, p := range cat.Products() {
		p.MerchantID = owner
		if old, ok := bySKU[p.SKU]; ok {
			p.ID, p.CreatedAt = old.ID, old.CreatedAt
			p.UpdatedAt = now()
			if err := p.Validate(); err != nil {
				return prefixField(fmt.Sprintf("products[%d]", i), err)
			}
			if err := s.store.UpdateProduct(r.Context(), p); err != nil {
				return err
			}
			updated++
		} else {
			p.ID = evercast.NewID(evercast.PrefixProduct)
			p.CreatedAt = now()
			p.UpdatedAt = p.CreatedAt
			if err := p.Validate(); err != nil {
				return prefixField(fmt.Sprintf("products[%d]", i), err)
			}
			if err := s.store.CreateProduct(r.Context(), p); err != nil {
				return err
			}
			created++
		}
		out = append(out, p)
	}
	return writeJSON(w, http.StatusOK, map[string]any{"merchant_id": owner, "created": created, "updated": updated, "products": out})
}

func prefixField(prefix string, err error) error {
	var ve *evercast.ValidationError
	if errors.As(err, &ve) {
		return evercast.Invalid(prefix+"."+ve.Field, "%s", ve.Message)
	}
	return err
}

// exportCatalog writes the merchant's products as a catalog file.
func (s *Server) exportCatalog(w http.ResponseWriter, r *http.Request, c *caller) error {
	owner, err := s.ownerFor(r.Context(), c, r.URL.Query().Get("merchant_id"))
	if err != nil {
		return err
	}
	ps, err := s.store.ListProducts(r.Context(), owner)
	if err != nil {
		return err
	}
	currency := "CNY"
	if len(ps) > 0 && ps[0].Currency != "" {
		currency = ps[0].Currency
	}
	var buf bytes.Buffer
	if err := catalog.Write(&buf, currency, ps); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="catalog.json"`)
	_, err = w.Write(buf.Bytes())
	return err
}

// isJSON reports whether the request says its body is JSON.
func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && (mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}
