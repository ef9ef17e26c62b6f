package main

import (
	"bufio"
	"context"
	"io"
	"sync"
	"time"
)

// logFlushEvery bounds how long a log line waits in the buffer. An access
// log line per request written straight to stderr costs a syscall each,
// about as much as the rest of a /healthz request; batching them keeps the
// logs and frees the CPU.
const logFlushEvery = 200 * time.Millisecond

// logWriter buffers whole log records (slog writes each in one Write) and
// flushes them every logFlushEvery, when the buffer fills, and on Close.
type logWriter struct {
	mu sync.Mutex // guards below
	w  *bufio.Writer
}

func newLogWriter(w io.Writer) *logWriter {
	return &logWriter{w: bufio.NewWriterSize(w, 64<<10)}
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// Flush writes out what is buffered.
func (l *logWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Flush()
}

// Run flushes periodically until ctx is done, then once more.
func (l *logWriter) Run(ctx context.Context) {
	t := time.NewTicker(logFlushEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			_ = l.Flush()
			return
		case <-t.C:
			_ = l.Flush()
		}
	}
}
