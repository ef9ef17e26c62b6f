package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestBuildCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a command")
	}
	dir := t.TempDir()
	bins, err := BuildCommands(dir, false, "github.com/relaygate/relaygate/cmd/relaynode")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "relaynode"); bins["relaynode"] != want || len(bins) != 1 {
		t.Fatalf("bins = %v, want relaynode at %s", bins, want)
	}
	if _, err := os.Stat(bins["relaynode"]); err != nil {
		t.Error(err)
	}
}
