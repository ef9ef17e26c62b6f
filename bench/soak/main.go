// Command soak drives a relaygate and a few relaynodes on loopback for a
// bounded time, as production would: relays heartbeat and are probed, clients
// fetch credentials at saturation, and TURN allocations churn on the relays.
// It prints requests, server errors, latency, RSS and goroutines at the start
// and the end of the measured window, and fails when a server answered 5xx or
// its memory or goroutines grew.
//
// It sends only to 127.0.0.1 and stops only the processes it started. Every
// loop is bounded by -duration and a request cap. Run it through
// bench/soak/run.sh, which builds the binaries.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/turn/v5"

	"github.com/relaygate/relaygate/internal/devtoken"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

type options struct {
	bin         string        // folder with the relaygate and relaynode binaries
	duration    time.Duration // measured window
	warmup      time.Duration // load before the window opens
	relays      int           // relaynode processes
	conns       int           // gateway connections, one request in flight each
	churners    int           // concurrent allocation churners
	maxRequests int64         // cap on credentials requests
	sample      time.Duration // period of the progress lines
	gatewayArgs string        // extra relaygate flags, space separated
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "", "folder holding the relaygate and relaynode binaries (required)")
	flag.DurationVar(&o.duration, "duration", 5*time.Minute, "measured window")
	flag.DurationVar(&o.warmup, "warmup", 20*time.Second, "load before the window opens (not measured)")
	flag.IntVar(&o.relays, "relays", 3, "relaynode processes")
	flag.IntVar(&o.conns, "conns", 16, "gateway connections, one credentials request in flight each")
	flag.IntVar(&o.churners, "churners", 8, "concurrent TURN allocation churners")
	flag.Int64Var(&o.maxRequests, "max-requests", 50_000_000, "cap on credentials requests")
	flag.DurationVar(&o.sample, "sample", 30*time.Second, "period of the progress lines")
	flag.StringVar(&o.gatewayArgs, "gateway-args", "", "extra relaygate flags, space separated")
	flag.Parse()
	if o.bin == "" || o.relays < 1 || o.conns < 1 || o.churners < 0 || o.duration <= 0 {
		flag.Usage()
		os.Exit(2)
	}
	os.Exit(run(o))
}

// run soaks and returns the exit status: 0 all verdicts passed, 1 one
// failed, 2 the soak could not run.
func run(o options) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ok, err := soak(ctx, o)
	switch {
	case err != nil:
		log.Printf("soak: %v", err)
		return 2
	case !ok:
		return 1
	}
	return 0
}

// Secrets of this run only; they never leave the machine.
type secrets struct{ user, node, admin, turn string }

func newSecrets() secrets {
	r := func(p string) string { return p + rand.Text() }
	return secrets{user: r("soak-user-"), node: r("soak-node-"), admin: r("soak-admin-"), turn: r("soak-turn-")}
}

func soak(ctx context.Context, o options) (bool, error) {
	sec := newSecrets()
	procs := &procSet{}
	defer procs.stopAll()

	gwArgs := append([]string{"--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
		"--probe-interval", "2s", "--heartbeat-ttl", "6s",
		// The relays are on loopback; the load is a few tokens from one
		// address at saturation, which the per-user and per-network limits
		// would rightly refuse (the relays' heartbeat limit stays on).
		"--allow-relay-networks", "127.0.0.0/8", "--rate-user", "off", "--rate-prefix", "off"}, strings.Fields(o.gatewayArgs)...)
	gw, err := procs.start(ctx, "relaygate", o.bin+"/relaygate", gwArgs, []string{
		"RELAYGATE_USER_JWT_SECRET=" + sec.user, "RELAYGATE_NODE_JWT_SECRET=" + sec.node,
		"RELAYGATE_ADMIN_JWT_SECRET=" + sec.admin, "RELAYGATE_TURN_SECRETS=k1:" + sec.turn,
	}, "relaygate listening", "metrics listening")
	if err != nil {
		return false, err
	}
	api, gwMetrics := gw.addrs[0], gw.addrs[1]

	peer, err := startEcho()
	if err != nil {
		return false, err
	}
	defer peer.Close()

	var nodes []*proc
	for i := range o.relays {
		id := fmt.Sprintf("soak-%d", i)
		tok, err := devtoken.Sign(sec.node, id, 24*time.Hour)
		if err != nil {
			return false, err
		}
		n, err := procs.start(ctx, id, o.bin+"/relaynode", []string{
			"--id", id, "--region", "soak", "--site", fmt.Sprintf("site-%d", i),
			"--lat", "50.1", "--lon", strconv.Itoa(8 + i), "--listen-udp", "127.0.0.1:0", "--listen-tcp", "off",
			"--gateway-url", "http://" + api, "--allow-peers", "127.0.0.0/8",
			"--metrics-listen", "127.0.0.1:0",
		}, []string{"RELAYNODE_SECRETS=k1:" + sec.turn, "RELAYNODE_NODE_TOKEN=" + tok}, "relay started", "metrics listening")
		if err != nil {
			return false, err
		}
		nodes = append(nodes, n)
	}
	if err := waitRelays(ctx, api, sec.admin, o.relays); err != nil {
		return false, err
	}
	fmt.Printf("soak: relaygate on %s, %d relaynodes heartbeating and probed every 2 s, echo peer %s\n", api, o.relays, peer.LocalAddr())
	fmt.Printf("load: %d connections fetching credentials in a closed loop, %d allocation churners; warm-up %v, measured %v\n\n",
		o.conns, o.churners, o.warmup, o.duration)

	loadCtx, stopLoad := context.WithTimeout(ctx, o.warmup+o.duration)
	defer stopLoad()
	st := &stats{}
	var wg sync.WaitGroup
	for i := range o.conns {
		tok, err := devtoken.Sign(sec.user, fmt.Sprintf("soak-client-%d", i), 24*time.Hour)
		if err != nil {
			return false, err
		}
		wg.Go(func() { fetchLoop(loadCtx, api, tok, o.maxRequests, st) })
	}
	minter, err := newMinter(sec.turn)
	if err != nil {
		return false, err
	}
	for i := range o.churners {
		node := nodes[i%len(nodes)]
		wg.Go(func() { churnLoop(loadCtx, node.addrs[0], peer.LocalAddr().String(), minter, i, st) })
	}

	targets := []target{{name: "relaygate", metrics: gwMetrics}}
	for _, n := range nodes {
		targets = append(targets, target{name: n.name, metrics: n.addrs[1]})
	}
	ok := measure(loadCtx, ctx, o, st, targets, procs)
	stopLoad()
	wg.Wait()
	return ok, nil
}

// measure opens the window after the warm-up, prints a progress line every
// sample period and the verdicts at the end.
func measure(loadCtx, ctx context.Context, o options, st *stats, targets []target, procs *procSet) bool {
	select {
	case <-time.After(o.warmup):
	case <-loadCtx.Done():
		return false
	}
	before := scrapeAll(ctx, targets)
	st.reset()
	start := time.Now()
	fmt.Printf("%8s %10s %9s %8s %8s %6s %10s %10s  %s\n", "t", "requests", "req/s", "p99", "5xx", "other", "allocs", "alloc-err", "rss MiB / goroutines per process")
	tick := time.NewTicker(o.sample)
	defer tick.Stop()
	last := st.snapshot()
	lastAt := start
	for done := false; !done; {
		select {
		case <-tick.C:
		case <-loadCtx.Done():
			done = true
		}
		now := time.Now()
		cur := st.snapshot()
		fmt.Printf("%8s %10d %9.0f %8s %8d %6d %10d %10d  %s\n", now.Sub(start).Round(time.Second), cur.requests,
			float64(cur.requests-last.requests)/now.Sub(lastAt).Seconds(), st.p99Since(last.requests).Round(10*time.Microsecond),
			cur.status5xx, cur.otherErrors, cur.allocs, cur.allocErrors, scrapeAll(ctx, targets))
		last, lastAt = cur, now
	}
	after := scrapeAll(ctx, targets)
	end := st.snapshot()
	elapsed := time.Since(start)
	fmt.Printf("\nmeasured %v: %d credentials requests (%.0f/s), p50 %v, p99 %v, max %v; 5xx %d, other failures %d; %d allocations churned (%d failed)\n",
		elapsed.Round(time.Second), end.requests, float64(end.requests)/elapsed.Seconds(), st.quantile(0.5), st.quantile(0.99), st.quantile(1),
		end.status5xx, end.otherErrors, end.allocs, end.allocErrors)
	ok := true
	verdict := func(name string, pass bool, detail string) {
		word := "PASS"
		if !pass {
			word, ok = "FAIL", false
		}
		fmt.Printf("  %-44s %s  %s\n", name, word, detail)
	}
	verdict("no 5xx from relaygate", end.status5xx == 0, fmt.Sprintf("(%d)", end.status5xx))
	verdict("credentials requests answered", end.requests > 0 && end.otherErrors == 0, fmt.Sprintf("(%d failed)", end.otherErrors))
	verdict("allocations churned", end.allocs > 0 && end.allocErrors*100 <= end.allocs, fmt.Sprintf("(%d failed of %d; up to 1 %% may time out)", end.allocErrors, end.allocs))
	for i, t := range targets {
		b, a := before.m[i], after.m[i]
		verdict(t.name+": RSS flat", a.rss <= b.rss*5/4+16<<20, fmt.Sprintf("(%.1f -> %.1f MiB)", mib(b.rss), mib(a.rss)))
		verdict(t.name+": goroutines flat", a.goroutines <= b.goroutines+b.goroutines/10+20, fmt.Sprintf("(%d -> %d)", b.goroutines, a.goroutines))
	}
	for _, p := range procs.list() {
		verdict(p.name+": no ERROR in its log", p.errorLines() == 0, fmt.Sprintf("(%d)", p.errorLines()))
	}
	return ok
}

// stats are the load's counters and latencies.
type stats struct {
	requests, status5xx, otherErrors, allocs, allocErrors atomic.Int64

	mu  sync.Mutex // guards lat
	lat []time.Duration
}

type counts struct{ requests, status5xx, otherErrors, allocs, allocErrors int64 }

func (s *stats) reset() {
	s.requests.Store(0)
	s.status5xx.Store(0)
	s.otherErrors.Store(0)
	s.allocs.Store(0)
	s.allocErrors.Store(0)
	s.mu.Lock()
	s.lat = s.lat[:0]
	s.mu.Unlock()
}

func (s *stats) snapshot() counts {
	return counts{s.requests.Load(), s.status5xx.Load(), s.otherErrors.Load(), s.allocs.Load(), s.allocErrors.Load()}
}

func (s *stats) record(d time.Duration) {
	s.mu.Lock()
	s.lat = append(s.lat, d)
	s.mu.Unlock()
}

// p99Since is the 99th percentile of the latencies recorded after the
// first n.
func (s *stats) p99Since(n int64) time.Duration {
	s.mu.Lock()
	tail := slices.Clone(s.lat[min(int(n), len(s.lat)):])
	s.mu.Unlock()
	return quantile(tail, 0.99)
}

func (s *stats) quantile(q float64) time.Duration {
	s.mu.Lock()
	all := slices.Clone(s.lat)
	s.mu.Unlock()
	return quantile(all, q)
}

func quantile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))]
}

// fetchLoop asks for credentials in a closed loop until ctx ends or the
// cap is reached.
func fetchLoop(ctx context.Context, api, token string, maxRequests int64, st *stats) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 1}, Timeout: 10 * time.Second}
	for ctx.Err() == nil && st.requests.Load() < maxRequests {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+api+"/v1/credentials", http.NoBody)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer "+token)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			if ctx.Err() == nil {
				st.otherErrors.Add(1)
			}
			continue
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		st.record(time.Since(t0))
		st.requests.Add(1)
		switch {
		case resp.StatusCode >= 500:
			st.status5xx.Add(1)
		case resp.StatusCode != http.StatusOK:
			st.otherErrors.Add(1)
		}
	}
}

// churnLoop allocates on a relay, relays a few datagrams to the echo peer
// and back, and deletes the allocation, again and again.
func churnLoop(ctx context.Context, relayAddr, peerAddr string, minter *turncred.Minter, worker int, st *stats) {
	peer, err := net.ResolveUDPAddr("udp4", peerAddr)
	if err != nil {
		return
	}
	for n := 0; ctx.Err() == nil; n++ {
		if err := churnOnce(relayAddr, peer, minter, fmt.Sprintf("churn-%d-%d", worker, n)); err != nil {
			if ctx.Err() == nil {
				st.allocErrors.Add(1)
			}
			continue
		}
		st.allocs.Add(1)
	}
}

func churnOnce(relayAddr string, peer *net.UDPAddr, minter *turncred.Minter, user string) error {
	var lc net.ListenConfig
	conn, err := lc.ListenPacket(context.Background(), "udp4", "127.0.0.1:0")
	if err != nil {
		return err
	}
	defer conn.Close()
	cred := minter.Mint(user, 10*time.Minute, time.Now())
	c, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: relayAddr, STUNServerAddr: relayAddr, Conn: conn,
		Username: cred.Username, Password: cred.Password, Realm: "relaygate",
	})
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		return err
	}
	alloc, err := c.Allocate()
	if err != nil {
		return err
	}
	defer alloc.Close()
	buf := make([]byte, 1500)
	for i := range 5 {
		msg := fmt.Appendf(nil, "%s-%d", user, i)
		if _, err := alloc.WriteTo(msg, peer); err != nil {
			return err
		}
		if err := alloc.SetReadDeadline(time.Now().Add(2 * time.Second)); err != nil {
			return err
		}
		n, _, err := alloc.ReadFrom(buf)
		if err != nil {
			return err
		}
		if !bytes.Equal(buf[:n], msg) {
			return errors.New("echo differs")
		}
	}
	return nil
}

func startEcho() (net.PacketConn, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(context.Background(), "udp4", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	return pc, nil
}

func newMinter(secret string) (*turncred.Minter, error) {
	s, err := turncred.NewSecret("k1", secret)
	if err != nil {
		return nil, err
	}
	return turncred.NewMinter([]turncred.Secret{s}, []byte("soak-pseudonym-key-0123456789"))
}

// waitRelays waits until the gateway lists n relays as available.
func waitRelays(ctx context.Context, api, adminSecret string, n int) error {
	tok, err := devtoken.Sign(adminSecret, "soak-admin", time.Hour)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+api+"/v1/relays", http.NoBody)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		var list struct {
			Relays []struct {
				State string `json:"state"`
			} `json:"relays"`
		}
		if resp, err := http.DefaultClient.Do(req); err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&list)
			_ = resp.Body.Close()
		}
		up := 0
		for _, r := range list.Relays {
			if r.State == "available" {
				up++
			}
		}
		if up == n {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d relays available after 30 s", up, n)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// target is a process whose /metrics the soak reads.
type target struct{ name, metrics string }

type reading struct{ rss, goroutines int64 }

type readings struct{ m []reading }

func (r readings) String() string {
	var b strings.Builder
	for i, x := range r.m {
		if i > 0 {
			b.WriteString("  ")
		}
		fmt.Fprintf(&b, "%.1f/%d", mib(x.rss), x.goroutines)
	}
	return b.String()
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func scrapeAll(ctx context.Context, ts []target) readings {
	out := readings{m: make([]reading, len(ts))}
	for i, t := range ts {
		out.m[i] = scrape(ctx, t.metrics)
	}
	return out
}

// scrape reads process_resident_memory_bytes and go_goroutines; zero when
// the process does not answer.
func scrape(ctx context.Context, addr string) reading {
	var r reading
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", http.NoBody)
	if err != nil {
		return r
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return r
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		f, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch name {
		case "process_resident_memory_bytes":
			r.rss = int64(f)
		case "go_goroutines":
			r.goroutines = int64(f)
		}
	}
	return r
}

// procSet owns the child processes: it starts them and stops them all.
type procSet struct {
	mu    sync.Mutex // guards procs
	procs []*proc
}

type proc struct {
	name  string
	cmd   *exec.Cmd
	addrs []string // the "addr" of each awaited log line, in order
	logs  *lockedBuffer
	done  chan struct{}
}

func (s *procSet) list() []*proc {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.procs)
}

// start runs path with args and env and waits (at most 20 s) for each of
// the JSON log lines named in await, keeping each one's "addr".
func (s *procSet) start(ctx context.Context, name, path string, args, env []string, await ...string) (*proc, error) {
	cmd := exec.CommandContext(ctx, path, args...) //nolint:gosec // G204: our own binaries, built by run.sh
	cmd.Env = append(os.Environ(), env...)
	p := &proc{name: name, cmd: cmd, logs: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.logs
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	s.mu.Lock()
	s.procs = append(s.procs, p)
	s.mu.Unlock()
	deadline := time.Now().Add(20 * time.Second)
	for _, msg := range await {
		for {
			if addr, ok := p.logs.find(msg); ok {
				p.addrs = append(p.addrs, addr)
				break
			}
			select {
			case <-p.done:
				return nil, fmt.Errorf("%s exited before %q:\n%s", name, msg, p.logs)
			case <-time.After(50 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				return nil, fmt.Errorf("%s did not log %q within 20 s:\n%s", name, msg, p.logs)
			}
		}
	}
	return p, nil
}

// stopAll sends SIGTERM to every process and waits for it (SIGKILL after
// 15 s).
func (s *procSet) stopAll() {
	for _, p := range s.list() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
	}
	for _, p := range s.list() {
		select {
		case <-p.done:
		case <-time.After(15 * time.Second):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	}
}

func (p *proc) errorLines() int { return int(p.logs.errors.Load()) }

// lockedBuffer keeps the first logCap bytes a process logs (its start-up
// lines, and the first errors) and counts every ERROR line, so a soak's
// access log does not grow without bound.
type lockedBuffer struct {
	errors atomic.Int64

	mu      sync.Mutex // guards below
	b       bytes.Buffer
	partial []byte // an unfinished last line, scanned when it completes
}

const logCap = 1 << 20

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if room := logCap - l.b.Len(); room > 0 {
		l.b.Write(p[:min(len(p), room)])
	}
	data := slices.Concat(l.partial, p)
	i := bytes.LastIndexByte(data, '\n')
	l.errors.Add(int64(bytes.Count(data[:i+1], []byte(`"level":"ERROR"`))))
	l.partial = append(l.partial[:0], data[i+1:]...)
	if len(l.partial) > 64<<10 {
		l.partial = l.partial[:0] // not a log line: stop carrying it
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// find returns the "addr" of the first JSON log line whose msg is msg.
func (l *lockedBuffer) find(msg string) (string, bool) {
	for _, line := range strings.Split(l.String(), "\n") {
		var m struct {
			Msg  string `json:"msg"`
			Addr string `json:"addr"`
			UDP  string `json:"udp"`
		}
		if json.Unmarshal([]byte(line), &m) == nil && m.Msg == msg {
			return cmpOr(m.Addr, m.UDP), true
		}
	}
	return "", false
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
