package api

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"strings"
	"time"
)

const hlsPlaylist = "index.m3u8"

// hlsPath is the URL path of a file of a session's HLS preview.
func hlsPath(sessionID, file string) string {
	return "/v1/sessions/" + sessionID + "/hls/" + file
}

// hlsContentType returns the content type of an HLS file name, or "" when the
// name is not one the preview serves: letters, digits, '_', '.' and '-',
// not starting with '.', ending in .m3u8 or .ts.
func hlsContentType(name string) string {
	if name == "" || len(name) > 128 || name[0] == '.' || strings.Contains(name, "..") {
		return ""
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return ""
		}
	}
	switch {
	case strings.HasSuffix(name, ".m3u8") && len(name) > len(".m3u8"):
		return "application/vnd.apple.mpegurl"
	case strings.HasSuffix(name, ".ts") && len(name) > len(".ts"):
		return "video/mp2t"
	}
	return ""
}

// serveHLS serves a file of the session's live HLS window. The file is
// opened through an os.Root on the session's directory, so that neither a
// name nor a symbolic link can reach outside it.
func (s *Server) serveHLS(w http.ResponseWriter, r *http.Request, c *caller) error {
	ses, err := s.session(r, c)
	if err != nil {
		return err
	}
	name := r.PathValue("file")
	ctype := hlsContentType(name)
	if ctype == "" || s.hlsDir == nil {
		return notFound("HLS file")
	}
	dir := s.hlsDir(ses.ID)
	if dir == "" {
		return notFound("HLS file")
	}
	root, err := os.OpenRoot(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return notFound("HLS file")
	}
	if err != nil {
		return fmt.Errorf("open hls dir: %w", err)
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		// Missing, or a link leading out of the directory.
		return notFound("HLS file")
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return fmt.Errorf("stat hls file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return notFound("HLS file")
	}
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	modTime := fi.ModTime()
	if ctype == "video/mp2t" {
		// Segments never change once listed.
		h.Set("Cache-Control", "private, max-age=3600")
	} else {
		// The playlist changes more often than Last-Modified's one-second
		// grain could tell: always send it whole.
		h.Set("Cache-Control", "no-cache")
		modTime = time.Time{}
	}
	http.ServeContent(w, r, "", modTime, f)
	return nil
}
