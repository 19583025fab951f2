// Package console is Evercast's operator console: one static page, embedded
// in the binary, that reads state from the REST API and follows and steers
// sessions over the control websocket (docs/control-protocol.md), with the
// token the operator (or a merchant) types in once. The page holds no data
// of its own.
//
// hls.js, which plays the live previews, is vendored from the npm registry
// by tools/console/vendor.sh with its licence beside it.
package console

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"strings"
)

// AssetPrefix is the URL path under which the page's scripts, styles and
// vendored libraries are served; the page itself is at "/".
const AssetPrefix = "/console/"

//go:embed web
var web embed.FS

// contentSecurityPolicy lets the page load only its own files, talk only to
// its own origin, and play media through Media Source blobs (hls.js also
// runs its transmuxer in a blob worker).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; media-src 'self' blob:; worker-src 'self' blob:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

// Handler serves the console: "/" is the page, AssetPrefix+name the file
// web/name. Everything else is 404.
func Handler() http.Handler {
	root, err := fs.Sub(web, "web")
	if err != nil {
		panic("console: embedded web directory missing: " + err.Error()) // cannot happen: go:embed checked it
	}
	etags := etagsOf(root)
	files := http.FileServerFS(root)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		switch {
		case r.URL.Path == "/":
			h.Set("Cache-Control", "no-cache")
			h.Set("ETag", etags["index.html"])
			http.ServeFileFS(w, r, root, "index.html")
		case strings.HasPrefix(r.URL.Path, AssetPrefix) && !strings.HasSuffix(r.URL.Path, "/") &&
			r.URL.Path != AssetPrefix+"index.html":
			name := strings.TrimPrefix(r.URL.Path, AssetPrefix)
			h.Set("Cache-Control", "no-cache")
			if tag, ok := etags[name]; ok {
				h.Set("ETag", tag)
			}
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/" + name
			r2.URL.RawPath = ""
			files.ServeHTTP(w, r2)
		default:
			http.NotFound(w, r)
		}
	})
}

// etagsOf returns a strong ETag (a content hash) for every file of root, so
// that browsers revalidate the page's files cheaply: embedded files carry no
// modification time.
func etagsOf(root fs.FS) map[string]string {
	tags := map[string]string{}
	_ = fs.WalkDir(root, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		b, err := fs.ReadFile(root, name)
		if err != nil {
			return nil
		}
		sum := sha256.Sum256(b)
		tags[name] = `"` + hex.EncodeToString(sum[:8]) + `"`
		return nil
	})
	return tags
}
