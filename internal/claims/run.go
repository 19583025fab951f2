package claims

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/evercast/evercast"
)

// MaxLineBytes bounds one input line of RunCheck; a longer line yields an
// error line and is skipped.
const MaxLineBytes = 1 << 20

// CheckRequest is one input line of RunCheck.
type CheckRequest struct {
	ID   string `json:"id"`
	Lang string `json:"lang"`
	Text string `json:"text"`
	SKU  string `json:"sku"`
}

// CheckResponse is one output line of RunCheck. Category and Span are empty
// when the verdict is "ok"; Reason is set for "violation" and "error".
type CheckResponse struct {
	ID       string `json:"id"`
	Verdict  string `json:"verdict"` // ok, violation, error
	Category string `json:"category"`
	Span     string `json:"span"`
	Reason   string `json:"reason,omitempty"`
}

// RunCheck reads JSON lines {"id","lang","text","sku"} from in and writes one
// line {"id","verdict","category","span"} per input to out, judging each text
// against the catalog product with that SKU (an empty SKU judges without a
// product). at is the session date the original-price rule counts back from.
// A malformed line, an unknown SKU or an unsupported language yields a line
// with verdict "error" and a reason, and processing goes on. RunCheck stops
// with ctx's error when ctx ends, and returns read and write errors.
func RunCheck(ctx context.Context, catalog []*evercast.Product, at time.Time, in io.Reader, out io.Writer) error {
	c := New(Options{})
	bySKU := map[string]*evercast.Product{}
	for _, p := range catalog {
		if p != nil {
			bySKU[p.SKU] = p
		}
	}
	w := bufio.NewWriter(out)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	r := bufio.NewReaderSize(in, 64<<10)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			_ = w.Flush()
			return err
		}
		line, tooLong, err := readLine(r)
		if err != nil && !errors.Is(err, io.EOF) {
			_ = w.Flush()
			return fmt.Errorf("check: read line %d: %w", n, err)
		}
		if strings.TrimSpace(string(line)) != "" || tooLong {
			resp := checkLine(c, bySKU, catalog, at, line, tooLong, n)
			if werr := enc.Encode(resp); werr != nil {
				return fmt.Errorf("check: write: %w", werr)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("check: write: %w", err)
	}
	return nil
}

// readLine reads one line, keeping at most MaxLineBytes of it.
func readLine(r *bufio.Reader) (line []byte, tooLong bool, err error) {
	for {
		frag, isPrefix, err := r.ReadLine()
		if len(line)+len(frag) > MaxLineBytes {
			tooLong = true
		} else {
			line = append(line, frag...)
		}
		if err != nil || !isPrefix {
			return line, tooLong, err
		}
	}
}

func checkLine(c *Checker, bySKU map[string]*evercast.Product, catalog []*evercast.Product, at time.Time, line []byte, tooLong bool, n int) CheckResponse {
	var req CheckRequest
	if tooLong {
		return CheckResponse{ID: fmt.Sprintf("line %d", n), Verdict: "error", Reason: fmt.Sprintf("line longer than %d bytes", MaxLineBytes)}
	}
	if err := json.Unmarshal(line, &req); err != nil {
		return CheckResponse{ID: lenientID(line), Verdict: "error", Reason: "malformed JSON: " + err.Error()}
	}
	lang := evercast.Language(req.Lang)
	if req.Lang == "" {
		lang = evercast.LangZH
	}
	if !lang.Valid() {
		return CheckResponse{ID: req.ID, Verdict: "error", Reason: fmt.Sprintf("lang %q must be one of zh, en", req.Lang)}
	}
	var p *evercast.Product
	if req.SKU != "" {
		p = bySKU[req.SKU]
		if p == nil {
			return CheckResponse{ID: req.ID, Verdict: "error", Reason: fmt.Sprintf("unknown sku %q", req.SKU)}
		}
	}
	res := c.Check(Input{Lang: lang, Text: req.Text, Product: p, Catalog: catalog, SessionDate: at})
	if v, bad := res.FirstViolation(); bad {
		return CheckResponse{ID: req.ID, Verdict: "violation", Category: v.Category, Span: v.Span, Reason: v.Reason}
	}
	return CheckResponse{ID: req.ID, Verdict: "ok"}
}

// lenientID digs the id out of a line that is not valid JSON as a whole, so
// that the error line can still be matched to its input.
func lenientID(line []byte) string {
	var probe struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(line, &probe) == nil {
		var s string
		if json.Unmarshal(probe.ID, &s) == nil {
			return s
		}
		return string(probe.ID)
	}
	return ""
}
