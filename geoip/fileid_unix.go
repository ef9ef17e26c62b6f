//go:build unix

package geoip

import (
	"io/fs"
	"syscall"
)

// inode identifies the file behind fi on its device, so that a replacement
// with the same size and modification time is still noticed.
func inode(fi fs.FileInfo) (dev, ino uint64) {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev), uint64(st.Ino) //nolint:unconvert // Dev's type varies by platform
	}
	return 0, 0
}
