package testenv

import (
	"os"
	"testing"
)

// ReplaceFile puts data at path the way config managers, ACME clients and
// database updaters do: a temporary file beside it, renamed over it, so a
// reader sees the old content or the new, never a part. It fails t on any
// error.
func ReplaceFile(t testing.TB, path string, data []byte) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
