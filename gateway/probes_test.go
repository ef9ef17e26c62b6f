package gateway_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/relaygate/relaygate/gateway"
	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/probe"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/store"
	"github.com/relaygate/relaygate/store/storetest"
)

// TestProbeTargets: the prober gets each relay's UDP address from the
// snapshot, IPv4 when the relay has one; relays without UDP are left out,
// and so are addresses outside the allowed networks, whatever put them in
// the store.
func TestProbeTargets(t *testing.T) {
	v6First := relayAt("a-1", "a", 50, 8)
	v6First.Addresses = []netip.Addr{netip.MustParseAddr("2001:db8::7"), netip.MustParseAddr("203.0.113.7")}
	v6Only := relayAt("b-1", "b", 50, 8)
	v6Only.Addresses, v6Only.Ports = []netip.Addr{netip.MustParseAddr("2001:db8::8")}, relay.Ports{relay.UDP: 3479}
	tcpOnly := relayAt("c-1", "c", 50, 8)
	tcpOnly.Ports = relay.Ports{relay.TCP: 443}
	f := newFixture(t, v6First, v6Only, tcpOnly)
	// Written past the gateway (another replica's settings, an older
	// gateway): a private IPv4 and an allowed IPv6 address, and metadata.
	private := relayAt("d-1", "d", 50, 8)
	private.Addresses = []netip.Addr{netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("2001:db8::9")}
	metadata := relayAt("e-1", "e", 50, 8)
	metadata.Addresses = []netip.Addr{netip.MustParseAddr("169.254.169.254")}
	for _, r := range []relay.Relay{private, metadata} {
		if err := f.store.Heartbeat(t.Context(), r, storetest.TTL); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.gw.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	want := []probe.Target{
		{RelayID: "a-1", Addr: netip.MustParseAddrPort("203.0.113.7:3478")},
		{RelayID: "b-1", Addr: netip.MustParseAddrPort("[2001:db8::8]:3479")},
		{RelayID: "d-1", Addr: netip.MustParseAddrPort("[2001:db8::9]:3478")},
	}
	if got := f.gw.ProbeTargetsForTest(); !slices.Equal(got, want) {
		t.Errorf("probe targets = %v, want %v", got, want)
	}
}

// TestProbeResultsReachSelection: a relay the prober reports down is stored
// as this replica's probe view and leaves selection at once, without
// waiting for the refresh interval.
func TestProbeResultsReachSelection(t *testing.T) {
	inBubble(t, gateway.Config{RefreshInterval: time.Hour}, func(t *testing.T, f *fixture) {
		f.run()
		f.heartbeat(fra1())
		synctest.Wait() // Run's first refresh is done; the next is an hour away
		down := probe.Result{RelayID: "fra-1", Health: probe.HealthDown, RTT: 30 * time.Millisecond,
			MinRTT: 20 * time.Millisecond, Jitter: 2 * time.Millisecond, Loss: 0.5, ProbedAt: time.Now().UTC().Round(0)} // as the store keeps times
		f.gw.ProbeReporterForTest(t.Context(), slog.New(slog.DiscardHandler))([]probe.Result{down})
		want := relay.Probe{Health: relay.HealthDown, RTT: down.RTT, MinRTT: down.MinRTT, Jitter: down.Jitter, Loss: down.Loss, ProbedAt: down.ProbedAt}
		if r, err := f.store.Relay(t.Context(), "fra-1"); err != nil || r.Probe != want {
			t.Fatalf("stored probe view = %+v, %v; want %+v", r.Probe, err, want)
		}
		synctest.Wait()
		if _, err := f.gw.Pick(berlin, "alice", nil, nil); !errors.Is(err, relay.ErrNoCandidate) {
			t.Errorf("Pick() with fra-1 probed down: error = %v, want ErrNoCandidate", err)
		}
	})
}

// failingProbes is a store whose probe writes fail.
type failingProbes struct{ store.Registry }

func (failingProbes) RecordProbes(context.Context, map[string]relay.Probe) error {
	return errors.New("store down")
}

// TestProbeStoreFailureLoggedOnce: a store that keeps failing is one
// warning, not one per batch, and a failure during shutdown none.
func TestProbeStoreFailureLoggedOnce(t *testing.T) {
	mem := storetest.NewMemory(t, store.MemoryConfig{})
	gw, err := gateway.New(gateway.Config{ProbeOff: true}, gateway.Deps{Store: failingProbes{mem}, Minter: testMinter(t)})
	if err != nil {
		t.Fatal(err)
	}
	var logs testenv.Buffer
	log := slog.New(slog.NewJSONHandler(&logs, nil))
	batch := []probe.Result{{RelayID: "fra-1", Health: probe.HealthUp, ProbedAt: storetest.T0}}
	report := gw.ProbeReporterForTest(t.Context(), log)
	for range 3 {
		report(batch)
	}
	if n := strings.Count(logs.String(), "storing probe results fails"); n != 1 {
		t.Errorf("%d warnings over three failing batches, want 1:\n%s", n, logs.String())
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var quiet testenv.Buffer
	gw.ProbeReporterForTest(ctx, slog.New(slog.NewJSONHandler(&quiet, nil)))(batch)
	if quiet.String() != "" {
		t.Errorf("a failure after shutdown began was logged: %s", quiet.String())
	}
}

// TestProberSkipsRefusedAddresses runs the real prober over real sockets:
// two relays on loopback, written to the store past Heartbeat (as another
// replica with other settings could), one at 127.0.0.2, whose /32 the
// gateway allows, one at 127.0.0.3, which it does not. Neither answers, so
// the allowed relay gets a probe and two quick retries, then one probe per
// interval: by the time it has received six, two whole intervals have
// passed, in which the refused one would have had its slot twice; it has
// received nothing.
func TestProberSkipsRefusedAddresses(t *testing.T) {
	listen := func(ip string) (net.PacketConn, *atomic.Int64) {
		var lc net.ListenConfig
		pc, err := lc.ListenPacket(t.Context(), "udp4", ip+":0")
		if err != nil {
			t.Skipf("cannot bind %s (loopback beyond 127.0.0.1): %v", ip, err)
		}
		t.Cleanup(func() { pc.Close() })
		var n atomic.Int64
		go func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := pc.ReadFrom(buf); err != nil {
					return
				}
				n.Add(1)
			}
		}()
		return pc, &n
	}
	allowedConn, allowedGot := listen("127.0.0.2")
	refusedConn, refusedGot := listen("127.0.0.3")
	mem := storetest.NewMemory(t, store.MemoryConfig{})
	for id, pc := range map[string]net.PacketConn{"ok-1": allowedConn, "no-1": refusedConn} {
		ap := netip.MustParseAddrPort(pc.LocalAddr().String())
		r := relayAt(id, id, 50, 8)
		r.Addresses, r.Ports = []netip.Addr{ap.Addr()}, relay.Ports{relay.UDP: ap.Port()}
		if err := mem.Heartbeat(t.Context(), r, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	gw, err := gateway.New(gateway.Config{
		Probe:              probe.Config{Interval: 100 * time.Millisecond, Timeout: 20 * time.Millisecond},
		AllowRelayNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.2/32")},
	}, gateway.Deps{Store: mem, Minter: testMinter(t)})
	if err != nil {
		t.Fatal(err)
	}
	testenv.RunUntilCleanup(t, "Run()", gw.Run)
	testenv.Eventually(t, "six probes of the allowed relay", 10*time.Second, 10*time.Millisecond, func() error {
		if n := allowedGot.Load(); n < 6 {
			return fmt.Errorf("%d so far", n)
		}
		return nil
	})
	if n := refusedGot.Load(); n != 0 {
		t.Errorf("the relay at a refused address received %d probes, want none", n)
	}
}
