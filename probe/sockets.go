package probe

import (
	"errors"
	"net"
	"net/netip"
	"slices"
	"time"
)

// maxReadErrors is how many read errors in a row retire a socket; the next
// probe of its family opens a fresh one. A healthy socket never errs, so this
// only bounds the loop on a broken one.
const maxReadErrors = 100

// readBuffer fits any STUN response we accept; a larger datagram arrives
// truncated and fails the length check.
const readBuffer = 1500

// sock is one UDP socket shared by many transactions.
type sock struct {
	conn net.PacketConn
	fam  int
}

// addrPortConn is the allocation-free side of *net.UDPConn.
type addrPortConn interface {
	ReadFromUDPAddrPort(b []byte) (int, netip.AddrPort, error)
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}

func (s *sock) write(b []byte, to netip.AddrPort) error {
	if c, ok := s.conn.(addrPortConn); ok {
		_, err := c.WriteToUDPAddrPort(b, to)
		return err
	}
	_, err := s.conn.WriteTo(b, net.UDPAddrFromAddrPort(to))
	return err
}

func (s *sock) read(b []byte) (int, netip.AddrPort, error) {
	if c, ok := s.conn.(addrPortConn); ok {
		n, from, err := c.ReadFromUDPAddrPort(b)
		return n, netip.AddrPortFrom(from.Addr().Unmap(), from.Port()), err
	}
	n, from, err := s.conn.ReadFrom(b)
	if err != nil {
		return n, netip.AddrPort{}, err
	}
	ua, ok := from.(*net.UDPAddr)
	if !ok {
		return n, netip.AddrPort{}, nil // unknown source: matches no transaction
	}
	ap := ua.AddrPort()
	return n, netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), nil
}

var networks = [2]string{"udp4", "udp6"}

// sockFor returns the socket r's probes go out on, opening the family's
// sockets on first use; nil if they cannot be opened. Called with p.mu held.
func (p *Prober) sockFor(r *relay, now time.Time) *sock {
	socks := p.socks[r.fam]
	if len(socks) == 0 {
		if now.Before(p.listenRetry[r.fam]) {
			return nil
		}
		for range p.cfg.perFamily() {
			c, err := p.cfg.Listen(networks[r.fam])
			if err != nil {
				p.limit.warn(p.log, now, "listen", "open probe socket", "network", networks[r.fam], "err", err)
				p.listenRetry[r.fam] = now.Add(p.cfg.Interval)
				break
			}
			s := &sock{conn: c, fam: r.fam}
			socks = append(socks, s)
			p.wg.Go(func() { p.readLoop(s) })
		}
		p.socks[r.fam] = socks
		if len(socks) == 0 {
			return nil
		}
	}
	return socks[(r.hash>>32)%uint64(len(socks))]
}

// readLoop matches the responses arriving on s to their transactions until
// s is closed or keeps failing.
func (p *Prober) readLoop(s *sock) {
	buf := make([]byte, readBuffer)
	var ps parser
	failures := 0
	for {
		n, from, err := s.read(buf)
		at := p.cfg.Now()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			p.limit.warn(p.log, at, "read", "read probe socket", "network", networks[s.fam], "err", err)
			failures++
			if failures >= maxReadErrors {
				p.retire(s)
				return
			}
			continue
		}
		failures = 0
		p.handlePacket(&ps, buf[:n], from, at)
	}
}

// retire closes a broken socket; its in-flight transactions time out.
func (p *Prober) retire(s *sock) {
	p.mu.Lock()
	p.socks[s.fam] = slices.DeleteFunc(p.socks[s.fam], func(x *sock) bool { return x == s })
	p.mu.Unlock()
	s.conn.Close()
}

// shutdown closes every socket, waits for the readers and drops the
// transactions still in flight.
func (p *Prober) shutdown() {
	p.mu.Lock()
	var all []*sock
	for fam := range p.socks {
		all = append(all, p.socks[fam]...)
		p.socks[fam] = nil
	}
	clear(p.inflight)
	p.timeouts = deadlineQueue{}
	p.mu.Unlock()
	for _, s := range all {
		s.conn.Close()
	}
	p.wg.Wait()
}
