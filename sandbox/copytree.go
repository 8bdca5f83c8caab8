//go:build linux || darwin || freebsd

package sandbox

import (
	"context"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// copyTree copies the entry name of directory srcDir to dstName in dstDir,
// for moves between the project and a trash on another file system. It
// never follows symlinks (they are copied as links), skips FIFOs, sockets
// and devices, keeps permission bits, and never replaces anything (O_EXCL,
// mkdirat). Cancellable between entries.
func copyTree(ctx context.Context, srcDir int, name string, dstDir int, dstName string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var st unix.Stat_t
	if err := unix.Fstatat(srcDir, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return err
	}
	perm := uint32(st.Mode & 0o777)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFREG:
		return copyFile(srcDir, name, dstDir, dstName, perm)
	case unix.S_IFLNK:
		link, err := readlinkat(srcDir, name)
		if err != nil {
			return err
		}
		return unix.Symlinkat(link, dstDir, dstName)
	case unix.S_IFDIR:
		if err := unix.Mkdirat(dstDir, dstName, 0o700); err != nil {
			return err
		}
		sfd, err := unix.Openat(srcDir, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		src := os.NewFile(uintptr(sfd), name)
		defer src.Close()
		dfd, err := unix.Openat(dstDir, dstName, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return err
		}
		dst := os.NewFile(uintptr(dfd), dstName)
		defer dst.Close()
		names, err := src.Readdirnames(-1)
		if err != nil {
			return err
		}
		for _, n := range names {
			if err := copyTree(ctx, sfd, n, dfd, n); err != nil {
				return err
			}
		}
		return unix.Fchmod(dfd, perm)
	}
	return nil // special files are not worth keeping, nor safe to open
}

func copyFile(srcDir int, name string, dstDir int, dstName string, perm uint32) error {
	in, err := openAt(srcDir, name, os.O_RDONLY, name)
	if err != nil {
		return err
	}
	defer in.Close()
	if fi, err := in.Stat(); err != nil || !fi.Mode().IsRegular() {
		return unix.EAGAIN // swapped meanwhile
	}
	ofd, err := unix.Openat(dstDir, dstName, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm)
	if err != nil {
		return err
	}
	out := os.NewFile(uintptr(ofd), dstName)
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := unix.Fchmod(ofd, perm); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
