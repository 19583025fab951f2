package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/evercast/evercast/internal/audit"
)

// cmdAudit: evercast audit verify SESSION | evercast audit export SESSION --out DIR
func cmdAudit(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	if len(args) == 0 || (args[0] != "verify" && args[0] != "export") {
		return usageError{errors.New("want `audit verify SESSION` or `audit export SESSION --out DIR`")}
	}
	sub := args[0]
	fs, cfg, err := flags("audit "+sub, stderr, lookup)
	if err != nil {
		return err
	}
	out := fs.String("out", "", "export: directory for the regulator bundle")
	asJSON := fs.Bool("json", false, "verify: print the result as JSON")
	rest := args[1:]
	var id string
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		id, rest = rest[0], rest[1:]
	}
	if err := parse(fs, rest); err != nil {
		return err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	if id == "" {
		return usageError{errors.New("missing SESSION")}
	}
	cfg.Roles = []string{"orchestrator"}
	log := NewLogger(*cfg, os.Stderr)
	a, err := BuildData(ctx, *cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	if _, err := a.Store.GetSession(ctx, id); err != nil {
		return err
	}
	switch sub {
	case "export":
		if *out == "" {
			return usageError{errors.New("--out DIR is required")}
		}
		m, err := audit.Export(ctx, audit.BundleDeps{Log: a.Audit, Objects: a.Objects, Version: version}, id, *out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "wrote the audit bundle of session %s to %s: %d records, head %s\n", id, *out, m.LastSeq, m.Head)
		return nil
	}
	// verify: against the locked archive when there is one, else the
	// database chain alone.
	arch, aerr := audit.NewArchiver(audit.ArchiverOptions{Store: a.Store, Client: a.Objects.Client(),
		Bucket: audit.ArchiveBucket(cfg.S3Bucket), Region: cfg.S3Region, Log: log})
	var res audit.VerifyResult
	how := "database chain"
	if aerr == nil {
		if chunks, err := arch.Chunks(ctx, id); err == nil && len(chunks) > 0 {
			chk, err := arch.Verify(ctx, id)
			if err != nil {
				return err
			}
			res, how = chk.VerifyResult, fmt.Sprintf("database chain and %d archived chunks (%d unlocked)", chk.Chunks, chk.Unlocked)
		}
	}
	if how == "database chain" {
		if res, err = a.Audit.Verify(ctx, id); err != nil {
			return err
		}
	}
	if *asJSON {
		b, _ := json.Marshal(res)
		fmt.Fprintln(stdout, string(b))
	} else if res.OK {
		fmt.Fprintf(stdout, "ok: %d records of session %s verified (%s)\n", res.Records, id, how)
	}
	if !res.OK {
		return fmt.Errorf("audit chain of session %s is broken at record %d: %s", id, res.FirstBroken, res.Reason)
	}
	return nil
}
