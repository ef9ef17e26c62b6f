package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/selector"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// benchGateway wires the API as run() does (memory store, snapshot, picker,
// minter, JSON access log at info, discarded) over n fresh relays.
func benchGateway(b *testing.B, n int) http.Handler {
	b.Helper()
	ctx := context.Background()
	reg, err := store.NewMemory(store.MemoryConfig{Replica: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	for i := range n {
		r := selector.Relay{
			ID: fmt.Sprintf("r%05d", i), Region: fmt.Sprintf("reg%d", i%50), Site: fmt.Sprintf("site%d", i%200),
			Location:  selector.Location{Latitude: rng.Float64()*120 - 60, Longitude: rng.Float64()*360 - 180},
			Addresses: []netip.Addr{netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})},
			Ports:     selector.Ports{UDP: 3478, TCP: 3478},
			Capacity:  selector.Capacity{Allocations: 20000},
			Load:      selector.Load{Allocations: rng.Int64N(12000)},
		}
		if i%3 == 0 {
			r.Hostname, r.Ports.TLS = fmt.Sprintf("r%05d.relays.bench.example", i), 5349
		}
		if err := reg.Heartbeat(ctx, r, 10*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	snaps := store.NewSnapshots(reg, store.SnapshotsConfig{}, nil)
	if err := snaps.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	sec, err := turncred.NewSecret("r0", testTURNSecret)
	if err != nil {
		b.Fatal(err)
	}
	minter, err := turncred.NewMinter([]turncred.Secret{sec}, []byte("pseudonym-key-0123456789"))
	if err != nil {
		b.Fatal(err)
	}
	pk := &picker{snaps: snaps, primaries: store.NewPrimaries(0), now: time.Now, exploreShare: 0.03, rand: mrand.Uint64}
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	h, err := api.New(api.Config{
		HeartbeatTTL: 10 * time.Minute,
		User:         api.KeyConfig{Secret: []byte(testUserSecret)},
		Node:         api.KeyConfig{Secret: []byte(testNodeSecret)},
	}, api.Deps{Registry: reg, Picker: pk, Minter: credMinter{m: minter}, Log: log, Metrics: api.NewMetrics(nil)})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// discardWriter is a minimal http.ResponseWriter, so the benchmark measures
// the handler rather than httptest.ResponseRecorder.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }

func benchUserToken(b *testing.B, sub string) string {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.RegisteredClaims{
		Subject: sub, ExpiresAt: jwt.NewNumericDate(time.Now().Add(time.Hour)),
	}).SignedString([]byte(testUserSecret))
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// benchRequests serves newReq's request over and over, each goroutine its
// own; vary (if given) changes it before each round.
func benchRequests(b *testing.B, h http.Handler, newReq func() *http.Request, vary ...func(*http.Request)) {
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		w := &discardWriter{h: http.Header{}}
		req := newReq() // reused: the handlers never modify the request they get
		for pb.Next() {
			for _, f := range vary {
				f(req)
			}
			clear(w.h)
			w.status = 0
			h.ServeHTTP(w, req)
			if w.status != http.StatusOK {
				b.Errorf("status %d", w.status)
				return
			}
		}
	})
}

// BenchmarkCredentialsHandler is POST /v1/credentials (empty body, HS256
// user token) through the real wiring with 10k relays, beside GET /healthz
// through the same middleware. The client is unlocated (no GeoIP), so Rank
// takes its fallback pass over every relay.
func BenchmarkCredentialsHandler(b *testing.B) {
	h := benchGateway(b, 10000)
	tok := benchUserToken(b, "bench-user")
	b.Run("credentials", func(b *testing.B) {
		benchRequests(b, h, func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/v1/credentials", http.NoBody)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("Authorization", "Bearer "+tok)
			return r
		})
	})
	// Every request with a token the gateway has not seen (more tokens than
	// its token cache holds, taken in turn): the full JWT check each time.
	toks := make([]string, 50000)
	for i := range toks {
		toks[i] = "Bearer " + benchUserToken(b, fmt.Sprintf("bench-user-%d", i))
	}
	b.Run("credentials-new-token", func(b *testing.B) {
		var next atomic.Int64
		benchRequests(b, h, func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/v1/credentials", http.NoBody)
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("Authorization", toks[0])
			return r
		}, func(r *http.Request) { r.Header["Authorization"][0] = toks[next.Add(1)%int64(len(toks))] })
	})
	b.Run("healthz", func(b *testing.B) {
		benchRequests(b, h, func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/healthz", http.NoBody)
			r.RemoteAddr = "127.0.0.1:40000"
			return r
		})
	})
}
