package intel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/rubberduckhub/rubberduck/hub/intel/index"
	"github.com/rubberduckhub/rubberduck/hub/intel/lspool"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// ErrInvalid marks bad request parameters (a missing position, an unknown
// direction); the hub answers them as invalid params.
var ErrInvalid = errors.New("invalid")

// cleanPath validates a project-relative path before it reaches the index
// (the sandbox re-checks every read).
func cleanPath(p string) (string, error) {
	if p == "" || strings.HasPrefix(p, "/") || strings.Contains(p, "\\") {
		return "", fmt.Errorf("path %q: %w", p, ErrInvalid)
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") {
		return "", fmt.Errorf("path %q: %w", p, ErrInvalid)
	}
	return c, nil
}

// Outline answers rubberduck/intel/outline.
func (p *Project) Outline(ctx context.Context, rel, enc string) (*protocol.IntelOutlineResult, error) {
	rel, err := cleanPath(rel)
	if err != nil {
		return nil, err
	}
	items, err := p.Index.Outline(ctx, rel)
	if err != nil {
		return nil, err
	}
	c := newConverter(ctx, p.Index, enc)
	return &protocol.IntelOutlineResult{Path: rel, Symbols: c.outline(rel, items)}, nil
}

// Metrics answers rubberduck/intel/metrics.
func (p *Project) Metrics(ctx context.Context, rel, enc string) (*protocol.IntelMetricsResult, error) {
	rel, err := cleanPath(rel)
	if err != nil {
		return nil, err
	}
	ms, err := p.Index.Metrics(ctx, rel)
	if err != nil {
		return nil, err
	}
	c := newConverter(ctx, p.Index, enc)
	th := p.svc.opts.Thresholds
	out := &protocol.IntelMetricsResult{Path: rel, Functions: []protocol.IntelFunction{}}
	for _, m := range ms {
		fn := protocol.IntelFunction{Name: m.Name, Container: m.Container, Kind: string(m.Kind), Range: c.rng(rel, m.Span),
			IntelMetrics: protocol.IntelMetrics{Complexity: m.Metrics.Complexity, Nesting: m.Metrics.Nesting, Lines: m.Metrics.Lines}}
		if w := complexityWarnings(&index.File{Symbols: []index.Symbol{{Name: m.Name, Metrics: &m.Metrics}}}, th,
			func(index.Pos) lspPos { return lspPos{} }); len(w) > 0 {
			fn.Warning = w[0].Message
		}
		out.Functions = append(out.Functions, fn)
	}
	return out, nil
}

// Definition answers rubberduck/intel/definition: the language server's
// answer when one runs for the file, else the index's.
func (p *Project) Definition(ctx context.Context, person, rel string, pos *protocol.Position, enc string) (*protocol.IntelLocationsResult, error) {
	return p.locations(ctx, person, rel, pos, enc, "textDocument/definition", false)
}

// References answers rubberduck/intel/references.
func (p *Project) References(ctx context.Context, person, rel string, pos *protocol.Position, includeDecl bool, enc string) (*protocol.IntelLocationsResult, error) {
	return p.locations(ctx, person, rel, pos, enc, "textDocument/references", includeDecl)
}

func (p *Project) locations(ctx context.Context, person, rel string, pos *protocol.Position, enc, method string, includeDecl bool) (*protocol.IntelLocationsResult, error) {
	rel, err := cleanPath(rel)
	if err != nil {
		return nil, err
	}
	if pos == nil {
		return nil, fmt.Errorf("position is required: %w", ErrInvalid)
	}
	c := newConverter(ctx, p.Index, enc)
	at := c.in(rel, *pos)
	if res, name, ok := p.serverLocations(ctx, person, rel, at, method, includeDecl, c); ok {
		return &protocol.IntelLocationsResult{Locations: res, Source: name}, nil
	}
	var ls []index.Location
	if method == "textDocument/definition" {
		ls, err = p.Index.Definition(ctx, rel, at)
	} else {
		ls, err = p.Index.References(ctx, rel, at, includeDecl)
	}
	if err != nil {
		return nil, err
	}
	return &protocol.IntelLocationsResult{Locations: c.locations(ls), Source: "index"}, nil
}

// serverLocations asks the file's language server, if one is running.
func (p *Project) serverLocations(ctx context.Context, person, rel string, at index.Pos, method string, includeDecl bool, c *converter) ([]protocol.IntelLocation, string, bool) {
	lang := lspool.LangOfPath(rel)
	if p.pool == nil || lang == "" || !p.pool.Available(lang) {
		return nil, "", false
	}
	c16 := newConverter(ctx, p.Index, UTF16)
	params := map[string]any{
		"textDocument": map[string]any{"uri": p.uri(rel)},
		"position":     c16.pos(rel, at),
	}
	if method == "textDocument/references" {
		params["context"] = map[string]any{"includeDeclaration": includeDecl}
	}
	raw, _ := json.Marshal(params)
	res, err := p.pool.Request(ctx, person, rel, method, raw)
	if err != nil {
		p.svc.log.Debug("language server failed; answering from the index", "method", method, "err", err)
		return nil, "", false
	}
	var locs []struct {
		URI       string `json:"uri"`
		TargetURI string `json:"targetUri"`
		Range     *struct {
			Start, End lspPos
		} `json:"range"`
		TargetSelectionRange *struct {
			Start, End lspPos
		} `json:"targetSelectionRange"`
	}
	if len(res) > 0 && res[0] == '{' {
		res = append(append([]byte{'['}, res...), ']')
	}
	if err := json.Unmarshal(res, &locs); err != nil {
		return nil, "", false
	}
	out := []protocol.IntelLocation{}
	for _, l := range locs {
		uri, r := l.URI, l.Range
		if l.TargetURI != "" {
			uri, r = l.TargetURI, l.TargetSelectionRange
		}
		path, ok := strings.CutPrefix(uri, "rubberduck://"+p.name+"/")
		if !ok || r == nil {
			continue // outside the project
		}
		start := c16.in(path, protocol.Position{Line: r.Start.Line, Character: r.Start.Character})
		end := c16.in(path, protocol.Position{Line: r.End.Line, Character: r.End.Character})
		out = append(out, protocol.IntelLocation{Path: path, Range: c.rng(path, index.Span{Start: start, End: end})})
	}
	return out, p.serverName(lang), true
}

func (p *Project) serverName(lang string) string {
	cfgs := p.svc.opts.Servers
	if cfgs == nil {
		cfgs = lspool.DefaultConfigs()
	}
	for name, c := range cfgs {
		for _, l := range c.Languages {
			if l == lang {
				return name
			}
		}
	}
	return lang
}

func (p *Project) uri(rel string) string { return "rubberduck://" + p.name + "/" + rel }

// Calls answers rubberduck/intel/calls (a call hierarchy from the index).
func (p *Project) Calls(ctx context.Context, rel string, pos *protocol.Position, direction, enc string) (*protocol.IntelCallsResult, error) {
	rel, err := cleanPath(rel)
	if err != nil {
		return nil, err
	}
	if pos == nil {
		return nil, fmt.Errorf("position is required: %w", ErrInvalid)
	}
	c := newConverter(ctx, p.Index, enc)
	at := c.in(rel, *pos)
	var sites []index.CallSite
	switch direction {
	case "incoming", "":
		sites, err = p.Index.IncomingCalls(ctx, rel, at)
	case "outgoing":
		sites, err = p.Index.OutgoingCalls(ctx, rel, at)
	default:
		return nil, fmt.Errorf("direction %q (incoming or outgoing): %w", direction, ErrInvalid)
	}
	if err != nil {
		return nil, err
	}
	out := &protocol.IntelCallsResult{Calls: []protocol.IntelCall{}}
	for _, s := range sites {
		call := protocol.IntelCall{IntelSymbol: c.symbol(s.Path, s.Symbol)}
		calls := s.Calls
		from := s.Path
		if direction == "outgoing" {
			from = rel // outgoing calls are ranges in the asked file
		}
		for _, sp := range calls {
			call.Calls = append(call.Calls, c.rng(from, sp))
		}
		out.Calls = append(out.Calls, call)
	}
	return out, nil
}

// Dependencies answers rubberduck/intel/dependencies.
func (p *Project) Dependencies(ctx context.Context, rel string) (*protocol.IntelDependenciesResult, error) {
	if rel != "" {
		var err error
		if rel, err = cleanPath(rel); err != nil {
			return nil, err
		}
	}
	out := &protocol.IntelDependenciesResult{Edges: []protocol.IntelDependency{}}
	for _, d := range p.Index.Dependencies(ctx, rel) {
		out.Edges = append(out.Edges, protocol.IntelDependency{From: d.From, To: d.To, Spec: d.Spec, External: d.External, Line: d.Line})
	}
	return out, nil
}

// Symbols answers rubberduck/intel/symbols (workspace symbols).
func (p *Project) Symbols(ctx context.Context, query string, limit int, enc string) *protocol.IntelSymbolsResult {
	c := newConverter(ctx, p.Index, enc)
	out := &protocol.IntelSymbolsResult{Symbols: []protocol.IntelSymbol{}}
	for _, s := range p.Index.WorkspaceSymbols(ctx, query, limit) {
		out.Symbols = append(out.Symbols, c.symbol(s.Path, s.Symbol))
	}
	return out
}

// RepoMap answers rubberduck/intel/repoMap: the text the AI gets and the
// ranked symbols behind it.
func (p *Project) RepoMap(ctx context.Context, focus []string, maxTokens int) *protocol.IntelRepoMapResult {
	if len(focus) == 0 {
		focus = p.Index.OpenDocs()
	}
	text := p.Index.RepoMap(ctx, focus, maxTokens)
	out := &protocol.IntelRepoMapResult{Text: text, Symbols: []protocol.IntelRankedSymbol{}}
	for i, s := range p.Index.Ranked(ctx, focus) {
		if i >= 200 {
			break
		}
		out.Symbols = append(out.Symbols, protocol.IntelRankedSymbol{Name: s.Name, Kind: string(s.Kind), Container: s.Container,
			Path: s.Path, Line: s.Sel.Start.Line, Signature: s.Sig, Rank: s.Rank})
	}
	return out
}

// Status answers rubberduck/intel/status.
func (p *Project) Status() *protocol.IntelStatusResult {
	st := p.Index.Stats()
	servers := p.Servers()
	if servers == nil {
		servers = []string{}
	}
	return &protocol.IntelStatusResult{Files: st.Files, Symbols: st.Symbols, Servers: servers}
}

// LSP forwards a standard request (hover, definition, references, rename,
// completion, ...) with client URIs to the document's language server. ok
// is false when no server handles the file; the caller then answers from
// the index (Definition, References, Outline) or with null.
func (p *Project) LSP(ctx context.Context, person, rel, method string, params json.RawMessage) (json.RawMessage, bool, error) {
	lang := lspool.LangOfPath(rel)
	if p.pool == nil || lang == "" || !p.pool.Available(lang) {
		return nil, false, nil
	}
	res, err := p.pool.Request(ctx, person, rel, method, params)
	return res, true, err
}

// RepoMap implements the AI engine's RepoMapper: the ranked map of a
// project within maxTokens, focused on the documents open on the hub.
func (s *Service) RepoMap(ctx context.Context, project, _ string, maxTokens int) (string, error) {
	p, err := s.Project(project)
	if err != nil {
		return "", err
	}
	return p.Index.RepoMap(ctx, p.Index.OpenDocs(), maxTokens), nil
}

// Lookup finds the definitions of a name (exact matches first), for the
// AI engine's @symbol mentions.
func (s *Service) Lookup(ctx context.Context, project, name string, limit int) ([]index.SymbolInfo, error) {
	p, err := s.Project(project)
	if err != nil {
		return nil, err
	}
	out := p.Index.WorkspaceSymbols(ctx, name, limit)
	exact := out[:0:0]
	for _, s := range out {
		if strings.EqualFold(s.Name, name) {
			exact = append(exact, s)
		}
	}
	if len(exact) > 0 {
		return exact, nil
	}
	return out, nil
}
