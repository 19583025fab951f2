package api

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/evercast/evercast"
)

// Log attribute keys.
const (
	logKeyRequestID = "request_id"
	logKeyMethod    = "method"
	logKeyRoute     = "route"
	logKeyPath      = "path"
	logKeyStatus    = "status"
	logKeyDuration  = "duration"
	logKeyCaller    = "caller"
	logKeyError     = "error"
	logKeyPanic     = "panic"
	logKeySessionID = "session_id"
)

// routeUnmatched labels requests that matched no route.
const routeUnmatched = "unmatched"

// requestInfo travels with a request so that the outer middleware can log
// what the inner handlers learnt.
type requestInfo struct {
	id     string
	route  string // the matched route, "METHOD /pattern"
	caller string // "operator" or a merchant id
}

type infoKey struct{}

// infoOf returns the request's info; a request that did not pass through
// instrument gets a throwaway one.
func infoOf(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(infoKey{}).(*requestInfo); ok {
		return ri
	}
	return &requestInfo{}
}

// requestID takes a sane X-Request-Id from the client or makes one.
func requestID(r *http.Request) string {
	if id := r.Header.Get("X-Request-Id"); id != "" && len(id) <= 64 && validID(id) {
		return id
	}
	return evercast.NewID("req")
}

// statusWriter records the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection over (websocket upgrades); the status is
// recorded as 101.
func (w *statusWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("api: the connection cannot be hijacked")
	}
	if w.status == 0 {
		w.status = http.StatusSwitchingProtocols
	}
	return h.Hijack()
}

// instrument gives every request an id, recovers panics as a JSON 500,
// counts and times the request by route, and logs one line for it.
func (s *Server) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		info := &requestInfo{id: requestID(r)}
		r = r.WithContext(context.WithValue(r.Context(), infoKey{}, info))
		w.Header().Set("X-Request-Id", info.id)
		sw := &statusWriter{ResponseWriter: w}

		abort := false
		func() {
			defer func() {
				v := recover()
				if v == nil {
					return
				}
				if v == http.ErrAbortHandler {
					abort = true // net/http's way to cut the response; re-raised below
					return
				}
				s.log.ErrorContext(r.Context(), "handler panic",
					slog.String(logKeyRequestID, info.id),
					slog.String(logKeyRoute, info.route),
					slog.String(logKeyPanic, fmt.Sprint(v)),
					slog.String("stack", string(debug.Stack())))
				if sw.status == 0 {
					writeHTTPError(sw, classify(errors.New("panic")))
				}
			}()
			next.ServeHTTP(sw, r)
		}()

		route := info.route
		if route == "" {
			route = routeUnmatched
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
			if abort {
				sw.status = 499 // the client's request was cut: nginx's "client closed request"
			}
		}
		elapsed := time.Since(start)
		s.metrics.observe(r.Method, route, sw.status, elapsed)
		attrs := []slog.Attr{
			slog.String(logKeyRequestID, info.id),
			slog.String(logKeyMethod, r.Method),
			slog.String(logKeyRoute, route),
			slog.String(logKeyPath, r.URL.Path),
			slog.Int(logKeyStatus, sw.status),
			slog.Duration(logKeyDuration, elapsed),
		}
		if info.caller != "" {
			attrs = append(attrs, slog.String(logKeyCaller, info.caller))
		}
		level := slog.LevelInfo
		if sw.status >= 500 {
			level = slog.LevelError
		}
		s.log.LogAttrs(r.Context(), level, "http request", attrs...)
		if abort {
			panic(http.ErrAbortHandler)
		}
	})
}

// muxErrorsAsJSON answers the ServeMux's own 404 and 405 responses as JSON
// errors like every other.
func (s *Server) muxErrorsAsJSON(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, pattern := mux.Handler(r)
		if pattern != "" {
			mux.ServeHTTP(w, r)
			return
		}
		rec := &headerRecorder{header: http.Header{}}
		h.ServeHTTP(rec, r)
		switch rec.status {
		case http.StatusNotFound:
			s.writeError(w, r, notFound("route"))
		case http.StatusMethodNotAllowed:
			w.Header().Set("Allow", rec.header.Get("Allow"))
			s.writeError(w, r, &httpError{status: http.StatusMethodNotAllowed, code: codeMethodNotAllowed,
				message: r.Method + " is not allowed here; allowed: " + rec.header.Get("Allow")})
		default:
			// A redirect to the cleaned path: let the mux answer it.
			mux.ServeHTTP(w, r)
		}
	})
}

// headerRecorder keeps a response's status and headers and drops its body.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }
func (h *headerRecorder) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}
func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}

// httpMetrics are the API's own Prometheus collectors.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry, version string) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "evercast", Subsystem: "http", Name: "requests_total",
			Help: "HTTP requests answered, by method, route pattern and status code.",
		}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "evercast", Subsystem: "http", Name: "request_duration_seconds",
			Help:    "Time to answer an HTTP request, by method and route pattern.",
			Buckets: prometheus.DefBuckets,
		}, []string{"method", "route"}),
	}
	m.requests = registerOrReuse(reg, m.requests)
	m.duration = registerOrReuse(reg, m.duration)
	build := registerOrReuse(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: "evercast", Name: "build_info",
		Help: "Always 1; the version label names the running build.",
	}, []string{"version"}))
	build.WithLabelValues(version).Set(1)
	return m
}

// registerOrReuse registers c, or returns the equal collector already
// registered (two Servers may share one registry).
func registerOrReuse[C prometheus.Collector](reg *prometheus.Registry, c C) C {
	if err := reg.Register(c); err != nil {
		if are, ok := err.(prometheus.AlreadyRegisteredError); ok {
			if prev, ok := are.ExistingCollector.(C); ok {
				return prev
			}
		}
		panic(fmt.Sprintf("api: register metrics: %v", err))
	}
	return c
}

func (m *httpMetrics) observe(method, route string, status int, d time.Duration) {
	m.requests.WithLabelValues(methodLabel(method), route, strconv.Itoa(status)).Inc()
	m.duration.WithLabelValues(methodLabel(method), route).Observe(d.Seconds())
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

func (s *Server) serveMetrics(w http.ResponseWriter, r *http.Request, _ *caller) error {
	s.metricsHandler.ServeHTTP(w, r)
	return nil
}

func newMetricsHandler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}
