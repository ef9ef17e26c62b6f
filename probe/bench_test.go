package probe

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

// responderEnv makes the test binary a STUN responder process for
// BenchmarkProber10k, so the responders' CPU is not counted as the prober's.
const responderEnv = "PROBE_BENCH_RESPONDERS"

func TestMain(m *testing.M) {
	if n := os.Getenv(responderEnv); n != "" {
		os.Exit(serveResponders(n))
	}
	os.Exit(m.Run())
}

// serveResponders binds n STUN responders on distinct loopback addresses
// (127.0.x.y), prints their addresses one per line and answers Binding
// requests until stdin closes.
func serveResponders(arg string) int {
	n, err := strconv.Atoi(arg)
	if err != nil || n < 1 || n > 60000 {
		fmt.Fprintf(os.Stderr, "bad %s=%q\n", responderEnv, arg)
		return 2
	}
	out := bufio.NewWriter(os.Stdout)
	var conns []*net.UDPConn
	for i := range n {
		ip := netip.AddrFrom4([4]byte{127, 0, byte(i / 250), byte(i%250 + 1)})
		c, err := net.ListenUDP("udp4", net.UDPAddrFromAddrPort(netip.AddrPortFrom(ip, 0)))
		if err != nil {
			fmt.Fprintf(os.Stderr, "listen %v: %v\n", ip, err)
			return 1
		}
		conns = append(conns, c)
		fmt.Fprintln(out, c.LocalAddr().(*net.UDPAddr).AddrPort())
	}
	out.Flush()
	var wg sync.WaitGroup
	for _, c := range conns {
		wg.Go(func() {
			buf := make([]byte, 1500)
			var req, resp stun.Message
			for {
				n, from, err := c.ReadFromUDPAddrPort(buf)
				if err != nil {
					return
				}
				req.Raw = buf[:n]
				if req.Decode() != nil || req.Type != stun.BindingRequest {
					continue
				}
				ip := from.Addr().As4()
				if resp.Build(stun.NewTransactionIDSetter(req.TransactionID), stun.BindingSuccess,
					&stun.XORMappedAddress{IP: ip[:], Port: int(from.Port())}, stun.Fingerprint) != nil {
					continue
				}
				_, _ = c.WriteToUDPAddrPort(resp.Raw, from) // a failed answer is a lost probe, which the prober measures
			}
		})
	}
	_, _ = io.Copy(io.Discard, os.Stdin) // until the parent closes stdin or exits: either way, time to stop
	for _, c := range conns {
		c.Close()
	}
	wg.Wait()
	return 0
}

// BenchmarkProber10k runs the prober against 10k relays (each its own
// loopback address, answered by a separate process) at the default 5s
// interval and reports the prober process's CPU as a share of one core,
// measured with getrusage over PROBE_BENCH_SECONDS (default 15) after one
// interval of warm-up.
func BenchmarkProber10k(b *testing.B) {
	const relays = 10000
	measureFor := 15 * time.Second
	if s := os.Getenv("PROBE_BENCH_SECONDS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			b.Fatalf("PROBE_BENCH_SECONDS=%q", s)
		}
		measureFor = time.Duration(n) * time.Second
	}

	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), responderEnv+"="+strconv.Itoa(relays))
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("responder process: %v", err)
		}
	}()
	targets := make([]Target, 0, relays)
	sc := bufio.NewScanner(stdout)
	for len(targets) < relays && sc.Scan() {
		ap, err := netip.ParseAddrPort(sc.Text())
		if err != nil {
			b.Fatalf("responder address %q: %v", sc.Text(), err)
		}
		targets = append(targets, Target{RelayID: fmt.Sprintf("relay-%05d", len(targets)), Addr: ap})
	}
	if len(targets) != relays {
		b.Fatalf("responder process gave %d addresses, want %d", len(targets), relays)
	}

	var cpuPercent, resultsPerSec float64
	for b.Loop() {
		var reported atomic.Int64
		p, err := New(Config{}, func() []Target { return targets }, func(rs []Result) { reported.Add(int64(len(rs))) }, nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx, cancel := context.WithCancel(b.Context())
		done := make(chan error, 1)
		go func() { done <- p.Run(ctx) }()

		<-time.After(5 * time.Second) // warm-up: every relay has had its first probe
		wall0, cpu0, rep0 := time.Now(), cpuTime(b), reported.Load()
		<-time.After(measureFor)
		wall, cpu, rep := time.Since(wall0), cpuTime(b)-cpu0, reported.Load()-rep0
		cancel()
		if err := <-done; err != nil {
			b.Fatal(err)
		}

		cpuPercent = 100 * cpu.Seconds() / wall.Seconds()
		resultsPerSec = float64(rep) / wall.Seconds()
		res := p.Results()
		up := 0
		for _, r := range res {
			if r.Health == HealthUp {
				up++
			}
		}
		if up < relays*99/100 {
			b.Errorf("%d of %d relays up at the end, want >= 99%%", up, relays)
		}
		b.Logf("%d relays, interval 5s: prober CPU %.2f%% of one core over %v (%.0f results/s, %d up)",
			relays, cpuPercent, wall.Round(time.Millisecond), resultsPerSec, up)
	}
	b.ReportMetric(cpuPercent, "%core")
	b.ReportMetric(resultsPerSec, "results/s")
}

// cpuTime is this process's user plus system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatalf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
