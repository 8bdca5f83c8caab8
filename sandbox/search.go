//go:build linux || darwin || freebsd

package sandbox

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"github.com/bmatcuk/doublestar/v4"
	"github.com/sourcegraph/conc"
	"golang.org/x/sys/unix"
)

// Search walks the tree under q.Path and calls fn for each result as it is
// found (fn is never called concurrently; results arrive in no particular
// order). It honours .gitignore (Options.Ignore), skips .git, symlinks,
// special files, binary files and files over the size limit, and hides what
// the policy denies. Files are searched in parallel by a bounded pool of
// workers. It stops at q.MaxResults, when ctx is cancelled (returning
// Canceled), or when fn returns an error (which Search returns). fn must
// not call methods of the same Root: stream results out instead.
func (r *Root) Search(ctx context.Context, q SearchQuery, fn func(SearchResult) error) (*SearchSummary, error) {
	s, err := r.begin(ctx, "search", q.Path, false)
	if err != nil {
		return nil, s.end(err)
	}
	sum, err := r.search(s, q, fn)
	return sum, s.end(err)
}

// maxPatternLen bounds a search pattern; RE2 is linear in the input but
// compiling a huge expression is not free.
const maxPatternLen = 4096

type dirHandle struct {
	f    *os.File // owns the descriptor
	fd   int
	refs atomic.Int32
	rel  string // as shown to the client
	real string // symlink-free, for policy and ignore rules
}

func (d *dirHandle) release() {
	if d.refs.Add(-1) == 0 {
		d.f.Close()
	}
}

type fileJob struct {
	dir  *dirHandle
	name string
}

func (r *Root) search(s *opState, q SearchQuery, fn func(SearchResult) error) (*SearchSummary, error) {
	rel, err := s.clean(q.Path)
	if err != nil {
		return nil, err
	}
	if q.Glob == "" && q.Pattern == "" {
		return nil, newErr(InvalidArgument, s.name, rel, "give a glob, a pattern or both")
	}
	if len(q.Glob) > MaxPathLen || len(q.Pattern) > maxPatternLen {
		return nil, newErr(InvalidArgument, s.name, rel, "glob or pattern too long")
	}
	if q.Glob != "" && !doublestar.ValidatePattern(q.Glob) {
		return nil, newErr(InvalidArgument, s.name, rel, "bad glob")
	}
	var re *regexp.Regexp
	var literal []byte
	fold := false
	if q.Pattern != "" {
		expr := q.Pattern
		if q.Literal {
			expr = regexp.QuoteMeta(expr)
		}
		if lit, f, ok := literalOf(expr, q.IgnoreCase); ok {
			literal, fold = []byte(lit), f
		} else {
			flags := "(?m)"
			if q.IgnoreCase {
				flags = "(?mi)"
			}
			if re, err = regexp.Compile(flags + expr); err != nil {
				return nil, newErr(InvalidArgument, s.name, rel, "bad regular expression")
			}
		}
	}
	limit := q.MaxResults
	if limit <= 0 {
		limit = DefaultSearchResults
	}
	limit = min(limit, MaxSearchResults)

	if why := s.pol.readDenied(rel, true); why != "" {
		return nil, newErr(Denied, s.name, rel, why)
	}
	t, err := r.walk(s.name, rel, walkMode{followFinal: true})
	if err != nil {
		return nil, err
	}
	if !t.exists {
		t.close()
		return nil, newErr(NotFound, s.name, rel, "")
	}
	if why := s.pol.readDenied(t.rel, true); why != "" {
		t.close()
		return nil, newErr(Denied, s.name, rel, why)
	}
	if t.st.Mode&unix.S_IFMT != unix.S_IFDIR {
		t.close()
		return nil, newErr(NotADirectory, s.name, rel, "")
	}
	fd, err := unix.Openat(t.dirfd, t.base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	t.close()
	if err != nil {
		return nil, err
	}
	start := newDirHandle(fd, rel, t.rel)

	ctx, cancel := context.WithCancel(s.ctx)
	defer cancel()
	sr := &searcher{r: r, s: s, q: q, re: re, literal: literal, limit: limit, fn: fn, cancel: cancel, ctx: ctx}
	if fold {
		sr.fold = newFoldFinder(literal)
	}
	if re != nil {
		expr := q.Pattern
		if q.Literal {
			expr = regexp.QuoteMeta(expr)
		}
		if lit, f, ok := requiredLiteral(expr, q.IgnoreCase); ok {
			if f {
				ff := newFoldFinder(lit)
				sr.prefilter = ff.index
			} else {
				sr.prefilter = func(data []byte, from int) int { return indexAt(data, from, lit) }
			}
		}
	}
	if !q.IncludeIgnored && r.ignore != nil {
		sr.ignore = r.ignore
		sr.loader, _ = r.ignore.(ignoreLoader)
		sr.entry, _ = r.ignore.(interface{ IgnoredEntry(string, bool) bool })
	}
	jobs := make(chan fileJob, 256)
	var wg conc.WaitGroup
	workers := max(runtime.GOMAXPROCS(0), 2)
	for range workers {
		wg.Go(func() {
			buf := make([]byte, 0, 64<<10)
			for j := range jobs {
				if ctx.Err() == nil {
					buf = sr.searchFile(j, buf)
				}
				j.dir.release()
			}
		})
	}
	sr.walk(start, jobs)
	close(jobs)
	wg.Wait()

	sr.mu.Lock()
	defer sr.mu.Unlock()
	sum := &SearchSummary{FilesSearched: int(sr.files.Load()), Results: sr.results, Truncated: sr.truncated,
		SkippedBinary: int(sr.binary.Load()), SkippedLarge: int(sr.large.Load())}
	if sr.err != nil {
		return sum, sr.err
	}
	if err := s.ctx.Err(); err != nil {
		return sum, err
	}
	return sum, nil
}

type searcher struct {
	r       *Root
	s       *opState
	q       SearchQuery
	re      *regexp.Regexp
	literal []byte
	fold    *foldFinder // set for case-insensitive ASCII literals
	// prefilter finds the lines worth running re on, when re requires a
	// literal.
	prefilter func(data []byte, from int) int
	limit     int
	fn        func(SearchResult) error
	ctx       context.Context
	cancel    context.CancelFunc
	ignore    IgnoreMatcher
	loader    ignoreLoader
	entry     interface{ IgnoredEntry(string, bool) bool }

	files, binary, large atomic.Int64

	mu        sync.Mutex
	results   int
	truncated bool
	err       error
}

func (sr *searcher) ignored(real string, isDir bool) bool {
	if sr.ignore == nil {
		return false
	}
	if sr.entry != nil {
		return sr.entry.IgnoredEntry(real, isDir)
	}
	return sr.ignore.Ignored(real, isDir)
}

// pendingDir is a directory the walk has seen but not opened yet; it holds
// a reference on its parent, which it will be opened relative to.
type pendingDir struct {
	parent          *dirHandle
	name, rel, real string
}

// walk lists directories depth-first on the caller's goroutine and feeds
// regular files to the workers. Directories are opened relative to their
// parent with O_NOFOLLOW (a symlink swapped in is simply not entered), and
// only when the walk reaches them, so open descriptors stay proportional to
// the depth of the tree, not its width.
func (sr *searcher) walk(start *dirHandle, jobs chan<- fileJob) {
	var stack []pendingDir
	sr.scanDir(start, jobs, &stack)
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if sr.ctx.Err() == nil {
			fd, err := unix.Openat(p.parent.fd, p.name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err == nil {
				sr.scanDir(newDirHandle(fd, p.rel, p.real), jobs, &stack)
			}
		}
		p.parent.release()
	}
}

// scanDir reads one directory, queues its files and pushes its
// subdirectories; it releases d when done with it.
func (sr *searcher) scanDir(d *dirHandle, jobs chan<- fileJob, stack *[]pendingDir) {
	defer d.release()
	if sr.ctx.Err() != nil {
		return
	}
	if sr.loader != nil {
		sr.loader.Load(d.real)
	}
	pol := sr.s.pol
	ents, _ := d.f.ReadDir(-1)
	var subdirs []pendingDir
	defer func() {
		// Push in reverse so the walk visits names in order.
		for i := len(subdirs) - 1; i >= 0; i-- {
			*stack = append(*stack, subdirs[i])
		}
	}()
	for _, e := range ents {
		name := e.Name()
		if name == ".git" || IsTempName(name) {
			continue
		}
		rel, real := joinRel(splitRel(d.rel), name), joinRel(splitRel(d.real), name)
		if c, err := CleanPath(rel); err != nil || c != rel {
			continue
		}
		typ := e.Type()
		switch {
		case typ.IsDir():
			if pol.hasReadPatterns() && pol.readDenied(real, true) != "" || sr.ignored(real, true) {
				continue
			}
			d.refs.Add(1)
			subdirs = append(subdirs, pendingDir{parent: d, name: name, rel: rel, real: real})
		case typ.IsRegular():
			if pol.hasReadPatterns() && pol.readDenied(real, false) != "" || sr.ignored(real, false) {
				continue
			}
			if sr.q.Glob != "" && !globMatch(sr.q.Glob, rel, name) {
				continue
			}
			if sr.re == nil && sr.literal == nil {
				if !sr.emit(SearchResult{Path: rel}) {
					return
				}
				continue
			}
			d.refs.Add(1)
			select {
			case jobs <- fileJob{dir: d, name: name}:
			case <-sr.ctx.Done():
				d.refs.Add(-1)
				return
			}
		}
	}
}

// newDirHandle wraps a directory descriptor; the *os.File owns it so that
// it is closed exactly once, by the last release.
func newDirHandle(fd int, rel, real string) *dirHandle {
	d := &dirHandle{f: os.NewFile(uintptr(fd), rel), fd: fd, rel: rel, real: real}
	d.refs.Store(1)
	return d
}

func globMatch(glob, rel, name string) bool {
	if strings.IndexByte(glob, '/') < 0 {
		return doublestar.MatchUnvalidated(glob, name)
	}
	return doublestar.MatchUnvalidated(glob, rel)
}

// emit passes one result to fn; it returns false when the search must stop.
func (sr *searcher) emit(res SearchResult) bool {
	sr.mu.Lock()
	defer sr.mu.Unlock()
	if sr.err != nil || sr.truncated {
		return false
	}
	if sr.results >= sr.limit {
		sr.truncated = true
		sr.cancel()
		return false
	}
	if err := sr.fn(res); err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Code: Canceled, Op: "search", Msg: "stopped by the receiver", cause: err}
		}
		sr.err = e
		sr.cancel()
		return false
	}
	sr.results++
	return true
}

// searchFile searches one file; buf is the worker's reusable buffer.
func (sr *searcher) searchFile(j fileJob, buf []byte) []byte {
	fd, err := unix.Openat(j.dir.fd, j.name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return buf
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFREG {
		return buf
	}
	if st.Size > sr.s.pol.maxSize {
		sr.large.Add(1)
		return buf
	}
	if int64(cap(buf)) < st.Size+1 {
		buf = make([]byte, 0, st.Size+1)
	}
	buf = buf[:0]
	for int64(len(buf)) <= sr.s.pol.maxSize {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if n <= 0 || err != nil {
			break
		}
		buf = buf[:len(buf)+n]
	}
	if int64(len(buf)) > sr.s.pol.maxSize {
		sr.large.Add(1)
		return buf
	}
	sr.files.Add(1)
	data := buf
	if bytes.IndexByte(data[:min(len(data), 8000)], 0) >= 0 {
		sr.binary.Add(1)
		return buf
	}
	rel := joinRel(splitRel(j.dir.rel), j.name)
	line, counted := 1, 0
	for pos := 0; pos <= len(data); {
		ms, me := 0, 0 // me is only set by the whole-buffer regexp path
		if sr.fold != nil {
			if ms = sr.fold.index(data, pos); ms < 0 {
				break
			}
		} else if sr.literal != nil {
			i := bytes.Index(data[pos:], sr.literal)
			if i < 0 {
				break
			}
			ms = pos + i
		} else if sr.prefilter != nil {
			// Run the regexp only on lines that contain the literal it needs.
			c := sr.prefilter(data, pos)
			if c < 0 {
				break
			}
			ls := bytes.LastIndexByte(data[:c], '\n') + 1
			le := bytes.IndexByte(data[c:], '\n')
			if le < 0 {
				le = len(data)
			} else {
				le += c
			}
			loc := sr.re.FindIndex(data[ls:le])
			if loc == nil {
				pos = le + 1
				continue
			}
			ms = ls + loc[0]
		} else {
			loc := sr.re.FindIndex(data[pos:])
			if loc == nil {
				break
			}
			ms, me = pos+loc[0], pos+loc[1]
		}
		ls := bytes.LastIndexByte(data[:ms], '\n') + 1
		le := bytes.IndexByte(data[ms:], '\n')
		if le < 0 {
			le = len(data)
		} else {
			le += ms
		}
		if me > le {
			// The match runs past the end of its line; results are per
			// line, so the line counts only if the pattern matches inside it.
			loc := sr.re.FindIndex(data[ls:le])
			if loc == nil {
				pos = le + 1
				continue
			}
			ms = ls + loc[0]
		}
		line += bytes.Count(data[counted:ls], []byte{'\n'})
		counted = ls
		if !sr.emit(SearchResult{Path: rel, Line: line, Column: ms - ls + 1, Text: lineText(data[ls:le])}) {
			return buf
		}
		pos = le + 1
	}
	return buf
}

func indexAt(data []byte, from int, lit []byte) int {
	i := bytes.Index(data[from:], lit)
	if i < 0 {
		return -1
	}
	return from + i
}

func lineText(b []byte) string {
	b = bytes.TrimRight(b, "\r")
	if len(b) > maxLineText {
		cut := maxLineText
		for cut > 0 && !utf8.RuneStart(b[cut]) {
			cut--
		}
		b = b[:cut]
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
