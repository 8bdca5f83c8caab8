//go:build linux || darwin || freebsd

package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// Write replaces the content of the regular file req.Path atomically,
// creating it when missing (its directory must exist). The new content is
// written to a temporary file in the same directory, synced, and renamed
// over the old name, then the directory is synced: readers see the old or
// the new content, never a mix, and a crash leaves one of them. The file's
// permission bits are kept. A symlink that stays inside the project is
// written through (the target changes); hard-linked files, FIFOs, sockets,
// devices and directories are refused.
func (r *Root) Write(ctx context.Context, req WriteRequest) (*WriteResult, error) {
	s, err := r.begin(ctx, "write", req.Path, true)
	if err != nil {
		return nil, s.end(err)
	}
	res, err := r.write(s, &req, false)
	return res, s.end(err)
}

// Create is Write that fails with Exists when the path exists (as anything,
// including a dangling symlink).
func (r *Root) Create(ctx context.Context, req WriteRequest) (*WriteResult, error) {
	s, err := r.begin(ctx, "create", req.Path, true)
	if err != nil {
		return nil, s.end(err)
	}
	res, err := r.write(s, &req, true)
	return res, s.end(err)
}

func (r *Root) write(s *opState, req *WriteRequest, create bool) (*WriteResult, error) {
	rel, err := s.clean(req.Path)
	if err != nil {
		return nil, err
	}
	if rel == "." {
		return nil, newErr(NotAFile, s.name, rel, "is the project root")
	}
	data, err := req.bytes(s.name, rel)
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > s.pol.maxSize {
		return nil, newErr(TooLarge, s.name, rel, fmt.Sprintf("%d bytes, the limit is %d", len(data), s.pol.maxSize))
	}
	if why := s.pol.writeDenied(rel, false); why != "" {
		return nil, newErr(Denied, s.name, rel, why)
	}
	t, err := r.walk(s.name, rel, walkMode{followFinal: !create})
	if err != nil {
		return nil, err
	}
	defer t.close()
	if why := s.pol.writeDenied(t.rel, false); why != "" {
		return nil, newErr(Denied, s.name, rel, why)
	}
	mu := r.lockFor(t.rel)
	mu.Lock()
	defer mu.Unlock()
	// Re-check under the lock: another hub write may have just finished.
	var st unix.Stat_t
	exists := true
	if err := unix.Fstatat(t.dirfd, t.base, &st, unix.AT_SYMLINK_NOFOLLOW); err == unix.ENOENT {
		exists = false
	} else if err != nil {
		return nil, err
	}
	if create && exists {
		return nil, newErr(Exists, s.name, rel, "")
	}
	perm := uint32(0o644)
	if exists {
		switch {
		case st.Mode&unix.S_IFMT == unix.S_IFLNK:
			return nil, newErr(Conflict, s.name, rel, "the path changed during the operation")
		case st.Mode&unix.S_IFMT == unix.S_IFDIR:
			return nil, newErr(NotAFile, s.name, rel, "is a directory")
		case st.Mode&unix.S_IFMT != unix.S_IFREG:
			return nil, newErr(NotAFile, s.name, rel, "not a regular file")
		case st.Nlink > 1:
			return nil, newErr(Denied, s.name, rel, "the file has several hard links")
		}
		perm = uint32(st.Mode & 0o7777)
	}
	if req.Etag != "" && !create {
		if !exists {
			return nil, newErr(Conflict, s.name, rel, "the file no longer exists")
		}
		cur, err := r.currentEtag(s, t, &st)
		if err != nil {
			return nil, err
		}
		if cur != req.Etag {
			return nil, newErr(Conflict, s.name, rel, "the file changed since it was read")
		}
	}
	info, err := r.replace(t.dirfd, t.base, data, perm, create, s.name, rel)
	if err != nil {
		return nil, err
	}
	s.bytes = int64(len(data))
	r.metrics.bytes.WithLabelValues("write").Add(float64(len(data)))
	if r.opts.Cache != nil {
		r.opts.Cache.Put(t.rel, info, data)
	}
	if r.opts.Observer != nil {
		r.opts.Observer.Wrote(t.rel, info)
	}
	return &WriteResult{Path: rel, Etag: Etag(data), Size: int64(len(data)), Mtime: info.ModTime().UTC()}, nil
}

// currentEtag reads the file at (t.dirfd, t.base), checking it is still the
// inode st describes.
func (r *Root) currentEtag(s *opState, t *target, st *unix.Stat_t) (string, error) {
	f, err := openAt(t.dirfd, t.base, os.O_RDONLY, t.rel)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !sameFile(fi, st) {
		return "", newErr(Conflict, s.name, t.rel, "the file changed during the operation")
	}
	if r.opts.Cache != nil {
		if data, ok := r.opts.Cache.Get(t.rel, fi); ok {
			return Etag(data), nil
		}
	}
	data, err := readAll(f, fi.Size(), s.pol.maxSize)
	if err != nil {
		if err == errTooLarge {
			return "", newErr(Conflict, s.name, t.rel, "the file changed since it was read")
		}
		return "", err
	}
	return Etag(data), nil
}

// replace writes data to a new temporary file in dirfd and renames it to
// base (without replacing when noReplace), syncing file and directory.
func (r *Root) replace(dirfd int, base string, data []byte, perm uint32, noReplace bool, op, rel string) (os.FileInfo, error) {
	tmp, f, err := createTemp(dirfd, perm, rel)
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			f.Close()
			unix.Unlinkat(dirfd, tmp, 0)
		}
	}()
	if _, err := f.Write(data); err != nil {
		return nil, err
	}
	// The umask may have narrowed the mode at creation; restore it.
	if err := unix.Fchmod(int(f.Fd()), perm); err != nil {
		return nil, err
	}
	if !r.opts.NoSync {
		if err := f.Sync(); err != nil {
			return nil, err
		}
	}
	if noReplace {
		err = renameNoReplace(dirfd, tmp, dirfd, base)
	} else {
		err = unix.Renameat(dirfd, tmp, dirfd, base)
	}
	if err != nil {
		if err == unix.EEXIST || err == unix.EISDIR || err == unix.ENOTEMPTY {
			return nil, newErr(Exists, op, rel, "")
		}
		return nil, err
	}
	ok = true
	// Stat after the rename (which changes ctime), so the cache and the
	// watcher see the identity the file has from now on.
	info, err := f.Stat()
	f.Close()
	if err != nil {
		return nil, err
	}
	if !r.opts.NoSync {
		if err := unix.Fsync(dirfd); err != nil {
			return nil, err
		}
	}
	return info, nil
}

func createTemp(dirfd int, perm uint32, rel string) (string, *os.File, error) {
	var rnd [8]byte
	for range 10 {
		rand.Read(rnd[:])
		name := tempPrefix + hex.EncodeToString(rnd[:])
		fd, err := unix.Openat(dirfd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, perm&0o777)
		if err == unix.EEXIST {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		return name, os.NewFile(uintptr(fd), rel), nil
	}
	return "", nil, unix.EEXIST
}

// Mkdir creates the directory p; with parents, missing parents too and an
// existing directory is not an error (like mkdir -p).
func (r *Root) Mkdir(ctx context.Context, p string, parents bool) (Entry, error) {
	s, err := r.begin(ctx, "mkdir", p, true)
	if err != nil {
		return Entry{}, s.end(err)
	}
	e, err := r.mkdir(s, p, parents)
	return e, s.end(err)
}

func (r *Root) mkdir(s *opState, p string, parents bool) (Entry, error) {
	rel, err := s.clean(p)
	if err != nil {
		return Entry{}, err
	}
	if why := s.pol.writeDenied(rel, true); why != "" {
		return Entry{}, newErr(Denied, s.name, rel, why)
	}
	if rel == "." {
		if parents {
			return r.stat(s, ".")
		}
		return Entry{}, newErr(Exists, s.name, rel, "")
	}
	// Resolve without creating first, so policy is checked on the real
	// location before anything is made.
	t, err := r.walk(s.name, rel, walkMode{followFinal: true})
	if err != nil && !(parents && CodeOf(err) == NotFound) {
		return Entry{}, err
	}
	if t != nil {
		defer t.close()
		if why := s.pol.writeDenied(t.rel, true); why != "" {
			return Entry{}, newErr(Denied, s.name, rel, why)
		}
		if t.exists {
			if parents && t.st.Mode&unix.S_IFMT == unix.S_IFDIR {
				return entryFromStat(t.base, rel, &t.st), nil
			}
			return Entry{}, newErr(Exists, s.name, rel, "")
		}
	}
	if parents {
		t.close()
		mayCreate := func(dir string) string { return s.pol.writeDenied(dir, true) }
		if t, err = r.walk(s.name, rel, walkMode{followFinal: true, mkdirs: true, mayCreate: mayCreate}); err != nil {
			return Entry{}, err
		}
		defer t.close()
		if why := s.pol.writeDenied(t.rel, true); why != "" {
			return Entry{}, newErr(Denied, s.name, rel, why)
		}
	}
	if err := unix.Mkdirat(t.dirfd, t.base, 0o755); err != nil {
		if err == unix.EEXIST && parents {
			return r.stat(s, rel)
		}
		return Entry{}, err
	}
	if !r.opts.NoSync {
		unix.Fsync(t.dirfd)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(t.dirfd, t.base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Entry{}, err
	}
	if r.opts.Observer != nil {
		if f, err := openAt(t.dirfd, t.base, os.O_RDONLY|unix.O_DIRECTORY, t.rel); err == nil {
			r.opts.Observer.Wrote(t.rel, fileInfoOf(f))
			f.Close()
		}
	}
	return entryFromStat(t.base, rel, &st), nil
}

// Rename moves from to to. It never replaces an existing destination
// (Exists). Symlinks are moved as links, not followed; directories on the
// way may be in-project symlinks.
func (r *Root) Rename(ctx context.Context, from, to string) (Entry, error) {
	s, err := r.begin(ctx, "rename", from, true)
	if err != nil {
		return Entry{}, s.end(err)
	}
	s.to = to
	e, err := r.rename(s, from, to)
	return e, s.end(err)
}

func (r *Root) rename(s *opState, from, to string) (Entry, error) {
	relFrom, err := s.clean(from)
	if err != nil {
		return Entry{}, err
	}
	relTo, err := CleanPath(to)
	if err != nil {
		err.(*Error).Op = s.name
		return Entry{}, err
	}
	s.to = relTo
	if relFrom == "." || relTo == "." {
		return Entry{}, newErr(InvalidArgument, s.name, relFrom, "cannot rename the project root")
	}
	src, err := r.walk(s.name, relFrom, walkMode{})
	if err != nil {
		return Entry{}, err
	}
	defer src.close()
	if !src.exists {
		return Entry{}, newErr(NotFound, s.name, relFrom, "")
	}
	isDir := src.st.Mode&unix.S_IFMT == unix.S_IFDIR
	for _, p := range []string{relFrom, src.rel} {
		if why := s.pol.writeDenied(p, isDir); why != "" {
			return Entry{}, newErr(Denied, s.name, relFrom, why)
		}
	}
	dst, err := r.walk(s.name, relTo, walkMode{})
	if err != nil {
		return Entry{}, err
	}
	defer dst.close()
	for _, p := range []string{relTo, dst.rel} {
		if why := s.pol.writeDenied(p, isDir); why != "" {
			return Entry{}, newErr(Denied, s.name, relTo, why)
		}
	}
	if dst.exists {
		return Entry{}, newErr(Exists, s.name, relTo, "")
	}
	if err := renameNoReplace(src.dirfd, src.base, dst.dirfd, dst.base); err != nil {
		if err == unix.EINVAL {
			return Entry{}, newErr(InvalidArgument, s.name, relFrom, "cannot move a directory into itself")
		}
		if err == unix.EEXIST || err == unix.ENOTEMPTY {
			return Entry{}, newErr(Exists, s.name, relTo, "")
		}
		return Entry{}, err
	}
	if !r.opts.NoSync {
		unix.Fsync(src.dirfd)
		unix.Fsync(dst.dirfd)
	}
	if r.opts.Cache != nil {
		r.opts.Cache.Invalidate(src.rel)
		r.opts.Cache.Invalidate(dst.rel)
	}
	if r.opts.Observer != nil {
		r.opts.Observer.Renamed(src.rel, dst.rel)
	}
	var st unix.Stat_t
	if err := unix.Fstatat(dst.dirfd, dst.base, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return Entry{}, err
	}
	return entryFromStat(dst.base, relTo, &st), nil
}

func sameFile(fi os.FileInfo, st *unix.Stat_t) bool {
	fst, ok := fi.Sys().(*unixStat)
	return ok && uint64(fst.Dev) == uint64(st.Dev) && fst.Ino == st.Ino //nolint:unconvert
}
