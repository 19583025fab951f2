package app

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/config"
	"github.com/evercast/evercast/internal/demo"
	"github.com/evercast/evercast/internal/export"
	"github.com/evercast/evercast/internal/store"
)

const usage = `Evercast: an AI digital-human livestream platform.

Usage:
  evercast serve [flags]                 run every role (or --roles api,orchestrator,worker,playout)
  evercast demo [flags]                  run the built-in demo merchant, anchor, catalog and live session
  evercast demo --duration D --clock fast --out DIR
                                         air D of the demo unpaced, write DIR/index.m3u8 and DIR/rundown.json
  evercast demo --seed --api URL         create and start the demo through a deployment's REST API
  evercast export SESSION_ID --out DIR   write what a session has aired so far
  evercast check --catalog FILE [--at DATE] < scripts.jsonl
                                         judge {"id","lang","text","sku"} lines against the law and the catalog
  evercast moderate --catalog FILE [--answer] < comments.jsonl
                                         decide what the anchor does with {"id","lang","text"} comments
  evercast verify FILE                   report a clip's hidden AIGC label
  evercast audit verify SESSION_ID       recompute the session's hash-chained record; name the first broken link
  evercast audit export SESSION_ID --out DIR
                                         a self-contained bundle for a regulator (clips, texts, hashes, verdicts, comments)
  evercast version

Every command takes the settings as flags or EVERCAST_* environment variables;
run "evercast serve -h" for the list.
`

// Main runs the command line and returns the exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = cmdServe(ctx, args[1:], stderr, lookup)
	case "demo":
		err = cmdDemo(ctx, args[1:], stdout, stderr, lookup)
	case "export":
		err = cmdExport(ctx, args[1:], stdout, stderr, lookup)
	case "check":
		err = cmdCheck(ctx, args[1:], os.Stdin, stdout, stderr)
	case "moderate":
		err = cmdModerate(ctx, args[1:], os.Stdin, stdout, stderr)
	case "verify":
		err = cmdVerify(args[1:], stdout, stderr)
	case "audit":
		err = cmdAudit(ctx, args[1:], stdout, stderr, lookup)
	case "version", "--version", "-v":
		fmt.Fprintln(stdout, "evercast", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "evercast: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		var ue usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(stderr, "evercast %s: %v\n", args[0], err)
			return 2
		}
		fmt.Fprintf(stderr, "evercast %s: %v\n", args[0], err)
		return 1
	}
	return 0
}

type usageError struct{ error }

func flags(name string, stderr io.Writer, lookup func(string) (string, bool)) (*flag.FlagSet, *config.Config, error) {
	fs := flag.NewFlagSet("evercast "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := config.Defaults()
	if err := cfg.Bind(fs, lookup); err != nil {
		return nil, nil, usageError{err}
	}
	return fs, &cfg, nil
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	return nil
}

func cmdServe(ctx context.Context, args []string, stderr io.Writer, lookup func(string) (string, bool)) error {
	fs, cfg, err := flags("serve", stderr, lookup)
	if err != nil {
		return err
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	log := NewLogger(*cfg, os.Stderr)
	a, err := Build(ctx, *cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	log.Info("evercast serving", "roles", strings.Join(cfg.Roles, ","), "http", cfg.HTTPAddr, "clock", cfg.Clock, "data_dir", cfg.DataDir)
	return a.Run(ctx)
}

func cmdExport(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	fs, cfg, err := flags("export", stderr, lookup)
	if err != nil {
		return err
	}
	out := fs.String("out", "", "directory to write index.m3u8, segments and rundown.json into (required)")
	// Accept the session id before or after the flags.
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := parse(fs, args); err != nil {
		return err
	}
	if id == "" && fs.NArg() > 0 {
		id = fs.Arg(0)
	}
	if id == "" {
		return usageError{errors.New("missing SESSION_ID")}
	}
	if *out == "" {
		return usageError{errors.New("--out DIR is required")}
	}
	cfg.Roles = []string{config.RoleOrchestrator} // no media tools needed
	log := NewLogger(*cfg, os.Stderr)
	a, err := BuildData(ctx, *cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	res, err := export.Export(ctx, a.Store, a.Objects, id, *out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "exported %d clips (%s) in %d segments to %s\n", res.Clips, res.Duration.Round(time.Millisecond), res.Segments, *out)
	return nil
}

func cmdDemo(ctx context.Context, args []string, stdout, stderr io.Writer, lookup func(string) (string, bool)) error {
	fs, cfg, err := flags("demo", stderr, lookup)
	if err != nil {
		return err
	}
	duration := fs.Duration("duration", 0, "air this much content, then write --out and exit (e.g. 3m)")
	out := fs.String("out", "", "with --duration: directory for index.m3u8, segments and rundown.json")
	seed := fs.Bool("seed", false, "create and start the demo through the REST API given by --api")
	apiURL := fs.String("api", "", "with --seed: base URL of a running deployment, e.g. http://127.0.0.1:8080")
	if err := parse(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if *seed {
		if *apiURL == "" {
			return usageError{errors.New("--seed needs --api URL")}
		}
		id, err := SeedViaAPI(ctx, *apiURL, cfg.AdminToken)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, id)
		return nil
	}
	if *duration < 0 {
		return usageError{errors.New("--duration must be positive")}
	}
	if *out != "" && *duration == 0 {
		return usageError{errors.New("--out needs --duration")}
	}
	if *duration > 0 && *out == "" {
		return usageError{errors.New("--duration needs --out DIR")}
	}
	_, envData := lookup("EVERCAST_DATA_DIR")
	if *duration > 0 && !set["data-dir"] && !envData {
		dir, err := os.MkdirTemp("", "evercast-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cfg.DataDir = dir
	}
	_, envAddr := lookup("EVERCAST_HTTP_ADDR")
	if *duration > 0 && !set["http-addr"] && !envAddr {
		cfg.Roles = []string{config.RoleOrchestrator, config.RoleWorker, config.RolePlayout}
	}
	log := NewLogger(*cfg, os.Stderr)
	a, err := Build(ctx, *cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	var sess *evercast.Session
	if *duration == 0 {
		// A demo run again on the same data dir goes on with its session.
		sess, err = existingDemo(ctx, a.Store)
		if err != nil {
			return err
		}
	}
	if sess == nil {
		if sess, err = SeedStore(ctx, a.Store, int(duration.Seconds()+0.999)); err != nil {
			return err
		}
	}
	if _, err := a.Orchestrator.Start(ctx, sess.ID); err != nil {
		return fmt.Errorf("start demo session: %w", err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(runCtx) }()
	if *duration == 0 {
		// Give Run a moment to bind the listener before printing where it is.
		for i := 0; i < 50 && a.Addr() == ""; i++ {
			time.Sleep(20 * time.Millisecond)
		}
		fmt.Fprintf(stdout, "Evercast demo is live.\n  console: http://%s/\n  token:   %s\n  session: %s\n  HLS:     http://%s/v1/sessions/%s/hls/index.m3u8\nPress Ctrl-C to stop.\n",
			consoleHost(a.Addr()), a.Config.AdminToken, sess.ID, consoleHost(a.Addr()), sess.ID)
		return <-done
	}
	fmt.Fprintf(stderr, "evercast demo: airing %s of session %s (clock %s)\n", *duration, sess.ID, cfg.Clock)
	if err := waitEnded(runCtx, a.Store, sess.ID, done); err != nil {
		return err
	}
	cancel()
	if err := <-done; err != nil {
		return err
	}
	res, err := export.Export(ctx, a.Store, a.Objects, sess.ID, *out)
	if err != nil {
		return fmt.Errorf("write %s: %w", *out, err)
	}
	fmt.Fprintf(stdout, "aired %d clips (%s) of session %s; wrote %s/index.m3u8 and %s/rundown.json\n",
		res.Clips, res.Duration.Round(time.Millisecond), sess.ID, *out, *out)
	return nil
}

func consoleHost(addr string) string {
	if strings.HasPrefix(addr, "0.0.0.0:") || strings.HasPrefix(addr, "[::]:") {
		return "localhost" + addr[strings.LastIndex(addr, ":"):]
	}
	return addr
}

// waitEnded blocks until the session has ended, the app stopped, or ctx ends.
func waitEnded(ctx context.Context, st *store.Store, id string, done <-chan error) error {
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-done:
			if err == nil {
				err = errors.New("stopped before the session ended")
			}
			return err
		case <-t.C:
			s, err := st.GetSession(ctx, id)
			if err != nil {
				return err
			}
			if s.State == evercast.SessionEnded {
				return nil
			}
		}
	}
}

// existingDemo returns the demo merchant's session from an earlier run that
// has not ended, if any.
func existingDemo(ctx context.Context, st *store.Store) (*evercast.Session, error) {
	ms, err := st.ListMerchants(ctx)
	if err != nil {
		return nil, err
	}
	for _, m := range ms {
		if m.Name != demo.Merchant().Name {
			continue
		}
		ss, err := st.ListSessions(ctx, store.SessionFilter{MerchantID: m.ID})
		if err != nil {
			return nil, err
		}
		for _, s := range ss {
			if s.State != evercast.SessionEnded && s.MaxAirSeconds == 0 {
				return s, nil
			}
		}
	}
	return nil, nil
}

// SeedStore creates the demo merchant, anchor, catalog and a session in the
// store; maxAirSeconds > 0 ends the session after that much content.
func SeedStore(ctx context.Context, st *store.Store, maxAirSeconds int) (*evercast.Session, error) {
	m := demo.Merchant()
	if err := st.CreateMerchant(ctx, m); err != nil {
		return nil, err
	}
	an := demo.Anchor()
	an.MerchantID = m.ID
	if err := an.Validate(); err != nil {
		return nil, err
	}
	if err := st.CreateAnchor(ctx, an); err != nil {
		return nil, err
	}
	ps, err := demo.Products()
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, p := range ps {
		p.MerchantID = m.ID
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("demo product %s: %w", p.SKU, err)
		}
		if err := st.CreateProduct(ctx, p); err != nil {
			return nil, err
		}
		ids = append(ids, p.ID)
	}
	s := demo.Session(an.ID, ids)
	s.MerchantID = m.ID
	s.MaxAirSeconds = maxAirSeconds
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if err := st.CreateSession(ctx, s); err != nil {
		return nil, err
	}
	return s, nil
}
