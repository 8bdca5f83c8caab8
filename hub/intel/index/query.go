package index

import (
	"context"
	"path"
	"sort"
	"strings"
)

// Location is a span in a project file.
type Location struct {
	Path string `json:"path"`
	Span Span   `json:"range"`
}

// OutlineItem is a symbol with the symbols it contains.
type OutlineItem struct {
	Symbol
	Children []*OutlineItem `json:"children,omitempty"`
}

// Outline returns a file's symbols as a tree, in source order. For an open
// document it reflects the live text.
func (ix *Index) Outline(ctx context.Context, rel string) ([]*OutlineItem, error) {
	f, err := ix.current(ctx, rel)
	if err != nil {
		return nil, err
	}
	items := make([]*OutlineItem, len(f.Symbols))
	var roots []*OutlineItem
	for i := range f.Symbols {
		items[i] = &OutlineItem{Symbol: f.Symbols[i]}
		if p := f.Symbols[i].Parent; p >= 0 && int(p) < i {
			items[p].Children = append(items[p].Children, items[i])
		} else {
			roots = append(roots, items[i])
		}
	}
	return roots, nil
}

// current returns the indexed file, or parses it if it is not indexed
// (yet): a query must not fail because the watcher has not caught up.
func (ix *Index) current(ctx context.Context, rel string) (*File, error) {
	if f := ix.File(rel); f != nil {
		return f, nil
	}
	f, _, err := ix.fileWithLocals(ctx, rel)
	return f, err
}

// FuncMetrics is one function's metrics with where it is.
type FuncMetrics struct {
	Name      string  `json:"name"`
	Container string  `json:"container,omitempty"`
	Kind      Kind    `json:"kind"`
	Span      Span    `json:"range"`
	Metrics   Metrics `json:"metrics"`
}

// Metrics lists the metrics of every function and method in a file.
func (ix *Index) Metrics(ctx context.Context, rel string) ([]FuncMetrics, error) {
	f, err := ix.current(ctx, rel)
	if err != nil {
		return nil, err
	}
	var out []FuncMetrics
	for _, s := range f.Symbols {
		if s.Metrics != nil {
			out = append(out, FuncMetrics{Name: s.Name, Container: s.Container, Kind: s.Kind, Span: s.Span, Metrics: *s.Metrics})
		}
	}
	return out, nil
}

// target is what sits under a position: a local, a symbol's name, or a
// reference to a workspace-level name.
type target struct {
	f     *File
	local *Local
	sym   int32
	name  string
	ref   *Ref
}

func within(at Pos, n uint16, p Pos) bool {
	return p.Line == at.Line && p.Col >= at.Col && p.Col <= at.Col+uint32(n)
}

func (ix *Index) targetAt(ctx context.Context, rel string, p Pos) (*target, error) {
	f, _, err := ix.fileWithLocals(ctx, rel)
	if err != nil {
		return nil, err
	}
	t := &target{f: f, sym: -1}
	for i := range f.Locals {
		if within(f.Locals[i].At, f.Locals[i].Len, p) {
			t.local = &f.Locals[i]
			return t, nil
		}
	}
	for i := range f.Symbols {
		s := &f.Symbols[i]
		if s.Sel.Contains(p) && s.Sel.Start.Line == s.Sel.End.Line {
			t.sym, t.name = int32(i), s.Name
			return t, nil
		}
	}
	for i := range f.Refs {
		if within(f.Refs[i].At, f.Refs[i].Len, p) {
			t.ref, t.name = &f.Refs[i], f.Refs[i].Name()
			return t, nil
		}
	}
	return nil, nil
}

func localSpan(l *Local) Span {
	return Span{Start: l.At, End: Pos{Line: l.At.Line, Col: l.At.Col + uint32(l.Len)}}
}

// Definition finds where the name at a position is defined: the binding
// of a local in the same scope, or the workspace definitions of the name,
// closest first (same file, same directory, then the rest).
func (ix *Index) Definition(ctx context.Context, rel string, p Pos) ([]Location, error) {
	rel = path.Clean(rel)
	t, err := ix.targetAt(ctx, rel, p)
	if err != nil || t == nil {
		return nil, err
	}
	if t.local != nil {
		for i := range t.f.Locals {
			if l := &t.f.Locals[i]; l.IsDef && l.Def == t.local.Def {
				return []Location{{Path: rel, Span: localSpan(l)}}, nil
			}
		}
		return nil, nil
	}
	if t.sym >= 0 {
		return []Location{{Path: rel, Span: t.f.Symbols[t.sym].Sel}}, nil
	}
	locs := ix.Defs(t.name)
	dir := path.Dir(rel)
	sort.SliceStable(locs, func(i, j int) bool {
		return closeness(locs[i].File.Path, rel, dir) < closeness(locs[j].File.Path, rel, dir)
	})
	out := make([]Location, 0, len(locs))
	for _, l := range locs {
		out = append(out, Location{Path: l.File.Path, Span: l.Symbol().Sel})
	}
	return out, nil
}

func closeness(p, rel, dir string) int {
	switch {
	case p == rel:
		return 0
	case path.Dir(p) == dir:
		return 1
	}
	return 2
}

// References finds the uses of the name at a position: within the scope
// of a local, or across the project for a workspace-level name (names that
// resolve to a local elsewhere are not counted). includeDecl adds the
// definitions.
func (ix *Index) References(ctx context.Context, rel string, p Pos, includeDecl bool) ([]Location, error) {
	rel = path.Clean(rel)
	t, err := ix.targetAt(ctx, rel, p)
	if err != nil || t == nil {
		return nil, err
	}
	var out []Location
	if t.local != nil {
		for i := range t.f.Locals {
			if l := &t.f.Locals[i]; l.Def == t.local.Def && (includeDecl || !l.IsDef) {
				out = append(out, Location{Path: rel, Span: localSpan(l)})
			}
		}
		return out, nil
	}
	return ix.NameReferences(t.name, includeDecl), nil
}

// NameReferences lists the references to a workspace-level name, sorted
// by path and position.
func (ix *Index) NameReferences(name string, includeDecl bool) []Location {
	id, known := lookupID(name)
	ix.mu.RLock()
	var out []Location
	for _, f := range ix.files {
		if includeDecl {
			for _, s := range f.Symbols {
				if s.Name == name {
					out = append(out, Location{Path: f.Path, Span: s.Sel})
				}
			}
		}
		for _, r := range f.Refs {
			if known && r.ID == id {
				out = append(out, Location{Path: f.Path, Span: Span{Start: r.At, End: Pos{Line: r.At.Line, Col: r.At.Col + uint32(r.Len)}}})
			}
		}
	}
	ix.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].Path != out[j].Path {
			return out[i].Path < out[j].Path
		}
		return out[i].Span.Start.Less(out[j].Span.Start)
	})
	return out
}

// SymbolInfo is a symbol with its file, for workspace-wide answers.
type SymbolInfo struct {
	Symbol
	Path string `json:"path"`
}

// CallSite is one caller (or callee) in a call hierarchy, with the spans
// of the calls.
type CallSite struct {
	SymbolInfo
	Calls []Span `json:"calls"`
}

// IncomingCalls lists the functions that call the function defined or
// referenced at a position.
func (ix *Index) IncomingCalls(ctx context.Context, rel string, p Pos) ([]CallSite, error) {
	t, err := ix.targetAt(ctx, rel, p)
	if err != nil || t == nil || t.name == "" {
		return nil, err
	}
	id, known := lookupID(t.name)
	if !known {
		return nil, nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var out []CallSite
	for _, f := range ix.files {
		byCaller := map[int32]*CallSite{}
		for _, r := range f.Refs {
			if !r.Call || r.ID != id || r.Encl < 0 {
				continue
			}
			cs := byCaller[r.Encl]
			if cs == nil {
				cs = &CallSite{SymbolInfo: SymbolInfo{Symbol: f.Symbols[r.Encl], Path: f.Path}}
				byCaller[r.Encl] = cs
			}
			cs.Calls = append(cs.Calls, Span{Start: r.At, End: Pos{Line: r.At.Line, Col: r.At.Col + uint32(r.Len)}})
		}
		for _, cs := range byCaller {
			out = append(out, *cs)
		}
	}
	sortSites(out)
	return out, nil
}

// OutgoingCalls lists what the function at a position calls, resolved to
// workspace definitions where there are any.
func (ix *Index) OutgoingCalls(ctx context.Context, rel string, p Pos) ([]CallSite, error) {
	rel = path.Clean(rel)
	f, _, err := ix.fileWithLocals(ctx, rel)
	if err != nil {
		return nil, err
	}
	fn := int32(-1)
	for i, s := range f.Symbols {
		if s.Kind.Callable() && s.Span.Contains(p) {
			fn = int32(i) // innermost wins: later symbols are nested deeper
		}
	}
	if fn < 0 {
		return nil, nil
	}
	calls := map[string][]Span{}
	var order []string
	for _, r := range f.Refs {
		if r.Call && r.Encl == fn {
			name := r.Name()
			if _, seen := calls[name]; !seen {
				order = append(order, name)
			}
			calls[name] = append(calls[name], Span{Start: r.At, End: Pos{Line: r.At.Line, Col: r.At.Col + uint32(r.Len)}})
		}
	}
	var out []CallSite
	for _, name := range order {
		defs := ix.Defs(name)
		if len(defs) == 0 {
			continue // a builtin or a library: nothing to navigate to
		}
		for _, d := range defs {
			if d.Symbol().Kind.Callable() || d.Symbol().Kind == KindClass || d.Symbol().Kind == KindStruct {
				out = append(out, CallSite{SymbolInfo: SymbolInfo{Symbol: *d.Symbol(), Path: d.File.Path}, Calls: calls[name]})
			}
		}
	}
	return out, nil
}

func sortSites(s []CallSite) {
	sort.Slice(s, func(i, j int) bool {
		if s[i].Path != s[j].Path {
			return s[i].Path < s[j].Path
		}
		return s[i].Span.Start.Less(s[j].Span.Start)
	})
}

// WorkspaceSymbols finds symbols whose names match query: exact matches
// first, then prefixes, substrings and finally in-order subsequences
// (case-insensitive), each group by how often the project refers to the
// name. An empty query lists the most referenced symbols.
func (ix *Index) WorkspaceSymbols(ctx context.Context, query string, limit int) []SymbolInfo {
	if limit <= 0 {
		limit = 100
	}
	nt := ix.nameTable()
	q := strings.ToLower(query)
	type hit struct {
		name  string
		id    NameID
		score int
	}
	var hits []hit
	for i, lower := range nt.lower {
		var score int
		switch {
		case q == "":
			score = 4
		case lower == q:
			score = 0
			if nt.names[i] == query {
				score = -1
			}
		case strings.HasPrefix(lower, q):
			score = 1
		case strings.Contains(lower, q):
			score = 2
		case subsequence(lower, q):
			score = 3
		default:
			continue
		}
		hits = append(hits, hit{nt.names[i], nt.ids[i], score})
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	sort.Slice(hits, func(i, j int) bool {
		if hits[i].score != hits[j].score {
			return hits[i].score < hits[j].score
		}
		ri, rj := ix.refCount[hits[i].id], ix.refCount[hits[j].id]
		if ri != rj {
			return ri > rj
		}
		return hits[i].name < hits[j].name
	})
	var out []SymbolInfo
	for _, h := range hits {
		for _, l := range ix.byName[h.name] {
			if l.Symbol().Kind == KindField && q == "" {
				continue
			}
			out = append(out, SymbolInfo{Symbol: *l.Symbol(), Path: l.File.Path})
			if len(out) >= limit {
				return out
			}
		}
	}
	return out
}

func subsequence(s, q string) bool {
	for _, r := range q {
		i := strings.IndexRune(s, r)
		if i < 0 {
			return false
		}
		s = s[i+1:]
	}
	return true
}

// nameTable is a snapshot of the defined names, lower-cased for matching;
// rebuilt only when a name appears or disappears (not on every keystroke).
type nameTable struct {
	gen   uint64
	names []string
	ids   []NameID
	lower []string
}

func (ix *Index) nameTable() *nameTable {
	ix.mu.RLock()
	gen := ix.namesGen
	ix.mu.RUnlock()
	ix.cacheMu.Lock()
	defer ix.cacheMu.Unlock()
	if ix.names != nil && ix.names.gen == gen {
		return ix.names
	}
	ix.mu.RLock()
	nt := &nameTable{gen: ix.namesGen, names: make([]string, 0, len(ix.byName))}
	for name := range ix.byName {
		nt.names = append(nt.names, name)
	}
	ix.mu.RUnlock()
	sort.Strings(nt.names)
	nt.lower = make([]string, len(nt.names))
	nt.ids = make([]NameID, len(nt.names))
	for i, n := range nt.names {
		nt.lower[i] = strings.ToLower(n)
		nt.ids[i] = nameID(n)
	}
	ix.names = nt
	return nt
}
