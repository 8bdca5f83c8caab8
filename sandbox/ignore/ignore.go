// Package ignore decides which paths of a project tree are "not part of the
// project" for watching, searching and listing: everything git would ignore
// (the root .gitignore, nested .gitignore files, .git/info/exclude), the
// .git directory itself, and extra patterns the hub operator configures (for
// example node_modules).
//
// Pattern semantics (negation, directory-only patterns, anchored patterns, **)
// come from go-git's gitignore package; this package adds what a project tree
// needs on top of it: per-directory pattern sets that can be (re)loaded when a
// directory is discovered or its .gitignore changes, and git's rule that
// nothing below an ignored directory can be re-included.
//
// A Matcher is safe for concurrent use. Paths are project-relative and
// slash-separated ("src/main.go"); the project root is "" or ".".
package ignore

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/go-git/go-git/v5/plumbing/format/gitignore"
)

// FileName is the name of the per-directory ignore file. Watchers compare
// event names against it to know when to call Load.
const FileName = ".gitignore"

// gitDir is always ignored, at any depth (nested repositories and submodules
// have their own).
const gitDir = ".git"

// infoExclude is the repository-local exclude file git reads besides .gitignore.
const infoExclude = ".git/info/exclude"

// Matcher answers "is this path ignored?" for one project tree. The zero
// value is not usable; call New.
type Matcher struct {
	fsys fs.FS

	mu sync.RWMutex
	// base holds the patterns that apply everywhere with the lowest
	// priority: operator extras, then .git/info/exclude.
	base []pattern
	// dirs maps a directory ("" for the root) to the patterns of its
	// .gitignore. Only directories whose .gitignore has patterns appear.
	dirs map[string][]pattern

	// dirMemo remembers whether a directory is ignored (its ancestors
	// included), so Ignored on a deep path costs one match, not one per
	// level. Cleared whenever patterns change.
	memoMu  sync.Mutex
	dirMemo map[string]bool
}

// memoLimit bounds dirMemo; past it the memo starts over.
const memoLimit = 1 << 16

// New returns a Matcher for the tree in fsys (pass an os.Root's FS() so that
// reading .gitignore files cannot escape the project through a symlink).
// extra are gitignore-syntax patterns that apply from the root with the
// lowest priority, like git's core.excludesFile: a project's own .gitignore
// can still re-include with "!pattern". The root .gitignore and
// .git/info/exclude are read now; nested .gitignore files are read by Load
// (when a walker enters a directory) or all at once by LoadTree.
func New(fsys fs.FS, extra []string) (*Matcher, error) {
	m := &Matcher{fsys: fsys, dirs: make(map[string][]pattern)}
	for _, line := range extra {
		if p, ok := parseLine(line, nil); ok {
			m.base = append(m.base, p)
		}
	}
	excl, err := m.read(infoExclude, nil)
	if err != nil {
		return nil, err
	}
	m.base = append(m.base, excl...)
	if err := m.Load(""); err != nil {
		return nil, err
	}
	return m, nil
}

// Load (re)reads dir/.gitignore, replacing whatever was loaded for dir
// before. A missing file clears dir's patterns. Walkers call it when they
// enter a directory; watchers call it when dir/.gitignore changes.
func (m *Matcher) Load(dir string) error {
	dir = clean(dir)
	var domain []string
	if dir != "" {
		domain = strings.Split(dir, "/")
	}
	ps, err := m.read(path.Join(dir, FileName), domain)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clearMemo()
	if len(ps) == 0 {
		delete(m.dirs, dir)
	} else {
		m.dirs[dir] = ps
	}
	return nil
}

// HasRules reports whether rules from dir/.gitignore are loaded, so a
// walker that finds no .gitignore in dir knows whether Load is needed to
// clear old ones.
func (m *Matcher) HasRules(dir string) bool {
	dir = clean(dir)
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.dirs[dir]) > 0
}

// Forget drops the patterns of dir and every directory below it, for when a
// directory was removed from the tree.
func (m *Matcher) Forget(dir string) {
	dir = clean(dir)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clearMemo()
	for d := range m.dirs {
		if d == dir || dir == "" || strings.HasPrefix(d, dir+"/") {
			delete(m.dirs, d)
		}
	}
}

// LoadTree walks the whole tree, skipping ignored directories, and loads
// every nested .gitignore. Callers that walk the tree themselves should call
// Load per directory instead, to read the tree once.
func (m *Matcher) LoadTree() error {
	return fs.WalkDir(m.fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p == "." {
				return err
			}
			return nil // unreadable subtree: nothing to load from it
		}
		if !d.IsDir() || p == "." {
			return nil
		}
		if m.IgnoredEntry(p, true) {
			return fs.SkipDir
		}
		return m.Load(p)
	})
}

// Ignored reports whether rel is ignored, with git's semantics: a path is
// ignored when any directory above it is ignored (nothing below an ignored
// directory can be re-included), or when the last matching pattern for it
// excludes it. isDir matters for directory-only patterns ("build/").
func (m *Matcher) Ignored(rel string, isDir bool) bool {
	rel = clean(rel)
	if rel == "" {
		return false
	}
	parts := strings.Split(rel, "/")
	m.mu.RLock()
	defer m.mu.RUnlock()
	if len(parts) > 1 && m.dirIgnored(parts[:len(parts)-1]) {
		return true
	}
	return m.match(parts, isDir)
}

// dirIgnored reports whether the directory parts (or one above it) is
// ignored, memoised. The caller holds m.mu for reading.
func (m *Matcher) dirIgnored(parts []string) bool {
	key := strings.Join(parts, "/")
	m.memoMu.Lock()
	v, ok := m.dirMemo[key]
	m.memoMu.Unlock()
	if ok {
		return v
	}
	v = (len(parts) > 1 && m.dirIgnored(parts[:len(parts)-1])) || m.match(parts, true)
	m.memoMu.Lock()
	if m.dirMemo == nil || len(m.dirMemo) >= memoLimit {
		m.dirMemo = make(map[string]bool)
	}
	m.dirMemo[key] = v
	m.memoMu.Unlock()
	return v
}

// clearMemo forgets memoised directory results; the caller holds m.mu.
func (m *Matcher) clearMemo() {
	m.memoMu.Lock()
	m.dirMemo = nil
	m.memoMu.Unlock()
}

// IgnoredEntry is Ignored for callers that walk the tree top-down and never
// descend into an ignored directory: it assumes no ancestor of rel is
// ignored and so only matches rel itself, which keeps a walk of a large tree
// linear.
func (m *Matcher) IgnoredEntry(rel string, isDir bool) bool {
	rel = clean(rel)
	if rel == "" {
		return false
	}
	parts := strings.Split(rel, "/")
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.match(parts, isDir)
}

// match applies the patterns in force for parts, highest priority first:
// the deepest .gitignore above the path, then shallower ones, then base.
// Within one file the last pattern wins. The caller holds m.mu.
func (m *Matcher) match(parts []string, isDir bool) bool {
	last := len(parts) - 1
	if parts[last] == gitDir {
		return true
	}
	var buf [16]string
	// Directories that may hold a .gitignore applying to parts: the root and
	// every proper ancestor directory, deepest first. dirs is keyed by
	// slash-joined prefixes of the path: join once and slice.
	full := ""
	if len(m.dirs) > 1 || (len(m.dirs) == 1 && m.dirs[""] == nil) {
		full = strings.Join(parts, "/")
	}
	end := len(full)
	for depth := last; depth >= 0; depth-- {
		if full != "" {
			end -= len(parts[depth])
			if depth > 0 {
				end-- // the "/" before parts[depth]
			}
		}
		var ps []pattern
		switch {
		case depth == 0:
			ps = m.dirs[""]
		case full != "":
			ps = m.dirs[full[:end]]
		}
		if len(ps) == 0 {
			continue
		}
		if r := matchList(ps, parts, append(append(buf[:0], parts[:depth]...), parts[last]), isDir); r != gitignore.NoMatch {
			return r == gitignore.Exclude
		}
	}
	return matchList(m.base, parts, append(buf[:0], parts[last]), isDir) == gitignore.Exclude
}

// matchList applies one list of patterns, last first. short is the path
// with the components between the list's directory and the last one left
// out: a simple pattern matches any single component, and every component
// but the last is a directory the caller has already found not ignored, so
// matching only the last one gives the same answer for less work.
func matchList(ps []pattern, parts, short []string, isDir bool) gitignore.MatchResult {
	for i := len(ps) - 1; i >= 0; i-- {
		path := parts
		if ps[i].simple {
			path = short
		}
		if r := ps[i].p.Match(path, isDir); r != gitignore.NoMatch {
			return r
		}
	}
	return gitignore.NoMatch
}

// read parses one ignore file; a missing file yields no patterns.
func (m *Matcher) read(name string, domain []string) ([]pattern, error) {
	data, err := fs.ReadFile(m.fsys, name)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) || isNotDir(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	var ps []pattern
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		if p, ok := parseLine(sc.Text(), domain); ok {
			ps = append(ps, p)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return ps, nil
}

// pattern is one parsed line. simple marks patterns without a slash (other
// than a trailing one), which match a single path component: for those only
// the last component of a path needs matching, because its ancestors have
// been checked on their own (see match).
type pattern struct {
	p      gitignore.Pattern
	simple bool
}

// parseLine turns one gitignore line into a pattern, skipping blanks and
// comments and tolerating CRLF files and "[!...]" character classes.
func parseLine(line string, domain []string) (pattern, bool) {
	line = strings.TrimSuffix(line, "\r")
	if strings.HasPrefix(line, "#") || strings.TrimSpace(line) == "" {
		return pattern{}, false
	}
	// gitignore negates a bracket expression with "[!", Go's path.Match with "[^".
	line = strings.ReplaceAll(line, "[!", "[^")
	// Classify the way gitignore.ParsePattern does.
	body := strings.TrimPrefix(line, "!")
	if !strings.HasSuffix(body, "\\ ") {
		body = strings.TrimRight(body, " ")
	}
	body = strings.TrimSuffix(body, "/")
	return pattern{p: gitignore.ParsePattern(line, domain), simple: !strings.Contains(body, "/")}, true
}

// isNotDir reports a path component that is a file (ENOTDIR), which for an
// ignore file is the same as "not there".
func isNotDir(err error) bool {
	return errors.Is(err, syscall.ENOTDIR)
}

// clean normalises a project-relative path: slash-separated, no leading
// "./" or trailing "/", the root as "".
func clean(rel string) string {
	return path.Clean("/" + filepath.ToSlash(rel))[1:]
}
