//go:build !unix

package geoip

import "io/fs"

// inode is unknown on this platform; size and modification time still
// detect a replacement.
func inode(fs.FileInfo) (dev, ino uint64) { return 0, 0 }
