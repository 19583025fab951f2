// Package config loads Evercast's settings: defaults, then EVERCAST_*
// environment variables, then command-line flags. Unset means the embedded
// default (SQLite, in-process Redis and S3, the offline script writer).
package config

import (
	"errors"
	"flag"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Roles a process can run.
const (
	RoleAPI          = "api"
	RoleOrchestrator = "orchestrator"
	RoleWorker       = "worker"
	RolePlayout      = "playout"
)

// AllRoles is every role, the default of `evercast serve`.
var allRoles = []string{RoleAPI, RoleOrchestrator, RoleWorker, RolePlayout}

// AllRoles returns every role.
func AllRoles() []string { return slices.Clone(allRoles) }

// Config is every setting of an Evercast process.
type Config struct {
	HTTPAddr    string
	DataDir     string
	DatabaseURL string
	RedisURL    string

	S3Endpoint  string
	S3AccessKey string
	S3SecretKey string
	S3Bucket    string
	S3Region    string

	LLMBaseURL string
	LLMAPIKey  string
	LLMModel   string

	TTSBaseURL string
	TTSAPIKey  string
	TTSModel   string

	AdminToken string
	// ControlURL is where a playout process without the API role reaches
	// the control channel (ws://api:8080/v1/ws/control), to take cuts.
	ControlURL string
	Roles      []string
	// Clock is "real" (paced to the wall clock) or "fast" (unpaced).
	Clock string
	// InstanceID names this process as a session owner; default host-pid.
	InstanceID string

	FFmpeg   string
	FFprobe  string
	EspeakNG string
	FontPath string
	Preset   string

	WorkerConcurrency int
	// StallTimeout: under the fast clock, how long playout waits for the
	// next clip before airing standby.
	StallTimeout time.Duration
	// AuditRetention is how long archived audit records stay locked in the
	// object store (where it supports object lock).
	AuditRetention time.Duration
	// WebhookAllowPrivate lets webhooks be registered for and delivered to
	// loopback, private and other non-public addresses. Off by default: a
	// tenant must not make Evercast call into its network.
	WebhookAllowPrivate bool
	// HLSWindow is the number of segments in the live playlist.
	HLSWindow int
	LogLevel  string
	LogFormat string
}

// Defaults returns the embedded-default configuration.
func Defaults() Config {
	return Config{
		HTTPAddr:          "127.0.0.1:8080",
		DataDir:           "evercast-data",
		S3Bucket:          "evercast",
		S3Region:          "us-east-1",
		LLMModel:          "gpt-4o-mini",
		TTSModel:          "tts-1",
		Roles:             AllRoles(),
		Clock:             "real",
		FFmpeg:            "ffmpeg",
		FFprobe:           "ffprobe",
		EspeakNG:          "espeak-ng",
		Preset:            "veryfast",
		WorkerConcurrency: 3,
		StallTimeout:      20 * time.Second,
		HLSWindow:         8,
		AuditRetention:    3 * 365 * 24 * time.Hour,
		LogLevel:          "info",
		LogFormat:         "text",
	}
}

// setting binds one field to its environment variable and flag.
type setting struct {
	env, flag, usage string
	get              func(*Config) string
	set              func(*Config, string) error
}

func str(f func(*Config) *string) (func(*Config) string, func(*Config, string) error) {
	return func(c *Config) string { return *f(c) }, func(c *Config, v string) error { *f(c) = v; return nil }
}

func settings() []setting {
	s := func(env, flg, usage string, f func(*Config) *string) setting {
		g, st := str(f)
		return setting{env: env, flag: flg, usage: usage, get: g, set: st}
	}
	return []setting{
		s("EVERCAST_HTTP_ADDR", "http-addr", "HTTP listen address", func(c *Config) *string { return &c.HTTPAddr }),
		s("EVERCAST_DATA_DIR", "data-dir", "directory for the embedded database, object store and HLS output", func(c *Config) *string { return &c.DataDir }),
		s("EVERCAST_DATABASE_URL", "database-url", "postgres://... or sqlite path; empty = SQLite in the data dir", func(c *Config) *string { return &c.DatabaseURL }),
		s("EVERCAST_REDIS_URL", "redis-url", "redis:// or rediss:// URL; empty = in-process Redis", func(c *Config) *string { return &c.RedisURL }),
		s("EVERCAST_S3_ENDPOINT", "s3-endpoint", "S3/MinIO endpoint host:port or http(s)://host:port; empty = in-process S3", func(c *Config) *string { return &c.S3Endpoint }),
		s("EVERCAST_S3_ACCESS_KEY", "s3-access-key", "S3 access key", func(c *Config) *string { return &c.S3AccessKey }),
		s("EVERCAST_S3_SECRET_KEY", "s3-secret-key", "S3 secret key", func(c *Config) *string { return &c.S3SecretKey }),
		s("EVERCAST_S3_BUCKET", "s3-bucket", "S3 bucket", func(c *Config) *string { return &c.S3Bucket }),
		s("EVERCAST_S3_REGION", "s3-region", "S3 region", func(c *Config) *string { return &c.S3Region }),
		s("EVERCAST_LLM_BASE_URL", "llm-base-url", "OpenAI-compatible API base URL; empty = offline script writer", func(c *Config) *string { return &c.LLMBaseURL }),
		s("EVERCAST_LLM_API_KEY", "llm-api-key", "LLM API key", func(c *Config) *string { return &c.LLMAPIKey }),
		s("EVERCAST_LLM_MODEL", "llm-model", "LLM model name", func(c *Config) *string { return &c.LLMModel }),
		s("EVERCAST_TTS_BASE_URL", "tts-base-url", "OpenAI-compatible speech API base URL (for anchors whose voice provider is openai)", func(c *Config) *string { return &c.TTSBaseURL }),
		s("EVERCAST_TTS_API_KEY", "tts-api-key", "speech API key", func(c *Config) *string { return &c.TTSAPIKey }),
		s("EVERCAST_TTS_MODEL", "tts-model", "speech model name", func(c *Config) *string { return &c.TTSModel }),
		s("EVERCAST_ADMIN_TOKEN", "admin-token", "operator bearer token; empty = generate one and print it", func(c *Config) *string { return &c.AdminToken }),
		s("EVERCAST_CONTROL_URL", "control-url", "playout without the api role: the API's control channel, e.g. ws://api:8080/v1/ws/control", func(c *Config) *string { return &c.ControlURL }),
		{env: "EVERCAST_ROLES", flag: "roles", usage: "comma-separated roles: api, orchestrator, worker, playout",
			get: func(c *Config) string { return strings.Join(c.Roles, ",") },
			set: func(c *Config, v string) error {
				c.Roles = nil
				for _, r := range strings.Split(v, ",") {
					if r = strings.TrimSpace(r); r != "" {
						c.Roles = append(c.Roles, r)
					}
				}
				return nil
			}},
		s("EVERCAST_CLOCK", "clock", "real (paced) or fast (unpaced)", func(c *Config) *string { return &c.Clock }),
		s("EVERCAST_INSTANCE_ID", "instance-id", "name of this process as a session owner; empty = host-pid", func(c *Config) *string { return &c.InstanceID }),
		s("EVERCAST_FFMPEG", "ffmpeg", "ffmpeg binary", func(c *Config) *string { return &c.FFmpeg }),
		s("EVERCAST_FFPROBE", "ffprobe", "ffprobe binary", func(c *Config) *string { return &c.FFprobe }),
		s("EVERCAST_ESPEAK_NG", "espeak-ng", "espeak-ng binary", func(c *Config) *string { return &c.EspeakNG }),
		s("EVERCAST_FONT", "font", "CJK font file (TTF/TTC); empty = search the usual places", func(c *Config) *string { return &c.FontPath }),
		s("EVERCAST_X264_PRESET", "x264-preset", "x264 preset for clip rendering", func(c *Config) *string { return &c.Preset }),
		intSetting("EVERCAST_WORKER_CONCURRENCY", "worker-concurrency", "tasks a worker runs at once", func(c *Config) *int { return &c.WorkerConcurrency }),
		{env: "EVERCAST_STALL_TIMEOUT", flag: "stall-timeout", usage: "fast clock: wait this long for the next clip before airing standby",
			get: func(c *Config) string { return c.StallTimeout.String() },
			set: func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				c.StallTimeout = d
				return err
			}},
		{env: "EVERCAST_AUDIT_RETENTION", flag: "audit-retention", usage: "object-lock retention of the archived audit log (e.g. 26280h = 3 years)",
			get: func(c *Config) string { return c.AuditRetention.String() },
			set: func(c *Config, v string) error {
				d, err := time.ParseDuration(v)
				c.AuditRetention = d
				return err
			}},
		intSetting("EVERCAST_HLS_WINDOW", "hls-window", "segments in the live HLS playlist", func(c *Config) *int { return &c.HLSWindow }),
		boolSetting("EVERCAST_WEBHOOK_ALLOW_PRIVATE", "webhook-allow-private", "let webhooks reach loopback and private addresses (tests, demos, trusted networks)",
			func(c *Config) *bool { return &c.WebhookAllowPrivate }),
		s("EVERCAST_LOG_LEVEL", "log-level", "debug, info, warn or error", func(c *Config) *string { return &c.LogLevel }),
		s("EVERCAST_LOG_FORMAT", "log-format", "text or json", func(c *Config) *string { return &c.LogFormat }),
	}
}

func intSetting(env, flg, usage string, f func(*Config) *int) setting {
	return setting{env: env, flag: flg, usage: usage,
		get: func(c *Config) string { return strconv.Itoa(*f(c)) },
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("not a whole number: %q", v)
			}
			*f(c) = n
			return nil
		}}
}

func boolSetting(env, flg, usage string, f func(*Config) *bool) setting {
	return setting{env: env, flag: flg, usage: usage,
		get: func(c *Config) string { return strconv.FormatBool(*f(c)) },
		set: func(c *Config, v string) error {
			b, err := strconv.ParseBool(strings.TrimSpace(v))
			if err != nil {
				return fmt.Errorf("want true or false, got %q", v)
			}
			*f(c) = b
			return nil
		}}
}

// EnvNames lists every environment variable the configuration reads.
func EnvNames() []string {
	var out []string
	for _, s := range settings() {
		out = append(out, s.env)
	}
	return out
}

// Bind applies the environment (through lookup, so tests need no process
// environment) onto c and registers every setting as a flag on fs, so that
// flags parsed afterwards override the environment.
func (c *Config) Bind(fs *flag.FlagSet, lookup func(string) (string, bool)) error {
	for _, s := range settings() {
		if v, ok := lookup(s.env); ok {
			if err := s.set(c, v); err != nil {
				return fmt.Errorf("%s: %w", s.env, err)
			}
		}
		fs.Func(s.flag, s.usage+" ($"+s.env+")", func(v string) error { return s.set(c, v) })
	}
	return nil
}

// Validate checks the settings; each error names the setting.
func (c *Config) Validate() error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", env, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("EVERCAST_HTTP_ADDR", "want host:port, got %q", c.HTTPAddr)
	}
	if c.DataDir == "" {
		bad("EVERCAST_DATA_DIR", "must not be empty")
	}
	if c.DatabaseURL != "" && strings.Contains(c.DatabaseURL, "://") {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || !slices.Contains([]string{"postgres", "postgresql", "sqlite", "file"}, u.Scheme) {
			bad("EVERCAST_DATABASE_URL", "want postgres://..., sqlite://... or a file path")
		}
	}
	if c.RedisURL != "" {
		u, err := url.Parse(c.RedisURL)
		if err != nil || !slices.Contains([]string{"redis", "rediss", "redis-sentinel", "redis-cluster"}, u.Scheme) {
			bad("EVERCAST_REDIS_URL", "want redis://[:password@]host:port[/db], rediss://..., redis-sentinel://... or redis-cluster://...")
		}
	}
	if c.S3Endpoint != "" {
		if c.S3AccessKey == "" {
			bad("EVERCAST_S3_ACCESS_KEY", "is required with EVERCAST_S3_ENDPOINT")
		}
		if c.S3SecretKey == "" {
			bad("EVERCAST_S3_SECRET_KEY", "is required with EVERCAST_S3_ENDPOINT")
		}
		if _, _, err := S3Endpoint(c.S3Endpoint); err != nil {
			bad("EVERCAST_S3_ENDPOINT", "%v", err)
		}
	}
	if c.S3Bucket == "" || len(c.S3Bucket) < 3 || len(c.S3Bucket) > 63 || strings.ToLower(c.S3Bucket) != c.S3Bucket {
		bad("EVERCAST_S3_BUCKET", "want a lower-case bucket name of 3 to 63 characters, got %q", c.S3Bucket)
	}
	if c.LLMBaseURL != "" {
		if u, err := url.Parse(c.LLMBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("EVERCAST_LLM_BASE_URL", "want an http(s):// URL such as https://api.openai.com/v1")
		}
		if c.LLMModel == "" {
			bad("EVERCAST_LLM_MODEL", "is required with EVERCAST_LLM_BASE_URL")
		}
	}
	if c.TTSBaseURL != "" {
		if u, err := url.Parse(c.TTSBaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("EVERCAST_TTS_BASE_URL", "want an http(s):// URL")
		}
	}
	if c.ControlURL != "" {
		if u, err := url.Parse(c.ControlURL); err != nil || (u.Scheme != "ws" && u.Scheme != "wss") || u.Host == "" {
			bad("EVERCAST_CONTROL_URL", "want a ws:// or wss:// URL such as ws://api:8080/v1/ws/control")
		} else if c.AdminToken == "" {
			bad("EVERCAST_ADMIN_TOKEN", "is required with EVERCAST_CONTROL_URL (the playout token derives from it)")
		}
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		bad("EVERCAST_ADMIN_TOKEN", "must be at least 16 characters")
	}
	if len(c.Roles) == 0 {
		bad("EVERCAST_ROLES", "names no role")
	}
	for _, r := range c.Roles {
		if !slices.Contains(allRoles, r) {
			bad("EVERCAST_ROLES", "unknown role %q (want api, orchestrator, worker, playout)", r)
		}
	}
	if c.Clock != "real" && c.Clock != "fast" {
		bad("EVERCAST_CLOCK", "want real or fast, got %q", c.Clock)
	}
	if c.WorkerConcurrency < 1 || c.WorkerConcurrency > 256 {
		bad("EVERCAST_WORKER_CONCURRENCY", "must be between 1 and 256")
	}
	if c.StallTimeout <= 0 {
		bad("EVERCAST_STALL_TIMEOUT", "must be positive")
	}
	if c.AuditRetention < 24*time.Hour {
		bad("EVERCAST_AUDIT_RETENTION", "must be at least a day (the default is 3 years)")
	}
	if c.HLSWindow < 3 || c.HLSWindow > 1000 {
		bad("EVERCAST_HLS_WINDOW", "must be between 3 and 1000")
	}
	if !slices.Contains([]string{"debug", "info", "warn", "error"}, c.LogLevel) {
		bad("EVERCAST_LOG_LEVEL", "want debug, info, warn or error")
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("EVERCAST_LOG_FORMAT", "want text or json")
	}
	return errors.Join(errs...)
}

// Has reports whether the process runs role.
func (c *Config) Has(role string) bool { return slices.Contains(c.Roles, role) }

// Fast reports whether the fast (unpaced) clock is selected.
func (c *Config) Fast() bool { return c.Clock == "fast" }

// Instance returns the owner name of this process.
func (c *Config) Instance() string {
	if c.InstanceID != "" {
		return c.InstanceID
	}
	h, _ := os.Hostname()
	return fmt.Sprintf("%s-%d", h, os.Getpid())
}

// Path returns a path inside the data directory.
func (c *Config) Path(elem ...string) string {
	return filepath.Join(append([]string{c.DataDir}, elem...)...)
}

// S3Endpoint splits an endpoint setting into host:port and whether TLS is used.
// "minio:9000" and "http://minio:9000" are plain; "https://s3.example.com" is TLS.
func S3Endpoint(s string) (host string, secure bool, err error) {
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || (u.Path != "" && u.Path != "/") {
		return "", false, fmt.Errorf("want host:port or http(s)://host:port, got %q", s)
	}
	return u.Host, u.Scheme == "https", nil
}
