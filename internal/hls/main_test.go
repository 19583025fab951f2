package hls

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"github.com/evercast/evercast/internal/mpegts/mpegtstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// fixtures renders each fixture clip once per test run.
var fixtures mpegtstest.Cache

func TestMain(m *testing.M) {
	flag.Parse()
	dir, err := os.MkdirTemp("", "hls-fixtures-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	fixtures.Dir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}
