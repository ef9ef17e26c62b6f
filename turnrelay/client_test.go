package turnrelay_test

import (
	"encoding/binary"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/turn/v5"

	"github.com/relaygate/relaygate/internal/testenv"
)

// rawClient speaks TURN message by message, so tests see every error code
// (pion's client hides them behind retries).
type rawClient struct {
	t          testing.TB
	conn       net.PacketConn
	server     net.Addr
	user, pass string
	realm      string
	nonce      stun.Nonce
}

func newRawUDP(t testing.TB, server, user, pass string) *rawClient {
	t.Helper()
	c := testenv.ListenUDP(t)
	sa, err := net.ResolveUDPAddr("udp4", server)
	if err != nil {
		t.Fatal(err)
	}
	return &rawClient{t: t, conn: c, server: sa, user: user, pass: pass}
}

func newRawTCP(t *testing.T, server, user, pass string) *rawClient {
	t.Helper()
	c, err := net.DialTimeout("tcp", server, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &rawClient{t: t, conn: turn.NewSTUNConn(c), server: c.RemoteAddr(), user: user, pass: pass}
}

// errCode is the response's error code, 0 for success.
func errCode(m *stun.Message) int {
	if m.Type.Class == stun.ClassSuccessResponse {
		return 0
	}
	var ec stun.ErrorCodeAttribute
	if err := ec.GetFrom(m); err != nil {
		return -1
	}
	return int(ec.Code)
}

// do runs one authenticated transaction: on 401/438 it takes the realm and
// nonce and retries once, signed.
func (c *rawClient) do(method stun.Method, attrs ...stun.Setter) *stun.Message {
	c.t.Helper()
	for range 3 {
		signed := c.nonce != nil
		setters := []stun.Setter{stun.TransactionID, stun.NewType(method, stun.ClassRequest)}
		setters = append(setters, attrs...)
		if signed {
			setters = append(setters, stun.NewUsername(c.user), stun.NewRealm(c.realm), c.nonce,
				stun.NewLongTermIntegrity(c.user, c.realm, c.pass))
		}
		setters = append(setters, stun.Fingerprint)
		res := c.roundTrip(stun.MustBuild(setters...))
		code := errCode(res)
		if code == 438 || (code == 401 && !signed) {
			var nonce stun.Nonce
			var realm stun.Realm
			if nonce.GetFrom(res) == nil && realm.GetFrom(res) == nil {
				c.nonce, c.realm = nonce, realm.String()
				continue
			}
		}
		return res
	}
	c.t.Fatalf("%v: no answer after retries", method)
	return nil
}

func (c *rawClient) roundTrip(req *stun.Message) *stun.Message {
	c.t.Helper()
	if _, err := c.conn.WriteTo(req.Raw, c.server); err != nil {
		c.t.Fatalf("write: %v", err)
	}
	deadline := time.Now().Add(3 * time.Second)
	buf := make([]byte, 2048)
	for range 50 {
		_ = c.conn.SetReadDeadline(deadline)
		n, _, err := c.conn.ReadFrom(buf)
		if err != nil {
			c.t.Fatalf("read answer to %v: %v", req.Type, err)
		}
		if !stun.IsMessage(buf[:n]) {
			continue // ChannelData or stray data
		}
		res := &stun.Message{Raw: append([]byte(nil), buf[:n]...)}
		if err := res.Decode(); err != nil || res.TransactionID != req.TransactionID {
			continue
		}
		return res
	}
	c.t.Fatalf("no answer to %v", req.Type)
	return nil
}

// setter helpers for TURN attributes pion/stun knows by type only.
type rawAttr struct {
	t stun.AttrType
	v []byte
}

func (a rawAttr) AddTo(m *stun.Message) error { m.Add(a.t, a.v); return nil }

var udpTransport = rawAttr{stun.AttrRequestedTransport, []byte{17, 0, 0, 0}}

func lifetime(d time.Duration) rawAttr {
	b := make([]byte, 4)
	binary.BigEndian.PutUint32(b, uint32(d/time.Second))
	return rawAttr{stun.AttrLifetime, b}
}

func channelNumber(n uint16) rawAttr {
	return rawAttr{stun.AttrChannelNumber, []byte{byte(n >> 8), byte(n), 0, 0}}
}

type peerAddr struct{ a stun.XORMappedAddress }

func (p peerAddr) AddTo(m *stun.Message) error { return p.a.AddToAs(m, stun.AttrXORPeerAddress) }

func peer(ip net.IP, port int) peerAddr { return peerAddr{stun.XORMappedAddress{IP: ip, Port: port}} }

func dataAttr(b []byte) rawAttr { return rawAttr{stun.AttrData, b} }

// allocate asks for a UDP allocation and returns the response.
func (c *rawClient) allocate(extra ...stun.Setter) *stun.Message {
	c.t.Helper()
	return c.do(stun.MethodAllocate, append([]stun.Setter{udpTransport}, extra...)...)
}

func relayedAddr(m *stun.Message) (*net.UDPAddr, error) {
	var a stun.XORMappedAddress
	if err := a.GetFromAs(m, stun.AttrXORRelayedAddress); err != nil {
		return nil, err
	}
	return &net.UDPAddr{IP: a.IP, Port: a.Port}, nil
}

// send is a Send indication (no answer).
func (c *rawClient) send(to *net.UDPAddr, data []byte) {
	c.t.Helper()
	m := stun.MustBuild(stun.TransactionID, stun.NewType(stun.MethodSend, stun.ClassIndication),
		peer(to.IP, to.Port), dataAttr(data), stun.Fingerprint)
	if _, err := c.conn.WriteTo(m.Raw, c.server); err != nil {
		c.t.Fatalf("send indication: %v", err)
	}
}

// peerSocket is a UDP peer on loopback.
func peerSocket(t *testing.T) *net.UDPConn {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readWithin reads one datagram or reports none within d.
func readWithin(c net.PacketConn, d time.Duration) ([]byte, net.Addr, error) {
	buf := make([]byte, 2048)
	_ = c.SetReadDeadline(time.Now().Add(d))
	n, from, err := c.ReadFrom(buf)
	if err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return nil, nil, errTimeout
		}
		return nil, nil, err
	}
	return buf[:n], from, nil
}

var errTimeout = errors.New("timeout")
