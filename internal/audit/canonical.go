package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// maxSafeInteger is the largest integer an IEEE 754 double holds exactly
// (2^53 - 1): JSON numbers beyond it are refused rather than rounded.
const maxSafeInteger = 1<<53 - 1

// Canonical returns the canonical form of the JSON value in b: the JSON
// Canonicalization Scheme of RFC 8785. Objects have their members sorted by
// the UTF-16 code units of their names; there is no insignificant
// whitespace; strings escape only '"', '\\' and the control characters
// (\b \f \n \r \t, others as \u00xx) and hold every other character as
// UTF-8; numbers are written as ECMAScript writes doubles (integers plainly).
// An integer beyond ±(2^53-1), which a double cannot hold exactly, is an
// error: send such values as strings. Invalid UTF-8 in strings becomes
// U+FFFD.
func Canonical(b []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	if _, err := d.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("canonical json: data after the value")
	}
	var out bytes.Buffer
	if err := writeCanonical(&out, v); err != nil {
		return nil, fmt.Errorf("canonical json: %w", err)
	}
	return out.Bytes(), nil
}

// CanonicalOf marshals v with encoding/json and returns its canonical form.
// A json.RawMessage or []byte is taken as JSON text; nil is "null".
func CanonicalOf(v any) ([]byte, error) {
	var b []byte
	switch x := v.(type) {
	case json.RawMessage:
		b = x
	case []byte:
		b = x
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("canonical json: %w", err)
		}
	}
	if len(bytes.TrimSpace(b)) == 0 {
		b = []byte("null")
	}
	return Canonical(b)
}

func writeCanonical(w *bytes.Buffer, v any) error {
	switch x := v.(type) {
	case nil:
		w.WriteString("null")
	case bool:
		w.WriteString(strconv.FormatBool(x))
	case json.Number:
		s, err := canonicalNumber(string(x))
		if err != nil {
			return err
		}
		w.WriteString(s)
	case string:
		writeCanonicalString(w, x)
	case []any:
		w.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := writeCanonical(w, e); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		w.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				w.WriteByte(',')
			}
			writeCanonicalString(w, k)
			w.WriteByte(':')
			if err := writeCanonical(w, x[k]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	default:
		return fmt.Errorf("unexpected %T", v)
	}
	return nil
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785
// sorts member names.
func compareUTF16(a, b string) int {
	return slices.Compare(utf16.Encode([]rune(a)), utf16.Encode([]rune(b)))
}

func writeCanonicalString(w *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	w.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			w.WriteString(`\"`)
		case '\\':
			w.WriteString(`\\`)
		case '\b':
			w.WriteString(`\b`)
		case '\f':
			w.WriteString(`\f`)
		case '\n':
			w.WriteString(`\n`)
		case '\r':
			w.WriteString(`\r`)
		case '\t':
			w.WriteString(`\t`)
		default:
			if r < 0x20 {
				w.WriteString(`\u00`)
				w.WriteByte(hex[r>>4])
				w.WriteByte(hex[r&0xf])
				continue
			}
			if r == utf8.RuneError {
				w.WriteRune(utf8.RuneError)
				continue
			}
			w.WriteRune(r)
		}
	}
	w.WriteByte('"')
}

// canonicalNumber writes a JSON number as ECMAScript's Number.prototype
// .toString does (RFC 8785 §3.2.2.3).
func canonicalNumber(lit string) (string, error) {
	if !strings.ContainsAny(lit, ".eE") {
		n, err := strconv.ParseInt(lit, 10, 64)
		if err != nil || n > maxSafeInteger || n < -maxSafeInteger {
			return "", fmt.Errorf("integer %s is beyond ±(2^53-1): send it as a string", lit)
		}
		return strconv.FormatInt(n, 10), nil
	}
	f, err := strconv.ParseFloat(lit, 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return "", fmt.Errorf("number %s is not a finite double", lit)
	}
	if f == 0 {
		return "0", nil
	}
	if a := math.Abs(f); a >= 1e21 || a < 1e-6 {
		s := strconv.FormatFloat(f, 'e', -1, 64) // 1.5e-07, 1e+21
		mant, exp, _ := strings.Cut(s, "e")
		sign := exp[0]
		exp = strings.TrimLeft(exp[1:], "0")
		return mant + "e" + string(sign) + exp, nil
	}
	return strconv.FormatFloat(f, 'f', -1, 64), nil
}
