package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/ai/complete"
	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/ai/usage"
	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

// The AI engine (hub/ai) knows nothing of WebSockets, the sandbox or the
// CRDT; it asks through small interfaces. This file adapts the hub to them:
// the room broadcast, each person's permission-checked view of the files,
// the live documents proposals are applied to, and code intelligence.

// AIConfig configures the hub's AI engine. Keys never appear here: they
// come from OPENAI_API_KEY / ANTHROPIC_API_KEY in the hub's environment
// (provider.Config.APIKey stays empty unless a test sets it).
type AIConfig struct {
	// Provider is the hub-wide provider; projects may override it.
	Provider provider.Config
	// Retry and Breaker tune how provider failures are retried and when a
	// failing provider is left alone for a while; zero values are the
	// provider package's defaults.
	Retry   provider.RetryPolicy
	Breaker provider.BreakerPolicy
	// MaxOutputTokens bounds one answer (default 2048).
	MaxOutputTokens int
	// ContextWindows overrides model context sizes (names or prefixes).
	ContextWindows map[string]int
	// DisableTools stops offering tools to models that reject them.
	DisableTools bool
	// Quota limits each person's tokens per month; QuotaOverrides per user name.
	Quota          usage.Quota
	QuotaOverrides map[string]usage.Quota
	// Prices per model for the usage report; nil: usage.DefaultPrices.
	Prices map[string]usage.Price
	// CompletionMinDebounce and CompletionMaxDebounce bound the adaptive
	// debounce of inline completions (defaults 15 ms and 250 ms).
	CompletionMinDebounce time.Duration
	CompletionMaxDebounce time.Duration
}

// aiLink implements the engine's interfaces for one Server. The engine only
// knows people by the name it was given with each request (their user
// name, which the conversation shows); the link remembers the credential
// each person last used, so every later check (reading files for context,
// resolving a proposal) is an auth check of that credential — a revoked
// token or role stops working for the AI at once, too.
type aiLink struct {
	srv atomic.Pointer[Server]

	mu     sync.Mutex
	people map[string]auth.Principal // user name -> last principal seen
	warned map[string]time.Time      // person + failure kind -> last warning
}

// newAI builds the AI engine and the inline completion engine from cfg,
// and the link that binds them to the Server New makes later (the engines
// exist before the Server does). Nothing touches the network: providers
// are created on first use.
func newAI(st store.Store, cfg Config, reg prometheus.Registerer) (*ai.Engine, *complete.Engine, *aiLink, error) {
	link := &aiLink{people: make(map[string]auth.Principal)}
	ac := cfg.AI
	eng, err := ai.New(ai.Options{
		Store:       st,
		Broadcaster: link,
		Files:       link,
		Documents:   aiDocuments{link},
		Symbols:     link,
		RepoMap:     link,
		Problems:    link,
		Logger:      cfg.Logger.With("subsystem", "ai"),
		Registerer:  reg,
		Provider:    ac.Provider,
		NewProvider: func(c provider.Config) (provider.Provider, error) {
			p, err := provider.New(c)
			if err != nil {
				return nil, err
			}
			if _, none := p.(provider.NotConfigured); none {
				return p, nil
			}
			return provider.NewResilient(p, ac.Retry, ac.Breaker), nil
		},
		CanConfigure:    link.can(auth.ActionAdmin),
		CanWrite:        link.can(auth.ActionWrite),
		MaxOutputTokens: ac.MaxOutputTokens,
		ContextWindows:  ac.ContextWindows,
		DisableTools:    ac.DisableTools,
		Prices:          ac.Prices,
		Quota:           ac.Quota,
		QuotaOverrides:  ac.QuotaOverrides,
	})
	if err != nil {
		return nil, nil, nil, fmt.Errorf("ai: %w", err)
	}
	comp, err := complete.New(complete.Options{
		Source:      eng,
		Usage:       eng.Usage(),
		Logger:      cfg.Logger.With("subsystem", "completion"),
		Registerer:  reg,
		MinDebounce: ac.CompletionMinDebounce,
		MaxDebounce: ac.CompletionMaxDebounce,
	})
	if err != nil {
		_ = eng.Close()
		return nil, nil, nil, fmt.Errorf("completion: %w", err)
	}
	return eng, comp, link, nil
}

// bindAI points the adapters of deps.AI at s; engines given in Deps by a
// test without newAI get no link and broadcast nothing.
func (s *Server) bindAI() {
	if s.deps.AI != nil && s.deps.aiLink != nil {
		s.deps.aiLink.srv.Store(s)
	}
}

// closeAI stops the engines: answers in progress end as cancelled.
func (s *Server) closeAI() error {
	var err error
	if s.deps.Completion != nil {
		err = s.deps.Completion.Close()
	}
	if s.deps.AI != nil {
		err = errors.Join(err, s.deps.AI.Close())
	}
	return err
}

// aiPerson names the caller to the AI engine and remembers their
// credential for the engine's later checks.
func (sess *session) aiPerson() string {
	if l := sess.srv.deps.aiLink; l != nil {
		l.mu.Lock()
		l.people[sess.ident.UserName] = sess.ident
		l.mu.Unlock()
	}
	return sess.ident.UserName
}

func (l *aiLink) principal(person string) (auth.Principal, *Server, error) {
	srv := l.srv.Load()
	if srv == nil {
		return auth.Principal{}, nil, errors.New("ai: hub not running")
	}
	l.mu.Lock()
	p, ok := l.people[person]
	l.mu.Unlock()
	if !ok {
		return auth.Principal{}, nil, fmt.Errorf("%w: unknown person", ai.ErrForbidden)
	}
	return p, srv, nil
}

// can checks a person's right to do action in a project.
func (l *aiLink) can(action auth.Action) func(ctx context.Context, project, person string) bool {
	return func(ctx context.Context, project, person string) bool {
		p, srv, err := l.principal(person)
		if err != nil {
			return false
		}
		_, err = srv.deps.Auth.Authorize(ctx, p, project, action)
		return err == nil
	}
}

// Notify implements ai.Broadcaster: one encoding, queued to every member.
func (l *aiLink) Notify(_ context.Context, project, method string, params any) error {
	srv := l.srv.Load()
	if srv == nil {
		return nil
	}
	return srv.rooms.broadcast(project, method, params, nil)
}

// For implements ai.FileAccess: the person's read access is checked now,
// and every call goes through the project's sandbox (its policy, audit and
// path checks) on their behalf.
func (l *aiLink) For(ctx context.Context, project, person string) (ai.Files, error) {
	p, srv, err := l.principal(person)
	if err != nil {
		return nil, err
	}
	if _, err := srv.deps.Auth.Authorize(ctx, p, project, auth.ActionRead); err != nil {
		return nil, fmt.Errorf("%w: %v", ai.ErrForbidden, err)
	}
	root, err := srv.workspaces.root(ctx, project)
	if err != nil {
		return nil, err
	}
	return aiFiles{srv: srv, project: project, root: root, actor: p.UserID}, nil
}

// aiFiles is one person's view of a project's files for the AI.
type aiFiles struct {
	srv     *Server
	project string
	root    *sandbox.Root
	actor   string
}

// ReadFile returns an open document's live text (what people see in their
// editors, saved or not), otherwise the file on disk.
func (f aiFiles) ReadFile(ctx context.Context, path string) (string, error) {
	clean, err := sandbox.CleanPath(path)
	if err != nil {
		return "", err
	}
	if text, ok := f.srv.docs.Text(protocol.DocRef{Project: f.project, Path: clean}); ok {
		return text, nil
	}
	file, err := f.root.Read(sandbox.WithActor(ctx, f.actor), clean)
	if err != nil {
		return "", err
	}
	if file.Encoding != "utf-8" {
		return "", fmt.Errorf("%s is not a text file", clean)
	}
	return file.Content, nil
}

func (f aiFiles) ListDir(ctx context.Context, path string) ([]ai.DirEntry, error) {
	l, err := f.root.List(sandbox.WithActor(ctx, f.actor), path, sandbox.ListOptions{Limit: 1000})
	if err != nil {
		return nil, err
	}
	out := make([]ai.DirEntry, 0, len(l.Entries))
	for _, e := range l.Entries {
		out = append(out, ai.DirEntry{Name: e.Name, IsDir: e.Kind == "dir", Size: e.Size})
	}
	return out, nil
}

func (f aiFiles) Search(ctx context.Context, query string, limit int) ([]ai.SearchHit, error) {
	var hits []ai.SearchHit
	_, err := f.root.Search(sandbox.WithActor(ctx, f.actor), sandbox.SearchQuery{
		Pattern: query, Literal: true, IgnoreCase: true, MaxResults: limit,
	}, func(r sandbox.SearchResult) error {
		hits = append(hits, ai.SearchHit{Path: r.Path, Line: r.Line, Text: r.Text})
		return nil
	})
	return hits, err
}

// Lookup implements ai.Symbols through hub/intel, when the hub has it.
func (l *aiLink) Lookup(ctx context.Context, project, person, name string) ([]ai.Symbol, error) {
	srv := l.srv.Load()
	if srv == nil || srv.intelService() == nil {
		return nil, nil
	}
	return srv.AISymbols().Lookup(ctx, project, person, name)
}

// RepoMap implements ai.RepoMapper through hub/intel, when the hub has it.
func (l *aiLink) RepoMap(ctx context.Context, project, person string, maxTokens int) (string, error) {
	srv := l.srv.Load()
	if srv == nil {
		return "", nil
	}
	svc := srv.intelService()
	if svc == nil {
		return "", nil
	}
	return svc.RepoMap(ctx, project, person, maxTokens)
}

// Problems implements ai.Problems with the diagnostics hub/intel last
// published for the project (language servers' and the hub's own).
func (l *aiLink) Problems(_ context.Context, project, _ string, path string) ([]ai.Diagnostic, error) {
	srv := l.srv.Load()
	if srv == nil {
		return nil, nil
	}
	svc := srv.intelService()
	if svc == nil {
		return nil, nil
	}
	ip, err := svc.Project(project)
	if err != nil {
		return nil, nil // not indexed yet: no known problems
	}
	var out []ai.Diagnostic
	for p, raw := range ip.Diagnostics() {
		if path != "" && p != path {
			continue
		}
		var list []struct {
			Range    ai.Range `json:"range"`
			Severity int      `json:"severity"`
			Source   string   `json:"source"`
			Message  string   `json:"message"`
		}
		if json.Unmarshal(raw, &list) != nil {
			continue
		}
		for _, d := range list {
			out = append(out, ai.Diagnostic{Path: p, Range: d.Range, Severity: severityName(d.Severity),
				Message: d.Message, Source: d.Source})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

func severityName(s int) string {
	switch s {
	case 1:
		return "error"
	case 2:
		return "warning"
	case 3:
		return "info"
	case 4:
		return "hint"
	}
	return ""
}

// aiDocuments implements propose.Documents over hub/docs. An open document
// is edited as a CRDT replica would edit it (Sync, local edit, Update), so
// the accepted change merges with whatever people type meanwhile and
// reaches every editor at once; a file no one has open is rewritten on
// disk through the sandbox with its etag. The version is a hash of the
// text, the same for both, so a document that opens in between is no
// obstacle.
type aiDocuments struct{ l *aiLink }

func textVersion(text string) uint64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(text))
	return h.Sum64()
}

func (d aiDocuments) server() (*Server, error) {
	srv := d.l.srv.Load()
	if srv == nil {
		return nil, errors.New("ai: hub not running")
	}
	return srv, nil
}

// Text implements propose.Documents.
func (d aiDocuments) Text(ctx context.Context, project, path string) (string, uint64, error) {
	srv, err := d.server()
	if err != nil {
		return "", 0, err
	}
	return srv.liveText(ctx, project, path)
}

// liveText is a document's text as everyone sees it: the shared document
// when it is open, else the file on disk; with its version (a hash).
func (srv *Server) liveText(ctx context.Context, project, path string) (string, uint64, error) {
	ref, err := docRef(protocol.DocRef{Project: project, Path: path})
	if err != nil {
		return "", 0, err
	}
	if text, ok := srv.docs.Text(ref); ok {
		return text, textVersion(text), nil
	}
	root, err := srv.workspaces.root(ctx, project)
	if err != nil {
		return "", 0, err
	}
	f, err := root.Read(ctx, ref.Path)
	if err != nil {
		return "", 0, err
	}
	if f.Encoding != "utf-8" {
		return "", 0, fmt.Errorf("%s is not a text file", ref.Path)
	}
	return f.Content, textVersion(f.Content), nil
}

// Apply implements propose.Documents.
func (d aiDocuments) Apply(ctx context.Context, project, path, author string, version uint64, edits []propose.Edit) error {
	srv, err := d.server()
	if err != nil {
		return err
	}
	ref, err := docRef(protocol.DocRef{Project: project, Path: path})
	if err != nil {
		return err
	}
	actor := author
	if p, _, err := d.l.principal(author); err == nil {
		actor = p.UserID
	}
	return srv.applyEdits(sandbox.WithActor(ctx, actor), ref, author, version, edits)
}

// applyEdits applies byte edits made against version of a document's live
// text, as author: through the shared document when it is open (merging
// with whatever people type meanwhile), else to the file on disk with its
// etag. ErrStale when the text moved on. The actor for the audit trail is
// in ctx.
func (srv *Server) applyEdits(ctx context.Context, ref protocol.DocRef, author string, version uint64, edits []propose.Edit) error {
	if srv.docs.IsOpen(ref) {
		return srv.applyLive(ctx, ref, author, version, edits)
	}
	root, err := srv.workspaces.root(ctx, ref.Project)
	if err != nil {
		return err
	}
	f, err := root.Read(ctx, ref.Path)
	if err != nil {
		return err
	}
	if f.Encoding != "utf-8" {
		return fmt.Errorf("%s is not a text file", ref.Path)
	}
	if textVersion(f.Content) != version {
		return propose.ErrStale
	}
	next, err := spliceBytes(f.Content, edits)
	if err != nil {
		return err
	}
	if _, err := root.Write(ctx, sandbox.WriteRequest{Path: ref.Path, Data: []byte(next), Etag: f.Etag}); err != nil {
		var sbErr *sandbox.Error
		if errors.As(err, &sbErr) && sbErr.Code == sandbox.Conflict {
			return propose.ErrStale
		}
		return err
	}
	// The hub does not see its own writes through the watcher: a document
	// that opened meanwhile is told here.
	if srv.docs.IsOpen(ref) {
		return srv.docs.DiskChanged(ctx, ref, []byte(next))
	}
	return nil
}

// applyLive edits an open document through a short-lived replica.
func (srv *Server) applyLive(ctx context.Context, ref protocol.DocRef, author string, version uint64, edits []propose.Edit) error {
	conn := &discardConn{}
	res, err := srv.docs.Sync(ctx, conn, ref, author, nil)
	if err != nil {
		return err
	}
	defer srv.docs.Unsubscribe(conn, ref)
	replica := crdt.New(crdt.NewReplicaID())
	if _, err := replica.Apply(res.Update); err != nil {
		return fmt.Errorf("replica of %s: %w", ref.Path, err)
	}
	text := replica.Text()
	if textVersion(text) != version {
		return propose.ErrStale
	}
	sorted := append([]propose.Edit(nil), edits...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start > sorted[j].Start })
	for _, e := range sorted {
		if e.Start < 0 || e.End < e.Start || e.End > len(text) {
			return fmt.Errorf("edit [%d,%d) outside %s", e.Start, e.End, ref.Path)
		}
		start, err := crdt.Convert(text, e.Start, crdt.UTF8, crdt.CodePoint)
		if err != nil {
			return err
		}
		end, err := crdt.Convert(text, e.End, crdt.UTF8, crdt.CodePoint)
		if err != nil {
			return err
		}
		u, err := replica.Replace(author, start, end-start, e.NewText)
		if err != nil {
			return err
		}
		if u == nil {
			continue
		}
		if err := srv.docs.Update(ctx, conn, ref, u); err != nil {
			return err
		}
	}
	return nil
}

// spliceBytes applies non-overlapping byte edits to text.
func spliceBytes(text string, edits []propose.Edit) (string, error) {
	sorted := append([]propose.Edit(nil), edits...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Start > sorted[j].Start })
	for _, e := range sorted {
		if e.Start < 0 || e.End < e.Start || e.End > len(text) {
			return "", fmt.Errorf("edit [%d,%d) out of range", e.Start, e.End)
		}
		text = text[:e.Start] + e.NewText + text[e.End:]
	}
	return text, nil
}

// discardConn is the replica connection applyLive subscribes with: it
// needs none of the document's fan-out. Each apply uses its own pointer
// (the struct is not zero-sized, so pointers are distinct map keys).
type discardConn struct{ _ byte }

func (*discardConn) Notify(string, any) error                     { return nil }
func (*discardConn) NotifyRaw([]byte) error                       { return nil }
func (*discardConn) Call(context.Context, string, any, any) error { return nil }

// AIStatus is one line for the operator about the AI configuration: the
// provider and model, or how to configure one.
func (s *Server) AIStatus() string {
	c := s.cfg.AI.Provider
	if c.Provider == "" || c.Provider == "none" {
		return "not configured (rubberduck serve --ai-provider openai --ai-model gpt-4o-mini, key in OPENAI_API_KEY; docs/ai.md)"
	}
	where := c.BaseURL
	if where == "" {
		where = "public API"
	}
	line := fmt.Sprintf("%s %s at %s", c.Provider, c.Model, where)
	if c.CompletionModel != "" {
		line += ", completions with " + c.CompletionModel
	}
	return line
}
