package watch

import (
	"io/fs"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// entry is what the watcher remembers about one path: enough to tell
// "changed" from "unchanged" without reading content, and to pair the two
// halves of a rename by inode.
type entry struct {
	size  int64
	mtime int64 // nanoseconds
	ino   uint64
	dev   uint64
	dir   bool
}

// same reports whether nothing observable changed.
func (e entry) same(o entry) bool {
	return e.size == o.size && e.mtime == o.mtime && e.ino == o.ino && e.dev == o.dev && e.dir == o.dir
}

func entryFromUnix(st *unix.Stat_t) entry {
	return entry{
		size:  st.Size,
		mtime: st.Mtim.Nano(),
		ino:   st.Ino,
		dev:   uint64(st.Dev),
		dir:   st.Mode&unix.S_IFMT == unix.S_IFDIR,
	}
}

// entryFromInfo converts an fs.FileInfo (from os.Root.Lstat or from the
// sandbox's Observer calls).
func entryFromInfo(fi fs.FileInfo) entry {
	e := entry{size: fi.Size(), mtime: fi.ModTime().UnixNano(), dir: fi.IsDir()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		e.ino = st.Ino
		e.dev = uint64(st.Dev)
	}
	return e
}

// snapshot is the watcher's view of the tree: every path that is not
// ignored, with its stat, plus the children of every directory so that a
// deleted directory's contents can be found without scanning everything.
// Only the watcher's loop goroutine touches it.
type snapshot struct {
	entries map[string]entry
	kids    map[string]map[string]struct{} // dir ("" = root) -> child names
}

func newSnapshot() *snapshot {
	return &snapshot{
		entries: make(map[string]entry),
		kids:    map[string]map[string]struct{}{"": {}},
	}
}

func (s *snapshot) get(rel string) (entry, bool) {
	e, ok := s.entries[rel]
	return e, ok
}

func (s *snapshot) set(rel string, e entry) {
	old, had := s.entries[rel]
	s.entries[rel] = e
	if had && old.dir && !e.dir {
		s.removeBelow(rel)
	}
	dir, name := split(rel)
	k := s.kids[dir]
	if k == nil {
		k = make(map[string]struct{})
		s.kids[dir] = k
	}
	k[name] = struct{}{}
	if e.dir && s.kids[rel] == nil {
		s.kids[rel] = make(map[string]struct{})
	}
}

// remove forgets rel and everything below it.
func (s *snapshot) remove(rel string) {
	if _, ok := s.entries[rel]; !ok {
		return
	}
	s.removeBelow(rel)
	delete(s.entries, rel)
	dir, name := split(rel)
	delete(s.kids[dir], name)
}

func (s *snapshot) removeBelow(rel string) {
	for name := range s.kids[rel] {
		child := join(rel, name)
		s.removeBelow(child)
		delete(s.entries, child)
	}
	delete(s.kids, rel)
}

// walkBelow calls fn for every path strictly below dir, parents first.
func (s *snapshot) walkBelow(dir string, fn func(rel string, e entry)) {
	for name := range s.kids[dir] {
		child := join(dir, name)
		e := s.entries[child]
		fn(child, e)
		if e.dir {
			s.walkBelow(child, fn)
		}
	}
}

// split returns the parent directory ("" for the root) and base name.
func split(rel string) (dir, name string) {
	i := strings.LastIndexByte(rel, '/')
	if i < 0 {
		return "", rel
	}
	return rel[:i], rel[i+1:]
}

func join(dir, name string) string {
	if dir == "" {
		return name
	}
	return dir + "/" + name
}

// under reports whether rel is dir or below it ("" contains everything).
func under(rel, dir string) bool {
	return dir == "" || rel == dir || strings.HasPrefix(rel, dir+"/")
}
