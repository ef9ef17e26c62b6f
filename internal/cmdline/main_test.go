package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"strings"
	"testing"
)

func TestExitCode(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		code   int
		stderr string
	}{
		{name: "success", code: 0},
		{name: "help", err: fmt.Errorf("parse: %w", flag.ErrHelp), code: 0},
		{name: "failure", err: errors.New("--listen: address in use"), code: 1, stderr: "relaynode: --listen: address in use\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr strings.Builder
			if got := exitCode("relaynode", tt.err, &stderr); got != tt.code || stderr.String() != tt.stderr {
				t.Errorf("exitCode(%v) = %d, stderr %q; want %d, %q", tt.err, got, stderr.String(), tt.code, tt.stderr)
			}
		})
	}
}
