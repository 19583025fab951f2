package app

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/aigc"
	"github.com/evercast/evercast/internal/catalog"
	"github.com/evercast/evercast/internal/claims"
	"github.com/evercast/evercast/internal/moderation"
)

func loadCatalog(path string) ([]*evercast.Product, error) {
	if path == "" {
		return nil, usageError{errors.New("--catalog FILE is required")}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	c, err := catalog.Parse(f)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", path, err)
	}
	return c.Products(), nil
}

// parseDate reads --at as YYYY-MM-DD (or RFC 3339).
func parseDate(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, usageError{fmt.Errorf("--at %q: want YYYY-MM-DD", s)}
	}
	return t, nil
}

// cmdCheck: evercast check --catalog FILE [--at DATE] < lines > verdicts
func cmdCheck(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evercast check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cat := fs.String("catalog", "", "merchant catalog file (JSON)")
	at := fs.String("at", "", "session date the 7-day original-price rule counts back from (YYYY-MM-DD; default today)")
	if err := parse(fs, args); err != nil {
		return err
	}
	products, err := loadCatalog(*cat)
	if err != nil {
		return err
	}
	date, err := parseDate(*at)
	if err != nil {
		return err
	}
	return claims.RunCheck(ctx, products, date, stdin, stdout)
}

// cmdModerate: evercast moderate --catalog FILE [--answer] < comments > decisions
func cmdModerate(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evercast moderate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cat := fs.String("catalog", "", "merchant catalog file (JSON)")
	answer := fs.Bool("answer", false, "add the answer text the anchor would voice")
	if err := parse(fs, args); err != nil {
		return err
	}
	products, err := loadCatalog(*cat)
	if err != nil {
		return err
	}
	return moderation.RunModerate(ctx, products, *answer, stdin, stdout)
}

// cmdVerify: evercast verify FILE — reports the clip's hidden AIGC label,
// or says that it is missing (exit status 1).
func cmdVerify(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("evercast verify", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the label as JSON")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageError{errors.New("want exactly one FILE")}
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	l, err := aigc.Read(f)
	if errors.Is(err, aigc.ErrMissing) {
		if *asJSON {
			fmt.Fprintln(stdout, `{"aigc":false,"error":"no AIGC label"}`)
		}
		return fmt.Errorf("%s: no AIGC label found: %w", fs.Arg(0), err)
	}
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	if *asJSON {
		b, _ := json.Marshal(map[string]any{"aigc": l.AIGenerated, "label": l})
		fmt.Fprintln(stdout, string(b))
		return nil
	}
	fmt.Fprintf(stdout, "AI-generated: %v\nprovider:     %s\ncontent id:   %s\nproducer:     %s\n", l.AIGenerated, l.Provider, l.ContentID, l.Producer)
	if l.Propagator != "" {
		fmt.Fprintf(stdout, "propagator:   %s\n", l.Propagator)
	}
	return nil
}
