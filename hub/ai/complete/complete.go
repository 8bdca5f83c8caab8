// Package complete serves inline completions (textDocument/inlineCompletion)
// for every editor connected to the hub.
//
// Three things keep it fast and cheap: an adaptive debounce that waits
// roughly as long as the person's current typing rhythm (a request made in
// the middle of a burst is superseded before it reaches the model), one
// request in flight per person and document (a new one cancels the previous
// one, as Copilot's and Tabby's agents do), and a cache of recent results
// that also serves completions the person is typing into ("typed-ahead").
//
// Prompts are fill-in-the-middle where the model supports it (provider
// Config.FIM), chat otherwise; the provider package hides the difference.
package complete

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/ai/usage"
)

// Source gives the provider and configuration a project uses; *ai.Engine
// implements it, so per-project overrides apply to completions too.
type Source interface {
	ProviderFor(ctx context.Context, project string) (provider.Provider, provider.Config, error)
}

// Options tune an Engine. Source is required.
type Options struct {
	Source Source
	Usage  *usage.Tracker // optional: completions count against quotas
	Logger *slog.Logger
	// Registerer receives rubberduck_ai_completions_total and
	// rubberduck_ai_completion_seconds; nil: not exported.
	Registerer prometheus.Registerer

	MinDebounce time.Duration // default 15 ms
	MaxDebounce time.Duration // default 250 ms
	CacheSize   int           // default 512 results
	CacheTTL    time.Duration // default 5 min
	MaxPrefix   int           // bytes of text before the cursor sent; default 6000
	MaxSuffix   int           // bytes after the cursor; default 2000
	MaxTokens   int           // default 128
	MaxLines    int           // lines of one suggestion; default 12
}

// Request is one inline completion request.
type Request struct {
	Project  string
	Person   string
	Path     string
	Language string
	Prefix   string // the document before the cursor
	Suffix   string // the document after the cursor
}

// Result is a suggestion; an empty Text means no suggestion.
type Result struct {
	Text   string `json:"text"`
	Cached bool   `json:"cached,omitempty"`
	Model  string `json:"model,omitempty"`
}

// ErrSuperseded is returned to a request that a newer request from the same
// person in the same document replaced.
var ErrSuperseded = errors.New("complete: superseded by a newer request")

type cacheEntry struct {
	text    string
	model   string
	expires time.Time
}

// last remembers the latest result per person and document, for typed-ahead
// hits.
type last struct {
	prefix, suffix, text, model string
	at                          time.Time
}

type flight struct {
	cancel context.CancelCauseFunc
}

type rhythm struct {
	lastAt time.Time
	ewma   time.Duration
}

// Engine serves completions. Safe for concurrent use; it owns no goroutines.
type Engine struct {
	o       Options
	cache   *lru.Cache[[32]byte, cacheEntry]
	results *prometheus.CounterVec
	latency prometheus.Histogram

	mu       sync.Mutex
	closed   bool
	inflight map[string]*flight
	rhythms  map[string]*rhythm
	lasts    map[string]last
}

// New returns an engine.
func New(o Options) (*Engine, error) {
	if o.Source == nil {
		return nil, errors.New("complete: Source is required")
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.CacheSize, 512)
	def(&o.MaxPrefix, 6000)
	def(&o.MaxSuffix, 2000)
	def(&o.MaxTokens, 128)
	def(&o.MaxLines, 12)
	if o.MinDebounce <= 0 {
		o.MinDebounce = 15 * time.Millisecond
	}
	if o.MaxDebounce <= 0 {
		o.MaxDebounce = 250 * time.Millisecond
	}
	if o.CacheTTL <= 0 {
		o.CacheTTL = 5 * time.Minute
	}
	c, err := lru.New[[32]byte, cacheEntry](o.CacheSize)
	if err != nil {
		return nil, err
	}
	reg := o.Registerer
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	return &Engine{o: o, cache: c, inflight: map[string]*flight{}, rhythms: map[string]*rhythm{}, lasts: map[string]last{},
		results: f.NewCounterVec(prometheus.CounterOpts{Name: "rubberduck_ai_completions_total",
			Help: "Inline completion requests by result: cached, model, superseded, error."}, []string{"result"}),
		latency: f.NewHistogram(prometheus.HistogramOpts{Name: "rubberduck_ai_completion_seconds",
			Help: "Latency of inline completions that reached the model.", Buckets: prometheus.DefBuckets}),
	}, nil
}

// Close cancels the requests in flight.
func (e *Engine) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.closed = true
	for k, f := range e.inflight {
		f.cancel(context.Canceled)
		delete(e.inflight, k)
	}
	return nil
}

func docKey(r Request) string { return r.Project + "\x00" + r.Person + "\x00" + r.Path }

func cacheKey(model string, r Request) [32]byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s\x00%s\x00%s\x00%d\x00", r.Project, r.Path, model, len(r.Prefix))
	h.Write([]byte(r.Prefix))
	h.Write([]byte{0})
	h.Write([]byte(r.Suffix))
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k
}

// Complete returns a suggestion for the cursor between req.Prefix and
// req.Suffix. A newer request for the same person and document cancels this
// one (ErrSuperseded); provider failures are *provider.Error.
func (e *Engine) Complete(ctx context.Context, req Request) (Result, error) {
	start := time.Now()
	res, err := e.complete(ctx, req)
	switch {
	case errors.Is(err, ErrSuperseded) || errors.Is(err, context.Canceled):
		e.results.WithLabelValues("superseded").Inc()
	case err != nil:
		e.results.WithLabelValues("error").Inc()
	case res.Cached:
		e.results.WithLabelValues("cached").Inc()
	default:
		e.results.WithLabelValues("model").Inc()
		e.latency.Observe(time.Since(start).Seconds())
	}
	return res, err
}

func (e *Engine) complete(ctx context.Context, req Request) (Result, error) {
	req.Prefix = tail(req.Prefix, e.o.MaxPrefix)
	req.Suffix = head(req.Suffix, e.o.MaxSuffix)
	prov, cfg, err := e.o.Source.ProviderFor(ctx, req.Project)
	if err != nil {
		return Result{}, err
	}
	model := cfg.CompletionModel
	if model == "" {
		model = cfg.Model
	}
	key := cacheKey(model, req)
	dk := docKey(req)
	now := time.Now()

	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		return Result{}, context.Canceled
	}
	delay := e.observe(dk, now)
	if prev := e.inflight[dk]; prev != nil {
		prev.cancel(ErrSuperseded)
		delete(e.inflight, dk)
	}
	if c, ok := e.cache.Get(key); ok && now.Before(c.expires) {
		e.mu.Unlock()
		return Result{Text: c.text, Cached: true, Model: c.model}, nil
	}
	if l, ok := e.lasts[dk]; ok && l.suffix == req.Suffix && strings.HasPrefix(req.Prefix, l.prefix) && now.Sub(l.at) < e.o.CacheTTL {
		typed := req.Prefix[len(l.prefix):]
		if typed != "" && strings.HasPrefix(l.text, typed) && len(typed) < len(l.text) {
			e.mu.Unlock()
			return Result{Text: l.text[len(typed):], Cached: true, Model: l.model}, nil
		}
	}
	fctx, cancel := context.WithCancelCause(ctx)
	f := &flight{cancel: cancel}
	e.inflight[dk] = f
	e.mu.Unlock()
	defer func() {
		cancel(context.Canceled)
		e.mu.Lock()
		if e.inflight[dk] == f {
			delete(e.inflight, dk)
		}
		e.mu.Unlock()
	}()

	if delay > 0 {
		t := time.NewTimer(delay)
		select {
		case <-fctx.Done():
			t.Stop()
			return Result{}, cause(fctx)
		case <-t.C:
		}
	}
	if e.o.Usage != nil {
		if err := e.o.Usage.Check(fctx, req.Person); err != nil {
			return Result{}, err
		}
	}
	text, u, err := prov.Complete(fctx, provider.FIMRequest{Model: model, Prefix: req.Prefix, Suffix: req.Suffix, MaxTokens: e.o.MaxTokens})
	if err != nil {
		if fctx.Err() != nil {
			return Result{}, cause(fctx)
		}
		return Result{}, err
	}
	text = e.clean(text, req.Suffix)
	if e.o.Usage != nil && u.InputTokens+u.OutputTokens > 0 {
		if err := e.o.Usage.Record(context.WithoutCancel(ctx), req.Project, req.Person, model, u); err != nil {
			e.o.Logger.Warn("completion usage not recorded", "err", err)
		}
	}
	e.mu.Lock()
	e.cache.Add(key, cacheEntry{text: text, model: model, expires: time.Now().Add(e.o.CacheTTL)})
	e.lasts[dk] = last{prefix: req.Prefix, suffix: req.Suffix, text: text, model: model, at: time.Now()}
	if len(e.lasts) > 4*e.o.CacheSize {
		clear(e.lasts) // people who left; cheap to rebuild
	}
	e.mu.Unlock()
	return Result{Text: text, Model: model}, nil
}

func cause(ctx context.Context) error {
	if c := context.Cause(ctx); c != nil {
		return c
	}
	return ctx.Err()
}

// observe updates the person's typing rhythm in a document and returns how
// long to wait before calling the model: about one inter-keystroke interval
// while they type in bursts, the minimum after a pause. Called with mu held.
func (e *Engine) observe(dk string, now time.Time) time.Duration {
	r := e.rhythms[dk]
	if r == nil {
		if len(e.rhythms) > 4*e.o.CacheSize {
			clear(e.rhythms)
		}
		r = &rhythm{}
		e.rhythms[dk] = r
	}
	gap := now.Sub(r.lastAt)
	r.lastAt = now
	if r.ewma == 0 || gap > time.Second {
		// A pause (or the first request): answer quickly, forget the burst.
		r.ewma = 0
		if gap <= time.Second {
			r.ewma = gap
		}
		return e.o.MinDebounce
	}
	r.ewma = (3*r.ewma + gap) / 4
	d := r.ewma * 5 / 4
	return min(max(d, e.o.MinDebounce), e.o.MaxDebounce)
}

// clean trims a suggestion: no more than MaxLines lines, and no repetition
// of the text that already follows the cursor.
func (e *Engine) clean(text, suffix string) string {
	lines := strings.SplitAfter(text, "\n")
	if len(lines) > e.o.MaxLines {
		text = strings.Join(lines[:e.o.MaxLines], "")
	}
	// Drop trailing lines the suffix already has ("}" when "}" follows).
	next := ""
	for _, l := range strings.Split(suffix, "\n") {
		if strings.TrimSpace(l) != "" {
			next = strings.TrimSpace(l)
			break
		}
	}
	t := strings.TrimRight(text, " \t\n")
	if i := strings.LastIndexByte(t, '\n'); i >= 0 && next != "" && strings.TrimSpace(t[i+1:]) == next {
		return t[:i]
	}
	return text
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func head(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[:i+1]
	}
	return s
}
