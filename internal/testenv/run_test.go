package testenv

import (
	"errors"
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
				msg := record(func(t testing.TB) { WaitDone(t, "run()", done, time.Second) }).failure()
				if !strings.Contains(msg, tt.want) || (tt.want == "") != (msg == "") {
					t.Errorf("WaitDone reported %q, want %q", msg, tt.want)
				}
			})
		})
	}
}
