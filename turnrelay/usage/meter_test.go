package usage_test

import (
	"encoding/json"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/relaygate/relaygate/internal/testenv"
	"github.com/relaygate/relaygate/relay"
	"github.com/relaygate/relaygate/turnrelay/usage"
)

var t0 = time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func newMeter(t *testing.T, cfg usage.Config) (*usage.Meter, *clock) {
	t.Helper()
	c := &clock{now: t0}
	cfg.Now, cfg.Epoch = c.Now, "epoch-1"
	m, err := usage.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return m, c
}

// relayPair is a counted relay socket for pseudonym and a peer socket.
func relayPair(t *testing.T, m *usage.Meter, pseudonym string) (relayed, peer net.PacketConn) {
	t.Helper()
	return m.Wrap(testenv.ListenUDP(t), pseudonym), testenv.ListenUDP(t)
}

// exchange sends toPeer bytes from relayed to peer and fromPeer bytes back,
// reading each datagram.
func exchange(t *testing.T, relayed, peer net.PacketConn, toPeer, fromPeer int) {
	t.Helper()
	buf := make([]byte, 2048)
	if _, err := relayed.WriteTo(make([]byte, toPeer), peer.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	_ = peer.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := peer.ReadFrom(buf); err != nil || n != toPeer {
		t.Fatalf("peer read %d, %v; want %d", n, err, toPeer)
	}
	if _, err := peer.WriteTo(make([]byte, fromPeer), relayed.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	_ = relayed.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, _, err := relayed.ReadFrom(buf); err != nil || n != fromPeer {
		t.Fatalf("relayed read %d, %v; want %d", n, err, fromPeer)
	}
}

func wantReport(t *testing.T, got *relay.UsageReport, seq uint64, want ...relay.UsageEntry) {
	t.Helper()
	if got == nil {
		t.Fatalf("Report() = nil, want seq %d with %v", seq, want)
	}
	if got.Epoch != "epoch-1" || got.Seq != seq || fmt.Sprint(got.Entries) != fmt.Sprint(want) {
		t.Fatalf("Report() = %+v, want epoch-1 seq %d entries %+v", *got, seq, want)
	}
}

func TestMeterCountsBytesAndTimePerPseudonym(t *testing.T) {
	m, c := newMeter(t, usage.Config{})
	a1, pa1 := relayPair(t, m, "alice")
	a2, pa2 := relayPair(t, m, "alice")
	b, pb := relayPair(t, m, "bob")
	exchange(t, a1, pa1, 100, 200)
	exchange(t, a2, pa2, 10, 20)
	exchange(t, b, pb, 1000, 1)
	c.Advance(3 * time.Second)
	if err := a2.Close(); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	r := m.Report()
	wantReport(t, r, 1,
		relay.UsageEntry{Pseudonym: "alice", Usage: relay.Usage{BytesToPeer: 110, BytesFromPeer: 220, AllocationTime: 8 * time.Second}},
		relay.UsageEntry{Pseudonym: "bob", Usage: relay.Usage{BytesToPeer: 1000, BytesFromPeer: 1, AllocationTime: 5 * time.Second}})
	m.Ack(1)

	// Since the report: only what came after it, and a closed allocation
	// no more.
	exchange(t, b, pb, 7, 0+1)
	c.Advance(time.Second)
	wantReport(t, m.Report(), 2,
		relay.UsageEntry{Pseudonym: "alice", Usage: relay.Usage{AllocationTime: time.Second}},
		relay.UsageEntry{Pseudonym: "bob", Usage: relay.Usage{BytesToPeer: 7, BytesFromPeer: 1, AllocationTime: time.Second}})
	m.Ack(2)
	_ = a1.Close()
	_ = b.Close()
	if r := m.Report(); r != nil {
		t.Fatalf("Report() after everything was acknowledged and closed at once = %+v, want nil", *r)
	}
	if st := m.Stats(); st.Acked != 2 || st.Pending != 0 || st.LostBytes != 0 {
		t.Errorf("Stats() = %+v, want 2 acked, nothing pending or lost", st)
	}
}

func TestMeterResendsUntilAcknowledged(t *testing.T) {
	m, c := newMeter(t, usage.Config{})
	a, pa := relayPair(t, m, "alice")
	exchange(t, a, pa, 50, 60)
	c.Advance(time.Second)
	first := m.Report()
	exchange(t, a, pa, 5, 6)
	c.Advance(time.Second)
	want := relay.UsageEntry{Pseudonym: "alice", Usage: relay.Usage{BytesToPeer: 50, BytesFromPeer: 60, AllocationTime: time.Second}}
	wantReport(t, first, 1, want)
	wantReport(t, m.Report(), 1, want) // not acknowledged: the same again
	m.Ack(7)                           // not its seq
	wantReport(t, m.Report(), 1, want)
	m.Ack(1)
	wantReport(t, m.Report(), 2, relay.UsageEntry{Pseudonym: "alice", Usage: relay.Usage{BytesToPeer: 5, BytesFromPeer: 6, AllocationTime: time.Second}})
}

func TestMeterBoundsReportsAndPending(t *testing.T) {
	m, c := newMeter(t, usage.Config{MaxPerReport: 2, MaxPending: 3})
	var live []net.PacketConn
	for i := range 4 {
		a, pa := relayPair(t, m, fmt.Sprintf("user-%d", i))
		exchange(t, a, pa, 10, 10)
		live = append(live, a)
	}
	c.Advance(time.Second)
	// Four live allocations, three pending slots: a report takes two, so
	// all four fit by the second report and nothing is lost.
	seen := map[string]relay.Usage{}
	for seq := uint64(1); seq <= 2; seq++ {
		r := m.Report()
		if r == nil || r.Seq != seq || len(r.Entries) != 2 {
			t.Fatalf("Report() #%d = %+v, want 2 entries", seq, r)
		}
		for _, e := range r.Entries {
			seen[e.Pseudonym] = e.Usage
		}
		m.Ack(seq)
	}
	if len(seen) != 4 {
		t.Fatalf("reported pseudonyms %v, want all four", seen)
	}
	for user, u := range seen {
		if u.BytesToPeer != 10 || u.BytesFromPeer != 10 {
			t.Errorf("%s: %+v, want 10 bytes each way", user, u)
		}
	}

	// Pending full of other pseudonyms: a closing allocation of a new one
	// is lost and counted.
	for i := range 3 {
		a, pa := relayPair(t, m, fmt.Sprintf("more-%d", i))
		exchange(t, a, pa, 1, 1)
		_ = a.Close()
	}
	x, px := relayPair(t, m, "late")
	exchange(t, x, px, 30, 40)
	_ = x.Close()
	if st := m.Stats(); st.LostBytes != 70 || st.Pending != 3 {
		t.Errorf("Stats() = %+v, want 70 lost bytes and 3 pending", st)
	}
	for _, a := range live {
		_ = a.Close()
	}
}

// TestMeterBoundsReportBytes: long pseudonyms (usernames the gateway did
// not mint may carry 256 bytes) make smaller reports, so a heartbeat stays
// under the gateway's 64 KiB body limit; the rest come in later reports.
func TestMeterBoundsReportBytes(t *testing.T) {
	m, c := newMeter(t, usage.Config{})
	const users = 300
	var conns []net.PacketConn
	for i := range users {
		conns = append(conns, m.Wrap(testenv.ListenUDP(t), fmt.Sprintf("%0256d", i)))
	}
	c.Advance(time.Second)
	for _, a := range conns {
		_ = a.Close()
	}
	seen := 0
	for seq := uint64(1); seen < users; seq++ {
		r := m.Report()
		if r == nil {
			t.Fatalf("Report() = nil after %d of %d users", seen, users)
		}
		body, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) > 48<<10 || len(r.Entries) == 0 {
			t.Fatalf("report %d: %d entries in %d bytes of JSON, want some within 48 KiB", seq, len(r.Entries), len(body))
		}
		seen += len(r.Entries)
		m.Ack(seq)
	}
	if seen != users {
		t.Errorf("reported %d users, want %d", seen, users)
	}
}
