package sandbox

import "golang.org/x/sys/unix"

// openBeneath opens rel relative to dirfd with openat2(RESOLVE_BENEATH):
// the kernel resolves the whole path, follows symlinks only while they stay
// below dirfd, refuses absolute symlinks, ".." escapes and /proc magic
// links, and is safe against concurrent renames (it fails with EAGAIN
// instead). It is the same guarantee os.Root gives with one openat per
// component, in one system call. ok is false when openat2 is unavailable
// and the caller must fall back to os.Root. With noSymlinks, any symlink on
// the way fails the open with ELOOP, so a success proves that rel itself is
// the real path of the file.
func openBeneath(dirfd int, rel string, flags int, noSymlinks bool) (fd int, ok bool, err error) {
	if noOpenat2.Load() {
		return -1, false, nil
	}
	how := unix.OpenHow{
		Flags:   uint64(flags | unix.O_CLOEXEC),
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_MAGICLINKS,
	}
	if noSymlinks {
		how.Resolve |= unix.RESOLVE_NO_SYMLINKS
	}
	for range 4 {
		fd, err = unix.Openat2(dirfd, rel, &how)
		switch err {
		case nil:
			return fd, true, nil
		case unix.EAGAIN, unix.EINTR:
			continue // a concurrent rename: try again
		case unix.ENOSYS:
			noOpenat2.Store(true)
			return -1, false, nil
		case unix.EPERM:
			return -1, false, nil // maybe seccomp: let os.Root decide
		case unix.EXDEV:
			return -1, true, errEscapes
		}
		return -1, true, err
	}
	return -1, false, nil
}
