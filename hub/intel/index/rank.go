package index

import (
	"context"
	"math"
	"sort"
	"strings"
	"time"
	"unicode"
)

// RankedSymbol is a definition with its importance for the repository map.
type RankedSymbol struct {
	SymbolInfo
	Rank float64 `json:"rank"`
}

type rankCache struct {
	gen   uint64
	focus string
	at    time.Time
	syms  []RankedSymbol
}

// rankFresh is how long a ranking is served after the index changed: a
// repository map is a summary, and ranking a tree the size of Go's
// standard library takes seconds, so it is not redone for every
// keystroke between two questions.
const rankFresh = 10 * time.Second

// Ranked orders the project's definitions the way Aider's repository map
// does: files are nodes of a graph with an edge from each file to the
// files defining the names it references (weighted by the square root of
// the count, more for long specific names and names the focus files use,
// less for private names and names defined in many places); PageRank over
// that graph, personalised towards focus (typically the asker's open
// documents), is then shared out along each file's edges to the
// definitions it points at.
func (ix *Index) Ranked(ctx context.Context, focus []string) []RankedSymbol {
	key := strings.Join(focus, "\x00")
	ix.mu.RLock()
	gen := ix.gen
	ix.mu.RUnlock()
	ix.cacheMu.Lock()
	if c := ix.ranks; c != nil && c.focus == key && (c.gen == gen || time.Since(c.at) < rankFresh) {
		ix.cacheMu.Unlock()
		return c.syms
	}
	ix.cacheMu.Unlock()

	ix.mu.RLock()
	syms, g := ix.rankLocked(focus)
	ix.mu.RUnlock()
	ix.cacheMu.Lock()
	ix.ranks = &rankCache{gen: g, focus: key, at: time.Now(), syms: syms}
	ix.cacheMu.Unlock()
	return syms
}

type edge struct {
	src, dst int
	name     string
	w        float64
}

func (ix *Index) rankLocked(focus []string) ([]RankedSymbol, uint64) {
	paths := make([]string, 0, len(ix.files))
	for p := range ix.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	node := make(map[string]int, len(paths))
	for i, p := range paths {
		node[p] = i
	}
	isFocus := map[int]bool{}
	focusNames := map[NameID]bool{}
	for _, p := range focus {
		if i, ok := node[p]; ok {
			isFocus[i] = true
			for _, r := range ix.files[p].Refs {
				focusNames[r.ID] = true
			}
		}
	}

	var edges []edge
	out := make([]float64, len(paths))
	counts := map[NameID]int{}
	defined := map[NameID]string{}
	for name := range ix.byName {
		defined[nameID(name)] = name
	}
	for src, p := range paths {
		clear(counts)
		for _, r := range ix.files[p].Refs {
			if _, ok := defined[r.ID]; ok {
				counts[r.ID]++
			}
		}
		for id, n := range counts {
			name := defined[id]
			defs := ix.byName[name]
			if len(defs) > maxDefiners {
				continue
			}
			mul := nameWeight(name, len(defs))
			if focusNames[id] {
				mul *= 10
			}
			if isFocus[src] {
				mul *= 50
			}
			seen := map[int]bool{}
			for _, d := range defs {
				dst := node[d.File.Path]
				if seen[dst] {
					continue
				}
				seen[dst] = true
				w := mul * math.Sqrt(float64(n))
				edges = append(edges, edge{src: src, dst: dst, name: name, w: w})
				out[src] += w
			}
		}
	}
	rank := pagerank(len(paths), edges, out, isFocus)

	// Share each file's rank out to the definitions its edges point at.
	type key struct {
		file int
		name string
	}
	share := map[key]float64{}
	for _, e := range edges {
		share[key{e.dst, e.name}] += rank[e.src] * e.w / out[e.src]
	}
	var syms []RankedSymbol
	for k, r := range share {
		f := ix.files[paths[k.file]]
		for _, s := range f.Symbols {
			if s.Name == k.name {
				syms = append(syms, RankedSymbol{SymbolInfo: SymbolInfo{Symbol: s, Path: f.Path}, Rank: r})
			}
		}
	}
	sort.Slice(syms, func(i, j int) bool {
		if syms[i].Rank != syms[j].Rank {
			return syms[i].Rank > syms[j].Rank
		}
		if syms[i].Path != syms[j].Path {
			return syms[i].Path < syms[j].Path
		}
		return syms[i].Span.Start.Less(syms[j].Span.Start)
	})
	return syms, ix.gen
}

// maxDefiners leaves out names defined in more places than this (String,
// Error, Close...): they say nothing about how files relate, and their
// edges (every referencing file to every defining one) would dominate the
// cost of ranking a large tree.
const maxDefiners = 32

// nameWeight is Aider's heuristic: long, specific names matter; private
// names and names defined all over the place matter less.
func nameWeight(name string, defs int) float64 {
	w := 1.0
	if len(name) >= 8 && (strings.ContainsRune(name, '_') || hasInnerUpper(name)) {
		w *= 10
	}
	if strings.HasPrefix(name, "_") {
		w *= 0.1
	}
	if defs > 5 {
		w *= 0.1
	}
	return w
}

func hasInnerUpper(s string) bool {
	for i, r := range s {
		if i > 0 && unicode.IsUpper(r) {
			return true
		}
	}
	return false
}

// pagerank runs the power iteration with damping 0.85; dangling files and
// the teleport go to the focus files if any, else everywhere.
func pagerank(n int, edges []edge, out []float64, focus map[int]bool) []float64 {
	if n == 0 {
		return nil
	}
	pers := make([]float64, n)
	if len(focus) > 0 {
		for i := range focus {
			pers[i] = 1 / float64(len(focus))
		}
	} else {
		for i := range pers {
			pers[i] = 1 / float64(n)
		}
	}
	rank := append([]float64(nil), pers...)
	next := make([]float64, n)
	const d = 0.85
	for iter := 0; iter < 40; iter++ {
		dangling := 0.0
		for i, r := range rank {
			if out[i] == 0 {
				dangling += r
			}
		}
		for i := range next {
			next[i] = (1-d)*pers[i] + d*dangling*pers[i]
		}
		for _, e := range edges {
			next[e.dst] += d * rank[e.src] * e.w / out[e.src]
		}
		diff := 0.0
		for i := range rank {
			diff += math.Abs(next[i] - rank[i])
		}
		rank, next = next, rank
		if diff < 1e-6 {
			break
		}
	}
	return rank
}

// RepoMap renders the top-ranked definitions, grouped by file, within
// maxTokens (estimated at four bytes a token), in Aider's format:
//
//	path/to/file.go:
//	│func Describe(s Shape) string
//
// It returns "" for an empty project.
func (ix *Index) RepoMap(ctx context.Context, focus []string, maxTokens int) string {
	syms := ix.Ranked(ctx, focus)
	if maxTokens <= 0 {
		maxTokens = 1024
	}
	budget := maxTokens * 4
	// Binary search for the most definitions whose rendering fits.
	lo, hi := 0, len(syms)
	best := ""
	for lo <= hi {
		mid := (lo + hi) / 2
		s := render(syms[:mid])
		if len(s) <= budget {
			best = s
			lo = mid + 1
		} else {
			hi = mid - 1
		}
	}
	return best
}

func render(syms []RankedSymbol) string {
	byFile := map[string][]RankedSymbol{}
	var order []string
	for _, s := range syms {
		if _, ok := byFile[s.Path]; !ok {
			order = append(order, s.Path)
		}
		byFile[s.Path] = append(byFile[s.Path], s)
	}
	var b strings.Builder
	for _, p := range order {
		list := byFile[p]
		sort.Slice(list, func(i, j int) bool { return list[i].Span.Start.Less(list[j].Span.Start) })
		b.WriteString(p)
		b.WriteString(":\n")
		for _, s := range list {
			b.WriteString("│")
			sig := s.Sig
			if sig == "" {
				sig = s.Name
			}
			if s.Container != "" && !strings.Contains(sig, s.Container) && s.Kind != KindHeading {
				sig = s.Container + ": " + sig
			}
			b.WriteString(sig)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
