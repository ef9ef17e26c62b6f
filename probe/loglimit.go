package probe

import (
	"log/slog"
	"sync"
	"time"
)

// logEvery is how often a repeatable log line may be written: a broken
// socket or route repeats on every packet, and one line a minute says enough.
const logEvery = time.Minute

// logLimiter lets one line per key through every logEvery and counts the
// rest, reporting the count with the next line that gets through.
type logLimiter struct {
	mu sync.Mutex
	// guards below
	last       map[string]time.Time
	suppressed map[string]int
}

// warn logs msg at Warn unless a line with the same key was written within
// logEvery of now.
func (l *logLimiter) warn(log *slog.Logger, now time.Time, key, msg string, args ...any) {
	l.mu.Lock()
	if l.last == nil {
		l.last, l.suppressed = map[string]time.Time{}, map[string]int{}
	}
	if last, ok := l.last[key]; ok && now.Sub(last) < logEvery {
		l.suppressed[key]++
		l.mu.Unlock()
		return
	}
	l.last[key] = now
	n := l.suppressed[key]
	delete(l.suppressed, key)
	l.mu.Unlock()
	if n > 0 {
		args = append(args, "suppressed", n)
	}
	log.Warn(msg, args...)
}
