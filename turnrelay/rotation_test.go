package turnrelay_test

import (
	"context"
	"crypto/tls"
	"net"
	"strings"
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

// unkeyed is a TURN REST credential as coturn's tools and most app
// backends mint it: "<expiry>:<user>", no key id, under secret s.
func unkeyed(s turncred.Secret, user string, ttl time.Duration) turncred.Credential {
	exp := time.Now().Add(ttl).Truncate(time.Second)
	name := turncred.Username{Expiry: exp.Unix(), User: user}.String()
	return turncred.Credential{Username: name, Password: turncred.Password(s, name), Expires: exp}
}

// rotatingRelay runs a relay with secrets [new, old] on UDP, TCP and TLS,
// as during a rotation, and returns it with the two secrets and a dialer
// for each transport.
func rotatingRelay(t *testing.T) (r *relaytest.Relay, newS, oldS turncred.Secret, dial map[string]func(t *testing.T) net.PacketConn) {
	t.Helper()
	newS, oldS = relaytest.NewSecret(t, "new"), relaytest.NewSecret(t, "old")
	srvTLS, roots := relaytest.TLSConfig(t, "relay.test", "127.0.0.1")
	r = relaytest.Start(t, func(c *turnrelay.Config) {
		c.Secrets = []turncred.Secret{newS, oldS}
		c.Listeners = append(c.Listeners, turnrelay.Listener{Transport: relay.TLS, Addr: "127.0.0.1:0", TLS: srvTLS})
	})
	stream := func(t *testing.T, nc net.Conn, err error) net.PacketConn {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { nc.Close() })
		return turn.NewSTUNConn(nc)
	}
	dial = map[string]func(t *testing.T) net.PacketConn{
		"udp": func(t *testing.T) net.PacketConn { return testenv.ListenUDP(t) },
		"tcp": func(t *testing.T) net.PacketConn {
			t.Helper()
			nc, err := net.DialTimeout("tcp", r.Addr(relay.TCP), 3*time.Second)
			return stream(t, nc, err)
		},
		"tls": func(t *testing.T) net.PacketConn {
			t.Helper()
			d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 3 * time.Second}, Config: &tls.Config{RootCAs: roots, ServerName: "relay.test"}}
			nc, err := d.DialContext(t.Context(), "tcp", r.Addr(relay.TLS))
			return stream(t, nc, err)
		},
	}
	return r, newS, oldS, dial
}

// serverAddr is the listener a transport name dials.
func serverAddr(r *relaytest.Relay, tr string) string {
	return map[string]string{"udp": r.Addr(relay.UDP), "tcp": r.Addr(relay.TCP), "tls": r.Addr(relay.TLS)}[tr]
}

// TestUnkeyedUsernamesDuringRotation: like coturn with several
// static-auth-secrets, a relay holding [new, old] accepts an un-keyed
// username signed with either secret, over UDP, TCP and TLS, with pion's
// own client; one signed with a secret it does not hold gets 401. Keyed
// usernames keep going straight to their secret.
func TestUnkeyedUsernamesDuringRotation(t *testing.T) {
	r, newS, oldS, dial := rotatingRelay(t)
	foreign := relaytest.NewSecret(t, "foreign")
	keyedOld, err := turncred.NewMinter([]turncred.Secret{oldS}, []byte("pseudonym-key-for-tests"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cred func(tr string) turncred.Credential
		ok   bool
	}{
		{name: "un-keyed under the old secret", ok: true, cred: func(tr string) turncred.Credential { return unkeyed(oldS, "olduser-"+tr, time.Hour) }},
		{name: "un-keyed under the new secret", ok: true, cred: func(tr string) turncred.Credential { return unkeyed(newS, "newuser-"+tr, time.Hour) }},
		{name: "keyed under the old secret", ok: true, cred: func(tr string) turncred.Credential { return keyedOld.Mint("keyed-"+tr, time.Hour, time.Now()) }},
		{name: "un-keyed under a secret the relay does not hold", cred: func(tr string) turncred.Credential { return unkeyed(foreign, "stranger-"+tr, time.Hour) }},
		{name: "keyed to the new secret, signed with the old", cred: func(tr string) turncred.Credential {
			return unkeyed(oldS, "new.forged-"+tr, time.Hour) // "new." names the new secret: the old one is not tried
		}},
	}
	for _, tr := range []string{"udp", "tcp", "tls"} {
		for _, tt := range tests {
			t.Run(tr+"/"+tt.name, func(t *testing.T) {
				cred := tt.cred(tr)
				conn := dial[tr](t)
				c := pionClient(t, conn, serverAddr(r, tr), cred)
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				relayed, err := c.AllocateWithContext(ctx)
				if !tt.ok {
					if err == nil {
						relayed.Close()
						t.Fatal("Allocate succeeded; want 401")
					}
					if !strings.Contains(err.Error(), "401") {
						t.Errorf("Allocate error = %v; want 401 Unauthorized", err)
					}
					return
				}
				if err != nil {
					t.Fatalf("Allocate: %v", err)
				}
				defer relayed.Close()
				// Permissions and refreshes are signed too: echoThrough
				// creates a permission, Close refreshes to zero.
				echoThrough(t, relayed, peerSocket(t), conn.LocalAddr())
			})
		}
	}
	waitFor(t, "allocations back to zero", func() bool { return r.Allocations() == 0 })
	if n := turnrelay.PendingMatches(r.Server); n != 0 {
		t.Errorf("%d matches still pending after every request was answered", n)
	}
	if logs := r.Logs(); strings.Contains(logs, "olduser") || strings.Contains(logs, "stranger") {
		t.Errorf("relay logged a TURN username:\n%s", logs)
	}
}

// TestUnkeyedOldSecretRequests: every signed method of an allocation made
// with an un-keyed username under the old secret succeeds, over UDP and
// TCP; the refusals are counted as bad credentials, expired ones as
// expired.
func TestUnkeyedOldSecretRequests(t *testing.T) {
	r, _, oldS, _ := rotatingRelay(t)
	p := peerSocket(t).LocalAddr().(*net.UDPAddr)
	for _, tr := range []string{"udp", "tcp"} {
		t.Run(tr, func(t *testing.T) {
			cred := unkeyed(oldS, "raw-"+tr, time.Hour)
			var c *rawClient
			if tr == "udp" {
				c = newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password)
			} else {
				c = newRawTCP(t, r.Addr(relay.TCP), cred.Username, cred.Password)
			}
			steps := []struct {
				method stun.Method
				attrs  []stun.Setter
			}{
				{stun.MethodAllocate, []stun.Setter{udpTransport}},
				{stun.MethodRefresh, []stun.Setter{lifetime(5 * time.Minute)}},
				{stun.MethodCreatePermission, []stun.Setter{peer(p.IP, p.Port)}},
				{stun.MethodChannelBind, []stun.Setter{channelNumber(0x4001), peer(p.IP, p.Port)}},
				{stun.MethodRefresh, []stun.Setter{lifetime(0)}},
			}
			for _, s := range steps {
				if got := errCode(c.do(s.method, s.attrs...)); got != 0 {
					t.Fatalf("%v = %d, want success", s.method, got)
				}
			}
		})
	}
	t.Run("refusals", func(t *testing.T) {
		foreign := relaytest.NewSecret(t, "foreign")
		tests := []struct {
			name   string
			cred   turncred.Credential
			reason string
		}{
			{name: "unlisted secret", cred: unkeyed(foreign, "stranger", time.Hour), reason: "bad_credential"},
			{name: "expired, old secret", cred: unkeyed(oldS, "late", -time.Minute), reason: "expired"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				before := authFailures(r, tt.reason)
				c := newRawUDP(t, r.Addr(relay.UDP), tt.cred.Username, tt.cred.Password)
				if got := errCode(c.allocate()); got != 401 {
					t.Fatalf("Allocate = %d, want 401", got)
				}
				if got := authFailures(r, tt.reason) - before; got < 1 {
					t.Errorf("auth_failures_total{reason=%q} grew by %v, want >= 1", tt.reason, got)
				}
			})
		}
	})
	waitFor(t, "allocations back to zero", func() bool { return r.Allocations() == 0 })
	if n := turnrelay.PendingMatches(r.Server); n != 0 {
		t.Errorf("%d matches still pending", n)
	}
}

// TestOneSecretNeedsNoMatcher: with one secret there is nothing to choose,
// and the listeners are pion's own.
func TestOneSecretNeedsNoMatcher(t *testing.T) {
	r := relaytest.Start(t)
	if n := turnrelay.PendingMatches(r.Server); n != -1 {
		t.Errorf("PendingMatches = %d, want -1 (no matcher)", n)
	}
	cred := unkeyed(r.Secrets[0], "solo", time.Hour)
	c := newRawUDP(t, r.Addr(relay.UDP), cred.Username, cred.Password)
	if got := errCode(c.allocate()); got != 0 {
		t.Fatalf("Allocate = %d, want success", got)
	}
}
