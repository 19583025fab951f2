package assets

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/evercast/evercast"
	"github.com/evercast/evercast/internal/s3local"
)

func openLocal(t *testing.T) *Store {
	t.Helper()
	srv, err := s3local.Start(t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	s, err := Open(context.Background(), Options{Endpoint: srv.Endpoint, AccessKey: "k", SecretKey: "s", Bucket: "evercast-test", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	s := openLocal(t)
	body := []byte("clip bytes")
	sha := SHA256(body)
	key := ClipKey(sha)
	if key != "clips/"+sha[:2]+"/"+sha+".ts" {
		t.Fatalf("key layout: %s", key)
	}
	meta := map[string]string{"Clip-Id": "clp_1", "Aigc-Label": "1"}
	if err := s.Put(ctx, key, body, "video/mp2t", meta); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, key)
	if err != nil || string(got) != string(body) {
		t.Fatalf("get: %q %v", got, err)
	}
	info, err := s.Stat(ctx, key)
	if err != nil || info.Size != int64(len(body)) || info.Metadata["clip-id"] != "clp_1" || info.Metadata["aigc-label"] != "1" {
		t.Fatalf("stat: %+v %v", info, err)
	}
	u, err := s.Presign(ctx, key, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(u.String())
	if err != nil {
		t.Fatal(err)
	}
	pb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(pb) != string(body) {
		t.Fatalf("presigned GET: %d %q", resp.StatusCode, pb)
	}
	if err := s.Remove(ctx, key); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, key); !errors.Is(err, evercast.ErrNotFound) {
		t.Fatalf("after remove: want ErrNotFound, got %v", err)
	}
	if err := s.Remove(ctx, key); err != nil {
		t.Fatalf("removing a missing object: %v", err)
	}
}

func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Open(ctx, Options{Endpoint: "127.0.0.1:1", AccessKey: "k", SecretKey: "s", Bucket: "b-b-b"})
	if err == nil {
		t.Fatal("no error for an unreachable endpoint")
	}
	if want := "EVERCAST_S3_ENDPOINT"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error does not name %s: %v", want, err)
	}
}

// TestOpenNotS3 points the store at a web server that is not S3: the error
// must blame the endpoint, not the bucket.
func TestOpenNotS3(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>not here</html>", http.StatusNotFound)
	}))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Open(ctx, Options{Endpoint: strings.TrimPrefix(srv.URL, "http://"), AccessKey: "k", SecretKey: "s", Bucket: "evercast-x"})
	if err == nil {
		t.Fatal("no error for a web server that is not S3")
	}
	if want := "EVERCAST_S3_ENDPOINT"; !strings.Contains(err.Error(), want) {
		t.Fatalf("error does not name %s: %v", want, err)
	}
}
