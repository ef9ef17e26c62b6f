package cmdline

import (
	"cmp"
	"runtime"
	"runtime/debug"
	"strings"
)

// Version is what --version prints for the command name: the module's
// version, the VCS revision and commit time when the build recorded them,
// and the Go version and platform, on one line.
func Version(name string) string {
	bi, _ := debug.ReadBuildInfo()
	return versionLine(name, bi)
}

// versionLine is Version from bi, which may be nil (no build information).
func versionLine(name string, bi *debug.BuildInfo) string {
	parts := []string{name}
	if bi == nil {
		return strings.Join(append(parts, "(unknown)", runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH), " ") + "\n"
	}
	parts = append(parts, cmp.Or(bi.Main.Version, "(devel)"))
	s := map[string]string{}
	for _, kv := range bi.Settings {
		s[kv.Key] = kv.Value
	}
	if rev := s["vcs.revision"]; rev != "" {
		parts = append(parts, "revision "+rev)
		if t := s["vcs.time"]; t != "" {
			parts = append(parts, t)
		}
		if s["vcs.modified"] == "true" {
			parts = append(parts, "(modified)")
		}
	}
	goVersion := cmp.Or(bi.GoVersion, runtime.Version())
	goos, goarch := cmp.Or(s["GOOS"], runtime.GOOS), cmp.Or(s["GOARCH"], runtime.GOARCH)
	parts = append(parts, goVersion, goos+"/"+goarch)
	return strings.Join(parts, " ") + "\n"
}
