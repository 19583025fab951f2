package store

import (
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// sqliteParams returns the connection settings every SQLite connection
// gets, unless the url sets them itself.
func sqliteParams() [][2]string {
	return [][2]string{
		{"_busy_timeout", "10000"},
		{"_journal_mode", "WAL"},
		{"_synchronous", "NORMAL"},
		{"_foreign_keys", "1"},
		{"_txlock", "immediate"},
	}
}

// sqliteDSN turns a store url into a modernc.org/sqlite "file:" DSN with
// WAL, busy_timeout, foreign keys and IMMEDIATE transactions, creating the
// database's directory when needed.
func sqliteDSN(raw string) (string, error) {
	var path, rawQuery string
	switch {
	case strings.HasPrefix(raw, "sqlite://"):
		path, rawQuery, _ = strings.Cut(strings.TrimPrefix(raw, "sqlite://"), "?")
		p, err := url.PathUnescape(path)
		if err != nil {
			return "", fmt.Errorf("store: sqlite url %q: %w", raw, err)
		}
		path = p
	case strings.HasPrefix(raw, "file:"):
		path, rawQuery, _ = strings.Cut(strings.TrimPrefix(raw, "file:"), "?")
		p, err := url.PathUnescape(path)
		if err != nil {
			return "", fmt.Errorf("store: sqlite url %q: %w", raw, err)
		}
		path = p
	default:
		path = raw
	}
	if path == "" {
		return "", fmt.Errorf("store: sqlite url %q names no file", raw)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return "", fmt.Errorf("store: sqlite url %q: %w", raw, err)
	}
	memory := path == ":memory:" || q.Get("mode") == "memory"
	if !memory {
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o750); err != nil {
				return "", fmt.Errorf("store: sqlite directory: %w", err)
			}
		}
	}
	for _, p := range sqliteParams() {
		if !q.Has(p[0]) {
			q.Set(p[0], p[1])
		}
	}
	return "file:" + escapeURIPath(path) + "?" + q.Encode(), nil
}

// escapeURIPath escapes the characters an SQLite URI filename gives meaning
// to.
func escapeURIPath(p string) string {
	return strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(p)
}
