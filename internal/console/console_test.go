package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, srv *httptest.Server, path string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest("GET", srv.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestHandler(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	tests := []struct {
		path   string
		status int
		ctype  string
		body   string // a part of the body
	}{
		{"/", 200, "text/html; charset=utf-8", "<title>Evercast console</title>"},
		{AssetPrefix + "app.js", 200, "text/javascript; charset=utf-8", "xhrSetup"},
		{AssetPrefix + "style.css", 200, "text/css; charset=utf-8", ".gauge-fill"},
		{AssetPrefix + "icon.svg", 200, "image/svg+xml", "<svg"},
		{AssetPrefix + "vendor/hls.min.js", 200, "text/javascript; charset=utf-8", "Hls"},
		{AssetPrefix + "vendor/hls.js.LICENSE", 200, "", "Apache License"},
		{AssetPrefix + "index.html", 404, "", ""},
		{AssetPrefix, 404, "", ""},
		{AssetPrefix + "vendor/", 404, "", ""},
		{AssetPrefix + "nothing.js", 404, "", ""},
		{AssetPrefix + "../console.go", 404, "", ""},
		{"/app.js", 404, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			resp, body := get(t, srv, tt.path, nil)
			if resp.StatusCode != tt.status && !(resp.StatusCode/100 == 3 && tt.status == 404) {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if tt.ctype != "" && resp.Header.Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type %q, want %q", resp.Header.Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(body, tt.body) {
				t.Errorf("body lacks %q", tt.body)
			}
			csp := resp.Header.Get("Content-Security-Policy")
			for _, want := range []string{"default-src 'self'", "script-src 'self'", "media-src 'self' blob:", "worker-src 'self' blob:", "frame-ancestors 'none'"} {
				if !strings.Contains(csp, want) {
					t.Errorf("CSP %q lacks %q", csp, want)
				}
			}
			if resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no nosniff")
			}
		})
	}
}

func TestRevalidation(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	for _, path := range []string{"/", AssetPrefix + "vendor/hls.min.js"} {
		resp, _ := get(t, srv, path, nil)
		tag := resp.Header.Get("ETag")
		if tag == "" {
			t.Fatalf("%s: no ETag", path)
		}
		resp, body := get(t, srv, path, map[string]string{"If-None-Match": tag})
		if resp.StatusCode != http.StatusNotModified || body != "" {
			t.Errorf("%s: revalidation answered %d with %d bytes", path, resp.StatusCode, len(body))
		}
	}
}

// TestPageReferences checks that every file the page loads is served, and
// that the page loads nothing from elsewhere.
func TestPageReferences(t *testing.T) {
	srv := httptest.NewServer(Handler())
	defer srv.Close()
	_, page := get(t, srv, "/", nil)
	refs := regexp.MustCompile(`(?:src|href)="([^"#]+)"`).FindAllStringSubmatch(page, -1)
	if len(refs) < 3 {
		t.Fatalf("found only %d references in the page", len(refs))
	}
	for _, m := range refs {
		ref := m[1]
		if strings.HasPrefix(ref, "/v1/") {
			continue // the API, not the console
		}
		if !strings.HasPrefix(ref, AssetPrefix) {
			t.Errorf("the page loads %q from outside %s", ref, AssetPrefix)
			continue
		}
		if resp, _ := get(t, srv, ref, nil); resp.StatusCode != 200 {
			t.Errorf("%s: status %d", ref, resp.StatusCode)
		}
	}
}

// TestScriptParses runs the console's script through node's parser, so
// that a syntax error cannot ship inside the binary.
func TestScriptParses(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatal("node is needed to check the console script: apt-get install nodejs")
	}
	out, err := exec.Command(node, "--check", "web/app.js").CombinedOutput()
	if err != nil {
		t.Fatalf("web/app.js does not parse: %v\n%s", err, out)
	}
}
