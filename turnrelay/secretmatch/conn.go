package secretmatch

import (
	"context"
	"crypto/tls"
	"net"
	"time"
)

// tlsHandshakeTimeout bounds a TLS handshake, as pion does for the
// *tls.Conn it no longer sees under the wrapper.
const tlsHandshakeTimeout = 10 * time.Second

// PacketConn wraps a datagram listener socket (UDP) so that the matcher
// sees every datagram pion reads from it, before pion does.
func (m *Matcher) PacketConn(pc net.PacketConn) net.PacketConn {
	return &packetConn{PacketConn: pc, in: inspector{m: m}}
}

type packetConn struct {
	net.PacketConn
	in inspector
}

// ReadFrom reads the next datagram and inspects it. A datagram that fills
// p may have been cut: pion drops those, so the matcher skips them too.
func (c *packetConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(p)
	if n > 0 && n < len(p) && addr != nil {
		c.in.inspect(addr, p[:n])
	}
	return n, addr, err
}

// Listener wraps a stream listener (TCP, or TLS above TCP) so that the
// matcher sees every request pion reads from its connections, framing the
// stream as pion does. Wrap TLS listeners above TLS: the matcher needs the
// plaintext. A wrapped TLS connection does its handshake on the first read
// within 10s, as pion does for the *tls.Conn it no longer sees (pion's
// AuthHandler then gets no TLS state; relaynode's does not use it).
func (m *Matcher) Listener(l net.Listener) net.Listener { return &listener{Listener: l, m: m} }

type listener struct {
	net.Listener
	m *Matcher
}

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	sc := &streamConn{Conn: c}
	in := &inspector{m: l.m}
	sc.inspect = in.inspect
	return sc, nil
}

// streamConn inspects the requests on one stream. Read must not be called
// concurrently (pion's read loop calls it from one goroutine).
type streamConn struct {
	net.Conn
	inspect   func(src net.Addr, b []byte) // an inspector's, one per stream
	handshook bool
	skip      int    // bytes of the current frame still to pass unread
	pending   []byte // the start of a frame: its header, or a request
	broken    bool   // not a TURN stream: pion ends it, we stop looking
}

func (c *streamConn) Read(p []byte) (int, error) {
	if !c.handshook {
		c.handshook = true
		if tc, ok := c.Conn.(*tls.Conn); ok {
			ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
			err := tc.HandshakeContext(ctx)
			cancel()
			if err != nil {
				return 0, err
			}
		}
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.feed(p[:n])
	}
	return n, err
}

// feed follows the stream's framing through b and inspects each request
// once it is whole. Only requests are kept; ChannelData and other STUN
// messages are skipped without a copy.
func (c *streamConn) feed(b []byte) {
	for len(b) > 0 && !c.broken {
		if c.skip > 0 {
			k := min(c.skip, len(b))
			c.skip -= k
			b = b[k:]
			continue
		}
		if len(c.pending) < channelHeader {
			k := min(channelHeader-len(c.pending), len(b))
			c.pending = append(c.pending, b[:k]...)
			b = b[k:]
			if len(c.pending) < channelHeader {
				return
			}
		}
		size, request, ok := frame(c.pending)
		switch {
		case !ok:
			c.broken, c.pending = true, nil
			return
		case !request:
			c.skip = size - len(c.pending)
			c.pending = c.pending[:0]
			continue
		}
		k := min(size-len(c.pending), len(b))
		c.pending = append(c.pending, b[:k]...)
		b = b[k:]
		if len(c.pending) < size {
			return
		}
		c.inspect(c.RemoteAddr(), c.pending)
		c.pending = c.pending[:0]
	}
}
