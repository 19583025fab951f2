// Package assets keeps Evercast's objects in S3-compatible storage through
// minio-go: voiced audio, rendered clips (content-addressed), and audit
// archives; with the key layout, metadata, presigned URLs and retention.
// The avatar packs shipped in the binary live in the avatars subpackage.
package assets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/evercast/evercast"
	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Options locate the bucket.
type Options struct {
	Endpoint  string // host:port
	Secure    bool
	AccessKey string
	SecretKey string
	Bucket    string
	Region    string
}

// Store is a bucket.
type Store struct {
	client *minio.Client
	bucket string
}

// Open connects, checks the credentials and makes the bucket when missing.
// Errors name the setting to fix.
func Open(ctx context.Context, o Options) (*Store, error) {
	client, err := minio.New(o.Endpoint, &minio.Options{
		Creds:  credentials.NewStaticV4(o.AccessKey, o.SecretKey, ""),
		Secure: o.Secure,
		Region: o.Region,
	})
	if err != nil {
		return nil, fmt.Errorf("object store: EVERCAST_S3_ENDPOINT %q: %w", o.Endpoint, err)
	}
	s := &Store{client: client, bucket: o.Bucket}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	ok, err := client.BucketExists(ctx, o.Bucket)
	if err != nil {
		var resp minio.ErrorResponse
		if errors.As(err, &resp) {
			switch resp.Code {
			case "InvalidAccessKeyId":
				return nil, fmt.Errorf("object store: EVERCAST_S3_ACCESS_KEY is not accepted by %s: %w", o.Endpoint, err)
			case "SignatureDoesNotMatch":
				return nil, fmt.Errorf("object store: EVERCAST_S3_SECRET_KEY is not accepted by %s: %w", o.Endpoint, err)
			case "AccessDenied":
				return nil, fmt.Errorf("object store: EVERCAST_S3_ACCESS_KEY/EVERCAST_S3_SECRET_KEY may not use bucket %q: %w", o.Bucket, err)
			}
		}
		if notS3(err) {
			return nil, fmt.Errorf("object store: EVERCAST_S3_ENDPOINT %s does not answer as an S3 server: %w", o.Endpoint, err)
		}
		return nil, fmt.Errorf("object store: cannot reach EVERCAST_S3_ENDPOINT %s: %w", o.Endpoint, err)
	}
	if !ok {
		if err := client.MakeBucket(ctx, o.Bucket, minio.MakeBucketOptions{Region: o.Region}); err != nil {
			var resp minio.ErrorResponse
			switch {
			case errors.As(err, &resp) && (resp.Code == "BucketAlreadyOwnedByYou" || resp.Code == "BucketAlreadyExists"):
				// Another process made it first.
			case notS3(err):
				// A web server that is not S3 answers the bucket probe with
				// a bare 404, which reads as "no such bucket".
				return nil, fmt.Errorf("object store: EVERCAST_S3_ENDPOINT %s does not answer as an S3 server (make bucket %q: %w)", o.Endpoint, o.Bucket, err)
			default:
				return nil, fmt.Errorf("object store: make EVERCAST_S3_BUCKET %q: %w", o.Bucket, err)
			}
		}
	}
	return s, nil
}

// notS3 reports whether err is an HTTP answer that no S3 server would give:
// S3 and MinIO put a request id on every response, error or not.
func notS3(err error) bool {
	var resp minio.ErrorResponse
	return errors.As(err, &resp) && resp.StatusCode != 0 && resp.RequestID == ""
}

// Client exposes the minio client for operations this package does not wrap.
func (s *Store) Client() *minio.Client { return s.client }

// Bucket is the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// Key layout.
const (
	PrefixAudio   = "audio/"
	PrefixClips   = "clips/"
	PrefixStaging = "staging/"
	PrefixArchive = "archive/"
)

// AudioKey is the content address of voiced audio.
func AudioKey(sha string) string { return PrefixAudio + sha[:2] + "/" + sha + ".wav" }

// ClipKey is the content address of a rendered clip.
func ClipKey(sha string) string { return PrefixClips + sha[:2] + "/" + sha + ".ts" }

// StagingKey is where a render leaves a clip for the store stage.
func StagingKey(clipID string) string { return PrefixStaging + clipID + ".ts" }

// SHA256 returns the hex digest of b.
func SHA256(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Put stores b under key with content type and user metadata.
func (s *Store) Put(ctx context.Context, key string, b []byte, contentType string, meta map[string]string) error {
	_, err := s.client.PutObject(ctx, s.bucket, key, bytes.NewReader(b), int64(len(b)), minio.PutObjectOptions{
		ContentType:  contentType,
		UserMetadata: meta,
	})
	if err != nil {
		return fmt.Errorf("put %s: %w", key, err)
	}
	return nil
}

// Get reads an object whole. A missing object wraps evercast.ErrNotFound.
func (s *Store) Get(ctx context.Context, key string) ([]byte, error) {
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.wrap(key, err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		return nil, s.wrap(key, err)
	}
	return b, nil
}

// Info describes a stored object.
type Info struct {
	Key      string
	Size     int64
	Metadata map[string]string
}

// Stat returns an object's size and user metadata (lower-case keys without
// the x-amz-meta- prefix).
func (s *Store) Stat(ctx context.Context, key string) (Info, error) {
	st, err := s.client.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return Info{}, s.wrap(key, err)
	}
	meta := map[string]string{}
	for k, v := range st.UserMetadata {
		meta[strings.ToLower(k)] = v
	}
	for k, v := range st.Metadata {
		lk := strings.ToLower(k)
		if after, ok := strings.CutPrefix(lk, "x-amz-meta-"); ok && len(v) > 0 {
			meta[after] = v[0]
		}
	}
	return Info{Key: key, Size: st.Size, Metadata: meta}, nil
}

// Remove deletes an object; a missing one is not an error.
func (s *Store) Remove(ctx context.Context, key string) error {
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusNotFound {
			return nil
		}
		return fmt.Errorf("remove %s: %w", key, err)
	}
	return nil
}

// Presign returns a URL a player can GET the object from until expiry.
func (s *Store) Presign(ctx context.Context, key string, expiry time.Duration) (*url.URL, error) {
	u, err := s.client.PresignedGetObject(ctx, s.bucket, key, expiry, nil)
	if err != nil {
		return nil, fmt.Errorf("presign %s: %w", key, err)
	}
	return u, nil
}

// Ping checks that the bucket answers.
func (s *Store) Ping(ctx context.Context) error {
	if _, err := s.client.BucketExists(ctx, s.bucket); err != nil {
		return fmt.Errorf("object store: %w", err)
	}
	return nil
}

func (s *Store) wrap(key string, err error) error {
	resp := minio.ToErrorResponse(err)
	if resp.StatusCode == http.StatusNotFound || resp.Code == "NoSuchKey" {
		return fmt.Errorf("object %s: %w", key, evercast.ErrNotFound)
	}
	return fmt.Errorf("object %s: %w", key, err)
}
