// Package s3local runs an S3-compatible object store in-process on
// loopback, backed by a directory (gofakes3 with its afero filesystem
// backend). It is the embedded default, so that minio-go stays the single
// object-store code path whether or not a real MinIO is configured.
package s3local

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3afero"
	"github.com/spf13/afero"
)

// Server is a running embedded S3 endpoint.
type Server struct {
	// Endpoint is host:port on loopback.
	Endpoint string
	srv      *http.Server
	ln       net.Listener
	done     chan error
}

// Start serves the objects kept under dir on a random loopback port.
func Start(dir string, log *slog.Logger) (*Server, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("s3local: %w", err)
	}
	fs := afero.NewBasePathFs(afero.NewOsFs(), dir)
	backend, err := s3afero.MultiBucket(fs)
	if err != nil {
		return nil, fmt.Errorf("s3local: backend: %w", err)
	}
	faker := gofakes3.New(backend, gofakes3.WithLogger(quiet{log}), gofakes3.WithoutVersioning())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("s3local: listen: %w", err)
	}
	s := &Server{
		Endpoint: ln.Addr().String(),
		srv:      &http.Server{Handler: faker.Server(), ReadHeaderTimeout: 10 * time.Second},
		ln:       ln,
		done:     make(chan error, 1),
	}
	go func() { s.done <- s.srv.Serve(ln) }()
	return s, nil
}

// Close stops the server.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	if e := <-s.done; e != nil && !errors.Is(e, http.ErrServerClosed) {
		return e
	}
	return err
}

type quiet struct{ log *slog.Logger }

func (q quiet) Print(level gofakes3.LogLevel, v ...interface{}) {
	if q.log != nil && level == gofakes3.LogErr {
		q.log.Warn("s3local", "msg", fmt.Sprint(v...))
	}
}
