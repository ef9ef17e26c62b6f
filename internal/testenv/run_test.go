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
	synctest.Test(t, func(t *testing.T) {
		tests := []struct {
			name   string
			result error
			send   bool
			want   string
		}{
			{name: "nil in time", send: true},
			{name: "an error", result: errors.New("boom"), send: true, want: "run() = boom, want nil"},
			{name: "nothing", want: "run() did not return within 1s"},
		}
		for _, tt := range tests {
			done := make(chan error, 1)
			if tt.send {
				done <- tt.result
			}
			f := &errorRecorder{}
			WaitDone(f, "run()", done, time.Second)
			if !strings.Contains(f.msg, tt.want) || (tt.want == "") != (f.msg == "") {
				t.Errorf("%s: WaitDone reported %q, want %q", tt.name, f.msg, tt.want)
			}
		}
	})
}

// errorRecorder is a testing.TB whose Errorf records the message.
type errorRecorder struct {
	testing.TB
	msg string
}

func (*errorRecorder) Helper() {}

func (e *errorRecorder) Errorf(format string, args ...any) { e.msg = fmt.Sprintf(format, args...) }
