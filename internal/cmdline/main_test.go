package cmdline

import (
	"errors"
	"flag"
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestExit(t *testing.T) {
	want := func(err error, wantCode int, wantMsg string) {
		t.Helper()
		if code, msg := exit("relaynode", err); code != wantCode || msg != wantMsg {
			t.Errorf("exit(%v) = %d, %q; want %d, %q", err, code, msg, wantCode, wantMsg)
		}
	}
	want(nil, 0, "")
	want(fmt.Errorf("parse: %w", flag.ErrHelp), 0, "") // help was printed
	want(errors.New("--listen: address in use"), 1, "relaynode: --listen: address in use\n")
	want(fmt.Errorf("parse: %w", ErrVersion), 0, "") // Main prints the version to stdout
	want(Usage(errors.New("--max-bps: parse error")), 2, "relaynode: --max-bps: parse error\n")
	want(fmt.Errorf("config: %w", Usage(errors.New("bad"))), 2, "relaynode: config: bad\n")
	if Usage(nil) != nil {
		t.Error("Usage(nil) != nil")
	}
}

func TestVersionLine(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/relaygate/relaygate", Version: "v1.2.3"},
		Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"},
			{Key: "vcs.revision", Value: "d1251ad"}, {Key: "vcs.time", Value: "2026-05-01T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := versionLine("relaygate", bi), "relaygate v1.2.3 revision d1251ad 2026-05-01T10:00:00Z (modified) go1.26.0 linux/arm64\n"; got != want {
		t.Errorf("versionLine() = %q, want %q", got, want)
	}
	bi = &debug.BuildInfo{GoVersion: "go1.26.0", Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}}}
	if got, want := versionLine("relaynode", bi), "relaynode (devel) go1.26.0 linux/amd64\n"; got != want {
		t.Errorf("versionLine(no vcs) = %q, want %q", got, want)
	}
	if got := versionLine("relayctl", nil); !strings.HasPrefix(got, "relayctl (unknown) go") {
		t.Errorf("versionLine(nil) = %q", got)
	}
	if got := Version("relaygate"); !strings.HasPrefix(got, "relaygate ") || !strings.Contains(got, runtime.Version()) {
		t.Errorf("Version() = %q", got)
	}
}
