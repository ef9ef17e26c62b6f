package probe

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func mustAddrPort(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }

// play records a script of samples: a digit string is an answer with that
// many tens of milliseconds of RTT, "x" a loss. It returns the health after
// each sample ("-" while unknown).
func play(c Config, script string) (stats, string) {
	c = c.withDefaults()
	st := newStats(c.Window)
	at := time.Unix(1e9, 0)
	var health []string
	for _, f := range strings.Fields(script) {
		smp := sample{lost: f == "x"}
		if !smp.lost {
			var tens int
			for _, ch := range f {
				tens = tens*10 + int(ch-'0')
			}
			smp.rtt = time.Duration(tens) * 10 * time.Millisecond
		}
		at = at.Add(time.Second)
		st.record(smp, at, &c)
		h := string(st.health)
		if !st.known {
			h = "-"
		}
		health = append(health, h)
	}
	return st, strings.Join(health, " ")
}

func TestHealthHysteresis(t *testing.T) {
	tests := []struct {
		name   string
		cfg    Config
		script string
		want   string
	}{
		{name: "answers are up", script: "2 2 2", want: "up up up"},
		{name: "one loss does not flap", script: "2 x 2 2", want: "up up up up"},
		{name: "unknown until the first answer", script: "x 2", want: "- up"},
		{name: "two misses degrade, three go down", script: "2 x x x", want: "up up degraded down"},
		{name: "never answered goes down", script: "x x x", want: "- - down"},
		{name: "back only after two answers, degraded while the window remembers the loss",
			script: "2 x x x 2 2", want: "up up degraded down down degraded"},
		{name: "a single answer between misses keeps it down", script: "2 x x x 2 x 2 2", want: "up up degraded down down down down degraded"},
		{name: "two losses in the window degrade", script: "2 x 2 x 2", want: "up up up degraded degraded"},
		{name: "slow first answer degrades", script: "20 20", want: "degraded degraded"},
		{name: "smoothed RTT follows a slowdown gradually", script: "2 20 20 20 20 20 20 20 20 20 20", want: "up up up up up up up up up up degraded"},
		{name: "one slow sample does not degrade", script: "2 20 2", want: "up up up"},
		{name: "loss rolls out of the window", cfg: Config{Window: 4, DownAfter: 2}, script: "2 x 2 x 2 2 2 2", want: "up up up degraded degraded up up up"},
		{name: "DownAfter 1 and UpAfter 1", cfg: Config{DownAfter: 1, UpAfter: 1, Window: 2}, script: "2 x 2 2 2", want: "up down up up up"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, got := play(tt.cfg, tt.script); got != tt.want {
				t.Errorf("play(%q) = %q, want %q", tt.script, got, tt.want)
			}
		})
	}
}

func TestStatsFigures(t *testing.T) {
	st, _ := play(Config{Window: 4}, "10 x 2 6 4")
	r := st.result("fra-1", mustAddrPort("192.0.2.1:3478"))
	// srtt: 100, 100+(20-100)/8=90, 90+(60-90)/8=86.25, 86.25+(40-86.25)/8=80.47
	// jitter: |20-100|/16=5, 5+(40-5)/16=7.1875, 7.1875+(20-7.1875)/16=7.98
	want := Result{
		RelayID: "fra-1", Addr: mustAddrPort("192.0.2.1:3478"),
		RTT: 80468750 * time.Nanosecond, MinRTT: 20 * time.Millisecond, LastRTT: 40 * time.Millisecond,
		Jitter: 7988281 * time.Nanosecond, Loss: 0.25, Health: HealthUp, Sent: 4, Received: 3, // one loss is not enough to degrade
		ProbedAt: time.Unix(1e9+5, 0),
	}
	if r != want {
		t.Errorf("result() =\n%+v, want\n%+v", r, want)
	}
}

func TestSlotAfter(t *testing.T) {
	period := 5 * time.Second
	for _, ph := range []time.Duration{0, time.Millisecond, 4999 * time.Millisecond} {
		for _, start := range []time.Time{time.Unix(1e9, 0), time.Unix(1e9, 0).Add(ph), time.Unix(1e9+3, 7)} {
			s := slotAfter(start, period, ph)
			if !s.After(start) || s.Sub(start) > period {
				t.Errorf("slotAfter(%v, %v, %v) = %v, want within (start, start+period]", start, period, ph, s)
			}
			if got := time.Duration(s.UnixNano() % int64(period)); got != ph {
				t.Errorf("slotAfter(%v, %v, %v) has phase %v", start, period, ph, got)
			}
		}
	}
}
