// Command loadgen is the relaygate gateway load bench: it registers N relays
// through PUT /v1/relays/{id} with node JWTs it mints itself, then loads
// GET /healthz and POST /v1/credentials in interleaved, time-bounded phases
// over the same keep-alive connections, and prints throughput, latency
// percentiles, errors and the server's CPU per request for each. See
// bench/gateway/README.md; bench/gateway/run.sh drives it.
//
// Safety: it only ever opens TCP connections to -addr, which must be a
// loopback address (127.0.0.0/8 or ::1). The relay addresses it registers
// are data (198.18.0.0/15, RFC 2544 benchmarking, and 2001:db8::/32, RFC
// 3849 documentation); nothing here sends a packet to them, and the gateway
// must run with --probe-interval 0 so it does not either.
//
// The load path is lean on purpose (it shares the machine's cores with the
// server): each connection is one goroutine writing a request prebuilt as
// bytes and reading the response with a small hand-written HTTP/1.1 parser
// into a reused buffer; latencies go into a per-connection fixed-size
// histogram. No allocation per request.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/relaygate/relaygate/internal/devtoken"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/wire"
)

type options struct {
	addr        string
	relays      int
	regConns    int
	conns       int
	warmup      time.Duration
	duration    time.Duration
	rounds      int
	maxRequests int64
	serverPID   int
	label       string
	p99Target   time.Duration
	ratioTarget float64
	newTokens   int
	located     bool
	mmdbOut     string
}

func main() {
	var o options
	flag.StringVar(&o.addr, "addr", "127.0.0.1:8080", "gateway address; must be loopback")
	flag.IntVar(&o.relays, "relays", 10000, "relays to register before the load phases")
	flag.IntVar(&o.regConns, "register-conns", 16, "concurrent PUTs while registering")
	flag.IntVar(&o.conns, "conns", 16, "keep-alive connections (one request in flight each) during load phases")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unrecorded warm-up per endpoint before the first round")
	flag.DurationVar(&o.duration, "duration", 5*time.Second, "length of one measured phase; each endpoint gets -rounds of them")
	flag.IntVar(&o.rounds, "rounds", 2, "rounds of (healthz, credentials) phases")
	flag.Int64Var(&o.maxRequests, "max-requests", 2_000_000, "hard cap on requests per phase")
	flag.IntVar(&o.serverPID, "server-pid", 0, "gateway PID, to report its CPU use per phase (0: not reported)")
	flag.StringVar(&o.label, "label", "", "configuration name printed in the header")
	flag.DurationVar(&o.p99Target, "p99-target", 5*time.Millisecond, "credentials p99 must be under this")
	flag.Float64Var(&o.ratioTarget, "ratio-target", 0.5, "credentials throughput must be at least this share of healthz's")
	flag.IntVar(&o.newTokens, "new-tokens", 100_000, "distinct user tokens the new-token credentials phase takes in turn, more than the gateway's token cache holds (0: no such phase)")
	flag.BoolVar(&o.located, "located", true, "credentials requests carry X-Forwarded-For with a client address the bench GeoIP database places (the gateway must trust 127.0.0.1 and load that database); false: the client is 127.0.0.1, which GeoIP cannot place")
	flag.StringVar(&o.mmdbOut, "write-geoip-db", "", "write the bench GeoIP database (GeoLite2-City layout) to this path and exit")
	flag.Parse()
	if o.mmdbOut != "" {
		if err := writeCityDB(o.mmdbOut); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen:", err)
			os.Exit(1)
		}
		return
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, o options) error {
	if err := checkLoopback(o.addr); err != nil {
		return err
	}
	nodeSecret, userSecret, adminSecret := os.Getenv("BENCH_NODE_SECRET"), os.Getenv("BENCH_USER_SECRET"), os.Getenv("BENCH_ADMIN_SECRET")
	if nodeSecret == "" || userSecret == "" {
		return errors.New("BENCH_NODE_SECRET and BENCH_USER_SECRET must be set (the gateway's --node-jwt-secret and --user-jwt-secret)")
	}
	if o.conns < 1 || o.rounds < 1 || o.duration <= 0 {
		return errors.New("-conns, -rounds and -duration must be positive")
	}
	if o.newTokens < 0 || o.newTokens > 1_000_000 {
		return errors.New("-new-tokens must be between 0 and 1000000")
	}
	base := "http://" + o.addr
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: o.regConns}}
	if err := waitHealthy(ctx, hc, base); err != nil {
		return err
	}

	start := time.Now()
	if err := register(ctx, hc, base, o.relays, o.regConns, []byte(nodeSecret)); err != nil {
		return err
	}
	regDur := time.Since(start)
	if adminSecret != "" {
		if err := checkRegistered(ctx, hc, base, o.relays, []byte(adminSecret)); err != nil {
			return err
		}
	}
	// A token per connection, which that client sends with every request,
	// and a pool of tokens that each come round only after all the others.
	reused := mintUsers([]byte(userSecret), "bench-user-", o.conns)
	fresh := mintUsers([]byte(userSecret), "bench-new-user-", o.newTokens)
	// Client addresses (X-Forwarded-For), or none: the client is then
	// the loadgen's own loopback address.
	var reusedAddrs, freshAddrs []string
	sampleXFF := ""
	if o.located {
		reusedAddrs = clientAddrs(o.conns*256, 1)
		freshAddrs = clientAddrs(len(fresh), 2)
		sampleXFF = reusedAddrs[0]
	}
	sample, err := sampleCredentials(ctx, hc, base, reused[0], sampleXFF)
	if err != nil {
		return err
	}
	hc.CloseIdleConnections()

	fmt.Printf("== relaygate gateway bench%s\n", labelSuffix(o.label))
	fmt.Printf("server %s  relays registered %d in %.1fs (%.0f PUT/s)  cores %d  loadgen GOMAXPROCS %d\n",
		o.addr, o.relays, regDur.Seconds(), float64(o.relays)/regDur.Seconds(), runtime.NumCPU(), runtime.GOMAXPROCS(0))
	fmt.Printf("load: %d keep-alive conns, 1 request in flight each (closed loop); warm-up %v per endpoint; %d rounds x %v per endpoint, interleaved; cap %d requests/phase\n",
		o.conns, o.warmup, o.rounds, o.duration, o.maxRequests)
	if o.located {
		fmt.Printf("clients: located by the bench GeoIP database, %d + %d addresses in %d cities, sent as X-Forwarded-For by 127.0.0.1 (a trusted proxy)\n",
			len(reusedAddrs), len(freshAddrs), len(cities))
	} else {
		fmt.Printf("clients: 127.0.0.1, which GeoIP cannot place (selection falls back to load order)\n")
	}
	fmt.Printf("credentials requests: (reused token) each connection sends its own token every time, as a client does while it holds one;\n"+
		"  (new token) %d tokens taken in turn, more than the gateway's token cache holds, so each is verified in full\n", o.newTokens)
	fmt.Printf("sample credentials answer: %s\n\n", sample)

	host := o.addr
	// credReqs builds max(len(toks), len(addrs)) requests, the i-th with
	// token i mod len(toks) and address i mod len(addrs). With the reused
	// tokens, one per connection and conns*256 addresses, connection i
	// always sends token i (see phase) from 256 addresses in turn.
	credReqs := func(toks, addrs []string) [][]byte {
		reqs := make([][]byte, max(len(toks), len(addrs)))
		for i := range reqs {
			xff := ""
			if len(addrs) > 0 {
				xff = "X-Forwarded-For: " + addrs[i%len(addrs)] + "\r\n"
			}
			reqs[i] = []byte("POST /v1/credentials HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: relaygate-loadgen\r\nAuthorization: Bearer " +
				toks[i%len(toks)] + "\r\n" + xff + "Content-Length: 0\r\n\r\n")
		}
		return reqs
	}
	eps := []*endpoint{
		{name: "GET /healthz", short: "healthz", req: [][]byte{[]byte("GET /healthz HTTP/1.1\r\nHost: " + host + "\r\nUser-Agent: relaygate-loadgen\r\n\r\n")}},
		{name: "POST /v1/credentials (reused token)", short: "credentials", req: credReqs(reused, reusedAddrs)},
	}
	if len(fresh) > 0 {
		eps = append(eps, &endpoint{name: "POST /v1/credentials (new token)", short: "credentials-new", req: credReqs(fresh, freshAddrs)})
	}

	pool := newConnPool(o.addr, o.conns)
	defer pool.close()
	if err := pool.dial(ctx); err != nil {
		return err
	}

	for _, ep := range eps {
		if o.warmup > 0 {
			pool.phase(ctx, ep.req, o.warmup, o.maxRequests, o.serverPID) // discarded
		}
	}
	header := func(first, second string) {
		fmt.Printf("%-36s %5s %9s %9s %8s %8s %8s %8s %6s %8s %10s %7s\n",
			first, second, "requests", "req/s", "p50", "p90", "p99", "max", "errors", "srv-cpu", "srv-us/req", "lg-cpu")
	}
	header("phase", "round")
	for round := 1; round <= o.rounds; round++ {
		for _, ep := range eps {
			res := pool.phase(ctx, ep.req, o.duration, o.maxRequests, o.serverPID)
			ep.add(res)
			printRow(ep.name, strconv.Itoa(round), res)
		}
	}
	fmt.Println()
	header("endpoint (all rounds)", "")
	for _, ep := range eps {
		printRow(ep.name, "all", ep.sum)
	}
	fmt.Println()
	verdict := func(ok bool) string {
		if ok {
			return "PASS"
		}
		return "FAIL"
	}
	h := eps[0].sum
	var errs []string
	for _, ep := range eps[1:] {
		c := ep.sum
		ratio := c.rps() / h.rps()
		fmt.Printf("%s:\n", ep.name)
		fmt.Printf("  throughput ratio credentials/healthz: %.3f (%.0f / %.0f req/s)\n", ratio, c.rps(), h.rps())
		if h.srvCPU > 0 && c.srvCPU > 0 {
			fmt.Printf("  server CPU per request: healthz %.1f us, credentials %.1f us (ratio of costs healthz/credentials %.3f)\n",
				h.srvUSPerReq(), c.srvUSPerReq(), h.srvUSPerReq()/c.srvUSPerReq())
		}
		p99 := c.hist.quantile(0.99)
		fmt.Printf("  target credentials >= %.0f%% of healthz throughput: %s (%.1f%%)\n", o.ratioTarget*100, verdict(ratio >= o.ratioTarget), ratio*100)
		fmt.Printf("  target credentials p99 < %v: %s (p99 %s)\n", o.p99Target, verdict(p99 < o.p99Target), fmtDur(p99))
		errs = append(errs, fmt.Sprintf("%s %d", ep.short, c.errors))
	}
	all := make([]*result, len(eps))
	for i, ep := range eps {
		all[i] = ep.sum
	}
	fmt.Printf("errors: healthz %d, %s%s\n", h.errors, strings.Join(errs, ", "), errorDetail(all...))
	return nil
}

// mintUsers mints n user tokens valid for an hour, subjects prefix0, prefix1, ...
func mintUsers(secret []byte, prefix string, n int) []string {
	toks := make([]string, n)
	for i := range toks {
		toks[i] = mint(secret, prefix+strconv.Itoa(i), time.Hour)
	}
	return toks
}

func labelSuffix(l string) string {
	if l == "" {
		return ""
	}
	return ": " + l
}

func errorDetail(rs ...*result) string {
	var parts []string
	for _, r := range rs {
		for k, v := range r.errKinds {
			parts = append(parts, fmt.Sprintf("%s=%d", k, v))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	a, err := netip.ParseAddr(host)
	if err != nil || !a.IsLoopback() {
		return fmt.Errorf("-addr %q: must be a loopback IP literal (127.0.0.0/8 or ::1); this bench never sends elsewhere", addr)
	}
	return nil
}

func mint(secret []byte, sub string, ttl time.Duration) string {
	s, err := devtoken.Sign(string(secret), sub, ttl)
	if err != nil {
		panic(err)
	}
	return s
}

func waitHealthy(ctx context.Context, hc *http.Client, base string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := healthz(ctx, hc, base)
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("gateway at %s not healthy after 15s: %w", base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// healthz asks the gateway's /healthz once.
func healthz(ctx context.Context, hc *http.Client, base string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", http.NoBody)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET /healthz: %s", resp.Status)
	}
	return nil
}

// ---- registration -------------------------------------------------------

// city is a real place; relays are spread over these with a little jitter.
type city struct {
	slug, region string
	lat, lon     float64
}

var cities = []city{
	{"fra", "eu-central", 50.11, 8.68}, {"ams", "eu-west", 52.37, 4.90}, {"lon", "eu-west", 51.51, -0.13},
	{"par", "eu-west", 48.86, 2.35}, {"mad", "eu-south", 40.42, -3.70}, {"mil", "eu-south", 45.46, 9.19},
	{"waw", "eu-central", 52.23, 21.01}, {"sto", "eu-north", 59.33, 18.07}, {"hel", "eu-north", 60.17, 24.94},
	{"vie", "eu-central", 48.21, 16.37}, {"dub", "eu-west", 53.35, -6.26}, {"ist", "eu-south", 41.01, 28.98},
	{"nyc", "us-east", 40.71, -74.01}, {"iad", "us-east", 38.95, -77.45}, {"atl", "us-east", 33.75, -84.39},
	{"mia", "us-east", 25.76, -80.19}, {"chi", "us-central", 41.88, -87.63}, {"dfw", "us-central", 32.78, -96.80},
	{"den", "us-central", 39.74, -104.99}, {"sea", "us-west", 47.61, -122.33}, {"sfo", "us-west", 37.77, -122.42},
	{"lax", "us-west", 34.05, -118.24}, {"yyz", "ca-east", 43.65, -79.38}, {"yvr", "ca-west", 49.28, -123.12},
	{"mex", "mx-central", 19.43, -99.13}, {"gru", "sa-east", -23.55, -46.63}, {"eze", "sa-south", -34.60, -58.38},
	{"scl", "sa-south", -33.45, -70.67}, {"bog", "sa-north", 4.71, -74.07}, {"lim", "sa-west", -12.05, -77.04},
	{"tyo", "ap-northeast", 35.68, 139.69}, {"osa", "ap-northeast", 34.69, 135.50}, {"sel", "ap-northeast", 37.57, 126.98},
	{"hkg", "ap-east", 22.32, 114.17}, {"tpe", "ap-east", 25.03, 121.57}, {"sin", "ap-southeast", 1.35, 103.82},
	{"kul", "ap-southeast", 3.14, 101.69}, {"bkk", "ap-southeast", 13.76, 100.50}, {"jkt", "ap-southeast", -6.21, 106.85},
	{"mnl", "ap-southeast", 14.60, 120.98}, {"bom", "ap-south", 19.08, 72.88}, {"del", "ap-south", 28.70, 77.10},
	{"blr", "ap-south", 12.97, 77.59}, {"syd", "ap-oceania", -33.87, 151.21}, {"mel", "ap-oceania", -37.81, 144.96},
	{"akl", "ap-oceania", -36.85, 174.76}, {"dxb", "me-central", 25.20, 55.27}, {"tlv", "me-central", 32.09, 34.78},
	{"jnb", "af-south", -26.20, 28.05}, {"cpt", "af-south", -33.92, 18.42}, {"los", "af-west", 6.52, 3.38},
	{"nbo", "af-east", -1.29, 36.82}, {"cai", "af-north", 30.04, 31.24},
}

const sitesPerCity = 4

// relayHeartbeat describes relay i: city i mod len(cities), one of
// sitesPerCity sites there, an address in 198.18.0.0/15 (RFC 2544
// benchmarking; 131072 of them, one per relay) and for every fifth relay
// one in 2001:db8::/32 (RFC 3849 documentation). Nothing is ever sent to
// them.
func relayHeartbeat(i int, rng *rand.Rand) (string, wire.Heartbeat) {
	c := cities[i%len(cities)]
	site := (i / len(cities)) % sitesPerCity
	id := fmt.Sprintf("r%05d-%s", i, c.slug)
	r := relay.Relay{
		Region: c.region, Site: fmt.Sprintf("%s-%d", c.slug, site+1),
		Location: relay.Location{
			Latitude:  c.lat + (rng.Float64()-0.5)*0.4,
			Longitude: c.lon + (rng.Float64()-0.5)*0.4,
		},
		Addresses: []netip.Addr{netip.AddrFrom4([4]byte{198, 18 + byte(i>>16&1), byte(i >> 8), byte(i)})}, //nolint:gosec // G115: the index's low 17 bits make a 198.18.0.0/15 address; truncation intended
		Ports:     relay.Ports{relay.UDP: 3478, relay.TCP: 3478},
		Capacity:  relay.Capacity{Allocations: 20000, BandwidthBPS: 10_000_000_000},
		Load:      relay.Load{Allocations: rng.Int64N(12000), BandwidthBPS: rng.Int64N(6_000_000_000)},
		Version:   "bench",
	}
	if i%5 == 0 {
		r.Addresses = append(r.Addresses, netip.MustParseAddr(fmt.Sprintf("2001:db8:%x::%x", i>>16, i&0xffff)))
	}
	if i%3 == 0 {
		r.Hostname = id + ".relays.bench.example"
		r.Ports[relay.TLS] = 5349
	}
	return id, wire.NewHeartbeat(r)
}

func register(ctx context.Context, hc *http.Client, base string, n, conns int, secret []byte) error {
	type job struct {
		id   string
		body []byte
	}
	rng := rand.New(rand.NewPCG(2544, 1)) //nolint:gosec // G404: seeded for the same relays every run; nothing secret
	jobs := make(chan job, conns)
	var failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range max(conns, 1) {
		wg.Go(func() {
			for j := range jobs {
				if err := putRelay(ctx, hc, base, j.id, j.body, secret); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err)
				}
			}
		})
	}
	for i := range n {
		id, hb := relayHeartbeat(i, rng)
		body, _ := json.Marshal(hb)
		jobs <- job{id, body}
	}
	close(jobs)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return fmt.Errorf("registering relays: %d of %d PUTs failed; first: %v", f, n, firstErr.Load())
	}
	return nil
}

func putRelay(ctx context.Context, hc *http.Client, base, id string, body, secret []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, base+"/v1/relays/"+id, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+mint(secret, id, time.Hour))
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT %s: %s: %s", id, resp.Status, bytes.TrimSpace(b))
	}
	return nil
}

// checkRegistered waits until the gateway lists all n relays.
func checkRegistered(ctx context.Context, hc *http.Client, base string, n int, adminSecret []byte) error {
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/relays", http.NoBody)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+mint(adminSecret, "bench-admin", time.Minute))
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		var body wire.RelayList
		err = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("GET /v1/relays: %s: %w", resp.Status, err)
		}
		if len(body.Relays) >= n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("GET /v1/relays lists %d relays, want %d", len(body.Relays), n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// sampleCredentials makes one credentials request (from client address xff
// when not empty) and summarises the answer.
func sampleCredentials(ctx context.Context, hc *http.Client, base, tok, xff string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/v1/credentials", http.NoBody)
	if err != nil {
		return "", err
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("POST /v1/credentials: %s: %s", resp.Status, bytes.TrimSpace(b))
	}
	var cr wire.Credentials
	if err := json.Unmarshal(b, &cr); err != nil {
		return "", err
	}
	backup := "none"
	if cr.Backup != nil {
		backup = cr.Backup.RelayID
	}
	rtt := ""
	if cr.Primary.EstimatedRTTMs != nil {
		rtt = fmt.Sprintf(", estimated RTT %.1f ms", *cr.Primary.EstimatedRTTMs)
	}
	return fmt.Sprintf("%d bytes, primary %s (basis %s%s, urls %v), backup %s",
		len(b), cr.Primary.RelayID, cr.Primary.Basis, rtt, cr.Primary.URLs, backup), nil
}

// ---- load phases ---------------------------------------------------------

type endpoint struct {
	name  string
	short string   // in error counts
	req   [][]byte // taken in turn
	sum   *result
}

func (e *endpoint) add(r *result) {
	if e.sum == nil {
		e.sum = &result{hist: newHist(), errKinds: map[string]int64{}}
	}
	s := e.sum
	s.requests += r.requests
	s.errors += r.errors
	s.elapsed += r.elapsed
	s.srvCPU += r.srvCPU
	s.lgCPU += r.lgCPU
	s.hist.merge(r.hist)
	for k, v := range r.errKinds {
		s.errKinds[e.short+":"+k] += v
	}
}

type result struct {
	requests int64 // completed with 200
	errors   int64
	errKinds map[string]int64
	elapsed  time.Duration
	srvCPU   time.Duration
	lgCPU    time.Duration
	hist     *hist
}

func (r *result) rps() float64 { return float64(r.requests) / r.elapsed.Seconds() }

func (r *result) srvUSPerReq() float64 {
	return float64(r.srvCPU.Microseconds()) / float64(max(r.requests+r.errors, 1))
}

func printRow(name, round string, r *result) {
	srv, per := "-", "-"
	if r.srvCPU > 0 {
		srv = fmt.Sprintf("%.0f%%", 100*r.srvCPU.Seconds()/r.elapsed.Seconds())
		per = fmt.Sprintf("%.1f", r.srvUSPerReq())
	}
	fmt.Printf("%-36s %5s %9d %9.0f %8s %8s %8s %8s %6d %8s %10s %6.0f%%\n",
		name, round, r.requests, r.rps(),
		fmtDur(r.hist.quantile(0.50)), fmtDur(r.hist.quantile(0.90)), fmtDur(r.hist.quantile(0.99)), fmtDur(r.hist.max),
		r.errors, srv, per, 100*r.lgCPU.Seconds()/r.elapsed.Seconds())
}

func fmtDur(d time.Duration) string {
	switch {
	case d < time.Millisecond:
		return fmt.Sprintf("%dus", d.Microseconds())
	case d < time.Second:
		return fmt.Sprintf("%.2fms", float64(d)/1e6)
	}
	return fmt.Sprintf("%.2fs", d.Seconds())
}

// conn is one keep-alive connection with its reusable read buffer.
type conn struct {
	c  net.Conn
	br *bufio.Reader
}

type connPool struct {
	addr  string
	conns []*conn
}

func newConnPool(addr string, n int) *connPool {
	return &connPool{addr: addr, conns: make([]*conn, n)}
}

func (p *connPool) dial(ctx context.Context) error {
	for i := range p.conns {
		c, err := p.open(ctx)
		if err != nil {
			return err
		}
		p.conns[i] = c
	}
	return nil
}

func (p *connPool) open(ctx context.Context) (*conn, error) {
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	return &conn{c: c, br: bufio.NewReaderSize(c, 16<<10)}, nil
}

func (p *connPool) close() {
	for _, c := range p.conns {
		if c != nil {
			c.c.Close()
		}
	}
}

var errStatus = errors.New("status")

// phase sends reqs on every connection, one in flight each, until d has
// passed or the phase has made maxReq requests. Connection i sends reqs[i],
// reqs[i+conns], reqs[i+2*conns], ..., so with more reqs than connections
// each one comes round again only after all the others.
func (p *connPool) phase(ctx context.Context, reqs [][]byte, d time.Duration, maxReq int64, serverPID int) *result {
	var stop atomic.Bool
	perConn := max(maxReq/int64(len(p.conns)), 1)
	results := make([]*result, len(p.conns))
	srv0 := procCPU(serverPID)
	lg0 := selfCPU()
	start := time.Now()
	timer := time.AfterFunc(d, func() { stop.Store(true) })
	var wg sync.WaitGroup
	for i := range p.conns {
		res := &result{hist: newHist(), errKinds: map[string]int64{}}
		results[i] = res
		wg.Go(func() {
			for n := int64(0); n < perConn && !stop.Load(); n++ {
				c := p.conns[i]
				if c == nil {
					var err error
					if c, err = p.open(ctx); err != nil {
						res.errors++
						res.errKinds["dial"]++
						time.Sleep(10 * time.Millisecond)
						continue
					}
					p.conns[i] = c
				}
				req := reqs[(int64(i)+n*int64(len(p.conns)))%int64(len(reqs))]
				t0 := time.Now()
				err := c.roundTrip(req)
				lat := time.Since(t0)
				switch {
				case err == nil:
					res.requests++
					res.hist.record(lat)
				case errors.Is(err, errStatus):
					res.errors++
					res.errKinds[err.Error()]++
					res.hist.record(lat)
				default:
					res.errors++
					res.errKinds["io"]++
					c.c.Close()
					p.conns[i] = nil
				}
			}
		})
	}
	wg.Wait()
	timer.Stop()
	out := &result{hist: newHist(), errKinds: map[string]int64{}, elapsed: time.Since(start)}
	if serverPID > 0 {
		out.srvCPU = procCPU(serverPID) - srv0
	}
	out.lgCPU = selfCPU() - lg0
	for _, r := range results {
		out.requests += r.requests
		out.errors += r.errors
		out.hist.merge(r.hist)
		for k, v := range r.errKinds {
			out.errKinds[k] += v
		}
	}
	return out
}

// roundTrip writes req and reads one HTTP/1.1 response, discarding the
// body. A non-200 status returns an error wrapping errStatus.
func (c *conn) roundTrip(req []byte) error {
	if _, err := c.c.Write(req); err != nil {
		return err
	}
	line, err := c.br.ReadSlice('\n')
	if err != nil {
		return err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.1 ")) {
		return fmt.Errorf("bad status line")
	}
	status := line[9:12]
	contentLength, chunked, closeConn := -1, false, false
	for {
		h, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		if len(h) <= 2 {
			break
		}
		k, v, ok := bytes.Cut(h, []byte(":"))
		if !ok {
			continue
		}
		v = bytes.TrimSpace(v)
		switch {
		case asciiEqualFold(k, "content-length"):
			contentLength, _ = atoi(v)
		case asciiEqualFold(k, "transfer-encoding"):
			chunked = asciiEqualFold(v, "chunked")
		case asciiEqualFold(k, "connection"):
			closeConn = asciiEqualFold(v, "close")
		}
	}
	switch {
	case chunked:
		if err := c.discardChunked(); err != nil {
			return err
		}
	case contentLength >= 0:
		if _, err := c.br.Discard(contentLength); err != nil {
			return err
		}
	default:
		return errors.New("response without length")
	}
	if closeConn {
		return errors.New("server closed the connection")
	}
	if string(status) != "200" { // compiler avoids the allocation here
		return statusError(status)
	}
	return nil
}

var statusErrs sync.Map // "401" → error, so errors allocate once per status

func statusError(status []byte) error {
	if e, ok := statusErrs.Load(string(status)); ok {
		return e.(error)
	}
	e := fmt.Errorf("%w %s", errStatus, status)
	statusErrs.Store(string(status), e)
	return e
}

func (c *conn) discardChunked() error {
	for {
		line, err := c.br.ReadSlice('\n')
		if err != nil {
			return err
		}
		line = bytes.TrimSpace(line)
		if i := bytes.IndexByte(line, ';'); i >= 0 {
			line = line[:i]
		}
		n, err := strconv.ParseInt(string(line), 16, 64)
		if err != nil {
			return err
		}
		if n == 0 {
			for { // trailers
				t, err := c.br.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(t) <= 2 {
					return nil
				}
			}
		}
		if _, err := c.br.Discard(int(n) + 2); err != nil {
			return err
		}
	}
}

func asciiEqualFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		x, y := b[i], s[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

func atoi(b []byte) (int, bool) {
	if len(b) == 0 {
		return -1, false
	}
	n := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// ---- latency histogram ---------------------------------------------------

// hist counts latencies in 1 µs buckets below 10 ms, 100 µs buckets below
// 1 s, and one overflow bucket; max is exact.
type hist struct {
	fine   [10000]int64
	coarse [9900]int64
	over   int64
	n      int64
	max    time.Duration
}

func newHist() *hist { return &hist{} }

func (h *hist) record(d time.Duration) {
	us := d.Microseconds()
	switch {
	case us < 10000:
		h.fine[us]++
	case us < 1_000_000:
		h.coarse[(us-10000)/100]++
	default:
		h.over++
	}
	h.n++
	h.max = max(h.max, d)
}

func (h *hist) merge(o *hist) {
	for i := range h.fine {
		h.fine[i] += o.fine[i]
	}
	for i := range h.coarse {
		h.coarse[i] += o.coarse[i]
	}
	h.over += o.over
	h.n += o.n
	h.max = max(h.max, o.max)
}

// quantile is the upper edge of the bucket holding the q-quantile (so it
// never understates), capped at the exact max.
func (h *hist) quantile(q float64) time.Duration {
	if h.n == 0 {
		return 0
	}
	rank := int64(math.Ceil(q * float64(h.n)))
	var seen int64
	for i, c := range &h.fine {
		if seen += c; seen >= rank {
			return min(time.Duration(i+1)*time.Microsecond, h.max)
		}
	}
	for i, c := range &h.coarse {
		if seen += c; seen >= rank {
			return min(time.Duration(10000+(i+1)*100)*time.Microsecond, h.max)
		}
	}
	return h.max
}

// ---- CPU accounting ------------------------------------------------------

// procCPU is pid's user+system CPU time from /proc (clock ticks of 10 ms).
func procCPU(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// Fields after the parenthesised command name; utime and stime are
	// fields 14 and 15 of the whole line.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond // USER_HZ is 100 on Linux
}

func selfCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
