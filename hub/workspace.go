package hub

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"sync"

	"github.com/rubberduckhub/rubberduck/hub/project"
	"github.com/rubberduckhub/rubberduck/sandbox"
	"github.com/rubberduckhub/rubberduck/sandbox/ignore"
)

// defaultIgnore is what neither search nor the watchers look into, besides
// .git and what .gitignore files say; one list so both agree.
var defaultIgnore = []string{"node_modules/"}

// workspaces opens each project's sandbox on first use and keeps it open
// while the project exists, so every file operation goes through one
// sandbox.Root per project with the project's current policy.
type workspaces struct {
	srv *Server

	mu    sync.Mutex
	roots map[string]*workspace // by project name
}

type workspace struct {
	root    *sandbox.Root
	dir     string // the project root it was opened on
	id      string // the project's id: a re-created project gets a new sandbox
	updated int64  // the project's Updated time when the policy was applied
}

func newWorkspaces(srv *Server) *workspaces {
	return &workspaces{srv: srv, roots: make(map[string]*workspace)}
}

// root returns the sandbox of a project, reopening it when the project's
// root moved and applying a changed policy, so a `project update` takes
// effect on the next operation.
func (w *workspaces) root(ctx context.Context, name string) (*sandbox.Root, error) {
	p, err := w.srv.deps.Projects.Get(ctx, name)
	if err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	ws := w.roots[name]
	if ws != nil && (ws.dir != p.Root || ws.id != p.ID) {
		_ = ws.root.Close()
		delete(w.roots, name)
		ws = nil
	}
	if ws == nil {
		r, err := sandbox.Open(p.Root, p.Sandbox, w.options(p))
		if err != nil {
			return nil, fmt.Errorf("open sandbox of %s: %w", name, err)
		}
		ws = &workspace{root: r, dir: p.Root, id: p.ID, updated: p.Updated.UnixNano()}
		w.roots[name] = ws
		return r, nil
	}
	if u := p.Updated.UnixNano(); u != ws.updated {
		if err := ws.root.SetPolicy(p.Sandbox); err != nil {
			return nil, err
		}
		ws.updated = u
	}
	return ws.root, nil
}

func (w *workspaces) options(p project.Project) sandbox.Options {
	s := w.srv
	return sandbox.Options{
		Project: p.Name,
		// Keyed by id: a removed and re-created project starts with an
		// empty trash. The data directory is never inside a project.
		TrashDir:   filepath.Join(s.cfg.DataDir, "trash", p.ID),
		Auditor:    s.deps.Audit.Sandbox(),
		Observer:   s.deps.Watch.Observer(p.Name),
		Cache:      s.deps.Files.Project(p.Name),
		Ignore:     func(fsys fs.FS) (sandbox.IgnoreMatcher, error) { return ignore.New(fsys, defaultIgnore) },
		Registerer: s.metrics.registry,
		Logger:     s.log.With("project", p.Name),
	}
}

// forget closes a removed project's sandbox and frees its cached files.
func (w *workspaces) forget(name string) {
	w.srv.deps.Files.Drop(name)
	w.mu.Lock()
	defer w.mu.Unlock()
	if ws := w.roots[name]; ws != nil {
		_ = ws.root.Close()
		delete(w.roots, name)
	}
}

func (w *workspaces) close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	var err error
	for name, ws := range w.roots {
		err = errors.Join(err, ws.root.Close())
		delete(w.roots, name)
	}
	return err
}
