package api

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/evercast/evercast"
)

// openAPIDoc is the embedded document, decoded generically.
type openAPIDoc map[string]any

func loadOpenAPI(t *testing.T) openAPIDoc {
	t.Helper()
	var doc openAPIDoc
	if err := json.Unmarshal([]byte(openAPI), &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.0.") {
		t.Fatalf("openapi version %q, want 3.0.x", v)
	}
	return doc
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

// resolve follows $ref pointers within the document.
func (d openAPIDoc) resolve(t *testing.T, node map[string]any) map[string]any {
	t.Helper()
	for i := 0; node != nil && i < 10; i++ {
		ref, ok := node["$ref"].(string)
		if !ok {
			return node
		}
		var cur any = map[string]any(d)
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cur = obj(cur)[part]
		}
		if cur == nil {
			t.Fatalf("dangling $ref %s", ref)
		}
		node = obj(cur)
	}
	return node
}

// operation returns the operation for method and path, or nil.
func (d openAPIDoc) operation(method, path string) map[string]any {
	return obj(obj(obj(d["paths"])[path])[strings.ToLower(method)])
}

var httpMethods = []string{"get", "put", "post", "delete", "patch", "head", "options", "trace"}

func TestOpenAPIMatchesRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	s := New(Config{})
	inRoutes := map[string]route{}
	for _, rt := range s.routes() {
		if !rt.console {
			inRoutes[rt.method+" "+rt.pattern] = rt
		}
	}
	inDoc := map[string]bool{}
	for path, item := range obj(doc["paths"]) {
		for _, m := range httpMethods {
			if obj(item)[m] != nil {
				inDoc[strings.ToUpper(m)+" "+path] = true
			}
		}
	}
	var missing, extra []string
	for k := range inRoutes {
		if !inDoc[k] {
			missing = append(missing, k)
		}
	}
	for k := range inDoc {
		if _, ok := inRoutes[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	if len(missing) > 0 {
		t.Errorf("routes the OpenAPI document lacks: %v", missing)
	}
	if len(extra) > 0 {
		t.Errorf("operations the route table lacks: %v", extra)
	}

	// What each operation promises must fit how its route is guarded.
	for key, rt := range inRoutes {
		method, path, _ := strings.Cut(key, " ")
		op := doc.operation(method, path)
		if op == nil {
			continue
		}
		responses := obj(op["responses"])
		sec, hasSec := op["security"].([]any)
		docPublic := hasSec && len(sec) == 0
		if docPublic != (rt.access == public) {
			t.Errorf("%s: security [] is %v in the document, route access public is %v", key, docPublic, rt.access == public)
		}
		need := map[string]bool{}
		if rt.access != public {
			need["401"] = true
		}
		if rt.access == operator {
			need["403"] = true
		}
		if strings.Contains(path, "{id}") {
			need["404"] = true
			need["400"] = true
		}
		if op["requestBody"] != nil {
			need["400"], need["413"], need["415"] = true, true, true
		}
		for code := range need {
			if responses[code] == nil {
				t.Errorf("%s: the document lists no %s response", key, code)
			}
		}
		if op["operationId"] == nil || op["summary"] == nil {
			t.Errorf("%s: operationId or summary missing", key)
		}
	}
}

func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	// Every JSON property of the domain types is documented, and nothing more.
	doc := loadOpenAPI(t)
	schemas := obj(obj(doc["components"])["schemas"])
	for name, goType := range map[string]reflect.Type{
		"Merchant": reflect.TypeFor[evercast.Merchant](), "Anchor": reflect.TypeFor[evercast.Anchor](),
		"Voice": reflect.TypeFor[evercast.Voice](), "Product": reflect.TypeFor[evercast.Product](),
		"PricePoint": reflect.TypeFor[evercast.PricePoint](), "Session": reflect.TypeFor[evercast.Session](),
		"Schedule": reflect.TypeFor[evercast.Schedule](), "Window": reflect.TypeFor[evercast.Window](),
		"Output": reflect.TypeFor[evercast.Output](), "SessionStatus": reflect.TypeFor[evercast.SessionStatus](),
		"OutputStatus": reflect.TypeFor[evercast.OutputStatus](), "RundownEntry": reflect.TypeFor[evercast.RundownEntry](),
		"Rundown": reflect.TypeFor[evercast.Rundown](), "APIKey": reflect.TypeFor[apiKey](),
		"Health": reflect.TypeFor[health](), "ErrorDetail": reflect.TypeFor[errorDetail](),
	} {
		t.Run(name, func(t *testing.T) {
			props := obj(doc.resolve(t, obj(schemas[name]))["properties"])
			if props == nil {
				t.Fatalf("schema %s has no properties", name)
			}
			goNames := map[string]bool{}
			for i := 0; i < goType.NumField(); i++ {
				tag, _, _ := strings.Cut(goType.Field(i).Tag.Get("json"), ",")
				if tag != "" && tag != "-" {
					goNames[tag] = true
				}
			}
			for n := range goNames {
				if props[n] == nil {
					t.Errorf("Go field %q is not in schema %s", n, name)
				}
			}
			for n := range props {
				if !goNames[n] {
					t.Errorf("schema %s documents %q, which the Go type lacks", name, n)
				}
			}
		})
	}
}

// schemaChecker validates JSON values against the document's schemas,
// strictly: an object property the schema does not list is an error.
type schemaChecker struct {
	t    *testing.T
	doc  openAPIDoc
	errs []string
}

func (c *schemaChecker) fail(path, format string, args ...any) {
	c.errs = append(c.errs, path+": "+fmt.Sprintf(format, args...))
}

// properties gathers an object schema's properties through allOf.
func (c *schemaChecker) properties(s map[string]any) (props map[string]any, additional any, typed bool) {
	s = c.doc.resolve(c.t, s)
	props = map[string]any{}
	for k, v := range obj(s["properties"]) {
		props[k] = v
	}
	additional = s["additionalProperties"]
	typed = s["type"] == "object" || s["properties"] != nil
	for _, sub := range asList(s["allOf"]) {
		p, a, ty := c.properties(obj(sub))
		for k, v := range p {
			props[k] = v
		}
		if a != nil {
			additional = a
		}
		typed = typed || ty
	}
	return props, additional, typed
}

func asList(v any) []any { l, _ := v.([]any); return l }

func (c *schemaChecker) check(s map[string]any, v any, path string) {
	s = c.doc.resolve(c.t, s)
	if v == nil {
		if s["nullable"] != true {
			c.fail(path, "is null, which the schema does not allow")
		}
		return
	}
	for _, sub := range asList(s["allOf"]) {
		c.checkShallow(obj(sub), v, path)
	}
	c.checkShallow(s, v, path)
	if m, ok := v.(map[string]any); ok {
		props, additional, typed := c.properties(s)
		if !typed {
			return
		}
		for k, val := range m {
			switch {
			case props[k] != nil:
				c.check(obj(props[k]), val, path+"."+k)
			case additional == nil || additional == false:
				c.fail(path+"."+k, "is not documented")
			case obj(additional) != nil:
				c.check(obj(additional), val, path+"."+k)
			}
		}
	}
}

// checkShallow checks type, enum, required and items; properties are
// checked by check, across allOf.
func (c *schemaChecker) checkShallow(s map[string]any, v any, path string) {
	s = c.doc.resolve(c.t, s)
	if typ, ok := s["type"].(string); ok {
		good := false
		switch x := v.(type) {
		case map[string]any:
			good = typ == "object"
		case []any:
			good = typ == "array"
		case string:
			good = typ == "string"
		case bool:
			good = typ == "boolean"
		case float64:
			good = typ == "number" || typ == "integer" && x == math.Trunc(x)
		}
		if !good {
			c.fail(path, "is %T, schema type %s", v, typ)
			return
		}
	}
	if enum := asList(s["enum"]); enum != nil {
		found := false
		for _, e := range enum {
			found = found || e == v
		}
		if !found {
			c.fail(path, "%v is not one of %v", v, enum)
		}
	}
	if m, ok := v.(map[string]any); ok {
		for _, r := range asList(s["required"]) {
			if _, ok := m[r.(string)]; !ok {
				c.fail(path, "lacks required property %q", r)
			}
		}
	}
	if l, ok := v.([]any); ok && s["items"] != nil {
		for i, e := range l {
			c.check(obj(s["items"]), e, path+"["+strconv.Itoa(i)+"]")
		}
	}
}

// responseSchema returns the documented JSON schema of an answer.
func (d openAPIDoc) responseSchema(t *testing.T, method, pattern string, status int) map[string]any {
	t.Helper()
	op := d.operation(method, pattern)
	if op == nil {
		t.Fatalf("%s %s is not documented", method, pattern)
	}
	resp := obj(obj(op["responses"])[strconv.Itoa(status)])
	if resp == nil {
		t.Fatalf("%s %s: status %d is not documented", method, pattern, status)
	}
	resp = d.resolve(t, resp)
	schema := obj(obj(obj(resp["content"])["application/json"])["schema"])
	if schema == nil {
		t.Fatalf("%s %s %d: no application/json schema", method, pattern, status)
	}
	return schema
}

func TestOpenAPIExampleResponses(t *testing.T) {
	doc := loadOpenAPI(t)
	e := newEnv(t)
	m, key := e.merchant("M")
	a, p, s := e.catalog(key)
	e.must(200, req{method: "POST", path: "/v1/sessions/" + s.ID + "/start", token: key}, nil)
	tests := []struct {
		pattern string
		r       req
		status  int
	}{
		{"/healthz", req{method: "GET", path: "/healthz"}, 200},
		{"/v1/merchants", req{method: "POST", path: "/v1/merchants", token: adminToken, body: `{"name":"N"}`}, 201},
		{"/v1/merchants", req{method: "GET", path: "/v1/merchants", token: adminToken}, 200},
		{"/v1/merchants", req{method: "GET", path: "/v1/merchants", token: key}, 403},
		{"/v1/merchants/{id}", req{method: "GET", path: "/v1/merchants/" + m.ID, token: key}, 200},
		{"/v1/merchants/{id}/keys", req{method: "POST", path: "/v1/merchants/" + m.ID + "/keys", token: adminToken}, 201},
		{"/v1/anchors", req{method: "POST", path: "/v1/anchors", token: key, body: anchorBody()}, 201},
		{"/v1/anchors", req{method: "POST", path: "/v1/anchors", token: key, body: `{"name":1}`}, 400},
		{"/v1/anchors", req{method: "POST", path: "/v1/anchors", token: key, body: `{}`, contentType: "text/plain"}, 415},
		{"/v1/anchors", req{method: "GET", path: "/v1/anchors", token: key}, 200},
		{"/v1/anchors", req{method: "GET", path: "/v1/anchors"}, 401},
		{"/v1/anchors/{id}", req{method: "GET", path: "/v1/anchors/" + a.ID, token: key}, 200},
		{"/v1/anchors/{id}", req{method: "GET", path: "/v1/anchors/anc_nope", token: key}, 404},
		{"/v1/products", req{method: "POST", path: "/v1/products", token: key, body: productBody("P2")}, 201},
		{"/v1/products", req{method: "GET", path: "/v1/products", token: key}, 200},
		{"/v1/products/{id}", req{method: "PUT", path: "/v1/products/" + p.ID, token: key, body: productBody("P1")}, 200},
		{"/v1/sessions", req{method: "GET", path: "/v1/sessions", token: key}, 200},
		{"/v1/sessions/{id}", req{method: "GET", path: "/v1/sessions/" + s.ID, token: key}, 200},
		{"/v1/sessions/{id}", req{method: "DELETE", path: "/v1/sessions/" + s.ID, token: key}, 409},
		{"/v1/sessions/{id}/status", req{method: "GET", path: "/v1/sessions/" + s.ID + "/status", token: key}, 200},
		{"/v1/sessions/{id}/rundown", req{method: "GET", path: "/v1/sessions/" + s.ID + "/rundown", token: key}, 200},
		{"/v1/sessions/{id}/start", req{method: "POST", path: "/v1/sessions/" + s.ID + "/start", token: key}, 409},
		{"/v1/sessions/{id}/stop", req{method: "POST", path: "/v1/sessions/" + s.ID + "/stop", token: key}, 200},
		{"/v1/sessions", req{method: "POST", path: "/v1/sessions", token: key, body: sessionBody(a.ID, p.ID)}, 201},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s %s %d", tt.r.method, tt.pattern, tt.status), func(t *testing.T) {
			r := e.do(tt.r)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			var v any
			if err := json.Unmarshal(r.body, &v); err != nil {
				t.Fatalf("body: %v", err)
			}
			c := &schemaChecker{t: t, doc: doc}
			c.check(doc.responseSchema(t, tt.r.method, tt.pattern, tt.status), v, "$")
			for _, err := range c.errs {
				t.Error(err)
			}
		})
	}
}

// TestSchemaCheckerFails proves the checker used above can fail.
func TestSchemaCheckerFails(t *testing.T) {
	doc := loadOpenAPI(t)
	schema := map[string]any{"$ref": "#/components/schemas/SessionWithStatus"}
	for name, body := range map[string]string{
		"missing required": `{"anchor_id":"a","product_ids":[],"state":"live","created_at":"x","updated_at":"x"}`,
		"undocumented":     `{"id":"s","anchor_id":"a","product_ids":[],"state":"live","created_at":"x","updated_at":"x","secret":1}`,
		"bad enum":         `{"id":"s","anchor_id":"a","product_ids":[],"state":"asleep","created_at":"x","updated_at":"x"}`,
		"bad nested type":  `{"id":"s","anchor_id":"a","product_ids":[],"state":"live","created_at":"x","updated_at":"x","status":{"state":"live","buffer_ahead_seconds":"9","aired_seconds":0,"in_flight":0,"failed":0}}`,
		"null not allowed": `{"id":null,"anchor_id":"a","product_ids":[],"state":"live","created_at":"x","updated_at":"x"}`,
	} {
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		c := &schemaChecker{t: t, doc: doc}
		c.check(schema, v, "$")
		if len(c.errs) == 0 {
			t.Errorf("%s: the checker found nothing wrong", name)
		}
	}
}

func TestOpenAPIServed(t *testing.T) {
	e := newEnv(t)
	r := e.must(200, req{method: "GET", path: "/v1/openapi.json"}, nil)
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	onDisk, err := os.ReadFile(filepath.Join(".", "openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(r.body) != string(onDisk) {
		t.Error("the served document differs from openapi.json")
	}
}
