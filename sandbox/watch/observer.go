package watch

import (
	"io/fs"
	"path"
	"path/filepath"
	"time"
)

// What the hub told the watcher it just did to a path.
const (
	expWrote = iota + 1
	expRemoved
	expRenamedTo
	expAncestorDir
)

// expectation is an announced mutation whose fsnotify events must not be
// reported back as an outside change. It is compared with a fresh stat, so
// an outside write right after the hub's is still reported.
type expectation struct {
	kind  int
	e     entry  // expWrote: the stat after the write
	from  string // expRenamedTo: the source path
	until time.Time
}

// matches reports whether the path's current state is the one the hub
// produced. Directories are matched by identity only: their mtime moves
// whenever something is created inside them.
func (x expectation) matches(e entry) bool {
	switch x.kind {
	case expWrote:
		if x.e.dir || e.dir {
			return x.e.dir == e.dir && x.e.ino == e.ino && x.e.dev == e.dev
		}
		return x.e.same(e)
	case expRenamedTo:
		return true
	case expAncestorDir:
		return e.dir
	}
	return false
}

// Wrote records that the hub wrote rel (a file, or a directory it created)
// and that info is its stat afterwards. It implements sandbox.Observer.
func (w *Watcher) Wrote(rel string, info fs.FileInfo) {
	if info == nil {
		return
	}
	rel = cleanRel(rel)
	w.expectSet(rel, expectation{kind: expWrote, e: entryFromInfo(info)})
	if info.IsDir() {
		// Mkdir with parents announces only the last directory; the ones
		// it created on the way would otherwise look like outside changes.
		// A directory that already existed produces no event, so this only
		// hides directories that appeared just now above one the hub made.
		w.mu.Lock()
		for d := parentOf(rel); d != ""; d = parentOf(d) {
			if _, ok := w.expect[d]; !ok {
				w.expect[d] = expectation{kind: expAncestorDir, until: time.Now().Add(w.cfg.ExpectTTL)}
			}
		}
		w.mu.Unlock()
	}
}

// Removed records that the hub removed rel (or moved it to the trash). It
// implements sandbox.Observer.
func (w *Watcher) Removed(rel string) {
	w.expectSet(rel, expectation{kind: expRemoved})
}

// Renamed records that the hub renamed from to to. It implements
// sandbox.Observer.
func (w *Watcher) Renamed(from, to string) {
	from, to = cleanRel(from), cleanRel(to)
	w.expectSet(from, expectation{kind: expRemoved})
	w.expectSet(to, expectation{kind: expRenamedTo, from: from})
}

func (w *Watcher) expectSet(rel string, x expectation) {
	rel = cleanRel(rel)
	if rel == "" {
		return
	}
	x.until = time.Now().Add(w.cfg.ExpectTTL)
	w.mu.Lock()
	w.expect[rel] = x
	w.mu.Unlock()
}

func cleanRel(rel string) string {
	return path.Clean("/" + filepath.ToSlash(rel))[1:]
}
