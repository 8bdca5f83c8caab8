//go:build linux || darwin || freebsd

package sandbox

import (
	"os"
	"path"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// noOpenat2 is set once the kernel (or a seccomp filter) refused openat2;
// reads then use os.Root. Tests set it to cover that path.
var noOpenat2 atomic.Bool

// maxSymlinkHops bounds symlink resolution like the kernel's MAXSYMLINKS.
const maxSymlinkHops = 40

// target is a path resolved by walk: dirfd is an open descriptor of the
// directory that holds base, reached from the project root one component
// at a time with O_NOFOLLOW, so it is exactly the directory named by rel's
// parent — no symlink was followed to get there, even if one was swapped in
// meanwhile. Every mutation then acts on (dirfd, base) with *at calls that
// do not follow a final symlink either.
type target struct {
	rel    string // resolved project-relative path, "." for the root
	dirfd  int    // directory holding base; the root for "."
	owned  bool   // dirfd must be closed
	base   string // final component; "." for the root itself
	st     unix.Stat_t
	exists bool
}

func (t *target) close() {
	if t != nil && t.owned {
		unix.Close(t.dirfd)
		t.owned = false
	}
}

type walkMode struct {
	// followFinal resolves a symlink in the last component (write, read);
	// without it the link itself is the target (delete, rename).
	followFinal bool
	// mkdirs creates missing intermediate directories (mkdir -p, restore).
	mkdirs bool
	// mayCreate, when set, is asked before each directory mkdirs creates
	// (with its resolved path) and refuses it by returning a reason.
	mayCreate func(rel string) string
}

// walk resolves rel (already clean) inside the root. Symlinks are resolved
// in user space: a link's text is joined to the directory that holds it and
// must stay inside the project (absolute links are refused, like os.Root
// does); then the walk restarts from the root with the new path. The
// returned target's rel is therefore free of symlinks, and policy can be
// checked on it. A missing final component is not an error (exists=false).
func (r *Root) walk(op, rel string, mode walkMode) (*target, error) {
	var parts []string
	if rel != "." {
		parts = strings.Split(rel, "/")
	}
	hops := 0
restart:
	dirfd, owned := r.dirfd, false
	closeDir := func() {
		if owned {
			unix.Close(dirfd)
		}
	}
	resolved := make([]string, 0, len(parts))
	for i := 0; i < len(parts); i++ {
		name := parts[i]
		last := i == len(parts)-1
		var st unix.Stat_t
		err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
		if err == unix.ENOENT && !last && mode.mkdirs {
			if mode.mayCreate != nil {
				if why := mode.mayCreate(joinRel(resolved, name)); why != "" {
					closeDir()
					return nil, newErr(Denied, op, "", why)
				}
			}
			if err = unix.Mkdirat(dirfd, name, 0o755); err == nil || err == unix.EEXIST {
				err = unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW)
			}
		}
		if err == unix.ENOENT && last {
			return &target{rel: joinRel(resolved, name), dirfd: dirfd, owned: owned, base: name}, nil
		}
		if err != nil {
			closeDir()
			return nil, mapErr(op, "", err)
		}
		if st.Mode&unix.S_IFMT == unix.S_IFLNK && (!last || mode.followFinal) {
			hops++
			if hops > maxSymlinkHops {
				closeDir()
				return nil, newErr(Denied, op, "", "too many levels of symbolic links")
			}
			link, err := readlinkat(dirfd, name)
			closeDir()
			if err != nil {
				return nil, mapErr(op, "", err)
			}
			next, ok := joinLink(resolved, link, parts[i+1:])
			if !ok {
				return nil, newErr(Denied, op, "", "symbolic link leads outside the project")
			}
			parts = next
			goto restart
		}
		if last {
			return &target{rel: joinRel(resolved, name), dirfd: dirfd, owned: owned, base: name, st: st, exists: true}, nil
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			closeDir()
			return nil, newErr(NotFound, op, "", "a parent is not a directory")
		}
		nfd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		closeDir()
		if err != nil {
			if err == unix.ELOOP || err == unix.ENOTDIR {
				return nil, newErr(Conflict, op, "", "the path changed during the operation")
			}
			return nil, mapErr(op, "", err)
		}
		dirfd, owned = nfd, true
		resolved = append(resolved, name)
	}
	// The root itself.
	t := &target{rel: ".", dirfd: dirfd, owned: owned, base: ".", exists: true}
	if err := unix.Fstat(dirfd, &t.st); err != nil {
		t.close()
		return nil, mapErr(op, "", err)
	}
	return t, nil
}

func joinRel(dirs []string, name string) string {
	if len(dirs) == 0 {
		return name
	}
	return strings.Join(dirs, "/") + "/" + name
}

// joinLink computes where a symlink found in dir resolved points to, with
// the remaining components appended; ok is false when that leaves the
// project or the link is absolute or empty.
func joinLink(dir []string, link string, rest []string) ([]string, bool) {
	if link == "" || link[0] == '/' || strings.ContainsRune(link, 0) {
		return nil, false
	}
	elems := make([]string, 0, len(dir)+1+len(rest))
	elems = append(elems, dir...)
	elems = append(elems, link)
	elems = append(elems, rest...)
	p := path.Join(elems...)
	if p == ".." || strings.HasPrefix(p, "../") {
		return nil, false
	}
	if p == "." {
		return nil, true
	}
	parts := strings.Split(p, "/")
	if len(parts) > MaxDepth {
		return nil, false
	}
	return parts, true
}

func readlinkat(dirfd int, name string) (string, error) {
	for size := 256; size <= 1<<16; size *= 4 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
	return "", unix.ENAMETOOLONG
}

// openAt opens base in dirfd without following a final symlink and without
// blocking on FIFOs or devices.
func openAt(dirfd int, base string, flags int, name string) (*os.File, error) {
	fd, err := unix.Openat(dirfd, base, flags|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

func renameCheckThen(olddir int, oldname string, newdir int, newname string) error {
	var st unix.Stat_t
	if err := unix.Fstatat(newdir, newname, &st, unix.AT_SYMLINK_NOFOLLOW); err == nil {
		return unix.EEXIST
	} else if err != unix.ENOENT {
		return err
	}
	return unix.Renameat(olddir, oldname, newdir, newname)
}
