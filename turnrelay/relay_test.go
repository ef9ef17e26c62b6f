package turnrelay_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay"
	"github.com/relaygate/relaygate/turnrelay/relaytest"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

// pionClient allocates through the relay with pion's own client over conn.
func pionClient(t *testing.T, conn net.PacketConn, server string, cred turncred.Credential) *turn.Client {
	t.Helper()
	return relaytest.PionClient(t, &turn.ClientConfig{
		STUNServerAddr: server, TURNServerAddr: server,
		Username: cred.Username, Password: cred.Password, Realm: relaytest.Realm,
		Conn: conn, RTO: 200 * time.Millisecond,
	})
}

// pionUDP is pion's client for a fresh credential of user over a loopback
// UDP socket of its own, which it returns too.
func pionUDP(t *testing.T, r *relaytest.Relay, user string) (*turn.Client, net.PacketConn) {
	t.Helper()
	conn := testenv.ListenUDP(t)
	return pionClient(t, conn, r.Addr(relay.UDP), r.Credential(user, time.Hour)), conn
}

// allocatedUDP is a raw client over UDP for a fresh credential of user,
// with an allocation on r.
func allocatedUDP(t *testing.T, r *relaytest.Relay, user string) *rawClient {
	t.Helper()
	cred := r.Credential(user, time.Hour)
	c := newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password)
	if got := errCode(c.allocate()); got != 0 {
		t.Fatalf("Allocate = %d", got)
	}
	return c
}

// wantNothing checks that nothing reaches the peer ps within 300ms; when
// says in which case.
func wantNothing(t *testing.T, ps net.PacketConn, when string) {
	t.Helper()
	if got, _, err := readWithin(ps, 300*time.Millisecond); !errors.Is(err, errTimeout) {
		t.Errorf("peer received %q, %v %s; want nothing", got, err, when)
	}
}

// echoThrough sends through relayed to peer, has the peer answer, and
// checks both directions arrive with the relay's address, not the client's.
func echoThrough(t *testing.T, relayed net.PacketConn, p *net.UDPConn, client net.Addr) {
	t.Helper()
	msg := []byte("hello through the relay")
	if _, err := relayed.WriteTo(msg, p.LocalAddr()); err != nil {
		t.Fatalf("relayed.WriteTo: %v", err)
	}
	got, from, err := readWithin(p, 3*time.Second)
	if err != nil || !bytes.Equal(got, msg) {
		t.Fatalf("peer read = %q, %v; want %q", got, err, msg)
	}
	if from.String() != relayed.LocalAddr().String() {
		t.Errorf("peer saw sender %v, want the relayed address %v", from, relayed.LocalAddr())
	}
	if strings.Contains(from.String(), client.String()) {
		t.Errorf("peer saw the client's address %v", from)
	}
	// pion's client cannot frame ChannelData under 5 bytes over TCP
	// (STUNConn wants 9 bytes before it parses a frame): answer with more.
	const pong = "pong from the peer"
	if _, err := p.WriteTo([]byte(pong), from); err != nil {
		t.Fatal(err)
	}
	got, _, err = readWithin(relayed, 3*time.Second)
	if err != nil || string(got) != pong {
		t.Fatalf("client read = %q, %v; want %q", got, err, pong)
	}
}

func TestRelayUDP(t *testing.T) {
	r := relaytest.Start(t)
	c, conn := pionUDP(t, r, "alice")

	mapped, err := c.SendBindingRequest()
	if err != nil || mapped.String() != conn.LocalAddr().String() {
		t.Fatalf("SendBindingRequest() = %v, %v; want %v", mapped, err, conn.LocalAddr())
	}
	relayed, err := c.Allocate()
	if err != nil {
		t.Fatalf("Allocate: %v", err)
	}
	defer relayed.Close()
	ra := relayed.LocalAddr().(*net.UDPAddr)
	if !ra.IP.Equal(net.IPv4(127, 0, 0, 1)) || ra.Port < 49152 {
		t.Errorf("relayed address = %v, want 127.0.0.1 in 49152-65535", ra)
	}
	echoThrough(t, relayed, peerSocket(t), conn.LocalAddr())
	if got := r.Allocations(); got != 1 {
		t.Errorf("Allocations() = %d, want 1", got)
	}
}

func TestRelayTCPAndTLS(t *testing.T) {
	srvTLS, roots := relaytest.TLSConfig(t, "relay.test", "127.0.0.1")
	r := relaytest.Start(t, func(c *turnrelay.Config) {
		c.Listeners = append(c.Listeners, turnrelay.Listener{Transport: relay.TLS, Addr: "127.0.0.1:0", TLS: srvTLS})
	})
	dials := map[string]func() (net.Conn, error){
		"tcp": func() (net.Conn, error) { return net.DialTimeout("tcp", r.Addr(relay.TCP), 3*time.Second) },
		"tls": func() (net.Conn, error) {
			d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 3 * time.Second}, Config: &tls.Config{RootCAs: roots, ServerName: "relay.test"}}
			return d.DialContext(context.Background(), "tcp", r.Addr(relay.TLS))
		},
	}
	for name, dial := range dials {
		t.Run(name, func(t *testing.T) {
			nc, err := dial()
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			c := pionClient(t, turn.NewSTUNConn(nc), nc.RemoteAddr().String(), r.Credential("bob-"+name, time.Hour))
			relayed, err := c.Allocate()
			if err != nil {
				t.Fatalf("Allocate: %v", err)
			}
			defer relayed.Close()
			echoThrough(t, relayed, peerSocket(t), nc.LocalAddr())
		})
	}
	// Closing the TCP connections deletes their allocations.
	waitFor(t, "allocations back to zero", func() bool { return r.Allocations() == 0 })
}

// waitFor polls cond every 10ms for up to 5s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	testenv.Eventually(t, what, 5*time.Second, 10*time.Millisecond, func() error {
		if !cond() {
			return errNotYet
		}
		return nil
	})
}

var errNotYet = errors.New("not yet")

func TestRefreshAndExpiry(t *testing.T) {
	r := relaytest.Start(t)
	cred := r.Credential("carol", time.Hour)
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			var c *rawClient
			if tr == "udp" {
				c = newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password)
			} else {
				c = newRawTCP(t, r.Addr(relay.TCP), cred.Username, cred.Password)
			}
			if res := c.allocate(lifetime(time.Minute)); errCode(res) != 0 {
				t.Fatalf("Allocate = %d, want success", errCode(res))
			}
			res := c.do(stun.MethodRefresh, lifetime(10*time.Minute))
			if errCode(res) != 0 {
				t.Fatalf("Refresh = %d, want success", errCode(res))
			}
			if v, err := res.Get(stun.AttrLifetime); err != nil || len(v) != 4 || v[2] != 0x02 || v[3] != 0x58 {
				t.Errorf("Refresh LIFETIME = %x, %v; want 600s", v, err)
			}
			if res := c.do(stun.MethodRefresh, lifetime(0)); errCode(res) != 0 {
				t.Fatalf("Refresh(0) = %d, want success", errCode(res))
			}
			waitFor(t, "deleted allocation released", func() bool { return r.Allocations() == 0 })
		})
	}
	t.Run("expiry", func(t *testing.T) {
		c := newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password)
		if res := c.allocate(lifetime(time.Second)); errCode(res) != 0 {
			t.Fatalf("Allocate = %d, want success", errCode(res))
		}
		if r.Allocations() != 1 {
			t.Fatalf("Allocations() = %d, want 1", r.Allocations())
		}
		waitFor(t, "expired allocation released", func() bool { return r.Allocations() == 0 })
	})
}

func TestCredentials(t *testing.T) {
	oldS, newS := relaytest.NewSecret(t, "old"), relaytest.NewSecret(t, "new")
	mint := func(s turncred.Secret, ttl time.Duration) turncred.Credential {
		m, err := turncred.NewMinter([]turncred.Secret{s}, []byte("pseudonym-key-for-tests"))
		if err != nil {
			t.Fatal(err)
		}
		return m.Mint("dave", ttl, time.Now())
	}
	both := relaytest.Start(t, func(c *turnrelay.Config) { c.Secrets = []turncred.Secret{newS, oldS} })
	onlyNew := relaytest.Start(t, func(c *turnrelay.Config) { c.Secrets = []turncred.Secret{newS} })
	good := mint(newS, time.Hour)
	tests := []struct {
		name       string
		relay      *relaytest.Relay
		user, pass string
		want       int
		reason     string
	}{
		{name: "newest secret", relay: both, user: good.Username, pass: good.Password, want: 0},
		{name: "older secret still listed", relay: both, user: mint(oldS, time.Hour).Username, pass: mint(oldS, time.Hour).Password, want: 0},
		{name: "removed secret", relay: onlyNew, user: mint(oldS, time.Hour).Username, pass: mint(oldS, time.Hour).Password, want: 401, reason: "bad_credential"},
		{name: "wrong password", relay: both, user: good.Username, pass: "d3Jvbmc=", want: 401, reason: "bad_credential"},
		{name: "malformed username", relay: both, user: "dave", pass: good.Password, want: 401, reason: "malformed"},
		{name: "expired", relay: both, user: mint(newS, -time.Minute).Username, pass: mint(newS, -time.Minute).Password, want: 401, reason: "expired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := authFailures(tt.relay, tt.reason)
			c := newRawUDP(t, tt.relay.Addr(relay.UDP), tt.user, tt.pass)
			if got := errCode(c.allocate()); got != tt.want {
				t.Fatalf("Allocate = %d, want %d", got, tt.want)
			}
			if tt.reason != "" {
				if got := authFailures(tt.relay, tt.reason) - before; got < 1 {
					t.Errorf("auth_failures_total{reason=%q} grew by %v, want >= 1", tt.reason, got)
				}
			}
		})
	}
}

func authFailures(r *relaytest.Relay, reason string) float64 {
	if reason == "" {
		return 0
	}
	return metricValue(r, "relaynode_auth_failures_total", "reason", reason)
}

// metricValue reads one sample from the relay's registry.
func metricValue(r *relaytest.Relay, name, label, value string) float64 {
	mfs, err := r.Registry().Gather()
	if err != nil {
		return -1
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			match := label == ""
			for _, lp := range m.GetLabel() {
				if lp.GetName() == label && lp.GetValue() == value {
					match = true
				}
			}
			if !match {
				continue
			}
			switch {
			case m.GetCounter() != nil:
				return m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				return m.GetGauge().GetValue()
			}
		}
	}
	return 0
}

// TestExpiryByMethod: an allocation outlives its credential unless
// --strict-expiry, which also refuses permissions and channel binds.
func TestExpiryByMethod(t *testing.T) {
	for _, strict := range []bool{false, true} {
		t.Run(fmt.Sprintf("strict=%v", strict), func(t *testing.T) {
			var skew atomic.Int64
			r := relaytest.Start(t, func(c *turnrelay.Config) {
				c.StrictExpiry = strict
				c.Now = func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
			})
			cred := r.Credential("erin", time.Minute)
			c := newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password)
			if got := errCode(c.allocate()); got != 0 {
				t.Fatalf("Allocate = %d, want success", got)
			}
			skew.Store(int64(2 * time.Minute)) // the credential is now expired
			want := 0
			if strict {
				want = 401
			}
			p := peerSocket(t).LocalAddr().(*net.UDPAddr)
			if got := errCode(c.do(stun.MethodRefresh, lifetime(time.Minute))); got != want {
				t.Errorf("Refresh = %d, want %d", got, want)
			}
			if got := errCode(c.do(stun.MethodCreatePermission, peer(p.IP, p.Port))); got != want {
				t.Errorf("CreatePermission = %d, want %d", got, want)
			}
			if got := errCode(c.do(stun.MethodChannelBind, channelNumber(0x4000), peer(p.IP, p.Port))); got != want {
				t.Errorf("ChannelBind = %d, want %d", got, want)
			}
			fresh := newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password)
			if got := errCode(fresh.allocate()); got != 401 {
				t.Errorf("Allocate with expired credential = %d, want 401", got)
			}
		})
	}
}

func TestPeerFilterOnTheWire(t *testing.T) {
	pfx := func(s ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, x := range s {
			out = append(out, netip.MustParsePrefix(x))
		}
		return out
	}
	tests := []struct {
		name         string
		allow, deny  []netip.Prefix
		loopbackOpen bool
	}{
		{name: "default denies loopback"},
		{name: "allow opens it", allow: pfx("127.0.0.1/32"), loopbackOpen: true},
		{name: "allow a range", allow: pfx("127.0.0.0/8"), loopbackOpen: true},
		{name: "more specific deny wins", allow: pfx("127.0.0.0/8"), deny: pfx("127.0.0.1/32")},
		{name: "deny wins a tie", allow: pfx("127.0.0.1/32"), deny: pfx("127.0.0.1/32")},
		{name: "allow inside a deny", allow: pfx("127.0.0.1/32"), deny: pfx("127.0.0.0/8"), loopbackOpen: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := relaytest.Start(t, func(c *turnrelay.Config) { c.AllowPeers, c.DenyPeers = tt.allow, tt.deny })
			c := allocatedUDP(t, r, "frank")
			ps := peerSocket(t)
			pa := ps.LocalAddr().(*net.UDPAddr)
			want, wantBind := 403, 401 // pion answers a refused ChannelBind with 401
			if tt.loopbackOpen {
				want, wantBind = 0, 0
			}
			if got := errCode(c.do(stun.MethodCreatePermission, peer(pa.IP, pa.Port))); got != want {
				t.Errorf("CreatePermission = %d, want %d", got, want)
			}
			if got := errCode(c.do(stun.MethodChannelBind, channelNumber(0x4001), peer(pa.IP, pa.Port))); got != wantBind {
				t.Errorf("ChannelBind = %d, want %d", got, wantBind)
			}
			c.send(pa, []byte("ping"))
			got, _, err := readWithin(ps, 300*time.Millisecond)
			switch {
			case tt.loopbackOpen && string(got) != "ping":
				t.Errorf("peer read %q, %v; want ping", got, err)
			case !tt.loopbackOpen && !errors.Is(err, errTimeout):
				t.Errorf("refused peer received %q, %v", got, err)
			}
			if denied := metricValue(r, "relaynode_peer_denied_total", "", ""); !tt.loopbackOpen && denied < 2 {
				t.Errorf("peer_denied_total = %v, want >= 2", denied)
			}
		})
	}
}

// TestPeerFilterClasses sends CreatePermission for one address of every
// denied IPv4 class and IPv6 class (on an IPv6 allocation over ::1).
func TestPeerFilterClasses(t *testing.T) {
	v4 := []string{"0.0.0.0", "0.1.2.3", "10.1.2.3", "100.64.0.1", "127.0.0.1", "127.255.255.254", "169.254.169.254",
		"172.16.0.1", "172.31.255.255", "192.0.0.8", "192.0.2.1", "192.88.99.1", "192.168.1.1", "198.18.0.1",
		"198.51.100.1", "203.0.113.1", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255"}
	r := relaytest.Start(t, func(c *turnrelay.Config) { c.AllowPeers = nil })
	c := allocatedUDP(t, r, "gina")
	for _, a := range v4 {
		if got := errCode(c.do(stun.MethodCreatePermission, peer(net.ParseIP(a), 9))); got != 403 {
			t.Errorf("CreatePermission(%s) = %d, want 403", a, got)
		}
	}
	if got := errCode(c.do(stun.MethodCreatePermission, peer(net.ParseIP("8.8.8.8"), 53))); got != 0 {
		t.Errorf("CreatePermission(8.8.8.8) = %d, want success", got)
	}

	r6 := relaytest.Start(t, func(c *turnrelay.Config) {
		c.AllowPeers = nil
		c.Listeners = []turnrelay.Listener{{Transport: relay.UDP, Addr: "[::1]:0"}}
	})
	cred6 := r6.Credential("gina", time.Hour)
	c6 := &rawClient{t: t, user: cred6.Username, pass: cred6.Password}
	conn, err := net.ListenPacket("udp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	defer conn.Close()
	c6.conn, c6.server = conn, net.UDPAddrFromAddrPort(r6.Addrs()[relay.UDP])
	if got := errCode(c6.allocate()); got != 0 {
		t.Fatalf("Allocate over ::1 = %d", got)
	}
	v6 := []string{"::", "::1", "::ffff:127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::a00:1", "64:ff9b::7f00:1", "64:ff9b:1::1",
		"2002:7f00:1::1", "2002:c0a8:101::1", "2001::1", "2001:db8::1", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1", "100::1"}
	for _, a := range v6 {
		if got := errCode(c6.do(stun.MethodCreatePermission, peer(net.ParseIP(a), 9))); got != 403 && got != 443 {
			t.Errorf("CreatePermission(%s) = %d, want 403", a, got)
		}
	}
	if got := errCode(c6.do(stun.MethodCreatePermission, peer(net.ParseIP("2606:4700::1111"), 53))); got != 0 {
		t.Errorf("CreatePermission(2606:4700::1111) = %d, want success", got)
	}
}

func TestQuotas(t *testing.T) {
	t.Run("max allocations", func(t *testing.T) {
		r := relaytest.Start(t, func(c *turnrelay.Config) { c.MaxAllocations = 2 })
		var cs []*rawClient
		for i := range 3 {
			cred := r.Credential(fmt.Sprintf("u%d", i), time.Hour)
			cs = append(cs, newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password))
		}
		for i, want := range []int{0, 0, 508} {
			if got := errCode(cs[i].allocate()); got != want {
				t.Errorf("Allocate #%d = %d, want %d", i+1, got, want)
			}
		}
		if got := metricValue(r, "relaynode_quota_rejections_total", "kind", "allocations"); got != 1 {
			t.Errorf("quota_rejections_total{kind=allocations} = %v, want 1", got)
		}
		cs[0].do(stun.MethodRefresh, lifetime(0))
		waitFor(t, "a free slot", func() bool { return r.Allocations() == 1 })
		if got := errCode(cs[2].allocate()); got != 0 {
			t.Errorf("Allocate after a delete = %d, want success", got)
		}
	})
	t.Run("user quota", func(t *testing.T) {
		r := relaytest.Start(t, func(c *turnrelay.Config) { c.UserQuota = 1 })
		hank := r.Credential("hank", time.Hour)
		hank2 := r.Credential("hank", 2*time.Hour) // another credential, same user
		ivy := r.Credential("ivy", time.Hour)
		if got := errCode(newRawUDP(t, r.Addr(relay.UDP), hank.Username, hank.Password).allocate()); got != 0 {
			t.Fatalf("first Allocate = %d", got)
		}
		if got := errCode(newRawUDP(t, r.Addr(relay.UDP), hank2.Username, hank2.Password).allocate()); got != 486 {
			t.Errorf("second Allocate of one user = %d, want 486", got)
		}
		if got := errCode(newRawTCP(t, r.Addr(relay.TCP), hank.Username, hank.Password).allocate()); got != 486 {
			t.Errorf("Allocate of one user over TCP = %d, want 486", got)
		}
		if got := errCode(newRawUDP(t, r.Addr(relay.UDP), ivy.Username, ivy.Password).allocate()); got != 0 {
			t.Errorf("another user's Allocate = %d, want success", got)
		}
		if got := metricValue(r, "relaynode_quota_rejections_total", "kind", "user"); got != 2 {
			t.Errorf("quota_rejections_total{kind=user} = %v, want 2", got)
		}
	})
	t.Run("bandwidth", func(t *testing.T) {
		const bps = 400_000 // 50 kB/s, 200ms burst = 10 kB
		r := relaytest.Start(t, func(c *turnrelay.Config) { c.MaxBPS = bps })
		c := allocatedUDP(t, r, "jack")
		ps := peerSocket(t)
		pa := ps.LocalAddr().(*net.UDPAddr)
		if got := errCode(c.do(stun.MethodCreatePermission, peer(pa.IP, pa.Port))); got != 0 {
			t.Fatalf("CreatePermission = %d", got)
		}
		payload := make([]byte, 1000)
		start := time.Now()
		const sent = 100 // 100 kB in a burst
		for range sent {
			c.send(pa, payload)
		}
		received := 0
		for range sent {
			if _, _, err := readWithin(ps, 300*time.Millisecond); err != nil {
				break
			}
			received++
		}
		// Budget over the elapsed time plus the burst, with slack for timing.
		limit := int((time.Since(start).Seconds()*bps/8+10_000)/1000) + 5
		if received == 0 || received > limit || received >= sent {
			t.Errorf("peer received %d of %d datagrams, want 1..%d", received, sent, limit)
		}
		if got := metricValue(r, "relaynode_dropped_packets_total", "reason", "bandwidth"); got < 1 {
			t.Errorf("dropped_packets_total{reason=bandwidth} = %v, want > 0", got)
		}
	})
}

func TestDrain(t *testing.T) {
	r := relaytest.Start(t, func(c *turnrelay.Config) { c.DrainTimeout = 20 * time.Second })
	cred := r.Credential("kim", time.Hour)
	live := newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password)
	if got := errCode(live.allocate()); got != 0 {
		t.Fatalf("Allocate = %d", got)
	}
	start := time.Now()
	r.Shutdown()
	waitFor(t, "draining", r.Draining)
	if got := errCode(newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password).allocate()); got != 508 {
		t.Errorf("Allocate while draining = %d, want 508", got)
	}
	// The live allocation keeps working while the node drains.
	ps := peerSocket(t)
	pa := ps.LocalAddr().(*net.UDPAddr)
	if got := errCode(live.do(stun.MethodCreatePermission, peer(pa.IP, pa.Port))); got != 0 {
		t.Fatalf("CreatePermission while draining = %d", got)
	}
	live.send(pa, []byte("still here"))
	if got, _, err := readWithin(ps, 3*time.Second); err != nil || string(got) != "still here" {
		t.Errorf("peer read while draining = %q, %v", got, err)
	}
	if stopped, _ := r.Wait(50 * time.Millisecond); stopped {
		t.Fatal("relay stopped with a live allocation before its drain timeout")
	}
	live.do(stun.MethodRefresh, lifetime(0)) // the call ends
	stopped, err := r.Wait(5 * time.Second)
	if !stopped || err != nil {
		t.Fatalf("relay did not stop after its last allocation: stopped=%v err=%v", stopped, err)
	}
	if el := time.Since(start); el > 10*time.Second {
		t.Errorf("drain took %v, want it to end with the last allocation", el)
	}
}

func TestDrainTimeout(t *testing.T) {
	r := relaytest.Start(t, func(c *turnrelay.Config) { c.DrainTimeout = 300 * time.Millisecond })
	cred := r.Credential("lee", time.Hour)
	if got := errCode(newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password).allocate()); got != 0 {
		t.Fatalf("Allocate = %d", got)
	}
	r.Shutdown()
	stopped, err := r.Wait(5 * time.Second)
	if !stopped || err != nil {
		t.Fatalf("relay did not stop at its drain timeout: stopped=%v err=%v", stopped, err)
	}
	if got := r.Allocations(); got != 0 {
		t.Errorf("Allocations() after Run = %d, want 0", got)
	}
}

// TestMetricsAndPrivacy: the metrics carry no per-user or per-address
// label, and neither metrics nor logs carry a username, credential or
// client address.
func TestMetricsAndPrivacy(t *testing.T) {
	r := relaytest.Start(t, func(c *turnrelay.Config) { c.AllowPeers = nil })
	cred := r.Credential("mallory", time.Hour)
	c := newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password)
	c.allocate()
	c.do(stun.MethodCreatePermission, peer(net.IPv4(10, 9, 8, 7), 9)) // denied, pion logs it
	newRawUDP(t, r.Addr(relay.UDP), cred.Username, "wrong").allocate()
	newRawUDP(t, r.Addr(relay.UDP), "1:bad", "x").allocate()

	srv := httptest.NewServer(r.MetricsHandler())
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	text := string(body)
	for _, name := range []string{"relaynode_allocations ", "relaynode_allocations_total", `relaynode_relayed_bytes_total{direction="to_peer"}`,
		`relaynode_relayed_packets_total{direction="from_peer"}`, "relaynode_peer_denied_total", `relaynode_auth_failures_total{reason="bad_credential"}`,
		`relaynode_quota_rejections_total{kind="user"}`} {
		if !strings.Contains(text, name) {
			t.Errorf("metrics lack %s", name)
		}
	}
	if got := metricValue(r, "relaynode_allocations", "", ""); got != 1 {
		t.Errorf("relaynode_allocations = %v, want 1", got)
	}
	allowedLabels := map[string]bool{"direction": true, "reason": true, "kind": true, "result": true}
	mfs, err := r.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if !strings.HasPrefix(mf.GetName(), "relaynode_") {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !allowedLabels[lp.GetName()] {
					t.Errorf("%s has label %s", mf.GetName(), lp.GetName())
				}
			}
		}
	}
	client := c.conn.LocalAddr().(*net.UDPAddr)
	secrets := []string{cred.Username, cred.Password, strings.SplitN(cred.Username, ".", 2)[1],
		fmt.Sprintf("%s:%d", client.IP, client.Port), fmt.Sprint(client.Port), "10.9.8.7"}
	logs := r.Logs()
	for _, s := range secrets {
		if strings.Contains(text, s) {
			t.Errorf("metrics contain %q", s)
		}
		if strings.Contains(logs, s) {
			t.Errorf("logs contain %q:\n%s", s, logs)
		}
	}
}
