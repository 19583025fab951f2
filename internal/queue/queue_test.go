package queue

import (
	"strings"
	"testing"

	"github.com/hibiken/asynq"
)

func TestConnOpt(t *testing.T) {
	tests := []struct {
		url  string
		want any
	}{
		{"redis://127.0.0.1:6379", asynq.RedisClientOpt{Addr: "127.0.0.1:6379"}},
		{"redis://:pw@10.0.0.1:6380/3", asynq.RedisClientOpt{Addr: "10.0.0.1:6380", Password: "pw", DB: 3}},
		{"redis://user:pw@h:1/0", asynq.RedisClientOpt{Addr: "h:1", Username: "user", Password: "pw"}},
		{"redis-sentinel://:pw@s1:26379,s2:26379/2?master=mymaster", asynq.RedisFailoverClientOpt{MasterName: "mymaster", SentinelAddrs: []string{"s1:26379", "s2:26379"}, Password: "pw", DB: 2}},
		{"redis-cluster://:pw@c1:7000,c2:7001", asynq.RedisClusterClientOpt{Addrs: []string{"c1:7000", "c2:7001"}, Password: "pw"}},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := ConnOpt(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			switch w := tt.want.(type) {
			case asynq.RedisClientOpt:
				g := got.(asynq.RedisClientOpt)
				if g.Addr != w.Addr || g.Password != w.Password || g.DB != w.DB || g.Username != w.Username {
					t.Fatalf("got %+v", g)
				}
			case asynq.RedisFailoverClientOpt:
				g := got.(asynq.RedisFailoverClientOpt)
				if g.MasterName != w.MasterName || strings.Join(g.SentinelAddrs, ",") != strings.Join(w.SentinelAddrs, ",") || g.Password != w.Password || g.DB != w.DB {
					t.Fatalf("got %+v", g)
				}
			case asynq.RedisClusterClientOpt:
				g := got.(asynq.RedisClusterClientOpt)
				if strings.Join(g.Addrs, ",") != strings.Join(w.Addrs, ",") || g.Password != w.Password {
					t.Fatalf("got %+v", g)
				}
			}
		})
	}
	tls, err := ConnOpt("rediss://:pw@cache.example.com:6380")
	if err != nil || tls.(asynq.RedisClientOpt).TLSConfig == nil || tls.(asynq.RedisClientOpt).TLSConfig.ServerName != "cache.example.com" {
		t.Fatalf("rediss: %+v %v", tls, err)
	}
	for _, bad := range []string{"http://h:1", "redis://h", "redis://h:1/x", "redis://h:1/9999", "redis://a:1,b:2", "redis-sentinel://s:1", "redis-cluster://c:1/2", "::"} {
		if _, err := ConnOpt(bad); err == nil || !strings.Contains(err.Error(), "EVERCAST_REDIS_URL") {
			t.Errorf("%q: want an error naming EVERCAST_REDIS_URL, got %v", bad, err)
		}
	}
}
