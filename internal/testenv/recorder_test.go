package testenv

import (
	"fmt"
	"runtime"
	"testing"
)

// recorder is a testing.TB that records what failed it. Its Fatalf ends
// the calling goroutine, as the real one does, so record runs the code
// under test in a goroutine of its own.
type recorder struct {
	testing.TB
	fatal, errs []string
}

func (*recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.fatal = append(r.fatal, fmt.Sprintf(format, args...))
	runtime.Goexit()
}

// record runs f with a recorder and returns it once f has returned or
// called Fatalf.
func record(f func(t testing.TB)) *recorder {
	r := &recorder{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		f(r)
	}()
	<-done
	return r
}

// failure is the first message that failed r, "" if none did.
func (r *recorder) failure() string {
	switch {
	case len(r.fatal) > 0:
		return r.fatal[0]
	case len(r.errs) > 0:
		return r.errs[0]
	}
	return ""
}
