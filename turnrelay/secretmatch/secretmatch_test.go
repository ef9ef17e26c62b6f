package secretmatch

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/pion/stun/v4"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/turnrelay/turncred"
)

const realm = "relaygate"

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

// secrets are a relay's [new, old] during a rotation, and one it lacks.
func secrets(t testing.TB) (newS, oldS, foreign turncred.Secret, v *turncred.Verifier) {
	t.Helper()
	list, err := turncred.ParseSecrets("new:0123456789abcdef-NEW,old:0123456789abcdef-OLD")
	if err != nil {
		t.Fatal(err)
	}
	foreign, err = turncred.NewBareSecret("0123456789abcdef-FOREIGN")
	if err != nil {
		t.Fatal(err)
	}
	v, err = turncred.NewVerifier(list)
	if err != nil {
		t.Fatal(err)
	}
	return list[0], list[1], foreign, v
}

func newMatcher(t testing.TB, v *turncred.Verifier, expiryApplies func(stun.Method) bool) *Matcher {
	t.Helper()
	m, err := New(Config{Verifier: v, Realm: realm, ExpiryApplies: expiryApplies, Now: func() time.Time { return t0 }})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// signed builds a request signed with username's password under s.
func signed(method stun.Method, username, msgRealm string, s turncred.Secret) []byte {
	return stun.MustBuild(stun.TransactionID, stun.NewType(method, stun.ClassRequest),
		stun.NewUsername(username), stun.NewRealm(msgRealm), stun.NewNonce("nonce"),
		stun.NewLongTermIntegrity(username, msgRealm, turncred.Password(s, username)), stun.Fingerprint).Raw
}

func name(user string, exp time.Time) string {
	return turncred.Username{Expiry: exp.Unix(), User: user}.String()
}

func TestNewRejects(t *testing.T) {
	_, _, _, v := secrets(t)
	if _, err := New(Config{Realm: realm}); err == nil {
		t.Error("New without a verifier succeeded")
	}
	if _, err := New(Config{Verifier: v}); err == nil {
		t.Error("New without a realm succeeded")
	}
}

func TestScan(t *testing.T) {
	newS, _, _, _ := secrets(t)
	req := signed(stun.MethodAllocate, "1:bob", realm, newS)
	unsigned := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassRequest), stun.Fingerprint).Raw
	indication := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication), stun.NewUsername("1:bob")).Raw
	response := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse)).Raw
	tests := []struct {
		name     string
		b        []byte
		ok       bool
		signed   bool
		username string
	}{
		{name: "signed request", b: req, ok: true, signed: true, username: "1:bob"},
		{name: "signed request and trailing bytes", b: append(slices.Clone(req), 1, 2, 3), ok: true, signed: true, username: "1:bob"},
		{name: "unsigned request", b: unsigned, ok: true},
		{name: "indication", b: indication},
		{name: "response", b: response},
		{name: "truncated", b: req[:len(req)-1]},
		{name: "ChannelData", b: []byte{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4}},
		{name: "no cookie", b: append([]byte{0, 1, 0, 0, 1, 2, 3, 4}, make([]byte, 12)...)},
		{name: "attribute overruns", b: func() []byte {
			b := slices.Clone(req)
			binary.BigEndian.PutUint16(b[22:24], 0xFFF0)
			return b
		}()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := scan(tt.b)
			if ok != tt.ok || r.signed != tt.signed || string(r.username) != tt.username {
				t.Fatalf("scan() = %+v, %v; want ok %v, signed %v, username %q", r, ok, tt.ok, tt.signed, tt.username)
			}
			if ok && (r.method != stun.MethodAllocate || r.size != len(req) && tt.b[0] == req[0] && tt.signed) {
				t.Errorf("scan() method %v size %d, want Allocate of %d bytes", r.method, r.size, len(req))
			}
			if ok && tt.signed && string(r.realm) != realm {
				t.Errorf("scan() realm %q, want %q", r.realm, realm)
			}
		})
	}
}

func FuzzScan(f *testing.F) {
	newS, _, _, _ := secrets(f)
	f.Add(signed(stun.MethodAllocate, "1:bob", realm, newS))
	f.Add(signed(stun.MethodRefresh, "1764113400:new.x", realm, newS))
	f.Add([]byte{0x40, 0x00, 0x00, 0x04, 1, 2, 3, 4})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, ok := scan(b)
		if !ok {
			return
		}
		if r.size < headerSize || r.size > len(b) {
			t.Fatalf("scan() size %d outside 20..%d", r.size, len(b))
		}
		// Whatever scan accepts as signed, pion's decoder reads alike.
		m := &stun.Message{Raw: slices.Clone(b[:r.size])}
		if err := m.Decode(); err != nil {
			t.Fatalf("scan() accepted what stun.Decode refuses: %v", err)
		}
		var u stun.Username
		if err := u.GetFrom(m); (err == nil) != (r.username != nil) || (err == nil && !bytes.Equal(u, r.username)) {
			t.Fatalf("scan() username %q, stun says %q, %v", r.username, u, err)
		}
		if m.Contains(stun.AttrMessageIntegrity) != r.signed {
			t.Fatalf("scan() signed %v, stun disagrees", r.signed)
		}
	})
}

// TestPacketConnMatches runs requests over real loopback UDP through the
// wrapper and asks which secret each matched.
func TestPacketConnMatches(t *testing.T) {
	newS, oldS, foreign, v := secrets(t)
	later := t0.Add(time.Hour)
	// Refresh keeps live allocations past their credential, as the relay's
	// AuthHandler does without --strict-expiry.
	m := newMatcher(t, v, func(method stun.Method) bool { return method != stun.MethodRefresh })
	srv := testenv.ListenUDP(t)
	pc := m.PacketConn(srv)
	cli := testenv.ListenUDP(t)

	tests := []struct {
		name     string
		method   stun.Method
		username string
		realm    string
		s        turncred.Secret
		want     *turncred.Secret // the secret Password hands over; nil: none
	}{
		{name: "un-keyed, old secret", method: stun.MethodAllocate, username: name("bob", later), realm: realm, s: oldS, want: &oldS},
		{name: "un-keyed, new secret", method: stun.MethodAllocate, username: name("carol", later), realm: realm, s: newS, want: &newS},
		{name: "un-keyed, unlisted secret", method: stun.MethodAllocate, username: name("mallory", later), realm: realm, s: foreign},
		{name: "keyed goes to the AuthHandler", method: stun.MethodAllocate, username: name("old.dave", later), realm: realm, s: oldS},
		{name: "expired allocate", method: stun.MethodAllocate, username: name("erin", t0), realm: realm, s: oldS},
		{name: "expired refresh", method: stun.MethodRefresh, username: name("erin", t0), realm: realm, s: oldS, want: &oldS},
		{name: "another realm", method: stun.MethodAllocate, username: name("frank", later), realm: "other", s: oldS},
		{name: "binding is not authenticated", method: stun.MethodBinding, username: name("grace", later), realm: realm, s: oldS},
	}
	buf := make([]byte, 1500)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := cli.WriteTo(signed(tt.method, tt.username, tt.realm, tt.s), srv.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			_ = pc.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				t.Fatal(err)
			}
			got, ok := m.Password(from, tt.username)
			switch {
			case tt.want == nil && ok:
				t.Errorf("Password() handed over a password; want none")
			case tt.want != nil && (!ok || got != turncred.Password(*tt.want, tt.username)):
				t.Errorf("Password() = ok %v, not %s's password", ok, tt.want.ID)
			}
			if _, ok := m.Password(from, tt.username); ok {
				t.Error("Password() handed the match over twice")
			}
			if _, ok := m.Password(cli.LocalAddr(), "1:other"); ok {
				t.Error("Password() for another username handed something over")
			}
		})
	}
	if n := m.Pending(); n != 0 {
		t.Errorf("Pending() = %d, want 0", n)
	}
}

// TestNoMatchForgetsOld: a request that no secret signed drops what an
// earlier one of the same source and username left.
func TestNoMatchForgetsOld(t *testing.T) {
	_, oldS, foreign, v := secrets(t)
	m := newMatcher(t, v, nil)
	in := &inspector{m: m}
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
	u := name("bob", t0.Add(time.Hour))
	in.inspect(src, signed(stun.MethodAllocate, u, realm, oldS))
	in.inspect(src, signed(stun.MethodAllocate, u, realm, foreign))
	if _, ok := m.Password(src, u); ok {
		t.Error("Password() kept a match a later unsigned-by-us request replaced")
	}
}

func TestPendingBounded(t *testing.T) {
	_, oldS, _, v := secrets(t)
	m := newMatcher(t, v, nil)
	for i := range MaxPending + 10 {
		m.remember(pendingKey{src: fmt.Sprint(i), username: "1:x"}, oldS)
	}
	if n := m.Pending(); n != MaxPending {
		t.Errorf("Pending() = %d, want the bound %d", n, MaxPending)
	}
}

// stream is a TCP byte stream as a TURN client writes it: ChannelData
// (padded), indications, responses and requests, with the usernames of the
// requests in order.
func stream(s turncred.Secret) ([]byte, []string) {
	var b []byte
	var names []string
	for i := range 5 {
		u := name(fmt.Sprintf("user%d", i), t0.Add(time.Hour))
		names = append(names, u)
		n := 1 + i*3 // ChannelData lengths 1, 4, 7, ...: padded to 4 on streams
		cd := append([]byte{0x40, byte(i), 0, byte(n)}, bytes.Repeat([]byte{0xEE}, (n+3)&^3)...)
		send := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
			stun.RawAttribute{Type: stun.AttrData, Value: bytes.Repeat([]byte{0xAB}, 100+i)}).Raw
		b = append(append(append(b, cd...), send...), signed(stun.MethodRefresh, u, realm, s)...)
	}
	return b, names
}

// TestListenerFramesLikePion writes a stream in pieces of 1 to 7 bytes
// over real loopback TCP and checks every request was matched, once.
func TestListenerFramesLikePion(t *testing.T) {
	_, oldS, _, v := secrets(t)
	m := newMatcher(t, v, nil)
	tl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := m.Listener(tl)
	defer l.Close()
	data, names := stream(oldS)
	go func() {
		c, err := net.Dial("tcp4", tl.Addr().String())
		if err != nil {
			return
		}
		defer c.Close()
		for i, size := 0, 1; i < len(data); i, size = i+size, size%7+1 {
			if _, err := c.Write(data[i:min(i+size, len(data))]); err != nil {
				return
			}
		}
	}()
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(iotestHalf{c})
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v; want the %d written, unchanged", len(got), err, len(data))
	}
	for _, u := range names {
		if p, ok := m.Password(c.RemoteAddr(), u); !ok || p != turncred.Password(oldS, u) {
			t.Errorf("request of %s not matched to the old secret", u)
		}
	}
	if n := m.Pending(); n != 0 {
		t.Errorf("Pending() = %d after handing all over", n)
	}
}

// iotestHalf reads in small pieces, as a busy reader might.
type iotestHalf struct{ r io.Reader }

func (h iotestHalf) Read(p []byte) (int, error) { return h.r.Read(p[:min(len(p), 5)]) }

// FuzzStreamFraming: however a stream is cut into reads, the requests
// inspected are the same, and garbage neither panics nor grows the buffer
// past one frame.
func FuzzStreamFraming(f *testing.F) {
	_, oldS, _, _ := secrets(f)
	data, _ := stream(oldS)
	f.Add(data, uint16(7))
	f.Add([]byte{0x40, 0, 0xFF, 0xFF, 1}, uint16(2))
	f.Add([]byte{0xC0, 0, 0, 0}, uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, cut uint16) {
		frames := func(pieces ...[]byte) [][]byte {
			var got [][]byte
			end, peer := net.Pipe() // for RemoteAddr only: nothing is read
			defer end.Close()
			defer peer.Close()
			c := &streamConn{Conn: end, inspect: func(_ net.Addr, f []byte) { got = append(got, slices.Clone(f)) }}
			for _, p := range pieces {
				c.feed(p)
				if len(c.pending) > headerSize+0xFFFF {
					t.Fatalf("pending %d bytes, more than one frame", len(c.pending))
				}
			}
			return got
		}
		i := int(cut) % (len(b) + 1)
		whole, split := frames(b), frames(b[:i], b[i:])
		if len(whole) != len(split) {
			t.Fatalf("%d requests whole, %d when cut at %d", len(whole), len(split), i)
		}
		for k := range whole {
			if !bytes.Equal(whole[k], split[k]) {
				t.Fatalf("request %d differs when cut at %d", k, i)
			}
		}
	})
}

// BenchmarkInspect is the matcher's cost per request on the read path: a
// keyed request (scan only), and un-keyed ones signed with the newest
// secret (one trial) and the oldest of two (two trials).
func BenchmarkInspect(b *testing.B) {
	newS, oldS, _, v := secrets(b)
	m := newMatcher(b, v, nil)
	src := &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 4000}
	exp := t0.Add(time.Hour)
	for _, bc := range []struct {
		name string
		req  []byte
	}{
		{name: "keyed", req: signed(stun.MethodRefresh, name("old.bob", exp), realm, oldS)},
		{name: "unkeyed-newest", req: signed(stun.MethodRefresh, name("bob", exp), realm, newS)},
		{name: "unkeyed-oldest-of-2", req: signed(stun.MethodRefresh, name("bob", exp), realm, oldS)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			in := &inspector{m: m}
			b.ReportAllocs()
			for b.Loop() {
				in.inspect(src, bc.req)
			}
		})
	}
}
