// Package index is RubberDuck's own code intelligence: a tree-sitter index
// of one project's Go, Python, JavaScript, TypeScript/TSX, Rust and
// Markdown files that works without any language server installed.
//
// It keeps, per file, the definitions (with per-function metrics), the
// references to names not resolved inside the file, and the imports.
// Locals (parameters, variables in function bodies) are resolved per
// scope and only kept for open documents, which keeps the index of a large
// tree small; position queries on closed files parse the one file again.
//
// Two feeds keep it current:
//   - open documents, whose live (unsaved, shared) text arrives through
//     Open/Sync/Edit/CloseDoc and is re-parsed incrementally (tree.Edit plus
//     reparse of the old tree);
//   - the watcher, whose batches of changed and removed paths arrive
//     through Update and Remove; closed files are read through Source.
//
// Queries: Outline, Definition, References, WorkspaceSymbols, Calls
// (hierarchy), Dependencies and RepoMap (symbols ranked by how the rest
// of the project refers to them, as Aider does).
package index

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path"
	"runtime"
	"sort"
	"strings"
	"sync"

	"github.com/sourcegraph/conc/pool"
)

// Source reads closed files of a project; the hub adapts the sandbox to it
// so that every read is contained in the project's root.
type Source interface {
	// ReadFile returns the content of a project-relative, slash-separated
	// path; a missing file is reported with an error wrapping fs.ErrNotExist.
	ReadFile(ctx context.Context, path string) ([]byte, error)
}

// Options configure an Index.
type Options struct {
	// MaxFileBytes skips larger files (generated code, bundles); default 1 MiB.
	MaxFileBytes int
	// Workers bounds parallel parsing on Update; default GOMAXPROCS.
	Workers int
	Logger  *slog.Logger
}

// Index is the symbol index of one project. It is safe for concurrent use.
type Index struct {
	src  Source
	opts Options
	log  *slog.Logger

	mu     sync.RWMutex
	files  map[string]*File
	docs   map[string]*Document
	byName map[string][]Loc
	// refCount counts references per name across the project, kept in
	// step on every change so ranking never rescans the project.
	refCount map[NameID]int
	gen      uint64 // bumped on every change
	namesGen uint64 // bumped when a defined name appears or disappears

	cacheMu sync.Mutex
	names   *nameTable
	ranks   *rankCache
}

// Loc points at one symbol of one file.
type Loc struct {
	File *File
	Idx  int32
}

// Symbol returns the symbol Loc points at.
func (l Loc) Symbol() *Symbol { return &l.File.Symbols[l.Idx] }

// New returns an empty index reading closed files through src.
func New(src Source, opts Options) *Index {
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = 1 << 20
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Index{
		src: src, opts: opts, log: opts.Logger,
		files: map[string]*File{}, docs: map[string]*Document{}, byName: map[string][]Loc{}, refCount: map[NameID]int{},
	}
}

// Update (re)indexes the given project-relative paths from Source, as the
// watcher reports them. Paths in unknown languages are ignored, missing
// ones removed, and open documents keep their live text. Errors of single
// files are logged, not returned: one unreadable file must not stop a
// batch. It returns ctx's error if cancelled.
func (ix *Index) Update(ctx context.Context, paths []string) error {
	p := pool.New().WithMaxGoroutines(ix.opts.Workers).WithContext(ctx)
	for _, rel := range paths {
		rel := path.Clean(rel)
		s := specFor(LangOf(rel))
		if s == nil {
			continue
		}
		ix.mu.RLock()
		_, open := ix.docs[rel]
		ix.mu.RUnlock()
		if open {
			continue
		}
		p.Go(func(ctx context.Context) error {
			src, err := ix.src.ReadFile(ctx, rel)
			switch {
			case errors.Is(err, fs.ErrNotExist):
				ix.Remove([]string{rel})
				return nil
			case err != nil:
				if ctx.Err() != nil {
					return ctx.Err()
				}
				ix.log.Debug("index: read failed", "path", rel, "err", err)
				return nil
			case len(src) > ix.opts.MaxFileBytes:
				ix.Remove([]string{rel})
				return nil
			}
			f, err := extractSrc(ctx, s, rel, src, false)
			if err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				ix.log.Debug("index: parse failed", "path", rel, "err", err)
				return nil
			}
			ix.mu.Lock()
			if _, open := ix.docs[rel]; !open {
				ix.replaceLocked(rel, f)
			}
			ix.mu.Unlock()
			return nil
		})
	}
	return p.Wait()
}

// Remove drops files, and everything under directories, from the index.
// Open documents stay: their text lives on in the shared document.
func (ix *Index) Remove(paths []string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	for _, rel := range paths {
		rel = path.Clean(rel)
		if _, ok := ix.files[rel]; ok {
			if _, open := ix.docs[rel]; !open {
				ix.replaceLocked(rel, nil)
			}
			continue
		}
		prefix := rel + "/"
		if rel == "." {
			prefix = ""
		}
		for p := range ix.files {
			if strings.HasPrefix(p, prefix) {
				if _, open := ix.docs[p]; !open {
					ix.replaceLocked(p, nil)
				}
			}
		}
	}
}

// replaceLocked swaps a file's entry (nil removes it) and keeps the
// by-name table in step.
func (ix *Index) replaceLocked(rel string, f *File) {
	// gone holds names whose last definition went away with the old
	// version; if the new version defines them again, the set of names is
	// unchanged and the workspace-symbol table need not be rebuilt.
	var gone map[string]bool
	if old := ix.files[rel]; old != nil {
		for _, s := range old.Symbols {
			locs := ix.byName[s.Name]
			out := locs[:0]
			for _, l := range locs {
				if l.File != old {
					out = append(out, l)
				}
			}
			if len(out) == 0 {
				delete(ix.byName, s.Name)
				if gone == nil {
					gone = map[string]bool{}
				}
				gone[s.Name] = true
			} else {
				ix.byName[s.Name] = out
			}
		}
		for _, r := range old.Refs {
			if c := ix.refCount[r.ID] - 1; c > 0 {
				ix.refCount[r.ID] = c
			} else {
				delete(ix.refCount, r.ID)
			}
		}
		delete(ix.files, rel)
	}
	if f != nil {
		ix.files[rel] = f
		for i, s := range f.Symbols {
			if s.Name == "" {
				continue
			}
			if _, ok := ix.byName[s.Name]; !ok {
				if gone[s.Name] {
					delete(gone, s.Name)
				} else {
					ix.namesGen++
				}
			}
			ix.byName[s.Name] = append(ix.byName[s.Name], Loc{File: f, Idx: int32(i)})
		}
		for _, r := range f.Refs {
			ix.refCount[r.ID]++
		}
	}
	if len(gone) > 0 {
		ix.namesGen++
	}
	ix.gen++
}

// Stats describe the index, for benchmarks and the status page.
type Stats struct {
	Files, Symbols, Refs, Names int
}

// Stats counts what the index holds.
func (ix *Index) Stats() Stats {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	st := Stats{Files: len(ix.files), Names: len(ix.byName)}
	for _, f := range ix.files {
		st.Symbols += len(f.Symbols)
		st.Refs += len(f.Refs)
	}
	return st
}

// File returns what the index holds for a path, or nil. The result must
// not be modified.
func (ix *Index) File(rel string) *File {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.files[path.Clean(rel)]
}

// Paths lists the indexed files, sorted.
func (ix *Index) Paths() []string {
	ix.mu.RLock()
	out := make([]string, 0, len(ix.files))
	for p := range ix.files {
		out = append(out, p)
	}
	ix.mu.RUnlock()
	sort.Strings(out)
	return out
}

// Defs returns the definitions of a name across the project.
func (ix *Index) Defs(name string) []Loc {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return append([]Loc(nil), ix.byName[name]...)
}

// fileWithLocals returns a file's extraction with locals: the open
// document's, or a fresh parse of the closed file, plus its text.
func (ix *Index) fileWithLocals(ctx context.Context, rel string) (*File, []byte, error) {
	rel = path.Clean(rel)
	ix.mu.RLock()
	d := ix.docs[rel]
	ix.mu.RUnlock()
	if d != nil {
		f, src := d.snapshot()
		return f, src, nil
	}
	s := specFor(LangOf(rel))
	if s == nil {
		return nil, nil, fmt.Errorf("%s: %w", rel, ErrUnsupported)
	}
	src, err := ix.src.ReadFile(ctx, rel)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", rel, err)
	}
	f, err := extractSrc(ctx, s, rel, src, true)
	return f, src, err
}

// Text returns a file's current text: the open document's live text, or
// the file on disk.
func (ix *Index) Text(ctx context.Context, rel string) ([]byte, error) {
	rel = path.Clean(rel)
	ix.mu.RLock()
	d := ix.docs[rel]
	ix.mu.RUnlock()
	if d != nil {
		_, src := d.snapshot()
		return src, nil
	}
	return ix.src.ReadFile(ctx, rel)
}

// FSSource reads files from an fs.FS (os.DirFS for a directory); tests and
// benchmarks use it, the hub adapts the sandbox instead.
func FSSource(fsys fs.FS) Source { return fsSource{fsys} }

type fsSource struct{ fsys fs.FS }

func (s fsSource) ReadFile(ctx context.Context, p string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return fs.ReadFile(s.fsys, p)
}

// Walk lists the files under root in a language the index parses,
// skipping tool and dependency directories (.git, node_modules, vendor,
// target): the initial scan before the watcher takes over.
func Walk(fsys fs.FS, root string) ([]string, error) {
	return walk(fsys, root, func(p string) bool { return LangOf(p) != "" })
}

// WalkAll lists every regular file under root, skipping the same
// directories as Walk: what the secret scan reads (secrets live in .env,
// YAML and JSON files as often as in code). Update ignores the files it
// cannot parse, so the list can feed both.
func WalkAll(fsys fs.FS, root string) ([]string, error) {
	return walk(fsys, root, func(string) bool { return true })
}

func walk(fsys fs.FS, root string, keep func(string) bool) ([]string, error) {
	var out []string
	err := fs.WalkDir(fsys, root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable directories are skipped, not fatal
		}
		if d.IsDir() {
			switch d.Name() {
			case ".git", "node_modules", "vendor", "target", "__pycache__", ".venv":
				if p != root {
					return fs.SkipDir
				}
			}
			return nil
		}
		if d.Type().IsRegular() && keep(p) {
			out = append(out, p)
		}
		return nil
	})
	return out, err
}
