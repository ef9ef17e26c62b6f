package storetest

import (
	"testing"

	"github.com/relaygate/relaygate/store"
)

// NewMemory returns a Memory store with cfg that is closed when the test
// ends.
func NewMemory(tb testing.TB, cfg store.MemoryConfig) *store.Memory {
	tb.Helper()
	m, err := store.NewMemory(cfg)
	if err != nil {
		tb.Fatalf("NewMemory() error = %v", err)
	}
	tb.Cleanup(func() { _ = m.Close() })
	return m
}
