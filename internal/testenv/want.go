package testenv

import (
	"strings"
	"testing"
)

// WantErr checks err from what (say "parseConfig()") against want, as
// table tests of validation do: no error when want is "", else one whose
// text contains want; it stops t when that does not hold. An error that
// shows any of secrets (say a test's credential) fails t too.
func WantErr(t testing.TB, what string, err error, want string, secrets ...string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("%s error = %v", what, err)
	case want != "" && (err == nil || !strings.Contains(err.Error(), want)):
		t.Fatalf("%s error = %v, want one mentioning %q", what, err, want)
	}
	for _, s := range secrets {
		if err != nil && strings.Contains(err.Error(), s) {
			t.Errorf("%s error leaks a secret: %v", what, err)
		}
	}
}
