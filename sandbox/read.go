//go:build linux || darwin || freebsd

package sandbox

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func kindOf(mode uint32) string {
	switch mode & unix.S_IFMT {
	case unix.S_IFREG:
		return KindFile
	case unix.S_IFDIR:
		return KindDir
	case unix.S_IFLNK:
		return KindSymlink
	}
	return KindOther
}

func entryFromStat(name, rel string, st *unix.Stat_t) Entry {
	e := Entry{
		Name:  name,
		Path:  rel,
		Kind:  kindOf(uint32(st.Mode)),
		Size:  st.Size,
		Mtime: time.Unix(int64(st.Mtim.Sec), int64(st.Mtim.Nsec)).UTC(), //nolint:unconvert
		Mode:  fmt.Sprintf("%04o", st.Mode&0o7777),
	}
	if e.Kind != KindFile {
		e.Size = 0
	}
	return e
}

// describeLink fills Target and TargetState of a symlink entry; dirfd holds
// the link under name base.
func (r *Root) describeLink(e *Entry, dirfd int, base string) {
	link, err := readlinkat(dirfd, base)
	if err != nil || link == "" || link[0] == '/' {
		e.TargetState = TargetOutside
		return
	}
	e.Target = link
	dir := path.Dir(e.Path)
	if _, ok := joinLink(splitRel(dir), link, nil); !ok {
		e.TargetState = TargetOutside
		return
	}
	_, err = r.root.Stat(e.Path)
	switch {
	case err == nil:
		e.TargetState = TargetInside
	case mapErr("", "", err).Code == NotFound:
		e.TargetState = TargetDangling
	default:
		e.TargetState = TargetOutside
	}
}

// Stat describes p itself (a symlink is described, not followed).
func (r *Root) Stat(ctx context.Context, p string) (Entry, error) {
	s, err := r.begin(ctx, "stat", p, false)
	if err != nil {
		return Entry{}, s.end(err)
	}
	e, err := r.stat(s, p)
	return e, s.end(err)
}

func (r *Root) stat(s *opState, p string) (Entry, error) {
	rel, err := s.clean(p)
	if err != nil {
		return Entry{}, err
	}
	// Deny before looking, so a denied path's existence does not show.
	if why := s.pol.readDenied(rel, true); why != "" {
		return Entry{}, newErr(Denied, s.name, rel, why)
	}
	t, err := r.walk(s.name, rel, walkMode{})
	if err != nil {
		return Entry{}, err
	}
	defer t.close()
	if !t.exists {
		return Entry{}, newErr(NotFound, s.name, rel, "")
	}
	kind := kindOf(uint32(t.st.Mode))
	if why := s.pol.readDenied(t.rel, kind == KindDir); why != "" {
		return Entry{}, newErr(Denied, s.name, rel, why)
	}
	e := entryFromStat(path.Base(rel), rel, &t.st)
	if rel == "." {
		e.Name = "."
	}
	if e.Kind == KindSymlink {
		e.Path = t.rel
		r.describeLink(&e, t.dirfd, t.base)
		e.Path = rel
	}
	return e, nil
}

// List returns one page of the directory p. Symlinks are listed, never
// followed, with their TargetState.
func (r *Root) List(ctx context.Context, p string, opts ListOptions) (*Listing, error) {
	s, err := r.begin(ctx, "list", p, false)
	if err != nil {
		return nil, s.end(err)
	}
	l, err := r.list(s, p, opts)
	return l, s.end(err)
}

func (r *Root) list(s *opState, p string, opts ListOptions) (*Listing, error) {
	rel, err := s.clean(p)
	if err != nil {
		return nil, err
	}
	limit := opts.Limit
	if limit <= 0 {
		limit = DefaultListLimit
	}
	limit = min(limit, MaxListLimit)
	cursor := ""
	if opts.Cursor != "" {
		b, err := base64.RawURLEncoding.DecodeString(opts.Cursor)
		if err != nil {
			return nil, newErr(InvalidArgument, s.name, rel, "bad cursor")
		}
		cursor = string(b)
	}
	f, _, resolved, err := r.openForRead(s, rel, true)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	start := sort.SearchStrings(names, cursor)
	if start < len(names) && names[start] == cursor && cursor != "" {
		start++
	}
	dirfd := int(f.Fd())
	out := &Listing{Path: rel, Entries: make([]Entry, 0, min(limit, len(names)-start))}
	for i := start; i < len(names); i++ {
		if err := s.ctx.Err(); err != nil {
			return nil, err
		}
		name := names[i]
		if len(out.Entries) == limit {
			out.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(out.Entries[limit-1].Name))
			break
		}
		childRel := joinRel(splitRel(rel), name)
		if c, err := CleanPath(childRel); err != nil || c != childRel || IsTempName(name) {
			out.Hidden++
			continue
		}
		var st unix.Stat_t
		if err := unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // vanished meanwhile
		}
		e := entryFromStat(name, childRel, &st)
		if s.pol.hasReadPatterns() && s.pol.readDenied(joinRel(splitRel(resolved), name), e.Kind == KindDir) != "" {
			out.Hidden++
			continue
		}
		if e.Kind == KindSymlink {
			r.describeLink(&e, dirfd, name)
		}
		out.Entries = append(out.Entries, e)
	}
	return out, nil
}

// openForRead opens rel for reading (a directory when dir is set) and
// returns the symlink-free path it resolved to. Without read patterns in the
// policy it simply uses os.Root; with them it resolves with walk so that the
// policy is checked on the real target, and opens that exact target with
// O_NOFOLLOW. Regular files and directories only; never blocks.
func (r *Root) openForRead(s *opState, rel string, dir bool) (*os.File, fs.FileInfo, string, error) {
	// No O_DIRECTORY: the kind is checked with fstat after the open, so a
	// file gets NotADirectory rather than a confusing NotFound.
	flags := os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY
	if !s.pol.hasReadPatterns() {
		f, err := r.root.OpenFile(rel, flags, 0)
		if err != nil {
			return nil, nil, "", err
		}
		fi, err := checkOpened(s, rel, f, dir)
		if err != nil {
			f.Close()
			return nil, nil, "", err
		}
		return f, fi, rel, nil
	}
	if why := s.pol.readDenied(rel, dir); why != "" {
		return nil, nil, "", newErr(Denied, s.name, rel, why)
	}
	t, err := r.walk(s.name, rel, walkMode{followFinal: true})
	if err != nil {
		return nil, nil, "", err
	}
	defer t.close()
	if !t.exists {
		return nil, nil, "", newErr(NotFound, s.name, rel, "")
	}
	isDir := t.st.Mode&unix.S_IFMT == unix.S_IFDIR
	if why := s.pol.readDenied(t.rel, isDir); why != "" {
		return nil, nil, "", newErr(Denied, s.name, rel, why)
	}
	if err := checkKind(s, rel, uint32(t.st.Mode), dir); err != nil {
		return nil, nil, "", err
	}
	f, err := openAt(t.dirfd, t.base, flags, rel)
	if err != nil {
		if err == unix.ELOOP {
			return nil, nil, "", newErr(Conflict, s.name, rel, "the path changed during the operation")
		}
		return nil, nil, "", err
	}
	fi, err := checkOpened(s, rel, f, dir)
	if err != nil {
		f.Close()
		return nil, nil, "", err
	}
	return f, fi, t.rel, nil
}

func checkKind(s *opState, rel string, mode uint32, dir bool) error {
	k := kindOf(mode)
	switch {
	case dir && k != KindDir:
		return newErr(NotADirectory, s.name, rel, "")
	case !dir && k == KindDir:
		return newErr(NotAFile, s.name, rel, "is a directory")
	case !dir && k != KindFile:
		return newErr(NotAFile, s.name, rel, "not a regular file")
	}
	return nil
}

// checkOpened verifies with fstat what was actually opened.
func checkOpened(s *opState, rel string, f *os.File, dir bool) (fs.FileInfo, error) {
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil, newErr(Unsupported, s.name, rel, "")
	}
	return fi, checkKind(s, rel, uint32(st.Mode), dir) //nolint:unconvert
}

// Read returns the content of the regular file p (following symlinks that
// stay inside the project), up to the policy's MaxFileSize.
func (r *Root) Read(ctx context.Context, p string) (*File, error) {
	s, err := r.begin(ctx, "read", p, false)
	if err != nil {
		return nil, s.end(err)
	}
	f, err := r.read(s, p)
	if f != nil {
		s.bytes = f.Size
		r.metrics.bytes.WithLabelValues("read").Add(float64(f.Size))
	}
	return f, s.end(err)
}

func (r *Root) read(s *opState, p string) (*File, error) {
	rel, err := s.clean(p)
	if err != nil {
		return nil, err
	}
	rf, err := r.openRegular(s, rel)
	if err != nil {
		return nil, err
	}
	defer rf.close()
	fd, st, resolved := rf.fd, rf.st, rf.resolved
	if st.Size > s.pol.maxSize {
		return nil, newErr(TooLarge, s.name, rel, fmt.Sprintf("%d bytes, the limit is %d", st.Size, s.pol.maxSize))
	}
	var data []byte
	var fi fs.FileInfo
	cached := false
	if r.opts.Cache != nil {
		fi = &statInfo{name: path.Base(resolved), st: st}
		data, cached = r.opts.Cache.Get(resolved, fi)
	}
	if !cached {
		data, err = readFD(fd, st.Size, s.pol.maxSize)
		if err != nil {
			if err == errTooLarge {
				return nil, newErr(TooLarge, s.name, rel, "the file grew past the limit")
			}
			return nil, err
		}
		if r.opts.Cache != nil {
			r.opts.Cache.Put(resolved, fi, data)
		}
	}
	out := &File{Path: rel, Etag: Etag(data), Size: int64(len(data)), Data: data,
		Mtime: sysMtime(&st).UTC()}
	if IsBinary(data) {
		out.Encoding, out.Content = EncodingBase64, base64.StdEncoding.EncodeToString(data)
	} else if len(data) > 0 {
		// Content shares Data's memory: neither is ever modified (see the
		// File and ContentCache docs), and a copy would double the cost
		// of reading a file.
		out.Encoding, out.Content = EncodingUTF8, unsafe.String(unsafe.SliceData(data), len(data))
	} else {
		out.Encoding = EncodingUTF8
	}
	return out, nil
}

// openRegular opens the regular file rel for reading and returns its
// descriptor, its fstat and the symlink-free path it resolved to. Without
// read patterns in the policy, the kernel resolves the path beneath the
// root (openat2 RESOLVE_BENEATH) or, where that is missing, os.Root does;
// with read patterns, walk resolves it so the policy sees the real target,
// which is then opened with O_NOFOLLOW. Never blocks on FIFOs or devices:
// O_NONBLOCK, and the kind is checked with fstat on the opened descriptor.
func (r *Root) openRegular(s *opState, rel string) (*regularFile, error) {
	const flags = syscall.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY | syscall.O_CLOEXEC
	if !s.pol.hasReadPatterns() {
		fd, ok, err := openBeneath(r.dirfd, rel, flags, false)
		if err != nil {
			return nil, err
		}
		if !ok {
			f, err := r.root.OpenFile(rel, flags, 0)
			if err != nil {
				return nil, err
			}
			return fstatRegular(s, rel, &regularFile{fd: int(f.Fd()), f: f, resolved: rel})
		}
		return fstatRegular(s, rel, &regularFile{fd: fd, resolved: rel})
	}
	if why := s.pol.readDenied(rel, false); why != "" {
		return nil, newErr(Denied, s.name, rel, why)
	}
	// Common case: no symlink on the way, so rel is the real path and
	// the lexical check above was the policy check.
	nfd, ok, err := openBeneath(r.dirfd, rel, flags, true)
	if ok && err == nil {
		return fstatRegular(s, rel, &regularFile{fd: nfd, resolved: rel})
	}
	if ok && err != unix.ELOOP {
		return nil, err
	}
	t, err := r.walk(s.name, rel, walkMode{followFinal: true})
	if err != nil {
		return nil, err
	}
	defer t.close()
	if !t.exists {
		return nil, newErr(NotFound, s.name, rel, "")
	}
	if why := s.pol.readDenied(t.rel, t.st.Mode&unix.S_IFMT == unix.S_IFDIR); why != "" {
		return nil, newErr(Denied, s.name, rel, why)
	}
	if err := checkKind(s, rel, uint32(t.st.Mode), false); err != nil {
		return nil, err
	}
	nfd, err = unix.Openat(t.dirfd, t.base, flags|unix.O_NOFOLLOW, 0)
	if err != nil {
		if err == unix.ELOOP {
			return nil, newErr(Conflict, s.name, rel, "the path changed during the operation")
		}
		return nil, err
	}
	return fstatRegular(s, rel, &regularFile{fd: nfd, resolved: t.rel})
}

// regularFile is an open regular file: a raw descriptor, or one owned by
// an *os.File on the os.Root fallback.
type regularFile struct {
	fd       int
	f        *os.File
	st       syscall.Stat_t
	resolved string // symlink-free path, or the requested one
}

func (rf *regularFile) close() {
	if rf.f != nil {
		rf.f.Close()
	} else {
		syscall.Close(rf.fd)
	}
}

// fstatRegular checks that the opened file is a regular file; it closes it
// when not.
func fstatRegular(s *opState, rel string, rf *regularFile) (*regularFile, error) {
	if err := syscall.Fstat(rf.fd, &rf.st); err != nil {
		rf.close()
		return nil, err
	}
	if err := checkKind(s, rel, uint32(rf.st.Mode), false); err != nil { //nolint:unconvert
		rf.close()
		return nil, err
	}
	return rf, nil
}

// readFD reads a file whose fstat size is hint, refusing more than limit
// bytes even if the file grows while being read.
func readFD(fd int, hint, limit int64) ([]byte, error) {
	buf := make([]byte, 0, hint+1)
	for {
		if int64(len(buf)) > limit {
			return nil, errTooLarge
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := syscall.Read(fd, buf[len(buf):cap(buf)])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

// readAll reads a file whose fstat size is hint, refusing more than limit
// bytes even if the file grows while being read.
func readAll(f io.Reader, hint, limit int64) ([]byte, error) {
	buf := make([]byte, 0, hint+1)
	for {
		if int64(len(buf)) > limit {
			return nil, errTooLarge
		}
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := f.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if err == io.EOF {
			if int64(len(buf)) > limit {
				return nil, errTooLarge
			}
			return buf, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// fileInfoOf is fs.FileInfo of an open file, for hooks.
func fileInfoOf(f *os.File) fs.FileInfo {
	fi, err := f.Stat()
	if err != nil {
		return nil
	}
	return fi
}
