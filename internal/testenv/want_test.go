package testenv

import (
	"errors"
	"testing"
)

func TestWantErr(t *testing.T) {
	tests := []struct {
		name         string
		err          error
		want         string
		fatal, leaks bool
	}{
		{name: "valid", want: ""},
		{name: "unexpected error", err: errors.New("--listen: bad"), fatal: true},
		{name: "expected error", err: errors.New("--listen: bad"), want: "--listen"},
		{name: "other error", err: errors.New("--port: bad"), want: "--listen", fatal: true},
		{name: "no error", want: "--listen", fatal: true},
		{name: "leaked secret", err: errors.New("--secret s3cr3t-value: short"), want: "--secret", leaks: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := record(func(t testing.TB) { WantErr(t, "parseConfig()", tt.err, tt.want, "s3cr3t") })
			if (len(f.fatal) > 0) != tt.fatal || (len(f.errs) > 0) != tt.leaks {
				t.Errorf("WantErr(%v, %q): fatal %q, errors %q; want fatal %v, a leak %v", tt.err, tt.want, f.fatal, f.errs, tt.fatal, tt.leaks)
			}
		})
	}
}
