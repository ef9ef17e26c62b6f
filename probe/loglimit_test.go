package probe

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestLogLimiter(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	var l logLimiter
	t0 := time.Unix(1e9, 0)
	for i := range 100 {
		l.warn(log, t0.Add(time.Duration(i)*time.Second/2), "send", "send probe", "relay_id", "fra-1")
	}
	l.warn(log, t0.Add(10*time.Second), "listen", "open probe socket")
	l.warn(log, t0.Add(time.Minute), "send", "send probe", "relay_id", "fra-1")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("logged %d lines, want 3: send, listen, send with the count (%q)", len(lines), lines)
	}
	if !strings.Contains(lines[2], "suppressed=") {
		t.Errorf("line after the quiet minute = %q, want the suppressed count", lines[2])
	}
}
