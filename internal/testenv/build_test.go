package testenv

import (
	"errors"
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

func TestCommands(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a command")
	}
	c := Commands{Pkgs: []string{"github.com/relaygate/relaygate/cmd/relaynode"}}
	p := c.Path(t, "relaynode")
	if again := c.Path(t, "relaynode"); again != p {
		t.Errorf("Path again = %s, want the same binary %s", again, p)
	}
	if _, err := os.Stat(p); err != nil {
		t.Error(err)
	}
	if err := c.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("after Remove, Stat(%s) = %v, want it gone", p, err)
	}
}
