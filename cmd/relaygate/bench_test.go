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
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/redis/go-redis/v9"

	"github.com/relaygate/relaygate/api"
	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/geoip"
	"github.com/relaygate/relaygate/internal/geoiptest"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/ratelimit"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// benchMetros is the bench's world: relays and clients in these metros.
const benchMetros = 50

// benchGateway wires the API as run() does (memory store, the gateway with
// the flags' defaults, GeoIP, JSON access log at info, discarded) over n
// fresh relays in benchMetros metros (four sites each, every relay within
// about 20 km of its metro's centre, loads up to 60 %, every fifth with an
// IPv6 address, every third with TLS), with a GeoIP database placing
// 10.M.0.0/16 at metro M, and 127.0.0.1 as a trusted proxy; lim, when
// given, is its rate limiter.
func benchGateway(b *testing.B, n int, lim ...api.Limiter) http.Handler {
	b.Helper()
	ctx := context.Background()
	reg, err := store.NewMemory(store.MemoryConfig{Replica: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	rng := mrand.New(mrand.NewPCG(1, 2))
	metros := make([]relay.Location, benchMetros)
	for i := range metros {
		metros[i] = relay.Location{Latitude: rng.Float64()*120 - 60, Longitude: rng.Float64()*360 - 180}
	}
	for i := range n {
		m := metros[i%benchMetros]
		r := relay.Relay{
			ID: fmt.Sprintf("r%05d", i), Region: fmt.Sprintf("reg%d", i%benchMetros), Site: fmt.Sprintf("m%d-s%d", i%benchMetros, (i/benchMetros)%4),
			Location:  relay.Location{Latitude: m.Latitude + (rng.Float64()-0.5)*0.4, Longitude: m.Longitude + (rng.Float64()-0.5)*0.4},
			Addresses: []netip.Addr{netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})},
			Ports:     relay.Ports{relay.UDP: 3478, relay.TCP: 3478},
			Capacity:  relay.Capacity{Allocations: 20000},
			Load:      relay.Load{Allocations: rng.Int64N(12000)},
		}
		if i%5 == 0 {
			r.Addresses = append(r.Addresses, netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: byte(i >> 8), 15: byte(i)}))
		}
		if i%3 == 0 {
			r.Hostname, r.Ports[relay.TLS] = fmt.Sprintf("r%05d.relays.bench.example", i), 5349
		}
		if err := reg.Heartbeat(ctx, r, 10*time.Minute); err != nil {
			b.Fatal(err)
		}
	}
	sec, err := turncred.NewSecret("r0", testTURNSecret)
	if err != nil {
		b.Fatal(err)
	}
	minter, err := turncred.NewMinter([]turncred.Secret{sec}, []byte("pseudonym-key-0123456789"))
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	geo, err := geoip.Open(benchGeoIPDB(b, metros), log)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { geo.Close() })
	defaults, err := parseConfig(nil, func(string) string { return "" }, io.Discard)
	if err != nil {
		b.Fatal(err)
	}
	gw, err := gateway.New(gatewayConfig(defaults), gateway.Deps{
		Store: reg, Minter: minter, Log: log, Now: time.Now, Rand: mrand.Uint64,
	})
	if err != nil {
		b.Fatal(err)
	}
	if err := gw.Refresh(ctx); err != nil { // the relays were written to the store directly
		b.Fatal(err)
	}
	var limiter api.Limiter
	if len(lim) > 0 {
		limiter = lim[0]
	}
	h, err := api.New(api.Config{
		HeartbeatTTL:   10 * time.Minute,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")},
		User:           api.KeyConfig{Secret: []byte(testUserSecret)},
		Node:           api.KeyConfig{Secret: []byte(testNodeSecret)},
	}, api.Deps{Registry: gw, Picker: gw, Minter: gw, Measurements: gw, Revocations: gw, Locator: geo, Log: log, Metrics: api.NewMetrics(nil), Limiter: limiter})
	if err != nil {
		b.Fatal(err)
	}
	return h
}

// benchGeoIPDB writes a GeoLite2-City-layout database placing 10.M.0.0/16
// at metros[M] and returns its path.
func benchGeoIPDB(b *testing.B, metros []relay.Location) string {
	b.Helper()
	places := make([]geoiptest.Place, len(metros))
	for i, m := range metros {
		places[i] = geoiptest.Place{Network: netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(i), 0, 0}), 16), Lat: m.Latitude, Lon: m.Longitude}
	}
	data, err := geoiptest.DB("GeoLite2-City", places...)
	if err != nil {
		b.Fatal(err)
	}
	path := filepath.Join(b.TempDir(), "city.mmdb")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		b.Fatal(err)
	}
	return path
}

// benchClients are client addresses in the metros, as X-Forwarded-For values.
func benchClients(n int) []string {
	rng := mrand.New(mrand.NewPCG(3, 4))
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("10.%d.%d.%d", rng.IntN(benchMetros), rng.IntN(256), 1+rng.IntN(254))
	}
	return out
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
// through the same middleware. Clients come through a trusted proxy from
// addresses GeoIP places in the metros (as in production), each goroutine
// with its token (reused, so the token cache answers), or with a new token
// every time, or from 127.0.0.1, which GeoIP cannot place.
func BenchmarkCredentialsHandler(b *testing.B) {
	h := benchGateway(b, 10000)
	clients := benchClients(4096)
	var next atomic.Int64
	credentials := func(tok string) func() *http.Request {
		return func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/v1/credentials", http.NoBody)
			r.ContentLength = 0 // as net/http reads "Content-Length: 0"
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("Authorization", "Bearer "+tok)
			r.Header.Set("X-Forwarded-For", clients[0])
			return r
		}
	}
	nextClient := func(r *http.Request) { r.Header["X-Forwarded-For"][0] = clients[next.Add(1)%int64(len(clients))] }
	tok := benchUserToken(b, "bench-user")
	b.Run("credentials", func(b *testing.B) {
		benchRequests(b, h, credentials(tok), nextClient)
	})
	// Every request with a token the gateway has not seen (more tokens than
	// its token cache holds, taken in turn): the full JWT check each time.
	toks := make([]string, 50000)
	for i := range toks {
		toks[i] = "Bearer " + benchUserToken(b, fmt.Sprintf("bench-user-%d", i))
	}
	b.Run("credentials-new-token", func(b *testing.B) {
		benchRequests(b, h, credentials(tok), nextClient,
			func(r *http.Request) { r.Header["Authorization"][0] = toks[next.Load()%int64(len(toks))] })
	})
	b.Run("credentials-unlocated", func(b *testing.B) {
		benchRequests(b, h, func() *http.Request {
			r := credentials(tok)()
			r.Header.Del("X-Forwarded-For")
			return r
		})
	})
	b.Run("healthz", func(b *testing.B) {
		benchRequests(b, h, func() *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/healthz", http.NoBody)
			r.RemoteAddr = "127.0.0.1:40000"
			return r
		})
	})
}

// unhitRules turn every rate-limit scope on at a rule no benchmark reaches,
// so what they cost is counted and nothing is refused.
func unhitRules() map[string]ratelimit.Rule {
	r := ratelimit.Rule{Limit: 1_000_000_000, Window: time.Second, Burst: 1_000_000_000}
	return map[string]ratelimit.Rule{"user": r, "prefix": r, "measurements": r, "relay": r}
}

// BenchmarkCredentialsLimited is the credentials handler with a reused
// token (as BenchmarkCredentialsHandler's credentials) with every rate limit
// on but never reached: none, in memory, and (with RELAYGATE_TEST_REDIS_URL)
// on Redis, syncing in the background as in production.
func BenchmarkCredentialsLimited(b *testing.B) {
	clients := benchClients(4096)
	var next atomic.Int64
	nextClient := func(r *http.Request) { r.Header["X-Forwarded-For"][0] = clients[next.Add(1)%int64(len(clients))] }
	tok := benchUserToken(b, "bench-user")
	run := func(b *testing.B, lim ...api.Limiter) {
		h := benchGateway(b, 10000, lim...)
		benchRequests(b, h, func() *http.Request {
			r := httptest.NewRequest(http.MethodPost, "/v1/credentials", http.NoBody)
			r.ContentLength = 0
			r.RemoteAddr = "127.0.0.1:40000"
			r.Header.Set("Authorization", "Bearer "+tok)
			r.Header.Set("X-Forwarded-For", clients[0])
			return r
		}, nextClient)
	}
	b.Run("none", func(b *testing.B) { run(b) })
	b.Run("memory", func(b *testing.B) {
		m, err := ratelimit.NewMemory(ratelimit.Config{Rules: unhitRules()})
		if err != nil {
			b.Fatal(err)
		}
		run(b, m)
	})
	b.Run("redis", func(b *testing.B) {
		url := os.Getenv("RELAYGATE_TEST_REDIS_URL")
		if url == "" {
			b.Skip("RELAYGATE_TEST_REDIS_URL not set")
		}
		opts, err := redis.ParseURL(url)
		if err != nil {
			b.Fatal(err)
		}
		c := redis.NewClient(opts)
		prefix := fmt.Sprintf("relaygate-bench:%x:", mrand.Uint64())
		b.Cleanup(func() { cleanRedis(b, url, "rate:"+prefix); _ = c.Close() })
		l, err := ratelimit.NewRedis(ratelimit.RedisConfig{Config: ratelimit.Config{Rules: unhitRules()}, Client: c, Prefix: prefix, HashKey: []byte("bench-hash-key-0123456789")})
		if err != nil {
			b.Fatal(err)
		}
		testenv.RunUntilCleanup(b, "limiter Run()", l.Run)
		run(b, l)
	})
}
