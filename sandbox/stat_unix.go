//go:build linux || darwin || freebsd

package sandbox

import (
	"io/fs"
	"syscall"
)

type unixStat = syscall.Stat_t

// supported reports whether this platform has the *at system calls the
// sandbox is built on.
const supported = true

// devOf returns the device number of a file, for mount-crossing checks.
func devOf(fi fs.FileInfo) uint64 {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return uint64(st.Dev) //nolint:unconvert // int32 on darwin
	}
	return 0
}
