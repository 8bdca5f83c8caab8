// Package lspool runs real language servers (gopls, typescript-language-
// server, pyright, rust-analyzer, ...) on the hub, one per project and
// server, and shares each with every participant of the project.
//
// The documents layer feeds the live, shared text through DidOpen,
// DidChange, DidSave and DidClose, so a server answers for unsaved edits
// whoever made them. Requests from any client go through Request, with
// the client's rubberduck:// URIs mapped to the server's file:// URIs and
// back. What a server asks of its client is answered here, once, for
// everybody: workspace/configuration from the per-server settings,
// client/registerCapability and window/workDoneProgress/create
// acknowledged, workspace/applyEdit handed to the shared documents, and
// $/progress delivered to the person whose request it reports on (or to
// the whole project for the server's own work). Diagnostics go to
// Client.PublishDiagnostics, which the hub fans out to every editor.
//
// A server that exits is restarted with exponential backoff, and the open
// documents are replayed to it. Close stops every server.
package lspool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/sourcegraph/conc"
)

// Client is the hub side of the pool: where server-to-client traffic goes.
// URIs in the values are already client URIs (rubberduck://project/path).
type Client interface {
	// ApplyEdit applies a WorkspaceEdit to the shared documents (as the
	// rename or code action of the person who asked) and reports whether
	// it was applied.
	ApplyEdit(ctx context.Context, person string, edit json.RawMessage) (bool, error)
	// Notify sends a notification to one person of the project, or to
	// everyone in it when person is "".
	Notify(ctx context.Context, person, method string, params json.RawMessage)
	// PublishDiagnostics replaces the diagnostics a server reports for a
	// file (source is the server's name).
	PublishDiagnostics(ctx context.Context, source, path string, diagnostics json.RawMessage)
}

// Options configure the pool of one project.
type Options struct {
	Project string
	// Root is the project's directory on the hub; servers run in it.
	Root string
	// Servers by name; nil means DefaultConfigs.
	Servers map[string]ServerConfig
	// SearchDirs are looked in for server programs after PATH.
	SearchDirs []string
	Client     Client
	Logger     *slog.Logger
	// MinBackoff and MaxBackoff bound restart delays (default 500ms, 30s).
	MinBackoff, MaxBackoff time.Duration
	// RequestTimeout bounds one request to a server (default 30s).
	RequestTimeout time.Duration
}

// ErrNoServer means no language server is configured and installed for a
// language.
var ErrNoServer = errors.New("no language server for this language")

// ErrClosed is returned after Close.
var ErrClosed = errors.New("language server pool closed")

type document struct {
	lang    string
	version int32
	text    string
}

// Pool owns the language servers of one project.
type Pool struct {
	opts Options
	log  *slog.Logger
	uris uris

	ctx    context.Context
	cancel context.CancelFunc
	wg     conc.WaitGroup

	mu      sync.Mutex
	closed  bool
	servers map[string]*server   // by server name
	byLang  map[string]string    // languageId -> server name
	docs    map[string]*document // by project path
	tokens  map[string]string    // progress token -> person
	nextTok uint64
}

// New returns a pool; servers start lazily, when a document of their
// language is opened or a request needs them.
func New(opts Options) (*Pool, error) {
	if opts.Servers == nil {
		opts.Servers = DefaultConfigs()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = 500 * time.Millisecond
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 30 * time.Second
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = 30 * time.Second
	}
	if opts.Client == nil {
		return nil, errors.New("lspool: Options.Client is required")
	}
	root, err := filepath.Abs(opts.Root)
	if err == nil {
		root, err = filepath.EvalSymlinks(root)
	}
	if err != nil {
		return nil, fmt.Errorf("lspool: project root: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	p := &Pool{
		opts: opts, log: opts.Logger.With("project", opts.Project),
		uris: uris{project: opts.Project, root: filepath.ToSlash(root)},
		ctx:  ctx, cancel: cancel,
		servers: map[string]*server{}, byLang: map[string]string{},
		docs: map[string]*document{}, tokens: map[string]string{},
	}
	names := make([]string, 0, len(opts.Servers))
	for name := range opts.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, l := range opts.Servers[name].Languages {
			if _, taken := p.byLang[l]; !taken {
				p.byLang[l] = name
			}
		}
	}
	return p, nil
}

// Available reports whether a server for lang is configured and installed.
func (p *Pool) Available(lang string) bool {
	name, ok := p.byLang[lang]
	if !ok {
		return false
	}
	cfg := p.opts.Servers[name]
	if len(cfg.Command) == 0 {
		return false
	}
	_, err := lookPath(cfg.Command[0], p.opts.SearchDirs)
	return err == nil
}

// serverFor returns the running (or starting) server for lang, starting it
// if needed.
func (p *Pool) serverFor(lang string) (*server, error) {
	name, ok := p.byLang[lang]
	if !ok {
		return nil, fmt.Errorf("%s: %w", lang, ErrNoServer)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, ErrClosed
	}
	if s := p.servers[name]; s != nil {
		return s, nil
	}
	cfg := p.opts.Servers[name]
	if len(cfg.Command) == 0 {
		return nil, fmt.Errorf("%s: %w", lang, ErrNoServer)
	}
	prog, err := lookPath(cfg.Command[0], p.opts.SearchDirs)
	if err != nil {
		return nil, fmt.Errorf("%s (%s not installed): %w", lang, cfg.Command[0], ErrNoServer)
	}
	s := newServer(p, cfg, prog)
	p.servers[name] = s
	p.wg.Go(s.supervise)
	return s, nil
}

// DidOpen starts tracking a document with its live text and opens it on
// the server of its language (starting the server if installed). It is
// not an error when no server is available: the hub's own index still
// answers.
func (p *Pool) DidOpen(ctx context.Context, rel, lang, text string) error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	d := &document{lang: lang, version: 1, text: text}
	if old := p.docs[rel]; old != nil {
		d.version = old.version + 1
	}
	p.docs[rel] = d
	p.mu.Unlock()
	s, err := p.serverFor(lang)
	if err != nil {
		if errors.Is(err, ErrNoServer) {
			return nil
		}
		return err
	}
	return s.didOpen(ctx, rel, d)
}

// DidChange gives a document's whole new text (the pool sends it as a
// full-content change, which every server accepts).
func (p *Pool) DidChange(ctx context.Context, rel, text string) error {
	p.mu.Lock()
	d := p.docs[rel]
	if d == nil || p.closed {
		p.mu.Unlock()
		return nil
	}
	d.version++
	d.text = text
	snap := *d
	p.mu.Unlock()
	s := p.running(d.lang)
	if s == nil {
		return nil
	}
	return s.sync(ctx, rel, snap)
}

// DidSave tells the server a document was written to disk.
func (p *Pool) DidSave(ctx context.Context, rel string) error {
	p.mu.Lock()
	d := p.docs[rel]
	p.mu.Unlock()
	if d == nil {
		return nil
	}
	if s := p.running(d.lang); s != nil {
		return s.notifyReady(ctx, "textDocument/didSave", map[string]any{"textDocument": map[string]any{"uri": p.uris.fileURI(rel)}})
	}
	return nil
}

// DidClose stops tracking a document; the server reads it from disk again.
func (p *Pool) DidClose(ctx context.Context, rel string) error {
	p.mu.Lock()
	d := p.docs[rel]
	delete(p.docs, rel)
	p.mu.Unlock()
	if d == nil {
		return nil
	}
	if s := p.running(d.lang); s != nil {
		return s.didClose(ctx, rel)
	}
	return nil
}

// FilesChanged forwards the watcher's batches (changes on disk made
// outside the editors) as workspace/didChangeWatchedFiles. kind is LSP's
// FileChangeType: 1 created, 2 changed, 3 deleted.
func (p *Pool) FilesChanged(ctx context.Context, changes map[string]int) {
	if len(changes) == 0 {
		return
	}
	var events []map[string]any
	for rel, kind := range changes {
		events = append(events, map[string]any{"uri": p.uris.fileURI(rel), "type": kind})
	}
	p.mu.Lock()
	servers := make([]*server, 0, len(p.servers))
	for _, s := range p.servers {
		servers = append(servers, s)
	}
	p.mu.Unlock()
	for _, s := range servers {
		_ = s.notifyReady(ctx, "workspace/didChangeWatchedFiles", map[string]any{"changes": events})
	}
}

func (p *Pool) running(lang string) *server {
	name, ok := p.byLang[lang]
	if !ok {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.servers[name]
}

// LangOfPath maps a file name to the languageId the pool routes by.
func LangOfPath(rel string) string {
	switch path.Ext(rel) {
	case ".go":
		return "go"
	case ".py", ".pyi":
		return "python"
	case ".ts", ".mts", ".cts":
		return "typescript"
	case ".tsx":
		return "typescriptreact"
	case ".js", ".mjs", ".cjs":
		return "javascript"
	case ".jsx":
		return "javascriptreact"
	case ".rs":
		return "rust"
	}
	return ""
}

// Request sends a request on behalf of person to the server of the
// document's language and returns its result with client URIs. params
// use client URIs; a workDoneToken is added so the server's progress for
// it reaches that person only. Cancelling ctx sends $/cancelRequest.
func (p *Pool) Request(ctx context.Context, person, rel, method string, params json.RawMessage) (json.RawMessage, error) {
	p.mu.Lock()
	lang := LangOfPath(rel)
	if d := p.docs[rel]; d != nil {
		lang = d.lang
	}
	p.nextTok++
	token := fmt.Sprintf("rubberduck-%d", p.nextTok)
	p.tokens[token] = person
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		delete(p.tokens, token)
		p.mu.Unlock()
	}()

	s, err := p.serverFor(lang)
	if err != nil {
		return nil, err
	}
	params, err = p.uris.toServer(params)
	if err != nil {
		return nil, fmt.Errorf("%s: params: %w", method, err)
	}
	params = withToken(params, token)
	if method == "workspace/executeCommand" || method == "codeAction/resolve" {
		s.setActor(person)
	}
	ctx, cancel := context.WithTimeout(ctx, p.opts.RequestTimeout)
	defer cancel()
	res, err := s.call(ctx, method, params)
	if err != nil {
		return nil, err
	}
	return p.uris.toClient(res)
}

// withToken adds workDoneToken to an object's params.
func withToken(params json.RawMessage, token string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(params, &m) != nil || m == nil {
		return params
	}
	if _, has := m["workDoneToken"]; has {
		return params
	}
	m["workDoneToken"], _ = json.Marshal(token)
	out, err := json.Marshal(m)
	if err != nil {
		return params
	}
	return out
}

// personFor returns who a progress token belongs to ("" for everyone).
func (p *Pool) personFor(token json.RawMessage) string {
	var s string
	if json.Unmarshal(token, &s) != nil {
		return ""
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.tokens[s]
}

func (p *Pool) openDocs(lang []string) map[string]document {
	want := map[string]bool{}
	for _, l := range lang {
		want[l] = true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]document{}
	for rel, d := range p.docs {
		if want[d.lang] {
			out[rel] = *d
		}
	}
	return out
}

// Close stops every server (shutdown, exit, then kill if needed) and
// waits for their goroutines.
func (p *Pool) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	servers := make([]*server, 0, len(p.servers))
	for _, s := range p.servers {
		servers = append(servers, s)
	}
	p.mu.Unlock()
	p.cancel()
	for _, s := range servers {
		s.stop()
	}
	p.wg.Wait()
	return nil
}

// Running lists the names of servers that are up, for status pages.
func (p *Pool) Running() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for name, s := range p.servers {
		if s.isReady() {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}
