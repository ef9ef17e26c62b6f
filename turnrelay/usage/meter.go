package usage

import (
	"cmp"
	"crypto/rand"
	"errors"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relaygate/relaygate/relay"
)

// Config configures a Meter. Its zero value works.
type Config struct {
	Now          func() time.Time // clock of allocation lifetimes; default time.Now
	MaxPending   int              // pseudonyms waiting to be reported, at most; default 65536
	MaxPerReport int              // pseudonyms in one report, at most; default 256
	Epoch        string           // this process's name in reports; default 16 random characters
}

// Defaults: MaxPerReport is the gateway's bound on a heartbeat's usage
// entries (wire.MaxUsageEntries), 256 entries of ~120 bytes of JSON, well
// inside its 64 KiB body limit. MaxPending bounds memory to some 10 MB
// (a map entry and its counts, ~150 bytes) and, at 256 per 5 s heartbeat,
// drains in about 21 minutes.
const (
	defaultMaxPending   = 65536
	defaultMaxPerReport = 256
)

// A report's entries take at most maxReportBytes of JSON, counting
// entryJSONBytes besides each pseudonym (member names, 20-digit counts):
// the gateway refuses heartbeats over 64 KiB, and pseudonyms of usernames
// it did not mint may be 256 bytes long.
const (
	maxReportBytes = 48 << 10
	entryJSONBytes = 120
)

func (c Config) withDefaults() Config {
	if c.Now == nil {
		c.Now = time.Now
	}
	c.MaxPending = cmp.Or(c.MaxPending, defaultMaxPending)
	c.MaxPerReport = cmp.Or(c.MaxPerReport, defaultMaxPerReport)
	if c.Epoch == "" {
		c.Epoch = rand.Text()[:16]
	}
	return c
}

// Meter counts usage per pseudonym and hands it out in reports. It is safe
// for concurrent use.
type Meter struct {
	cfg Config

	mu      sync.Mutex // guards below
	live    map[*conn]struct{}
	pending map[string]*relay.Usage
	sent    *relay.UsageReport // the report awaiting acknowledgement; nil when none
	seq     uint64             // Seq of the last report made

	acked, lostBytes atomic.Uint64
}

// New returns an empty Meter.
func New(cfg Config) (*Meter, error) {
	cfg = cfg.withDefaults()
	if cfg.MaxPending < 1 || cfg.MaxPerReport < 1 || cfg.MaxPerReport > cfg.MaxPending {
		return nil, errors.New("usage: MaxPending and MaxPerReport must be positive, MaxPerReport at most MaxPending")
	}
	return &Meter{cfg: cfg, live: map[*conn]struct{}{}, pending: map[string]*relay.Usage{}}, nil
}

// Wrap returns pc, an allocation's relay socket, counting for pseudonym
// what is written through it (client to peer) and read from it (peer to
// client, as received on the relayed address) and the allocation's time
// from now until it is closed.
func (m *Meter) Wrap(pc net.PacketConn, pseudonym string) net.PacketConn {
	c := &conn{PacketConn: pc, m: m, user: pseudonym}
	m.mu.Lock()
	c.mark = m.cfg.Now()
	m.live[c] = struct{}{}
	m.mu.Unlock()
	return c
}

// conn is one allocation's relay socket, counting.
type conn struct {
	net.PacketConn
	m                *Meter
	user             string
	toPeer, fromPeer atomic.Uint64
	once             sync.Once
	mark             time.Time // until when its time is counted; guarded by m.mu
}

// WriteTo counts the bytes written to a peer.
func (c *conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	n, err := c.PacketConn.WriteTo(b, addr)
	if n > 0 {
		c.toPeer.Add(uint64(n))
	}
	return n, err
}

// ReadFrom counts the bytes a peer sent.
func (c *conn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, addr, err := c.PacketConn.ReadFrom(b)
	if err == nil && n > 0 {
		c.fromPeer.Add(uint64(n))
	}
	return n, addr, err
}

// CountRead counts n bytes a peer sent that were read from the socket
// beneath c without c's ReadFrom (the data plane's event loop reads them).
func (c *conn) CountRead(n uint64) { c.fromPeer.Add(n) }

// Unwrap is the socket c counts for.
func (c *conn) Unwrap() net.PacketConn { return c.PacketConn }

// Close folds the allocation's last counts into what is pending, once.
func (c *conn) Close() error {
	c.once.Do(func() {
		m := c.m
		m.mu.Lock()
		delete(m.live, c)
		m.foldLocked(c, m.cfg.Now(), true)
		m.mu.Unlock()
	})
	return c.PacketConn.Close()
}

// foldLocked moves c's counts since its last fold into pending. A live
// allocation of a pseudonym that finds pending full keeps its counts for a
// later fold; a closing one's are lost.
func (m *Meter) foldLocked(c *conn, now time.Time, closing bool) {
	p := m.pending[c.user]
	if p == nil && len(m.pending) >= m.cfg.MaxPending {
		if closing {
			m.lostBytes.Add(c.toPeer.Load() + c.fromPeer.Load())
		}
		return
	}
	u := relay.Usage{BytesToPeer: c.toPeer.Swap(0), BytesFromPeer: c.fromPeer.Swap(0), AllocationTime: max(now.Sub(c.mark), 0)}
	c.mark = now
	if u.IsZero() {
		return
	}
	if p == nil {
		p = &relay.Usage{}
		m.pending[c.user] = p
	}
	p.Add(u)
}

// Report returns the report to send with the next heartbeat: the one
// awaiting acknowledgement if any, else a new one of at most MaxPerReport
// pseudonyms' usage since the last (live allocations counted up to now),
// entries sorted by pseudonym; nil when there is nothing to report.
func (m *Meter) Report() *relay.UsageReport {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sent == nil {
		m.sent = m.nextLocked()
	}
	if m.sent == nil {
		return nil
	}
	r := *m.sent
	r.Entries = slices.Clone(r.Entries)
	return &r
}

func (m *Meter) nextLocked() *relay.UsageReport {
	now := m.cfg.Now()
	for c := range m.live {
		m.foldLocked(c, now, false)
	}
	if len(m.pending) == 0 {
		return nil
	}
	entries := make([]relay.UsageEntry, 0, min(len(m.pending), m.cfg.MaxPerReport))
	size := 0
	for user, u := range m.pending {
		size += len(user) + entryJSONBytes
		if len(entries) == m.cfg.MaxPerReport || (len(entries) > 0 && size > maxReportBytes) {
			break
		}
		entries = append(entries, relay.UsageEntry{Pseudonym: user, Usage: *u})
		delete(m.pending, user)
	}
	slices.SortFunc(entries, func(a, b relay.UsageEntry) int { return cmp.Compare(a.Pseudonym, b.Pseudonym) })
	m.seq++
	return &relay.UsageReport{Epoch: m.cfg.Epoch, Seq: m.seq, Entries: entries}
}

// Ack records that the gateway counted the report with seq: the next
// Report makes a new one. Other values are ignored.
func (m *Meter) Ack(seq uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sent != nil && m.sent.Seq == seq {
		m.sent = nil
		m.acked.Add(1)
	}
}

// Stats are the Meter's totals, for metrics: no pseudonym in them.
type Stats struct {
	Pending   int    // pseudonyms whose usage waits to be reported, besides the report awaiting acknowledgement
	Acked     uint64 // reports the gateway acknowledged
	LostBytes uint64 // bytes of closed allocations dropped because MaxPending pseudonyms were waiting
}

// Stats returns the Meter's totals now.
func (m *Meter) Stats() Stats {
	m.mu.Lock()
	n := len(m.pending)
	m.mu.Unlock()
	return Stats{Pending: n, Acked: m.acked.Load(), LostBytes: m.lostBytes.Load()}
}
