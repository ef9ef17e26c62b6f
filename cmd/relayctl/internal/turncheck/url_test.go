package turncheck

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v4"
)

func TestParseURL(t *testing.T) {
	tests := []struct {
		in        string
		host      string
		port      int
		transport string
		err       string
	}{
		{in: "turn:203.0.113.5:3478?transport=udp", host: "203.0.113.5", port: 3478, transport: UDP},
		{in: "turn:203.0.113.5", host: "203.0.113.5", port: 3478, transport: UDP},
		{in: "turn:203.0.113.5:80?transport=tcp", host: "203.0.113.5", port: 80, transport: TCP},
		{in: "turn:[2001:db8::5]:3478?transport=udp", host: "2001:db8::5", port: 3478, transport: UDP},
		{in: "turn:[2001:db8::5]", host: "2001:db8::5", port: 3478, transport: UDP},
		{in: "turns:fra-1.relay.example:5349?transport=tcp", host: "fra-1.relay.example", port: 5349, transport: TLS},
		{in: "turns:fra-1.relay.example", host: "fra-1.relay.example", port: 5349, transport: TLS},
		{in: "turns:x:5349?transport=udp", err: "DTLS"},
		{in: "stun:x:3478", err: "turn: or turns:"},
		{in: "turn:x:0", err: "out of range"},
		{in: "turn:x:99999", err: "out of range"},
		{in: "turn:x?transport=sctp", err: "transport=udp or transport=tcp"},
		{in: "turn:", err: "no host"},
		{in: "turn:bad_host!:1", err: "neither"},
		{in: "turn:[fe80::1%eth0]:1", err: "zoned"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := ParseURL(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseURL(%q) error = %v, want %q", tt.in, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseURL(%q) = %v", tt.in, err)
			}
			if u.Host != tt.host || u.Port != tt.port || u.Transport != tt.transport || u.Raw != tt.in {
				t.Errorf("ParseURL(%q) = %+v, want %s %d %s", tt.in, u, tt.host, tt.port, tt.transport)
			}
		})
	}
}

func TestSummarize(t *testing.T) {
	ms := time.Millisecond
	r := Result{Sent: 4}
	summarize(&r, []time.Duration{10 * ms, 14 * ms, 12 * ms})
	if r.RTTMin != 10*ms || r.RTTMax != 14*ms || r.RTTAvg != 12*ms || r.Jitter != 3*ms || r.Loss != 0.25 {
		t.Errorf("summarize = min %v avg %v max %v jitter %v loss %v, want 10ms 12ms 14ms 3ms 0.25", r.RTTMin, r.RTTAvg, r.RTTMax, r.Jitter, r.Loss)
	}
}

func TestDiagnose(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	turnErr := func(code int) error {
		return &stun.TurnError{ErrorCodeAttr: stun.ErrorCodeAttribute{Code: stun.ErrorCode(code)}}
	}
	udp := URL{Host: "192.0.2.1", Port: 3478, Transport: UDP}
	tcp := URL{Host: "192.0.2.1", Port: 3478, Transport: TCP}
	tests := []struct {
		name     string
		stage    Stage
		err      error
		u        URL
		username string
		want     string
	}{
		{name: "expired", stage: StageAllocate, err: turnErr(401), u: udp, username: "1799999000:k1.x", want: "credentials refused: expired at 2027-01-15T07:43:20Z (16m40s ago)"},
		{name: "wrong secret", stage: StageAllocate, err: turnErr(401), u: udp, username: "1800000600:k1.x", want: "credentials refused: wrong secret (401 Unauthorized)"},
		{name: "full", stage: StageAllocate, err: turnErr(508), u: udp, want: "508 Insufficient Capacity"},
		{name: "quota", stage: StageAllocate, err: turnErr(486), u: udp, want: "quota"},
		{name: "udp timeout", stage: StageAllocate, err: errNoAnswer, u: udp, want: "UDP is blocked on this network"},
		{name: "tcp timeout", stage: StageAllocate, err: errNoAnswer, u: tcp, want: "is this a TURN server?"},
		{name: "peer refused", stage: StagePermission, err: turnErr(403), u: udp, want: "peer refused (403 Forbidden): the relay denies its own relayed address 198.51.100.7 as a peer; allow it in the relay's peer filter (relaynode --allow-peers 198.51.100.7/32)"},
		{name: "no data", stage: StageData, err: errNoData, u: udp, want: "none of 10 packets came back"},
		{name: "other", stage: StageConnect, err: errors.New("boom"), u: tcp, want: "cannot connect: boom"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := Config{Username: tt.username, Now: func() time.Time { return now }}.withDefaults()
			if got := diagnose(tt.stage, tt.err, tt.u, cfg, "198.51.100.7:50000"); !strings.Contains(got, tt.want) {
				t.Errorf("diagnose() = %q, want %q", got, tt.want)
			}
		})
	}
}
