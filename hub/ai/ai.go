// Package ai is the hub's AI engine: the AI as a participant of a project's
// room. Everyone joined to a project sees the same conversation stream;
// answers stream to every connection as notifications, can be cancelled by
// anyone, and can become edit proposals that writers accept or reject hunk by
// hunk (package propose). Inline completions are in package complete.
//
// The engine knows nothing of WebSockets, the sandbox or the CRDT: it asks
// for what it needs through the small interfaces below (Broadcaster,
// FileAccess, propose.Documents, Symbols, RepoMapper), which the hub
// implements with adapters. It persists through hub/store.
//
// Start here: New, then Engine.Send / Cancel / Regenerate / Feedback /
// History / Wait, and Engine.ResolveProposal. Providers live in package
// provider (fakes for tests in aitest), context packing in budget, token
// accounting in usage.
package ai

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sourcegraph/conc"

	"github.com/rubberduckhub/rubberduck/hub/ai/budget"
	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/ai/usage"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

// Notification methods the engine sends through the Broadcaster.
const (
	MethodDelta    = "$/rubberduck/chat/delta"   // {project, messageId, text}
	MethodMessage  = "$/rubberduck/chat/message" // {project, message}
	MethodTool     = "$/rubberduck/chat/tool"    // {project, messageId, part}
	MethodProposal = "$/rubberduck/proposal"     // {project, proposal}
)

// Broadcaster sends a notification to every connection joined to a project.
// The hub's rooms implement it; it must not block on slow clients.
type Broadcaster interface {
	Notify(ctx context.Context, project, method string, params any) error
}

// DirEntry is one entry of a directory listing.
type DirEntry struct {
	Name  string `json:"name"`
	IsDir bool   `json:"isDir"`
	Size  int64  `json:"size,omitempty"`
}

// SearchHit is one line found by Files.Search.
type SearchHit struct {
	Path string `json:"path"`
	Line int    `json:"line"` // 1-based
	Text string `json:"text"`
}

// Files is one person's view of a project's files: every call is checked
// against that person's permissions. Paths are project-relative with "/".
// ReadFile should return an open document's live text.
type Files interface {
	ReadFile(ctx context.Context, path string) (string, error)
	ListDir(ctx context.Context, path string) ([]DirEntry, error)
	Search(ctx context.Context, query string, limit int) ([]SearchHit, error)
}

// FileAccess hands out Files for a person in a project; the hub adapts the
// sandbox to it.
type FileAccess interface {
	For(ctx context.Context, project, person string) (Files, error)
}

// Symbol is a definition found by a symbol index.
type Symbol struct {
	Name    string `json:"name"`
	Path    string `json:"path"`
	Line    int    `json:"line"`
	Snippet string `json:"snippet"`
}

// Symbols resolves @symbol mentions; hub/intel will implement it. Optional.
type Symbols interface {
	Lookup(ctx context.Context, project, person, name string) ([]Symbol, error)
}

// RepoMapper summarises a repository's structure within a token budget;
// hub/intel will implement it. Optional.
type RepoMapper interface {
	RepoMap(ctx context.Context, project, person string, maxTokens int) (string, error)
}

// Problems reports the diagnostics the hub knows for a project (from shared
// language servers), for @problems and /fix when the editor sent none.
// Optional; path "" means the whole project.
type Problems interface {
	Problems(ctx context.Context, project, person, path string) ([]Diagnostic, error)
}

// Options configure an Engine. Store and Broadcaster are required.
type Options struct {
	Store       store.Store
	Broadcaster Broadcaster
	Files       FileAccess        // nil: no file context, no tools
	Documents   propose.Documents // nil: proposals cannot be accepted
	Symbols     Symbols
	RepoMap     RepoMapper
	Problems    Problems
	Logger      *slog.Logger
	Registerer  prometheus.Registerer // nil: metrics are not exported

	// Provider is the hub-wide configuration; projects may override it
	// (SetProjectConfig, /model).
	Provider provider.Config
	// NewProvider builds a provider from a configuration; nil means
	// provider.New wrapped in provider.NewResilient. Tests point it at fakes.
	NewProvider func(provider.Config) (provider.Provider, error)

	// CanConfigure says whether person may change a project's AI settings
	// (/model); nil lets every member. SetProjectConfig itself is not
	// checked: its caller is.
	CanConfigure func(ctx context.Context, project, person string) bool

	// CanWrite says whether person may change a project's files; proposals
	// are resolved only by writers. nil: ResolveProposal trusts its caller.
	CanWrite func(ctx context.Context, project, person string) bool

	// MaxOutputTokens bounds one answer; default 2048.
	MaxOutputTokens int
	// ContextWindows overrides model context sizes (exact names or prefixes).
	ContextWindows map[string]int
	// DisableTools stops offering tools to models that reject them.
	DisableTools bool
	// MaxToolRounds bounds tool-call round trips per answer; default 6.
	MaxToolRounds int

	Prices         map[string]usage.Price // nil: usage.DefaultPrices
	Quota          usage.Quota
	QuotaOverrides map[string]usage.Quota
}

// AIAuthor is the author name of the AI's messages.
const AIAuthor = "rubberduck"

// Engine runs the AI for all projects of a hub.
type Engine struct {
	opts      Options
	log       *slog.Logger
	st        store.Store
	bc        Broadcaster
	proposals *propose.Manager
	usage     *usage.Tracker
	metrics   *metrics
	turns     *turnCache

	ctx  context.Context
	stop context.CancelFunc
	wg   conc.WaitGroup

	recMu  sync.Mutex // read-modify-write of stored messages (feedback, final save)
	mu     sync.Mutex
	closed bool
	runs   map[string]*run // by reply id
	byAsk  map[string]*run // by the id of the message that asked
	provs  map[provider.Config]provider.Provider
}

// New builds an engine. It makes no network call: providers are created on
// first use, so a hub starts offline.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil || opts.Broadcaster == nil {
		return nil, errors.New("ai: Store and Broadcaster are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxOutputTokens <= 0 {
		opts.MaxOutputTokens = 2048
	}
	if opts.Prices == nil {
		opts.Prices = usage.DefaultPrices
	}
	if opts.MaxToolRounds <= 0 {
		opts.MaxToolRounds = 6
	}
	if opts.NewProvider == nil {
		opts.NewProvider = func(c provider.Config) (provider.Provider, error) {
			p, err := provider.New(c)
			if err != nil {
				return nil, err
			}
			if _, none := p.(provider.NotConfigured); none {
				return p, nil
			}
			return provider.NewResilient(p, provider.RetryPolicy{}, provider.BreakerPolicy{}), nil
		}
	}
	// Validate the hub-wide configuration now, offline, so a typo in
	// --ai-provider fails at start-up rather than on the first question.
	if _, err := provider.New(opts.Provider); err != nil {
		return nil, err
	}
	e := &Engine{
		opts:    opts,
		log:     opts.Logger,
		st:      opts.Store,
		bc:      opts.Broadcaster,
		usage:   usage.NewTracker(opts.Store, opts.Prices, opts.Quota, opts.QuotaOverrides),
		runs:    map[string]*run{},
		byAsk:   map[string]*run{},
		provs:   map[provider.Config]provider.Provider{},
		metrics: newMetrics(opts.Registerer),
		turns:   newTurnCache(),
	}
	e.ctx, e.stop = context.WithCancel(context.Background())
	e.proposals = propose.NewManager(opts.Store, opts.Documents, func(ctx context.Context, p *propose.Proposal) {
		e.notify(ctx, p.Project, MethodProposal, map[string]any{"project": p.Project, "proposal": p})
	})
	return e, nil
}

// Proposals returns the proposal manager, for rubberduck/proposal/resolve.
func (e *Engine) Proposals() *propose.Manager { return e.proposals }

// ErrForbidden is returned when a person may not do what they asked.
var ErrForbidden = errors.New("ai: not allowed")

// ResolveProposal accepts or rejects one hunk of a proposal (hunk < 0: all
// pending hunks) for rubberduck/proposal/resolve. Only writers may resolve.
// A hunk that no longer applies comes back with status "conflict" and a
// reason; the room sees the updated proposal as $/rubberduck/proposal.
func (e *Engine) ResolveProposal(ctx context.Context, project, id string, hunk int, accept bool, person string) (*propose.Proposal, error) {
	if e.opts.CanWrite != nil && !e.opts.CanWrite(ctx, project, person) {
		return nil, fmt.Errorf("%w: resolving proposals needs write access", ErrForbidden)
	}
	return e.proposals.Resolve(ctx, project, id, hunk, accept, person)
}

// Usage returns the usage tracker, for usage reports.
func (e *Engine) Usage() *usage.Tracker { return e.usage }

// Close cancels every answer in progress (they end as cancelled) and waits
// for the engine's goroutines.
func (e *Engine) Close() error {
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return nil
	}
	e.closed = true
	e.mu.Unlock()
	e.stop()
	e.wg.Wait()
	return nil
}

// ErrClosed is returned by calls after Close.
var ErrClosed = errors.New("ai: engine closed")

// ProviderFor returns the provider and model a project uses, with its
// overrides applied. The completion engine uses it too.
func (e *Engine) ProviderFor(ctx context.Context, project string) (provider.Provider, provider.Config, error) {
	cfg := e.opts.Provider
	over, err := e.projectConfig(ctx, project)
	if err != nil {
		return nil, cfg, err
	}
	if over.Provider != "" && over.Provider != cfg.Provider {
		// Another provider family: nothing of the hub's endpoint applies.
		cfg = provider.Config{Provider: over.Provider, RequestTimeout: cfg.RequestTimeout, HTTPClient: cfg.HTTPClient}
	}
	if over.BaseURL != "" && over.BaseURL != cfg.BaseURL {
		// The hub's key is for the hub's endpoint only: a project's own
		// server never receives it.
		over.Keyless = true
		cfg.APIKey = ""
	}
	cfg = cfg.Merge(over)
	e.mu.Lock()
	defer e.mu.Unlock()
	key := cfg
	key.Model = "" // the model is chosen per request
	key.HTTPClient = nil
	if p, ok := e.provs[key]; ok {
		return p, cfg, nil
	}
	p, err := e.opts.NewProvider(cfg)
	if err != nil {
		return nil, cfg, &provider.Error{Kind: provider.KindNotConfigured, Provider: cfg.Provider, Err: err,
			Message: fmt.Sprintf("The AI configuration of this project is invalid (%v).", err)}
	}
	e.provs[key] = p
	return p, cfg, nil
}

// window is the context size the engine budgets for: the configured one,
// then per-model overrides, then the table. Ollama runs every model with a
// small num_ctx unless told otherwise and truncates silently beyond it, so
// an Ollama base URL without an explicit size gets its default.
func (e *Engine) window(cfg provider.Config, model string) int {
	if cfg.ContextWindow > 0 {
		return cfg.ContextWindow
	}
	if n, ok := budget.Override(model, e.opts.ContextWindows); ok {
		return n
	}
	if strings.Contains(cfg.BaseURL, ":11434") {
		return OllamaDefaultWindow
	}
	return budget.Window(model, nil)
}

// OllamaDefaultWindow is Ollama's default num_ctx; raise it on the server
// (OLLAMA_CONTEXT_LENGTH) and tell the hub (RUBBERDUCK_AI_CONTEXT_WINDOW).
const OllamaDefaultWindow = 2048

func (e *Engine) notify(ctx context.Context, project, method string, params any) {
	if err := e.bc.Notify(ctx, project, method, params); err != nil {
		e.log.Debug("ai notify failed", "project", project, "method", method, "err", err)
	}
}

// persistCtx gives writes that must happen even when the answer's context
// was cancelled (a cancelled answer is still stored as cancelled).
func persistCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
}
