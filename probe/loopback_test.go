package probe

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"
)

// These tests use real UDP sockets on 127.0.0.1 and real time; each waits for
// a reported condition with a deadline.

func listenLoopback(network string) (net.PacketConn, error) {
	if network == "udp6" {
		return net.ListenPacket("udp6", "[::1]:0")
	}
	return net.ListenPacket("udp4", "127.0.0.1:0")
}

func loopbackResponder(t *testing.T, mode int32, set ...func(*responder)) *responder {
	t.Helper()
	c, err := listenLoopback("udp4")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	if mode == otherAddr {
		other, err := listenLoopback("udp4")
		if err != nil {
			t.Fatalf("listen: %v", err)
		}
		set = append(set, func(r *responder) { r.other = other })
	}
	return startResponder(t, c, mode, set...)
}

func TestLoopback(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		mode  int32
		drop  float64
		delay time.Duration
		want  func(Result) bool
		about string
	}{
		{name: "answering relay is up", mode: answer, about: "up, no loss, RTT measured",
			want: func(r Result) bool {
				return r.Health == HealthUp && r.Received >= 5 && r.Loss == 0 && r.RTT > 0 && r.MinRTT > 0 && r.MinRTT <= r.RTT+r.Jitter*8
			}},
		{name: "slow relay is degraded", mode: answer, delay: 40 * time.Millisecond, about: "degraded, RTT >= 40ms",
			want: func(r Result) bool {
				return r.Health == HealthDegraded && r.MinRTT >= 40*time.Millisecond && r.RTT >= 40*time.Millisecond && r.Loss == 0
			}},
		{name: "lossy relay is degraded, not down", mode: answer, drop: 0.5, about: "degraded, about half lost",
			want: func(r Result) bool {
				return r.Health == HealthDegraded && r.Sent == 10 && r.Loss >= 0.3 && r.Loss <= 0.7
			}},
		{name: "silent relay is down", mode: silent, about: "down",
			want: func(r Result) bool { return r.Health == HealthDown && r.Received == 0 }},
		{name: "wrong transaction ID is ignored", mode: wrongTxID, about: "down",
			want: func(r Result) bool { return r.Health == HealthDown && r.Received == 0 }},
		{name: "answer from another address is ignored", mode: otherAddr, about: "down",
			want: func(r Result) bool { return r.Health == HealthDown && r.Received == 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := loopbackResponder(t, tt.mode, func(r *responder) { r.drop, r.delay = tt.drop, tt.delay })
			reports := make(chan []Result, 64)
			cfg := Config{Interval: 100 * time.Millisecond, Timeout: 80 * time.Millisecond, Window: 10,
				DegradedRTT: 30 * time.Millisecond, Listen: listenLoopback}
			p, err := New(cfg, func() []Target { return []Target{{RelayID: "r", Addr: r.addr()}} },
				func(rs []Result) { reports <- rs }, nil)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() { done <- p.Run(ctx) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					t.Errorf("Run() = %v", err)
				}
			}()
			deadline := time.After(10 * time.Second)
			var last Result
			for {
				select {
				case rs := <-reports:
					if len(rs) == 1 {
						last = rs[0]
					}
					if tt.want(last) {
						return
					}
				case <-deadline:
					t.Fatalf("no result was %s within 10s; last %+v", tt.about, last)
				}
			}
		})
	}
}

func TestMeasureLoopback(t *testing.T) {
	t.Parallel()
	good, dead := loopbackResponder(t, answer), loopbackResponder(t, silent)
	lossy := loopbackResponder(t, answer, func(r *responder) { r.drop = 0.5 })
	targets := []Target{{RelayID: "good", Addr: good.addr()}, {RelayID: "dead", Addr: dead.addr()}, {RelayID: "lossy", Addr: lossy.addr()}}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := Measure(ctx, Config{Timeout: 200 * time.Millisecond, Listen: listenLoopback}, targets, 4, 10*time.Millisecond)
	if err != nil {
		t.Fatalf("Measure() error = %v", err)
	}
	if got := ids(res); got != "[dead good lossy]" {
		t.Fatalf("Measure() relays = %v", got)
	}
	if r := res[0]; r.Health != HealthDown || r.Sent != 4 || r.Received != 0 || r.Loss != 1 {
		t.Errorf("dead: %+v, want down, 4 sent, none received", r)
	}
	if r := res[1]; r.Health != HealthUp || r.Sent != 4 || r.Received != 4 || r.RTT <= 0 {
		t.Errorf("good: %+v, want up, 4 of 4", r)
	}
	// The four probes are spaced by the gap (30ms in all; allow for a late first one).
	if at := good.arrivalTimes(); len(at) != 4 || at[3].Sub(at[0]) < 20*time.Millisecond {
		t.Errorf("probes arrived at %v, want 4 spread over about 30ms", at)
	}
	if r := res[2]; r.Sent != 4 || r.Received != 2 || r.Health != HealthDegraded {
		t.Errorf("lossy: %+v, want 2 of 4, degraded", r)
	}
}

func TestMeasureStopsWithContext(t *testing.T) {
	t.Parallel()
	dead := loopbackResponder(t, silent)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res, err := Measure(ctx, Config{Listen: listenLoopback}, []Target{{RelayID: "dead", Addr: dead.addr()}}, 100, time.Second)
	if !errors.Is(err, context.Canceled) || len(res) != 1 {
		t.Errorf("Measure(cancelled) = %+v, %v; want one result and context.Canceled", res, err)
	}
}

func TestIPv6Loopback(t *testing.T) {
	t.Parallel()
	c, err := listenLoopback("udp6")
	if err != nil {
		t.Skipf("no IPv6 loopback: %v", err)
	}
	r := startResponder(t, c, answer)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	res, err := Measure(ctx, Config{Timeout: 500 * time.Millisecond, Listen: listenLoopback}, []Target{{RelayID: "v6", Addr: r.addr()}}, 2, 0)
	if err != nil || len(res) != 1 || res[0].Received != 2 || res[0].Health != HealthUp {
		t.Errorf("Measure(IPv6) = %+v, %v; want 2 of 2, up", res, err)
	}
}
