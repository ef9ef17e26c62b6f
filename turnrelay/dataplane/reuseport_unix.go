//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package dataplane

import (
	"syscall"

	"golang.org/x/sys/unix"
)

const reusePortSupported = true

// controlReusePort sets SO_REUSEPORT before bind when on is true.
func controlReusePort(on bool) func(network, address string, c syscall.RawConn) error {
	if !on {
		return nil
	}
	return func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) {
			serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1)
		})
		if err != nil {
			return err
		}
		return serr
	}
}
