package testenv

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestWaitDone(t *testing.T) {
	tests := []struct {
		name string
		sent []error // on done before WaitDone looks; none: nothing comes
		want string  // in the failure; "": no failure
	}{
		{name: "nil in time", sent: []error{nil}},
		{name: "an error", sent: []error{errors.New("boom")}, want: "run() = boom, want nil"},
		{name: "nothing", want: "run() did not return within 1s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				done := make(chan error, 1)
				for _, err := range tt.sent {
					done <- err
				}
				f := &errorRecorder{}
				WaitDone(f, "run()", done, time.Second)
				if !strings.Contains(f.msg, tt.want) || (tt.want == "") != (f.msg == "") {
					t.Errorf("WaitDone reported %q, want %q", f.msg, tt.want)
				}
			})
		})
	}
}

// errorRecorder is a testing.TB whose Errorf records the message.
type errorRecorder struct {
	testing.TB
	msg string
}

func (*errorRecorder) Helper() {}

func (e *errorRecorder) Errorf(format string, args ...any) { e.msg = fmt.Sprintf(format, args...) }
