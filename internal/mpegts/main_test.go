package mpegts

import (
	"fmt"
	"os"
	"testing"

	"github.com/evercast/evercast/internal/mpegts/mpegtstest"
)

// fixtures renders each fixture clip once per test run.
var fixtures mpegtstest.Cache

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mpegts-fixtures-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtures.Dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
