// Package intel is code intelligence for every participant of a project:
// the hub's own tree-sitter index (hub/intel/index), a pool of real
// language servers shared by everyone (hub/intel/lspool), and the
// diagnostics the hub publishes to all editors — the servers' plus its own
// (complexity warnings and committed secrets).
//
// The hub feeds a Project from two places:
//   - the shared documents: DocOpened, DocChanged, DocSaved, DocClosed
//     with the live text (nothing needs to be saved for the index and the
//     language servers to see it);
//   - the watcher: FilesChanged with each batch of changed and removed
//     paths, for files no one has open.
//
// It answers the rubberduck/intel/* requests (hub/intel.go adapts them),
// standard LSP requests through the language servers with the index as
// fallback, and the AI engine's RepoMap and Lookup (hub/ai.RepoMapper and
// hub/ai.Symbols).
package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"sync"

	"github.com/sourcegraph/conc"

	"github.com/rubberduckhub/rubberduck/hub/intel/index"
	"github.com/rubberduckhub/rubberduck/hub/intel/lspool"
)

// Hub is what the service needs from the hub: delivery of notifications
// to a project's participants and edits to its shared documents.
type Hub interface {
	// Notify sends a notification to one person of a project, or to all
	// of its participants when person is "". params carry client URIs
	// (rubberduck://project/path) and UTF-16 positions.
	Notify(ctx context.Context, project, person, method string, params json.RawMessage)
	// ApplyEdit applies an LSP WorkspaceEdit (client URIs) to the shared
	// documents on behalf of person.
	ApplyEdit(ctx context.Context, project, person string, edit json.RawMessage) (bool, error)
}

// Options configure the service.
type Options struct {
	Hub    Hub
	Logger *slog.Logger
	// Servers overrides lspool.DefaultConfigs; an empty non-nil map
	// disables language servers.
	Servers map[string]lspool.ServerConfig
	// ToolDirs are searched for language server programs after PATH.
	ToolDirs []string
	// Thresholds for the hub's own complexity warnings.
	Thresholds Thresholds
	// DisableSecrets turns the secret scan off.
	DisableSecrets bool
	// MaxFileBytes: larger files are neither indexed nor scanned (1 MiB).
	MaxFileBytes int
}

// Thresholds above which a function gets a warning.
type Thresholds struct {
	Complexity int // default 15
	Nesting    int // default 5
	Lines      int // default 150
}

// ErrUnknownProject is returned for projects that were not added.
var ErrUnknownProject = errors.New("intel: unknown project")

// Service holds the code intelligence of every open project.
type Service struct {
	opts Options
	log  *slog.Logger

	mu       sync.Mutex
	projects map[string]*Project
	closed   bool
}

// New returns a service; projects are added as the hub opens them.
func New(opts Options) *Service {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Thresholds.Complexity <= 0 {
		opts.Thresholds.Complexity = 15
	}
	if opts.Thresholds.Nesting <= 0 {
		opts.Thresholds.Nesting = 5
	}
	if opts.Thresholds.Lines <= 0 {
		opts.Thresholds.Lines = 150
	}
	if opts.MaxFileBytes <= 0 {
		opts.MaxFileBytes = 1 << 20
	}
	return &Service{opts: opts, log: opts.Logger, projects: map[string]*Project{}}
}

// Project is the code intelligence of one project.
type Project struct {
	svc   *Service
	name  string
	Index *index.Index
	pool  *lspool.Pool
	src   index.Source
	diags *diagnostics
	scan  *secretScanner

	ctx    context.Context
	cancel context.CancelFunc
	wg     conc.WaitGroup
}

// AddProject starts code intelligence for a project whose files live in
// root (the directory language servers run in) and are read through src
// (the sandbox). files lists the project's files for the initial scan
// (the watcher's first snapshot, or index.Walk); indexing and the secret
// scan run in the background, owned by the project.
func (s *Service) AddProject(ctx context.Context, name, root string, src index.Source, files []string) (*Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, errors.New("intel: service closed")
	}
	if p := s.projects[name]; p != nil {
		return p, nil
	}
	pctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	p := &Project{
		svc: s, name: name, src: src, ctx: pctx, cancel: cancel,
		Index: index.New(src, index.Options{MaxFileBytes: s.opts.MaxFileBytes, Logger: s.log.With("project", name)}),
	}
	p.diags = newDiagnostics(p)
	if !s.opts.DisableSecrets {
		sc, err := newSecretScanner()
		if err != nil {
			s.log.Warn("secret scanning disabled", "err", err)
		} else {
			p.scan = sc
		}
	}
	if s.opts.Servers == nil || len(s.opts.Servers) > 0 {
		pool, err := lspool.New(lspool.Options{
			Project: name, Root: root, Servers: s.opts.Servers, SearchDirs: s.opts.ToolDirs,
			Client: poolClient{p}, Logger: s.log,
		})
		if err != nil {
			cancel()
			return nil, fmt.Errorf("intel %s: %w", name, err)
		}
		p.pool = pool
	}
	s.projects[name] = p
	p.wg.Go(func() {
		if err := p.Index.Update(p.ctx, files); err != nil && p.ctx.Err() == nil {
			s.log.Warn("initial index failed", "project", name, "err", err)
		}
		p.scanFiles(p.ctx, files)
	})
	return p, nil
}

// Project returns an added project.
func (s *Service) Project(name string) (*Project, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.projects[name]; p != nil {
		return p, nil
	}
	return nil, fmt.Errorf("%s: %w", name, ErrUnknownProject)
}

// RemoveProject stops a project's language servers and drops its index.
func (s *Service) RemoveProject(name string) error {
	s.mu.Lock()
	p := s.projects[name]
	delete(s.projects, name)
	s.mu.Unlock()
	if p == nil {
		return nil
	}
	return p.close()
}

// Close stops every language server and background scan.
func (s *Service) Close() error {
	s.mu.Lock()
	s.closed = true
	ps := s.projects
	s.projects = map[string]*Project{}
	s.mu.Unlock()
	var errs []error
	for _, p := range ps {
		errs = append(errs, p.close())
	}
	return errors.Join(errs...)
}

func (p *Project) close() error {
	p.cancel()
	p.wg.Wait()
	var err error
	if p.pool != nil {
		err = p.pool.Close()
	}
	p.Index.Close()
	return err
}

// Wait blocks until the background work started so far (the initial
// index, scans) is done; tests and benchmarks use it.
func (p *Project) Wait() { p.wg.Wait() }

// DocOpened is called by the documents layer when a document becomes
// live on the hub.
func (p *Project) DocOpened(ctx context.Context, path, text string) error {
	if err := p.Index.Open(ctx, path, text); err != nil {
		return err
	}
	p.diags.own(ctx, path, []byte(text), true)
	if p.pool != nil {
		if lang := lspool.LangOfPath(path); lang != "" {
			return p.pool.DidOpen(ctx, path, lang, text)
		}
	}
	return nil
}

// DocChanged is called with a live document's whole new text after each
// applied update (from any participant, or from disk). The index re-parses
// incrementally; language servers get a full-content change.
func (p *Project) DocChanged(ctx context.Context, path, text string) error {
	if err := p.Index.Sync(ctx, path, text); err != nil {
		return err
	}
	p.diags.own(ctx, path, []byte(text), false)
	if p.pool != nil {
		return p.pool.DidChange(ctx, path, text)
	}
	return nil
}

// DocSaved is called after a live document was written to disk: the
// secret scan runs on saved content.
func (p *Project) DocSaved(ctx context.Context, path string) error {
	if text, err := p.Index.Text(ctx, path); err == nil {
		p.diags.own(ctx, path, text, true)
	}
	if p.pool != nil {
		return p.pool.DidSave(ctx, path)
	}
	return nil
}

// DocClosed is called when nobody has a document open any more.
func (p *Project) DocClosed(ctx context.Context, path string) error {
	err := p.Index.CloseDoc(ctx, path)
	if p.pool != nil {
		err = errors.Join(err, p.pool.DidClose(ctx, path))
	}
	return err
}

// FilesChanged takes one watcher batch: paths created or modified, and
// paths removed (files or whole directories). Open documents are not
// touched: their text is the shared document's.
func (p *Project) FilesChanged(ctx context.Context, changed, removed []string) error {
	p.Index.Remove(removed)
	for _, r := range removed {
		p.diags.clearOwn(ctx, r)
	}
	err := p.Index.Update(ctx, changed)
	p.scanFiles(ctx, changed)
	if p.pool != nil {
		ev := map[string]int{}
		for _, c := range changed {
			ev[c] = 2
		}
		for _, r := range removed {
			ev[r] = 3
		}
		p.pool.FilesChanged(ctx, ev)
	}
	return err
}

// scanFiles computes the hub's own diagnostics for closed files.
func (p *Project) scanFiles(ctx context.Context, files []string) {
	open := map[string]bool{}
	for _, d := range p.Index.OpenDocs() {
		open[d] = true
	}
	for _, f := range files {
		if ctx.Err() != nil {
			return
		}
		if open[f] {
			continue
		}
		src, err := p.src.ReadFile(ctx, f)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				p.diags.clearOwn(ctx, f)
			}
			continue
		}
		if len(src) > p.svc.opts.MaxFileBytes {
			continue
		}
		p.diags.own(ctx, f, src, true)
	}
}

// Servers lists the language servers running for the project.
func (p *Project) Servers() []string {
	if p.pool == nil {
		return nil
	}
	return p.pool.Running()
}

// poolClient adapts the Hub to the pool of one project.
type poolClient struct{ p *Project }

func (c poolClient) ApplyEdit(ctx context.Context, person string, edit json.RawMessage) (bool, error) {
	if c.p.svc.opts.Hub == nil {
		return false, errors.New("no documents layer")
	}
	return c.p.svc.opts.Hub.ApplyEdit(ctx, c.p.name, person, edit)
}

func (c poolClient) Notify(ctx context.Context, person, method string, params json.RawMessage) {
	if c.p.svc.opts.Hub != nil {
		c.p.svc.opts.Hub.Notify(ctx, c.p.name, person, method, params)
	}
}

func (c poolClient) PublishDiagnostics(ctx context.Context, source, path string, diags json.RawMessage) {
	c.p.diags.server(ctx, source, path, diags)
}
