package turnrelay

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/pion/logging"
)

// pionLogs adapts pion's logger to slog without leaking: pion formats client
// and peer addresses into its messages, so only the format string of
// warnings and errors is kept (never its arguments), each format at most
// once a minute. Everything else is dropped.
type pionLogs struct {
	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex // guards below
	last map[string]time.Time
}

func newPionLogs(log *slog.Logger, now func() time.Time) *pionLogs {
	return &pionLogs{log: log, now: now, last: map[string]time.Time{}}
}

func (p *pionLogs) NewLogger(scope string) logging.LeveledLogger {
	return pionLogger{p: p, scope: scope}
}

func (p *pionLogs) emit(level slog.Level, scope, format string) {
	now := p.now()
	p.mu.Lock()
	if t, ok := p.last[format]; ok && now.Sub(t) < time.Minute {
		p.mu.Unlock()
		return
	}
	if len(p.last) > 1024 { // formats are constants; this only bounds surprises
		clear(p.last)
	}
	p.last[format] = now
	p.mu.Unlock()
	p.log.Log(context.Background(), level, "pion: "+format, "scope", scope)
}

type pionLogger struct {
	p     *pionLogs
	scope string
}

func (pionLogger) Trace(string)          {}
func (pionLogger) Tracef(string, ...any) {}
func (pionLogger) Debug(string)          {}
func (pionLogger) Debugf(string, ...any) {}
func (pionLogger) Info(string)           {}
func (pionLogger) Infof(string, ...any)  {}

// Warn and Error without f may carry a formatted message: dropped.
func (pionLogger) Warn(string)  {}
func (pionLogger) Error(string) {}

func (l pionLogger) Warnf(format string, _ ...any)  { l.p.emit(slog.LevelWarn, l.scope, format) }
func (l pionLogger) Errorf(format string, _ ...any) { l.p.emit(slog.LevelError, l.scope, format) }
