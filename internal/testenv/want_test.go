package testenv

import (
	"errors"
	"testing"
)

func TestWantErr(t *testing.T) {
	for name, tt := range map[string]struct {
		err          error
		want         string
		fatal, leaks bool
	}{
		"valid":            {},
		"unexpected error": {err: errors.New("--listen: bad"), fatal: true},
		"expected error":   {err: errors.New("--listen: bad"), want: "--listen"},
		"other error":      {err: errors.New("--port: bad"), want: "--listen", fatal: true},
		"no error":         {want: "--listen", fatal: true},
		"leaked secret":    {err: errors.New("--secret s3cr3t-value: short"), want: "--secret", leaks: true},
	} {
		t.Run(name, func(t *testing.T) {
			f := record(func(t testing.TB) { WantErr(t, "parseConfig()", tt.err, tt.want, "s3cr3t") })
			if (len(f.fatal) > 0) != tt.fatal || (len(f.errs) > 0) != tt.leaks {
				t.Errorf("WantErr(%v, %q): fatal %q, errors %q; want fatal %v, a leak %v", tt.err, tt.want, f.fatal, f.errs, tt.fatal, tt.leaks)
			}
		})
	}
}
