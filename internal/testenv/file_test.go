package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

func TestReplaceFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	ReplaceFile(t, path, []byte("one"))
	old, err := os.Open(path) // keeps the first file's content, as a reader mid-read would
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	ReplaceFile(t, path, []byte("two"))
	if got, err := os.ReadFile(path); err != nil || string(got) != "two" {
		t.Errorf("ReadFile() = %q, %v; want \"two\"", got, err)
	}
	buf := make([]byte, 8)
	if n, _ := old.Read(buf); string(buf[:n]) != "one" {
		t.Errorf("the file opened before the replacement reads %q, want \"one\" (written in place?)", buf[:n])
	}
	if entries, err := os.ReadDir(dir); err != nil || len(entries) != 1 {
		t.Errorf("directory holds %v (%v), want only f", entries, err)
	}
}
