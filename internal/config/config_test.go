package config

import (
	"flag"
	"strings"
	"testing"
	"time"
)

func load(t *testing.T, env map[string]string, args ...string) (Config, error) {
	t.Helper()
	c := Defaults()
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	if err := c.Bind(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err != nil {
		return c, err
	}
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	return c, c.Validate()
}

func TestPrecedence(t *testing.T) {
	c, err := load(t, map[string]string{"EVERCAST_HTTP_ADDR": "0.0.0.0:9000", "EVERCAST_ROLES": "worker", "EVERCAST_WORKER_CONCURRENCY": "7",
		"EVERCAST_STALL_TIMEOUT": "3s"}, "--http-addr", "127.0.0.1:9100")
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != "127.0.0.1:9100" {
		t.Errorf("flag did not override env: %s", c.HTTPAddr)
	}
	if len(c.Roles) != 1 || c.Roles[0] != "worker" || !c.Has(RoleWorker) || c.Has(RoleAPI) {
		t.Errorf("roles %v", c.Roles)
	}
	if c.WorkerConcurrency != 7 || c.StallTimeout != 3*time.Second {
		t.Errorf("env not applied: %+v", c)
	}
	d, err := load(t, nil)
	if err != nil || d.HTTPAddr != "127.0.0.1:8080" || len(d.Roles) != 4 || d.Clock != "real" {
		t.Fatalf("defaults: %+v %v", d, err)
	}
}

func TestValidateNamesTheSetting(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want string
	}{
		{map[string]string{"EVERCAST_HTTP_ADDR": "nope"}, nil, "EVERCAST_HTTP_ADDR"},
		{map[string]string{"EVERCAST_REDIS_URL": "http://x"}, nil, "EVERCAST_REDIS_URL"},
		{map[string]string{"EVERCAST_DATABASE_URL": "mysql://x"}, nil, "EVERCAST_DATABASE_URL"},
		{map[string]string{"EVERCAST_S3_ENDPOINT": "minio:9000"}, nil, "EVERCAST_S3_ACCESS_KEY"},
		{map[string]string{"EVERCAST_S3_ENDPOINT": "minio:9000/path", "EVERCAST_S3_ACCESS_KEY": "a", "EVERCAST_S3_SECRET_KEY": "b"}, nil, "EVERCAST_S3_ENDPOINT"},
		{map[string]string{"EVERCAST_S3_BUCKET": "UPPER"}, nil, "EVERCAST_S3_BUCKET"},
		{map[string]string{"EVERCAST_LLM_BASE_URL": "ftp://x"}, nil, "EVERCAST_LLM_BASE_URL"},
		{map[string]string{"EVERCAST_ADMIN_TOKEN": "short"}, nil, "EVERCAST_ADMIN_TOKEN"},
		{nil, []string{"--roles", "api,dancer"}, "EVERCAST_ROLES"},
		{nil, []string{"--clock", "slow"}, "EVERCAST_CLOCK"},
		{map[string]string{"EVERCAST_WORKER_CONCURRENCY": "0"}, nil, "EVERCAST_WORKER_CONCURRENCY"},
		{map[string]string{"EVERCAST_HLS_WINDOW": "1"}, nil, "EVERCAST_HLS_WINDOW"},
		{map[string]string{"EVERCAST_LOG_LEVEL": "loud"}, nil, "EVERCAST_LOG_LEVEL"},
	}
	for _, tt := range tests {
		_, err := load(t, tt.env, tt.args...)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v %v: want an error naming %s, got %v", tt.env, tt.args, tt.want, err)
		}
	}
	if _, err := load(t, map[string]string{"EVERCAST_WORKER_CONCURRENCY": "many"}); err == nil || !strings.Contains(err.Error(), "EVERCAST_WORKER_CONCURRENCY") {
		t.Errorf("bad number: %v", err)
	}
}

func TestS3Endpoint(t *testing.T) {
	for in, want := range map[string]struct {
		host   string
		secure bool
	}{"minio:9000": {"minio:9000", false}, "http://m:1": {"m:1", false}, "https://s3.example.com": {"s3.example.com", true}} {
		h, s, err := S3Endpoint(in)
		if err != nil || h != want.host || s != want.secure {
			t.Errorf("%s: %s %v %v", in, h, s, err)
		}
	}
}

func TestEnvNamesCoverContract(t *testing.T) {
	names := strings.Join(EnvNames(), " ")
	for _, n := range []string{"EVERCAST_HTTP_ADDR", "EVERCAST_DATA_DIR", "EVERCAST_DATABASE_URL", "EVERCAST_REDIS_URL", "EVERCAST_S3_ENDPOINT",
		"EVERCAST_S3_ACCESS_KEY", "EVERCAST_S3_SECRET_KEY", "EVERCAST_S3_BUCKET", "EVERCAST_LLM_BASE_URL", "EVERCAST_LLM_API_KEY",
		"EVERCAST_LLM_MODEL", "EVERCAST_ADMIN_TOKEN"} {
		if !strings.Contains(names, n) {
			t.Errorf("%s is not a setting", n)
		}
	}
}

func TestWebhookAllowPrivate(t *testing.T) {
	tests := []struct {
		env  map[string]string
		args []string
		want bool
		bad  bool
	}{
		{nil, nil, false, false},
		{map[string]string{"EVERCAST_WEBHOOK_ALLOW_PRIVATE": "true"}, nil, true, false},
		{map[string]string{"EVERCAST_WEBHOOK_ALLOW_PRIVATE": "1"}, nil, true, false},
		{map[string]string{"EVERCAST_WEBHOOK_ALLOW_PRIVATE": "true"}, []string{"--webhook-allow-private=false"}, false, false},
		{nil, []string{"--webhook-allow-private=true"}, true, false},
		{map[string]string{"EVERCAST_WEBHOOK_ALLOW_PRIVATE": "yes please"}, nil, false, true},
	}
	for _, tt := range tests {
		c, err := load(t, tt.env, tt.args...)
		if tt.bad {
			if err == nil || !strings.Contains(err.Error(), "EVERCAST_WEBHOOK_ALLOW_PRIVATE") {
				t.Errorf("%v: want an error naming the setting, got %v", tt.env, err)
			}
			continue
		}
		if err != nil || c.WebhookAllowPrivate != tt.want {
			t.Errorf("%v %v: WebhookAllowPrivate %v (%v), want %v", tt.env, tt.args, c.WebhookAllowPrivate, err, tt.want)
		}
	}
}
