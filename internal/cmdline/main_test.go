package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"testing"
)

func TestExit(t *testing.T) {
	for name, tt := range map[string]struct {
		err  error
		code int
		msg  string
	}{
		"success": {code: 0},
		"help":    {err: fmt.Errorf("parse: %w", flag.ErrHelp), code: 0},
		"failure": {err: errors.New("--listen: address in use"), code: 1, msg: "relaynode: --listen: address in use\n"},
	} {
		t.Run(name, func(t *testing.T) {
			if code, msg := exit("relaynode", tt.err); code != tt.code || msg != tt.msg {
				t.Errorf("exit(%v) = %d, %q; want %d, %q", tt.err, code, msg, tt.code, tt.msg)
			}
		})
	}
}
