// Package queue connects Evercast to asynq on Redis: it turns the
// EVERCAST_REDIS_URL setting into asynq connection options (single server,
// TLS, Sentinel or Cluster) and adapts asynq's logger to slog.
package queue

import (
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"

	"github.com/hibiken/asynq"
)

// ConnOpt parses a Redis URL:
//
//	redis://[:password@]host:port[/db]
//	rediss://[:password@]host:port[/db]              (TLS)
//	redis-sentinel://[:password@]host:port[,host:port...][/db]?master=NAME[&sentinel_password=...]
//	redis-cluster://[:password@]host:port[,host:port...]
func ConnOpt(raw string) (asynq.RedisConnOpt, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("EVERCAST_REDIS_URL: %w", err)
	}
	password, _ := u.User.Password()
	if password == "" && u.User != nil && u.User.Username() != "" {
		if _, set := u.User.Password(); !set {
			password = u.User.Username() // redis://secret@host form
		}
	}
	username := ""
	if u.User != nil {
		if _, set := u.User.Password(); set {
			username = u.User.Username()
		}
	}
	db := 0
	if p := strings.Trim(u.Path, "/"); p != "" {
		db, err = strconv.Atoi(p)
		if err != nil || db < 0 || db > 1023 {
			return nil, fmt.Errorf("EVERCAST_REDIS_URL: database %q is not a number from 0 to 1023", p)
		}
	}
	hosts := strings.Split(u.Host, ",")
	for _, h := range hosts {
		if h == "" || !strings.Contains(h, ":") {
			return nil, fmt.Errorf("EVERCAST_REDIS_URL: want host:port, got %q", h)
		}
	}
	switch u.Scheme {
	case "redis", "rediss":
		if len(hosts) != 1 {
			return nil, fmt.Errorf("EVERCAST_REDIS_URL: %s takes one host; use redis-cluster:// or redis-sentinel:// for several", u.Scheme)
		}
		o := asynq.RedisClientOpt{Addr: hosts[0], Username: username, Password: password, DB: db}
		if u.Scheme == "rediss" {
			o.TLSConfig = &tls.Config{ServerName: strings.Split(hosts[0], ":")[0], MinVersion: tls.VersionTLS12}
		}
		return o, nil
	case "redis-sentinel":
		master := u.Query().Get("master")
		if master == "" {
			return nil, fmt.Errorf("EVERCAST_REDIS_URL: redis-sentinel:// needs ?master=NAME")
		}
		return asynq.RedisFailoverClientOpt{
			MasterName: master, SentinelAddrs: hosts, SentinelPassword: u.Query().Get("sentinel_password"),
			Username: username, Password: password, DB: db,
		}, nil
	case "redis-cluster":
		if db != 0 {
			return nil, fmt.Errorf("EVERCAST_REDIS_URL: Redis Cluster has only database 0")
		}
		return asynq.RedisClusterClientOpt{Addrs: hosts, Username: username, Password: password}, nil
	}
	return nil, fmt.Errorf("EVERCAST_REDIS_URL: scheme %q is not redis, rediss, redis-sentinel or redis-cluster", u.Scheme)
}

// Logger adapts slog to asynq's logger.
type Logger struct{ Log *slog.Logger }

var _ asynq.Logger = Logger{}

// Debug logs at debug level.
func (l Logger) Debug(args ...any) { l.Log.Debug(fmt.Sprint(args...), "component", "asynq") }

// Info logs at info level.
func (l Logger) Info(args ...any) { l.Log.Info(fmt.Sprint(args...), "component", "asynq") }

// Warn logs at warn level.
func (l Logger) Warn(args ...any) { l.Log.Warn(fmt.Sprint(args...), "component", "asynq") }

// Error logs at error level.
func (l Logger) Error(args ...any) { l.Log.Error(fmt.Sprint(args...), "component", "asynq") }

// Fatal logs at error level; asynq calls it before exiting.
func (l Logger) Fatal(args ...any) {
	l.Log.Error(fmt.Sprint(args...), "component", "asynq", "fatal", true)
}
