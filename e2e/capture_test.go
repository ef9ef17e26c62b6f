package e2e

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sort"
	"sync"

	"golang.org/x/sys/unix"
)

// captureReport summarises every packet a process saw in its network
// namespace, on every interface (loopback included), both directions.
type captureReport struct {
	Packets int            `json:"packets"` // everything captured
	IPv4    map[string]int `json:"ipv4"`    // "src > dst proto" -> packets
	ARP     []string       `json:"arp"`     // addresses named in ARP packets
	Other   map[string]int `json:"other"`   // any other ethertype -> packets
	Hits    []string       `json:"hits"`    // where a watched address showed up
	Drops   uint32         `json:"drops"`   // packets the kernel could not queue for us
}

// Ethertypes, host order.
const (
	etherIPv4 = 0x0800
	etherARP  = 0x0806
	etherIPv6 = 0x86dd
)

// stunMagicCookie XORs addresses in STUN's XOR-*-ADDRESS attributes.
const stunMagicCookie = 0x2112A442

// capture records the namespace's traffic through an AF_PACKET socket
// (SOCK_DGRAM: network-layer packets, no link header) until stopped.
type capture struct {
	fd       int
	watch    netip.Prefix // a hit when a packet's address is inside
	patterns []pattern    // a hit when a payload carries one
	done     chan struct{}

	mu   sync.Mutex // guards rep, stop
	rep  captureReport
	arp  map[string]bool
	stop bool
}

type pattern struct {
	name string
	b    []byte
}

// startCapture opens the packet socket. watch is the other party's
// network; watchIP is its address, searched for in every payload in the
// clear, as dotted text and XORed the way STUN carries addresses.
func startCapture(watch netip.Prefix, watchIP netip.Addr) (*capture, error) {
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, int(htons(unix.ETH_P_ALL)))
	if err != nil {
		return nil, fmt.Errorf("AF_PACKET socket: %w", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 8<<20); err != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 8<<20)
	}
	// A short receive timeout lets the reader notice stop.
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: 50_000}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("SO_RCVTIMEO: %w", err)
	}
	raw := watchIP.As4()
	var xored [4]byte
	binary.BigEndian.PutUint32(xored[:], binary.BigEndian.Uint32(raw[:])^stunMagicCookie)
	c := &capture{
		fd: fd, watch: watch, done: make(chan struct{}),
		patterns: []pattern{
			{"raw address", raw[:]},
			{"STUN XOR address", xored[:]},
			{"dotted text", []byte(watchIP.String())},
		},
		rep: captureReport{IPv4: map[string]int{}, Other: map[string]int{}},
		arp: map[string]bool{},
	}
	go c.loop()
	return c, nil
}

func htons(v uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], v)
	return binary.NativeEndian.Uint16(b[:])
}

func (c *capture) loop() {
	defer close(c.done)
	buf := make([]byte, 1<<16)
	for {
		c.mu.Lock()
		stop := c.stop
		c.mu.Unlock()
		if stop {
			return
		}
		n, from, err := unix.Recvfrom(c.fd, buf, unix.MSG_TRUNC)
		if err != nil {
			if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
				continue
			}
			c.mu.Lock()
			c.rep.Hits = append(c.rep.Hits, "capture failed: "+err.Error())
			c.mu.Unlock()
			return
		}
		sll, ok := from.(*unix.SockaddrLinklayer)
		if !ok {
			continue
		}
		c.record(htons(sll.Protocol), buf[:min(n, len(buf))])
	}
}

// record classifies one packet.
func (c *capture) record(ethertype uint16, p []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rep.Packets++
	switch ethertype {
	case etherIPv4:
		if len(p) < 20 || p[0]>>4 != 4 {
			c.rep.Other["malformed IPv4"]++
			return
		}
		ihl := int(p[0]&0x0f) * 4
		src, _ := netip.AddrFromSlice(p[12:16])
		dst, _ := netip.AddrFromSlice(p[16:20])
		proto := map[byte]string{1: "icmp", 6: "tcp", 17: "udp"}[p[9]]
		if proto == "" {
			proto = fmt.Sprintf("proto-%d", p[9])
		}
		c.rep.IPv4[fmt.Sprintf("%v > %v %s", src, dst, proto)]++
		for _, a := range []netip.Addr{src, dst} {
			if c.watch.Contains(a) {
				c.hit(fmt.Sprintf("IPv4 header %v > %v %s", src, dst, proto))
			}
		}
		if ihl >= 20 && ihl <= len(p) {
			c.scan(fmt.Sprintf("%v > %v %s", src, dst, proto), p[ihl:])
		}
	case etherARP:
		// Ethernet/IPv4 ARP: sender protocol address at 14, target at 24.
		if len(p) >= 28 {
			for _, b := range [][]byte{p[14:18], p[24:28]} {
				a, _ := netip.AddrFromSlice(b)
				c.arp[a.String()] = true
				if c.watch.Contains(a) {
					c.hit(fmt.Sprintf("ARP names %v", a))
				}
			}
		}
	default:
		name := fmt.Sprintf("ethertype 0x%04x", ethertype)
		if ethertype == etherIPv6 {
			name = "IPv6"
		}
		c.rep.Other[name]++
		c.scan(name, p)
	}
}

// scan looks for the watched address in a payload.
func (c *capture) scan(where string, payload []byte) {
	for _, pt := range c.patterns {
		if bytes.Contains(payload, pt.b) {
			c.hit(fmt.Sprintf("%s payload carries the %s", where, pt.name))
		}
	}
}

// hit records one finding (at most 50 distinct ones are kept).
func (c *capture) hit(s string) {
	for _, h := range c.rep.Hits {
		if h == s {
			return
		}
	}
	if len(c.rep.Hits) < 50 {
		c.rep.Hits = append(c.rep.Hits, s)
	}
}

// finish stops capturing and returns the report.
func (c *capture) finish() captureReport {
	c.mu.Lock()
	c.stop = true
	c.mu.Unlock()
	<-c.done
	if st, err := unix.GetsockoptTpacketStats(c.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS); err == nil {
		c.rep.Drops = st.Drops
	}
	unix.Close(c.fd)
	c.mu.Lock()
	defer c.mu.Unlock()
	for a := range c.arp {
		c.rep.ARP = append(c.rep.ARP, a)
	}
	sort.Strings(c.rep.ARP)
	return c.rep
}
