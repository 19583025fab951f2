package api

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestHLS(t *testing.T) {
	e := newEnv(t)
	_, key := e.merchant("M")
	_, _, s := e.catalog(key)
	dir := filepath.Join(e.hlsDir, s.ID)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	playlist := "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00001.ts\n"
	write := func(name, body string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.m3u8", playlist)
	write("seg_00001.ts", "\x47tsdata")
	write(".hidden.ts", "hidden")
	write("notes.txt", "notes")
	// A secret beside the session directories, and links that lead to it.
	if err := os.WriteFile(filepath.Join(e.hlsDir, "secret.ts"), []byte("SECRET"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(e.hlsDir, "secret.ts"), filepath.Join(dir, "link.ts")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../secret.ts", filepath.Join(dir, "rel.ts")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, "sub.ts"), 0o755); err != nil {
		t.Fatal(err)
	}
	base := "/v1/sessions/" + s.ID + "/hls/"

	t.Run("playlist", func(t *testing.T) {
		r := e.must(200, req{method: "GET", path: base + "index.m3u8", token: key}, nil)
		if ct := r.header.Get("Content-Type"); ct != "application/vnd.apple.mpegurl" {
			t.Errorf("Content-Type %q", ct)
		}
		if cc := r.header.Get("Cache-Control"); cc != "no-cache" {
			t.Errorf("Cache-Control %q", cc)
		}
		if r.header.Get("Last-Modified") != "" {
			t.Error("the playlist carries Last-Modified, which invites stale 304s")
		}
		if string(r.body) != playlist {
			t.Errorf("body %q", r.body)
		}
	})
	t.Run("segment", func(t *testing.T) {
		r := e.must(200, req{method: "GET", path: base + "seg_00001.ts", token: adminToken}, nil)
		if ct := r.header.Get("Content-Type"); ct != "video/mp2t" {
			t.Errorf("Content-Type %q", ct)
		}
		if string(r.body) != "\x47tsdata" {
			t.Errorf("body %q", r.body)
		}
		r = e.must(206, req{method: "GET", path: base + "seg_00001.ts", token: key, header: map[string]string{"Range": "bytes=1-2"}}, nil)
		if string(r.body) != "ts" {
			t.Errorf("range body %q", r.body)
		}
	})

	refused := []string{
		base + "..%2f..%2fsecret.ts",
		base + "..%2Fsecret.ts",
		base + "%2e%2e%2fsecret.ts",
		base + "..%252fsecret.ts",
		base + "%2e%2e/secret.ts",
		base + "../secret.ts",
		base + "..%5csecret.ts",
		base + "sub%2f..%2f..%2fsecret.ts",
		base + "%2fetc%2fpasswd.ts",
		base + ".hidden.ts",
		base + "notes.txt",
		base + "index.m3u8%00.ts",
		base + "index.m3u8%00",
		base + "link.ts",
		base + "rel.ts",
		base + "sub.ts",
		base + "missing.ts",
		base + ".ts",
		"/v1/sessions/" + s.ID + "%2f..%2f/hls/secret.ts",
		"/v1/sessions/..%2f" + s.ID + "/hls/index.m3u8",
		"/v1/sessions/" + s.ID + "/hls/%2e%2e",
	}
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, path := range refused {
		t.Run("refuse "+path, func(t *testing.T) {
			for _, client := range []*http.Client{e.srv.Client(), noRedirect} {
				hr, err := http.NewRequest("GET", e.srv.URL+path, nil)
				if err != nil {
					t.Fatal(err)
				}
				hr.Header.Set("Authorization", "Bearer "+key)
				resp, err := client.Do(hr)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode == 200 || strings.Contains(string(b), "SECRET") || strings.Contains(string(b), "hidden") {
					t.Fatalf("status %d body %q", resp.StatusCode, b)
				}
				if redirect := resp.StatusCode/100 == 3; !redirect && resp.StatusCode != 400 && resp.StatusCode != 404 {
					t.Errorf("status %d, want 404, 400 or a redirect to a cleaned path", resp.StatusCode)
				}
			}
		})
	}

	t.Run("no preview configured", func(t *testing.T) {
		e2 := newEnv(t, func(c *Config) { c.HLSDir = nil })
		_, key2 := e2.merchant("M")
		_, _, s2 := e2.catalog(key2)
		e2.must(404, req{method: "GET", path: "/v1/sessions/" + s2.ID + "/hls/index.m3u8", token: key2}, nil)
	})
}

func TestHLSContentType(t *testing.T) {
	tests := []struct{ name, want string }{
		{"index.m3u8", "application/vnd.apple.mpegurl"},
		{"seg-01_a.ts", "video/mp2t"},
		{"a.b.ts", "video/mp2t"},
		{".ts", ""},
		{"..ts", ""},
		{"a..ts", ""},
		{".m3u8", ""},
		{"a.mp4", ""},
		{"a/b.ts", ""},
		{`a\b.ts`, ""},
		{"a b.ts", ""},
		{"", ""},
		{"é.ts", ""},
		{strings.Repeat("a", 200) + ".ts", ""},
	}
	for _, tt := range tests {
		if got := hlsContentType(tt.name); got != tt.want {
			t.Errorf("hlsContentType(%q) = %q, want %q", tt.name, got, tt.want)
		}
	}
}
