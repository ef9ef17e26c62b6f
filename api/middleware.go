package api

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// reqInfo is what the middleware chain learns about a request: its id, the
// client address, the verified token subject. One value per request, put in
// the context once (each WithContext copies the request); later middleware
// fills in its fields before the handler runs.
type reqInfo struct {
	id      string
	client  Addr
	subject string
	within  *relay.Jurisdiction // the token's country claims; nil without
	sel     relay.Client        // clientOf's answer, once located is set
	located bool
}

type reqInfoKey struct{}

func infoFrom(ctx context.Context) *reqInfo {
	if ri, ok := ctx.Value(reqInfoKey{}).(*reqInfo); ok {
		return ri
	}
	return &reqInfo{}
}

func requestIDFrom(ctx context.Context) string { return infoFrom(ctx).id }

// withRequestID gives every request a fresh random id, returned in
// X-Request-Id and in problem bodies so a user's report can be matched to
// our logs. Incoming ids are ignored: they are client-chosen text.
func (s *server) withRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], rand.Uint64()) //nolint:gosec // G404: an id to match logs by, not a secret
		ri := &reqInfo{id: hex.EncodeToString(b[:])}
		w.Header()["X-Request-Id"] = []string{ri.id}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), reqInfoKey{}, ri)))
	})
}

// statusWriter remembers the status a handler wrote.
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

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog logs one line per request: method, route pattern, status,
// duration and request id. Never the raw path, the query, the client
// address or any header. Health and metrics scrapes log at debug.
func (s *server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		end := time.Now()
		dur := end.Sub(start)
		route := routePattern(r)
		s.metrics.observe(r.Method, route, sw.status, dur)
		level := slog.LevelInfo
		switch route {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug
		}
		h := s.log.Handler()
		if !h.Enabled(r.Context(), level) {
			return
		}
		// The record is made here rather than by Logger.LogAttrs, which
		// walks the stack for a caller PC on every line: this line's source
		// is always this function, and no handler of ours prints it.
		rec := slog.NewRecord(end, level, "request", 0)
		rec.AddAttrs(slog.String("method", methodLabel(r.Method)), slog.String("route", route), slog.Int("status", sw.status),
			slog.Float64("dur_ms", float64(dur.Microseconds())/1000),
			slog.String("request_id", requestIDFrom(r.Context())))
		_ = h.Handle(r.Context(), rec)
	})
}

// recoverer turns a handler panic into a logged 500 instead of a dropped
// connection. No panic is expected: this is the last line of defence.
func (s *server) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(v)
				}
				s.log.Error("handler panic", "route", routePattern(r), "panic", v)
				writeProblem(w, r, &httpError{status: http.StatusInternalServerError, typ: "internal",
					detail: "the gateway could not complete the request"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}
