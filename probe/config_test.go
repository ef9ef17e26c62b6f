package probe

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestConfigDefaults(t *testing.T) {
	c := Config{}.withDefaults()
	if err := c.validate(); err != nil {
		t.Fatalf("zero Config: validate() = %v, want nil", err)
	}
	if c.Interval != 5*time.Second || c.Timeout != time.Second || c.Window != 20 ||
		c.DegradedRTT != 150*time.Millisecond || c.DegradedLoss != 0.02 ||
		c.DownAfter != 3 || c.UpAfter != 2 || c.Sockets != 2 || c.Retry != 0 ||
		c.Now == nil || c.Listen == nil {
		t.Errorf("Config{}.withDefaults() = %+v", c)
	}
	if got := c.perFamily(); got != 1 {
		t.Errorf("perFamily() = %d, want 1", got)
	}
}

func TestConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "interval below a millisecond", cfg: Config{Interval: 5, Timeout: 1}, want: "interval 5ns"},
		{name: "negative timeout", cfg: Config{Timeout: -time.Second}, want: "timeout -1s must be positive"},
		{name: "timeout not below interval", cfg: Config{Interval: time.Second, Timeout: time.Second}, want: "timeout 1s must be shorter than interval 1s"},
		{name: "negative window", cfg: Config{Window: -1}, want: "window -1"},
		{name: "window too large", cfg: Config{Window: 1001}, want: "window 1001"},
		{name: "negative degraded RTT", cfg: Config{DegradedRTT: -time.Millisecond}, want: "degraded RTT -1ms"},
		{name: "degraded loss above one", cfg: Config{DegradedLoss: 1.5}, want: "degraded loss 1.5"},
		{name: "degraded loss NaN", cfg: Config{DegradedLoss: math.NaN()}, want: "degraded loss NaN"},
		{name: "negative down after", cfg: Config{DownAfter: -1}, want: "down after -1"},
		{name: "down after beyond window", cfg: Config{Window: 5, DownAfter: 6}, want: "down after 6"},
		{name: "negative up after", cfg: Config{UpAfter: -2}, want: "up after -2"},
		{name: "up after beyond window", cfg: Config{Window: 5, UpAfter: 6}, want: "up after 6"},
		{name: "retry not below interval", cfg: Config{Interval: time.Second, Timeout: 100 * time.Millisecond, Retry: time.Second}, want: "retry 1s"},
		{name: "negative sockets", cfg: Config{Sockets: -1}, want: "sockets -1"},
		{name: "too many sockets", cfg: Config{Sockets: 65}, want: "sockets 65"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.withDefaults().validate()
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("validate() = %v, want ErrConfig mentioning %q", err, tt.want)
			}
			if _, err := New(tt.cfg, func() []Target { return nil }, nil, nil); !errors.Is(err, ErrConfig) {
				t.Errorf("New() error = %v, want ErrConfig", err)
			}
		})
	}
}

func TestNewRejectsNilTargets(t *testing.T) {
	if _, err := New(Config{}, nil, nil, nil); !errors.Is(err, ErrNoTargets) {
		t.Errorf("New(nil targets) error = %v, want ErrNoTargets", err)
	}
}

func TestMeasureRejects(t *testing.T) {
	ok := []Target{{RelayID: "a", Addr: mustAddrPort("127.0.0.1:3478")}}
	tests := []struct {
		name    string
		targets []Target
		rounds  int
		gap     time.Duration
		cfg     Config
		want    error
	}{
		{name: "zero rounds", targets: ok, rounds: 0, want: ErrRounds},
		{name: "too many rounds", targets: ok, rounds: 1001, want: ErrRounds},
		{name: "negative gap", targets: ok, rounds: 1, gap: -1, want: ErrConfig},
		{name: "bad config", targets: ok, rounds: 1, cfg: Config{Sockets: 100}, want: ErrConfig},
		{name: "target without port", targets: []Target{{RelayID: "a", Addr: mustAddrPort("127.0.0.1:0")}}, rounds: 1, want: ErrTarget},
		{name: "target without address", targets: []Target{{RelayID: "a"}}, rounds: 1, want: ErrTarget},
		{name: "duplicate relay", targets: append(ok, ok[0]), rounds: 1, want: ErrTarget},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Measure(t.Context(), tt.cfg, tt.targets, tt.rounds, tt.gap); !errors.Is(err, tt.want) {
				t.Errorf("Measure() error = %v, want %v", err, tt.want)
			}
		})
	}
}
