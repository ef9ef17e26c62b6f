package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"testing"
)

func TestExit(t *testing.T) {
	want := func(err error, wantCode int, wantMsg string) {
		t.Helper()
		if code, msg := exit("relaynode", err); code != wantCode || msg != wantMsg {
			t.Errorf("exit(%v) = %d, %q; want %d, %q", err, code, msg, wantCode, wantMsg)
		}
	}
	want(nil, 0, "")
	want(fmt.Errorf("parse: %w", flag.ErrHelp), 0, "") // help was printed
	want(errors.New("--listen: address in use"), 1, "relaynode: --listen: address in use\n")
}
