package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/evercast/evercast"
)

// decodeBody reads r's JSON body into dst, a pointer to a struct. It refuses
// a non-JSON content type (415), a body over the limit (413), unknown fields
// and values of the wrong type (400 naming the field).
func (s *Server) decodeBody(w http.ResponseWriter, r *http.Request, dst any) error {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !(mt == "application/json" || strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json")) {
		return &httpError{status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia,
			message: "send the body as Content-Type: application/json"}
	}
	if r.ContentLength > s.maxBody {
		return tooLarge(s.maxBody)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return tooLarge(s.maxBody)
		}
		return fmt.Errorf("read body: %w", err)
	}
	return decodeJSON(body, dst)
}

func tooLarge(limit int64) *httpError {
	return &httpError{status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
		message: fmt.Sprintf("the body is larger than %d bytes", limit)}
}

// decodeJSON decodes one JSON object from body into dst, strictly.
func decodeJSON(body []byte, dst any) error {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return evercast.Invalid("body", "is empty: send a JSON object")
	}
	if trimmed[0] != '{' {
		return evercast.Invalid("body", "must be a JSON object")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(dst)
	if err == nil {
		if _, extra := dec.Token(); extra != io.EOF {
			return evercast.Invalid("body", "must hold a single JSON object")
		}
		return nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) || errors.Is(err, io.ErrUnexpectedEOF) {
		msg := "is not valid JSON"
		if se != nil {
			msg += fmt.Sprintf(" (at byte %d)", se.Offset)
		}
		return evercast.Invalid("body", "%s", msg)
	}
	// The value is well-formed JSON that does not fit: find the field.
	field, leafErr := locate(reflect.TypeOf(dst), trimmed, "")
	if field == "" {
		field = "body"
	}
	if leafErr == nil {
		leafErr = err
	}
	return evercast.Invalid(field, "%s", describe(leafErr))
}

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

// locate walks raw along type t and returns the JSON path of the first value
// that does not decode (such as "voice.rate", "price_history[1].price" or an
// unknown field's own name) with the error that value gave.
func locate(t reflect.Type, raw []byte, path string) (string, error) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	leafErr := strictUnmarshal(raw, t)
	if leafErr == nil {
		return "", nil
	}
	raw = bytes.TrimSpace(raw)
	if reflect.PointerTo(t).Implements(unmarshalerType) || len(raw) == 0 {
		return path, leafErr // a type with its own decoding is a leaf
	}
	switch {
	case t.Kind() == reflect.Struct && raw[0] == '{':
		members, err := objectMembers(raw)
		if err != nil {
			return path, leafErr
		}
		for _, m := range members {
			f, ok := fieldByJSONName(t, m.key)
			if !ok {
				return joinPath(path, m.key), errUnknownField
			}
			if p, err := locate(f.Type, m.value, joinPath(path, m.key)); err != nil {
				return p, err
			}
		}
	case t.Kind() == reflect.Map && raw[0] == '{':
		members, err := objectMembers(raw)
		if err != nil {
			return path, leafErr
		}
		for _, m := range members {
			if p, err := locate(t.Elem(), m.value, joinPath(path, m.key)); err != nil {
				return p, err
			}
		}
	case (t.Kind() == reflect.Slice || t.Kind() == reflect.Array) && raw[0] == '[':
		var elems []json.RawMessage
		if err := json.Unmarshal(raw, &elems); err != nil {
			return path, leafErr
		}
		for i, e := range elems {
			if p, err := locate(t.Elem(), e, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return p, err
			}
		}
	}
	return path, leafErr
}

var errUnknownField = errors.New("is not a known field")

func strictUnmarshal(raw []byte, t reflect.Type) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(reflect.New(t).Interface())
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

type member struct {
	key   string
	value json.RawMessage
}

// objectMembers lists an object's members in document order.
func objectMembers(raw []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if _, err := dec.Token(); err != nil { // {
		return nil, err
	}
	var out []member
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := tok.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{key: key, value: v})
	}
	return out, nil
}

// fieldByJSONName finds the struct field encoding/json would fill for key:
// an exact tag match first, then a case-insensitive one.
func fieldByJSONName(t reflect.Type, key string) (reflect.StructField, bool) {
	var fold *reflect.StructField
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if fold == nil && strings.EqualFold(name, key) {
			fold = &f
		}
	}
	if fold != nil {
		return *fold, true
	}
	return reflect.StructField{}, false
}

// describe turns a decoding error into a message for the named field.
func describe(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return "must be " + jsonKind(te.Type) + ", not " + te.Value
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "json: ")
	return msg
}

// jsonKind names the JSON shape that decodes into t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.Kind().String()
}
