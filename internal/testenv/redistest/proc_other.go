//go:build !linux

package redistest

import "os/exec"

// dieWithParent does nothing where the kernel cannot kill a child with
// its parent: servers are stopped by t.Cleanup alone.
func dieWithParent(*exec.Cmd) {}
