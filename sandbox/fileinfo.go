//go:build linux || darwin || freebsd

package sandbox

import (
	"io/fs"
	"syscall"
	"time"
)

// statInfo is an fs.FileInfo built from fstat, for hooks (ContentCache,
// Observer) when no *os.File is at hand. Sys returns *syscall.Stat_t, like
// os.File.Stat does.
type statInfo struct {
	name string
	st   syscall.Stat_t
}

func (fi *statInfo) Name() string { return fi.name }
func (fi *statInfo) Size() int64  { return fi.st.Size }
func (fi *statInfo) Mode() fs.FileMode {
	m := fs.FileMode(fi.st.Mode & 0o777)
	switch fi.st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		m |= fs.ModeDir
	case syscall.S_IFLNK:
		m |= fs.ModeSymlink
	case syscall.S_IFIFO:
		m |= fs.ModeNamedPipe
	case syscall.S_IFSOCK:
		m |= fs.ModeSocket
	case syscall.S_IFCHR:
		m |= fs.ModeDevice | fs.ModeCharDevice
	case syscall.S_IFBLK:
		m |= fs.ModeDevice
	}
	return m
}
func (fi *statInfo) ModTime() time.Time {
	return sysMtime(&fi.st)
}
func (fi *statInfo) IsDir() bool { return fi.st.Mode&syscall.S_IFMT == syscall.S_IFDIR }
func (fi *statInfo) Sys() any    { return &fi.st }
