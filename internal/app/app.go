// Package app wires Evercast together: it builds every component a process's
// roles need from the configuration (starting the embedded defaults when a
// service is not configured) and runs them until the context ends. It is the
// only package that imports the components.
package app

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/assets"
	"github.com/evercast/evercast/assets/avatars"
	"github.com/evercast/evercast/internal/api"
	"github.com/evercast/evercast/internal/audit"
	"github.com/evercast/evercast/internal/clock"
	"github.com/evercast/evercast/internal/config"
	"github.com/evercast/evercast/internal/control"
	"github.com/evercast/evercast/internal/events"
	"github.com/evercast/evercast/internal/queue"
	"github.com/evercast/evercast/internal/redislocal"
	"github.com/evercast/evercast/internal/s3local"
	"github.com/evercast/evercast/internal/store"
	"github.com/evercast/evercast/internal/webhook"
	"github.com/evercast/evercast/orchestrator"
	"github.com/evercast/evercast/playout"
	"github.com/evercast/evercast/prompts"
	"github.com/evercast/evercast/workers"
	"github.com/evercast/evercast/workers/render"
	"github.com/evercast/evercast/workers/script"
	"github.com/evercast/evercast/workers/speech"
	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Version is set at build time.
var version = "dev"

// App is a built Evercast process.
type App struct {
	Config   config.Config
	Log      *slog.Logger
	Store    *store.Store
	Objects  *assets.Store
	Registry *prometheus.Registry

	Bus          *events.Bus
	Hub          *control.Hub
	Audit        *audit.Log
	Archiver     *audit.Archiver
	Orchestrator *orchestrator.Orchestrator
	Playout      *playout.Engine
	Workers      *workers.Workers
	API          *api.Server

	redisOpt  asynq.RedisConnOpt
	client    *asynq.Client
	webhooks  *webhook.Dispatcher
	s3        *s3local.Server
	redis     *redislocal.Server
	listener  net.Listener
	closeOnce sync.Once
}

// Build makes the components of cfg's roles. Embedded services start when
// their setting is unset. Errors name the setting to fix.
func Build(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	a.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("EVERCAST_DATA_DIR %s: %w", cfg.DataDir, err)
	}
	needMedia := cfg.Has(config.RoleWorker) || cfg.Has(config.RolePlayout)
	if needMedia {
		if err := CheckTools(ctx, cfg.FFmpeg, cfg.FFprobe, cfg.EspeakNG, cfg.Has(config.RoleWorker)); err != nil {
			return nil, err
		}
	}

	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		dbURL = cfg.Path("evercast.db")
	}
	if a.Store, err = store.Open(ctx, dbURL, log); err != nil {
		return nil, fmt.Errorf("EVERCAST_DATABASE_URL: %w", err)
	}

	s3 := assets.Options{Bucket: cfg.S3Bucket, Region: cfg.S3Region, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey}
	if cfg.S3Endpoint == "" {
		if a.s3, err = s3local.Start(cfg.Path("objects"), log); err != nil {
			return nil, err
		}
		s3.Endpoint, s3.AccessKey, s3.SecretKey = a.s3.Endpoint, "evercast", "evercast-embedded"
	} else {
		if s3.Endpoint, s3.Secure, err = config.S3Endpoint(cfg.S3Endpoint); err != nil {
			return nil, fmt.Errorf("EVERCAST_S3_ENDPOINT: %w", err)
		}
	}
	if a.Objects, err = assets.Open(ctx, s3); err != nil {
		return nil, err
	}

	redisURL := cfg.RedisURL
	if redisURL == "" {
		if a.redis, err = redislocal.Start(0); err != nil {
			return nil, err
		}
		redisURL = a.redis.URL()
	}
	if a.redisOpt, err = queue.ConnOpt(redisURL); err != nil {
		return nil, err
	}
	a.client = asynq.NewClient(a.redisOpt)
	if err := pingRedis(ctx, a.redisOpt); err != nil {
		return nil, err
	}

	if a.Bus, err = events.New(a.redisOpt, cfg.Instance(), log.With("component", "events")); err != nil {
		return nil, err
	}
	if err := a.Store.GuardAudit(ctx); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	a.Audit = audit.NewLog(a.Store, nil)
	rec := &recorder{log: a.Audit, st: a.Store}
	approvals := audit.NewApprovals(a.Store, a.Audit)
	if cfg.Has(config.RoleOrchestrator) {
		if a.Archiver, err = audit.NewArchiver(audit.ArchiverOptions{
			Store: a.Store, Client: a.Objects.Client(), Bucket: audit.ArchiveBucket(cfg.S3Bucket), Region: cfg.S3Region,
			Retention: cfg.AuditRetention, Log: log.With("component", "audit"),
		}); err != nil {
			return nil, fmt.Errorf("audit archive: %w", err)
		}
	}

	clk := clock.Clock(clock.Real{})
	if cfg.Has(config.RolePlayout) {
		a.Playout = playout.New(playout.Options{
			Source: a.Store, Objects: a.Objects, Clock: clk, Fast: cfg.Fast(), Stall: cfg.StallTimeout,
			HLSRoot: cfg.Path("hls"), HLSWindow: cfg.HLSWindow, FFmpeg: cfg.FFmpeg, Recorder: rec, Events: a.Bus,
			Log: log.With("component", "playout"), Registry: a.Registry,
		})
	}
	if cfg.Has(config.RoleOrchestrator) || cfg.Has(config.RoleAPI) {
		var outputs func(string) []evercast.OutputStatus
		if a.Playout != nil {
			outputs = a.Playout.Outputs
		}
		var reg prometheus.Registerer
		if cfg.Has(config.RoleOrchestrator) {
			reg = a.Registry
		}
		a.Orchestrator = orchestrator.New(orchestrator.Options{
			Store: a.Store, Queue: a.client, Clock: clk, Owner: cfg.Instance(), Outputs: outputs, Recorder: rec, Events: a.Bus, Approvals: approvals,
			Tick: tickFor(cfg), Log: log.With("component", "orchestrator"), Registry: reg,
		})
	}
	if cfg.Has(config.RoleWorker) {
		if a.Workers, err = a.buildWorkers(ctx, rec, approvals); err != nil {
			return nil, err
		}
	}
	if cfg.Has(config.RoleAPI) {
		if a.Config.AdminToken == "" {
			a.Config.AdminToken = newToken()
			fmt.Fprintf(os.Stderr, "evercast: operator token (EVERCAST_ADMIN_TOKEN) for this run: %s\n", a.Config.AdminToken)
		}
		hlsRoot := cfg.Path("hls")
		a.Hub = control.NewHub(control.HubOptions{Registry: a.Registry, Log: log.With("component", "control")})
		cmd := commander{o: a.Orchestrator, pl: a.Playout, hub: a.Hub}
		ws := a.Hub.Handler(control.HandlerOptions{
			Auth: authenticator{admin: a.Config.AdminToken, st: a.Store}, Sessions: sessionsOf{a.Store},
			Commands: cmd, Comments: commentSink{a.Orchestrator},
		})
		hooks := a.buildWebhooks()
		a.API = api.New(api.Config{
			WebSocket: ws,
			Ops:       operations{cmd: cmd, st: a.Store, log: a.Audit},
			Store:     storeAdapter{a.Store}, Control: a.Orchestrator, AdminToken: a.Config.AdminToken,
			Interactions: interactions{a.Orchestrator, a.Store},
			Webhooks:     hooks,
			HLSDir:       func(id string) string { return playout.HLSDir(hlsRoot, id) },
			Metrics:      a.Registry, Log: log.With("component", "api"), Version: version,
		})
	}
	return a, nil
}

func tickFor(cfg config.Config) time.Duration {
	if cfg.Fast() {
		return 200 * time.Millisecond
	}
	return time.Second
}

func pingRedis(ctx context.Context, opt asynq.RedisConnOpt) error {
	insp := asynq.NewInspector(opt)
	defer insp.Close()
	done := make(chan error, 1)
	go func() { _, err := insp.Queues(); done <- err }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("EVERCAST_REDIS_URL: cannot use Redis: %w", err)
		}
		return nil
	case <-time.After(15 * time.Second):
		return errors.New("EVERCAST_REDIS_URL: Redis did not answer within 15 s")
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (a *App) buildWorkers(ctx context.Context, rec workers.Recorder, approvals workers.Approvals) (*workers.Workers, error) {
	cfg := a.Config
	font, err := FindFont(cfg.FontPath)
	if err != nil {
		return nil, err
	}
	r, err := render.New(render.Options{FFmpeg: cfg.FFmpeg, FontPath: font, Preset: cfg.Preset, Log: a.Log.With("component", "render")})
	if err != nil {
		return nil, err
	}
	set, err := prompts.Load()
	if err != nil {
		return nil, err
	}
	var writer script.Writer = script.Offline{}
	if cfg.LLMBaseURL != "" {
		if writer, err = script.NewLLM(script.LLMOptions{BaseURL: cfg.LLMBaseURL, APIKey: cfg.LLMAPIKey, Model: cfg.LLMModel}, set); err != nil {
			return nil, err
		}
	}
	voices := speech.Router{"espeak": speech.Espeak{Binary: cfg.EspeakNG}}
	if err := (speech.Espeak{Binary: cfg.EspeakNG}).Check(ctx); err != nil {
		return nil, err
	}
	if cfg.TTSBaseURL != "" {
		voices["openai"] = speech.NewOpenAI(cfg.TTSBaseURL, cfg.TTSAPIKey, cfg.TTSModel)
	} else if cfg.LLMBaseURL != "" {
		voices["openai"] = speech.NewOpenAI(cfg.LLMBaseURL, cfg.LLMAPIKey, cfg.TTSModel)
	}
	return workers.New(workers.Options{
		Store: a.Store, Objects: a.Objects, Queue: a.client, Writer: writer, Speech: voices,
		Renderer: r, Checker: newChecker(), Recorder: rec, Events: a.Bus, Approvals: approvals, Avatar: loadAvatar, TempDir: os.TempDir(),
		Log: a.Log.With("component", "workers"), Registry: a.Registry,
	}), nil
}

// loadAvatar adapts an embedded avatar pack to the renderer's input.
func loadAvatar(name string) (*render.Avatar, error) {
	p, err := avatars.Load(name)
	if err != nil {
		return nil, err
	}
	return &render.Avatar{Body: p.Body, Mouths: p.Mouths, MouthPos: p.MouthPos,
		EyesOpen: p.EyesOpen, EyesClosed: p.EyesClosed, EyesPos: p.EyesPos}, nil
}

func newToken() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return "evt_" + hex.EncodeToString(b[:])
}

// Run runs every role until ctx ends, then shuts down gracefully.
func (a *App) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	run := func(name string, f func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	if a.API != nil {
		ln, err := net.Listen("tcp", a.Config.HTTPAddr)
		if err != nil {
			return fmt.Errorf("EVERCAST_HTTP_ADDR %s: %w", a.Config.HTTPAddr, err)
		}
		a.listener = ln
		srv := &http.Server{Handler: a.API.Handler(), ReadHeaderTimeout: 10 * time.Second}
		run("queue-watch", a.watchQueues)
		run("events", func(ctx context.Context) error {
			return a.Bus.Subscribe(ctx, func(m events.Message) {
				a.Hub.Publish(m.Event)
				a.webhooks.Offer(m.ID, m.Event)
			})
		})
		run("webhooks", a.webhooks.Run)
		run("http", func(ctx context.Context) error {
			go func() {
				<-ctx.Done()
				_ = a.Hub.Close()
				sctx, c := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer c()
				_ = srv.Shutdown(sctx)
			}()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return err
			}
			return nil
		})
		a.Log.Info("api listening", "addr", ln.Addr().String())
	}
	if a.Config.Has(config.RoleOrchestrator) && a.Orchestrator != nil {
		run("orchestrator", a.Orchestrator.Run)
	}
	if a.Archiver != nil {
		run("audit-archive", a.Archiver.Run)
	}
	if a.Workers != nil {
		srv := asynq.NewServer(a.redisOpt, asynq.Config{
			Concurrency: a.Config.WorkerConcurrency, Queues: queueWeights(), Logger: queue.Logger{Log: a.Log},
			LogLevel: asynq.WarnLevel, ShutdownTimeout: 20 * time.Second,
			// Idle workers look for new tasks every 50 ms (asynq's default
			// is a second): a reply passes four stages, each a dequeue.
			TaskCheckInterval: 50 * time.Millisecond,
			// Retries fall due on whole seconds: look for them every second
			// (asynq's default is 5 s), so that a webhook's 2 s backoff is
			// about 2 s.
			DelayedTaskCheckInterval: time.Second,
			RetryDelayFunc: func(n int, err error, t *asynq.Task) time.Duration {
				if d, ok := webhook.RetryDelay(n, err, t); ok {
					return d
				}
				return min(time.Duration(1<<min(n, 5))*time.Second, 30*time.Second)
			},
		})
		mux := asynq.NewServeMux()
		a.Workers.Register(mux)
		a.registerWebhooks(mux)
		if err := srv.Start(mux); err != nil {
			return fmt.Errorf("worker: %w", err)
		}
		// A second server takes only the critical queue (live replies,
		// say-now), so that they never wait for a slot behind lookahead
		// renders; those run at a lower CPU priority besides.
		urgent := asynq.NewServer(a.redisOpt, asynq.Config{
			Concurrency: 2, Queues: map[string]int{"critical": 1}, Logger: queue.Logger{Log: a.Log},
			LogLevel: asynq.WarnLevel, ShutdownTimeout: 20 * time.Second, TaskCheckInterval: 20 * time.Millisecond,
			DelayedTaskCheckInterval: time.Second,
			RetryDelayFunc: func(n int, err error, t *asynq.Task) time.Duration {
				return min(time.Duration(1<<min(n, 3))*time.Second/2, 5*time.Second)
			},
		})
		if err := urgent.Start(mux); err != nil {
			srv.Shutdown()
			return fmt.Errorf("worker: %w", err)
		}
		run("worker", func(ctx context.Context) error {
			<-ctx.Done()
			urgent.Shutdown()
			srv.Shutdown()
			return nil
		})
	}
	if a.Playout != nil {
		run("playout", a.Playout.Run)
		run("playout-notify", func(ctx context.Context) error {
			return a.Bus.Subscribe(ctx, func(m events.Message) {
				if m.Event.Name != control.EventClipReady {
					return
				}
				var d control.ClipData
				if m.Event.DecodeData(&d) == nil && d.Priority {
					a.Playout.Notify(m.Event.SessionID)
				}
			})
		})
		if a.API == nil && a.Config.ControlURL != "" {
			run("playout-control", a.serveCuts)
		}
	}
	wg.Wait()
	close(errc)
	var errs []error
	for err := range errc {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// serveCuts connects a stand-alone playout to the control channel as the
// executor of cuts (skip, standby, resume), reconnecting until ctx ends.
func (a *App) serveCuts(ctx context.Context) error {
	for ctx.Err() == nil {
		cl, err := control.Dial(ctx, a.Config.ControlURL, PlayoutToken(a.Config.AdminToken), control.ClientOptions{Reconnect: true, Log: a.Log})
		if err == nil {
			err = cl.ServeCommands(ctx, func(ctx context.Context, sessionID string, c control.Command) (map[string]any, error) {
				return a.Playout.Command(ctx, sessionID, c.Name)
			})
			if err == nil {
				a.Log.Info("playout takes cuts over the control channel", "url", a.Config.ControlURL)
				<-ctx.Done()
				cl.Close()
				return nil
			}
			cl.Close()
		}
		a.Log.Warn("control channel unreachable; retrying", "url", a.Config.ControlURL, "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(3 * time.Second):
		}
	}
	return nil
}

func queueWeights() map[string]int {
	return map[string]int{"critical": 6, "default": 3, "low": 1}
}

// Addr is the API's listening address once Run has started.
func (a *App) Addr() string {
	if a.listener == nil {
		return ""
	}
	return a.listener.Addr().String()
}

// Close releases what Build opened.
func (a *App) Close() {
	a.closeOnce.Do(func() {
		if a.Bus != nil {
			_ = a.Bus.Close()
		}
		if a.client != nil {
			a.client.Close()
		}
		if a.Store != nil {
			a.Store.Close()
		}
		if a.redis != nil {
			a.redis.Close()
		}
		if a.s3 != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_ = a.s3.Close(ctx)
			cancel()
		}
	})
}

// NewLogger builds the process logger from the settings.
func NewLogger(cfg config.Config, w *os.File) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(strings.ToUpper(cfg.LogLevel)))
	opts := &slog.HandlerOptions{Level: lvl}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// BuildData opens only the metadata and object stores (for export and audit
// commands that run beside a deployment).
func BuildData(ctx context.Context, cfg config.Config, log *slog.Logger) (_ *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Registry: prometheus.NewRegistry()}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		dbURL = cfg.Path("evercast.db")
		if _, err := os.Stat(dbURL); err != nil {
			return nil, fmt.Errorf("EVERCAST_DATA_DIR %s holds no Evercast database (%v): point --data-dir or EVERCAST_DATABASE_URL at the deployment", cfg.DataDir, err)
		}
	}
	if a.Store, err = store.Open(ctx, dbURL, log); err != nil {
		return nil, fmt.Errorf("EVERCAST_DATABASE_URL: %w", err)
	}
	s3 := assets.Options{Bucket: cfg.S3Bucket, Region: cfg.S3Region, AccessKey: cfg.S3AccessKey, SecretKey: cfg.S3SecretKey}
	if cfg.S3Endpoint == "" {
		if a.s3, err = s3local.Start(cfg.Path("objects"), log); err != nil {
			return nil, err
		}
		s3.Endpoint, s3.AccessKey, s3.SecretKey = a.s3.Endpoint, "evercast", "evercast-embedded"
	} else if s3.Endpoint, s3.Secure, err = config.S3Endpoint(cfg.S3Endpoint); err != nil {
		return nil, fmt.Errorf("EVERCAST_S3_ENDPOINT: %w", err)
	}
	if a.Objects, err = assets.Open(ctx, s3); err != nil {
		return nil, err
	}
	a.Audit = audit.NewLog(a.Store, nil)
	return a, nil
}
