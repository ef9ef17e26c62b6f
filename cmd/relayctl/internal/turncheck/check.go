package turncheck

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"github.com/pion/logging"
	"github.com/pion/turn/v5"
)

// Config configures Check. Its zero value works but for the credentials.
type Config struct {
	Username, Password string        // TURN REST credentials
	Timeout            time.Duration // TCP connect, TLS handshake, each TURN transaction, the last packet's echo; default 3s
	Count              int           // packets sent through the relay; default 10, max 1000
	Interval           time.Duration // between packets; default 20ms
	TLS                *tls.Config   // for turns: URIs; ServerName is set from the URI's host
	// Resolve looks up a host name; default net.DefaultResolver.LookupNetIP.
	Resolve func(ctx context.Context, host string) ([]netip.Addr, error)
	Now     func() time.Time // the clock that judges credential expiry; default time.Now
}

// maxCount bounds the packets one check sends.
const maxCount = 1000

func (c Config) withDefaults() Config {
	c.Timeout = cmp.Or(c.Timeout, 3*time.Second)
	c.Count = cmp.Or(c.Count, 10)
	c.Interval = cmp.Or(c.Interval, 20*time.Millisecond)
	if c.Resolve == nil {
		c.Resolve = func(ctx context.Context, host string) ([]netip.Addr, error) {
			return net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		}
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.TLS == nil {
		c.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	return c
}

// Validate reports settings out of range, naming the setting and value.
func (c Config) Validate() error {
	var errs []error
	if c.Timeout < 0 {
		errs = append(errs, fmt.Errorf("timeout %v must be positive", c.Timeout))
	}
	if c.Count < 0 || c.Count > maxCount {
		errs = append(errs, fmt.Errorf("count %d out of range 1..%d", c.Count, maxCount))
	}
	if c.Interval < 0 {
		errs = append(errs, fmt.Errorf("interval %v must not be negative", c.Interval))
	}
	return errors.Join(errs...)
}

// Stage is how far a check got.
type Stage string

// Stages, in order. A Result's Stage is where it failed, or StageDone.
const (
	StageResolve    Stage = "resolve"
	StageConnect    Stage = "connect"
	StageTLS        Stage = "tls"
	StageAllocate   Stage = "allocate"
	StagePermission Stage = "permission"
	StageData       Stage = "data"
	StageDone       Stage = "done"
)

// Result is what Check found for one URI.
type Result struct {
	URL       string
	Transport string
	Server    string // the address connected to, ip:port
	OK        bool   // allocated, permitted, and at least one packet came back
	Stage     Stage  // where it failed, or StageDone
	Code      int    // the TURN error code of the refusal, 0 when none

	ConnectTime  time.Duration // TCP connect and TLS handshake; 0 for UDP
	AllocateTime time.Duration // the Allocate transaction, authentication included
	RelayedAddr  string        // the relayed transport address allocated

	Sent, Received int
	RTTMin         time.Duration
	RTTAvg         time.Duration
	RTTMax         time.Duration
	Jitter         time.Duration // mean difference between consecutive RTTs
	Loss           float64       // (Sent-Received)/Sent

	Diagnosis string // one plain sentence
	Err       error  `json:"-"` // the underlying error, for -v style output
}

// Check runs the end-to-end check of one TURN URI. It never returns an
// error: every failure is a Result with a Diagnosis.
func Check(ctx context.Context, cfg Config, u URL) Result {
	cfg = cfg.withDefaults()
	r := Result{URL: u.Raw, Transport: u.Transport, Stage: StageResolve}
	fail := func(stage Stage, err error) Result {
		r.Stage, r.Err = stage, err
		r.Code = turnCode(err)
		r.Diagnosis = diagnose(stage, err, u, cfg, r.RelayedAddr)
		return r
	}

	ip, err := resolve(ctx, cfg, u.Host)
	if err != nil {
		return fail(StageResolve, err)
	}
	server := netip.AddrPortFrom(ip, uint16(u.Port)) //nolint:gosec // G115: ParseURL bounds ports to 1..65535
	r.Server = server.String()

	conn, stage, connectTime, err := dial(ctx, cfg, u, server)
	r.ConnectTime = connectTime
	if err != nil {
		return fail(stage, err)
	}
	defer conn.Close()

	client, err := turn.NewClient(&turn.ClientConfig{
		TURNServerAddr: server.String(),
		Conn:           conn,
		Username:       cfg.Username,
		Password:       cfg.Password,
		LoggerFactory:  &logging.DefaultLoggerFactory{Writer: io.Discard, DefaultLogLevel: logging.LogLevelDisabled},
	})
	if err != nil {
		return fail(StageAllocate, err)
	}
	defer client.Close()
	if err := client.Listen(); err != nil {
		return fail(StageAllocate, err)
	}

	actx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	t0 := time.Now()
	relayConn, err := client.AllocateWithContext(actx)
	cancel()
	if err != nil {
		return fail(StageAllocate, err)
	}
	r.AllocateTime = time.Since(t0)
	defer relayConn.Close()
	relayed := relayConn.LocalAddr()
	r.RelayedAddr = relayed.String()

	// pion's CreatePermission takes no context: bound it by closing the
	// client, which ends its transactions.
	permErr := make(chan error, 1)
	go func() { permErr <- client.CreatePermission(relayed) }()
	timer := time.NewTimer(cfg.Timeout)
	select {
	case err = <-permErr:
		timer.Stop()
	case <-timer.C:
		client.Close()
		<-permErr //nolint:errcheck // wait for the transaction; its error is Close's doing, what happened is no answer
		err = errNoAnswer
	case <-ctx.Done():
		timer.Stop()
		client.Close()
		<-permErr //nolint:errcheck // wait for the transaction; its error is Close's doing, what happened is ctx's end
		err = ctx.Err()
	}
	if err != nil {
		return fail(StagePermission, err)
	}

	rtts, sent, err := echo(ctx, relayConn, relayed, cfg)
	r.Sent, r.Received = sent, len(rtts)
	summarize(&r, rtts)
	if err != nil && sent == 0 {
		return fail(StageData, err)
	}
	if len(rtts) == 0 {
		return fail(StageData, errNoData)
	}
	r.OK, r.Stage = true, StageDone
	r.Diagnosis = fmt.Sprintf("works: allocated in %s, RTT %s, %d/%d packets back", Millis(r.AllocateTime), Millis(r.RTTAvg), r.Received, r.Sent)
	return r
}

var (
	errNoAnswer = errors.New("no answer")
	errNoData   = errors.New("no packet came back")
)

func resolve(ctx context.Context, cfg Config, host string) (netip.Addr, error) {
	return Lookup(ctx, host, cfg.Timeout, cfg.Resolve)
}

// Lookup turns host into one address: an IP literal as it is, else the
// first IPv4 address resolve finds (relays always listen on IPv4, IPv6 is
// optional), else the first address; at most timeout for the lookup.
// relayctl's probe and check share it.
func Lookup(ctx context.Context, host string, timeout time.Duration, resolve func(context.Context, string) ([]netip.Addr, error)) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addrs, err := resolve(rctx, host)
	if err != nil {
		return netip.Addr{}, err
	}
	for _, a := range addrs {
		if a.Unmap().Is4() {
			return a.Unmap(), nil
		}
	}
	if len(addrs) == 0 {
		return netip.Addr{}, fmt.Errorf("%s has no address", host)
	}
	return addrs[0], nil
}

// dial opens the connection the TURN client speaks over.
func dial(ctx context.Context, cfg Config, u URL, server netip.AddrPort) (net.PacketConn, Stage, time.Duration, error) {
	if u.Transport == UDP {
		network := "udp4"
		if server.Addr().Is6() {
			network = "udp6"
		}
		var lc net.ListenConfig
		c, err := lc.ListenPacket(ctx, network, ":0")
		return c, StageConnect, 0, err
	}
	t0 := time.Now()
	d := net.Dialer{Timeout: cfg.Timeout}
	c, err := d.DialContext(ctx, "tcp", server.String())
	if err != nil {
		return nil, StageConnect, time.Since(t0), err
	}
	if u.Transport == TLS {
		tc := cfg.TLS.Clone()
		tc.ServerName = u.Host
		tlsConn := tls.Client(c, tc)
		hctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
		err := tlsConn.HandshakeContext(hctx)
		cancel()
		if err != nil {
			c.Close()
			return nil, StageTLS, time.Since(t0), err
		}
		c = tlsConn
	}
	return turn.NewSTUNConn(c), StageConnect, time.Since(t0), nil
}

// Echo packets: magic, sequence number, send time as an offset from the
// start of the run (so the reader needs no state shared with the sender).
var magic = []byte("RLYCTL01")

const packetLen = 8 + 4 + 8

// echo sends cfg.Count packets to the relayed address through the relay
// and returns the RTT of each that came back, and how many were sent.
func echo(ctx context.Context, c net.PacketConn, to net.Addr, cfg Config) ([]time.Duration, int, error) {
	start := time.Now()
	// Every packet's answer has until cfg.Timeout after the last send.
	if err := c.SetReadDeadline(start.Add(time.Duration(cfg.Count)*cfg.Interval + cfg.Timeout)); err != nil {
		return nil, 0, err
	}
	got := make(chan time.Duration, cfg.Count)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		buf := make([]byte, 1500)
		seen := make([]bool, cfg.Count)
		for n := 0; n < cfg.Count; {
			k, _, err := c.ReadFrom(buf)
			if err != nil {
				return // deadline, or closed
			}
			if k != packetLen || !bytes.Equal(buf[:8], magic) {
				continue
			}
			seq := binary.BigEndian.Uint32(buf[8:12])
			if int(seq) >= cfg.Count || seen[seq] {
				continue
			}
			seen[seq] = true
			n++
			got <- time.Since(start) - time.Duration(binary.BigEndian.Uint64(buf[12:20])) //nolint:gosec // G115: our own send time (below 2^63 ns), echoed back
		}
	}()

	sent := 0
	var sendErr error
	pkt := make([]byte, packetLen)
	copy(pkt, magic)
	tick := time.NewTicker(max(cfg.Interval, time.Microsecond))
	defer tick.Stop()
send:
	for i := range cfg.Count {
		binary.BigEndian.PutUint32(pkt[8:12], uint32(i))
		binary.BigEndian.PutUint64(pkt[12:20], uint64(time.Since(start))) //nolint:gosec // G115: time since start is never negative
		if _, err := c.WriteTo(pkt, to); err != nil {
			sendErr = err
			break
		}
		sent++
		if i == cfg.Count-1 {
			break
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			sendErr = ctx.Err()
			break send
		}
	}
	if sendErr != nil || sent < cfg.Count {
		// Stop waiting for packets never sent.
		_ = c.SetReadDeadline(time.Now().Add(cfg.Timeout))
	}
	select {
	case <-readerDone:
	case <-ctx.Done():
		_ = c.SetReadDeadline(time.Now())
		<-readerDone
	}
	close(got)
	rtts := make([]time.Duration, 0, cfg.Count)
	for d := range got {
		rtts = append(rtts, d)
	}
	return rtts, sent, sendErr
}

// summarize fills the RTT figures from the samples, in arrival order.
func summarize(r *Result, rtts []time.Duration) {
	if r.Sent > 0 {
		r.Loss = float64(r.Sent-len(rtts)) / float64(r.Sent)
	}
	if len(rtts) == 0 {
		return
	}
	var sum, dev time.Duration
	r.RTTMin, r.RTTMax = rtts[0], rtts[0]
	for i, d := range rtts {
		sum += d
		r.RTTMin, r.RTTMax = min(r.RTTMin, d), max(r.RTTMax, d)
		if i > 0 {
			dev += absDur(d - rtts[i-1]) //nolint:gosec // G602: i > 0 here
		}
	}
	r.RTTAvg = sum / time.Duration(len(rtts))
	if len(rtts) > 1 {
		r.Jitter = dev / time.Duration(len(rtts)-1)
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}

// Millis renders d in milliseconds with a precision fit for loopback and
// for continents alike, as diagnoses say it ("0.42 ms", "87.3 ms").
func Millis(d time.Duration) string {
	f := float64(d) / float64(time.Millisecond)
	if f < 10 {
		return fmt.Sprintf("%.2f ms", f)
	}
	return fmt.Sprintf("%.1f ms", f)
}
