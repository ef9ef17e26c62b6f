//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package dataplane

import "syscall"

const reusePortSupported = false

func controlReusePort(bool) func(network, address string, c syscall.RawConn) error { return nil }
