package index_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/intel/index"
)

// fixtures indexes hub/intel/testdata, one small project per language.
func fixtures(t testing.TB) *index.Index {
	t.Helper()
	fsys := os.DirFS("../testdata")
	paths, err := index.Walk(fsys, ".")
	if err != nil {
		t.Fatal(err)
	}
	ix := index.New(index.FSSource(fsys), index.Options{})
	t.Cleanup(ix.Close)
	if err := ix.Update(context.Background(), paths); err != nil {
		t.Fatal(err)
	}
	return ix
}

func symbolLines(f *index.File) []string {
	var out []string
	for _, s := range f.Symbols {
		line := fmt.Sprintf("%s %s @%d", s.Kind, s.Name, s.Sel.Start.Line)
		if s.Container != "" {
			line = fmt.Sprintf("%s %s.%s @%d", s.Kind, s.Container, s.Name, s.Sel.Start.Line)
		}
		out = append(out, line)
	}
	return out
}

func TestFixtureSymbols(t *testing.T) {
	ix := fixtures(t)
	tests := []struct {
		path string
		want []string
	}{
		{"go/shapes.go", []string{
			"interface Shape @8", "method Shape.Area @9", "struct Circle @13", "field Circle.Radius @14",
			"constant Pi @17", "variable registry @19", "method Circle.Area @21", "function Describe @25",
			"function Classify @35", "function Register @49",
		}},
		{"python/geometry.py", []string{
			"variable SCALE @3", "class Point @6", "method Point.__init__ @7", "method Point.norm @11",
			"function distance @15", "function classify @21", "function main @32",
		}},
		{"js/cart.js", []string{
			"class Cart @2", "method Cart.constructor @3", "method Cart.add @7", "method Cart.total @14",
			"function checkout @23", "function helper @28",
		}},
		{"ts/store.ts", []string{
			"interface Repository @2", "method Repository.get @3", "method Repository.put @4", "type Id @7",
			"enum Mode @9", "class MemoryStore @14", "field MemoryStore.data @15", "method MemoryStore.get @17",
			"method MemoryStore.put @21", "function load @29",
		}},
		{"ts/view.tsx", []string{"interface Props @2", "field Props.store @3", "function List @6"}},
		{"rust/lib.rs", []string{
			"struct Counter @2", "field Counter.counts @3", "interface Tally @6", "method Tally.tally @7",
			"method Counter.new @11", "method Counter.tally @17", "function count_words @24",
		}},
		{"markdown/README.md", []string{
			"heading Project @0", "heading Project.Install @4", "heading Install.From source @8", "heading Project.Usage @12",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			f := ix.File(tt.path)
			if f == nil {
				t.Fatalf("%s is not indexed", tt.path)
			}
			if got := symbolLines(f); !slices.Equal(got, tt.want) {
				t.Errorf("symbols\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

func TestFixtureMetrics(t *testing.T) {
	ix := fixtures(t)
	// complexity/nesting/lines per function: McCabe counts if, loops,
	// cases, catch, ternaries and each && / ||; "else if" does not nest.
	tests := []struct {
		path string
		want map[string]index.Metrics
	}{
		{"go/shapes.go", map[string]index.Metrics{
			"Area": {1, 0, 3}, "Describe": {4, 1, 9}, "Classify": {5, 4, 13}, "Register": {1, 0, 5},
		}},
		{"python/geometry.py", map[string]index.Metrics{
			"__init__": {1, 0, 3}, "norm": {1, 0, 2}, "distance": {1, 0, 4}, "classify": {6, 3, 9}, "main": {1, 0, 3},
		}},
		{"js/cart.js", map[string]index.Metrics{
			"constructor": {1, 0, 3}, "add": {3, 1, 6}, "total": {2, 1, 7}, "checkout": {2, 0, 4},
		}},
		{"ts/store.ts", map[string]index.Metrics{"get": {1, 0, 3}, "put": {2, 1, 6}, "load": {3, 2, 10}}},
		{"rust/lib.rs", map[string]index.Metrics{"new": {1, 0, 3}, "tally": {1, 0, 5}, "count_words": {6, 2, 13}}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			ms, err := ix.Metrics(context.Background(), tt.path)
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]index.Metrics{}
			for _, m := range ms {
				got[m.Name] = m.Metrics
			}
			for name, want := range tt.want {
				if got[name] != want {
					t.Errorf("%s: got %+v, want %+v", name, got[name], want)
				}
			}
		})
	}
}

func locs(ls []index.Location) []string {
	out := make([]string, 0, len(ls))
	for _, l := range ls {
		out = append(out, fmt.Sprintf("%s:%d:%d", l.Path, l.Span.Start.Line, l.Span.Start.Col))
	}
	return out
}

func TestFixtureNavigation(t *testing.T) {
	ix := fixtures(t)
	ctx := context.Background()
	tests := []struct {
		name     string
		path     string
		at       index.Pos
		wantDef  []string
		wantRefs []string // declaration excluded
	}{
		{"go: a function by name", "go/shapes.go", index.Pos{Line: 40, Col: 8},
			[]string{"go/shapes.go:25:5"}, []string{"go/shapes.go:40:7"}},
		{"go: an interface used as a type", "go/shapes.go", index.Pos{Line: 25, Col: 17},
			[]string{"go/shapes.go:8:5"}, []string{"go/shapes.go:19:26", "go/shapes.go:25:16", "go/shapes.go:35:22", "go/shapes.go:49:29"}},
		{"go: a local stays in its function", "go/shapes.go", index.Pos{Line: 41, Col: 5},
			[]string{"go/shapes.go:36:1"}, []string{"go/shapes.go:41:5", "go/shapes.go:46:8"}},
		{"go: a range variable", "go/shapes.go", index.Pos{Line: 40, Col: 16},
			[]string{"go/shapes.go:37:8"}, []string{"go/shapes.go:38:5", "go/shapes.go:40:16"}},
		{"python: a class across calls", "python/geometry.py", index.Pos{Line: 33, Col: 9},
			[]string{"python/geometry.py:6:6"}, []string{"python/geometry.py:33:8", "python/geometry.py:34:22"}},
		{"python: a local, not the parameter of the same name elsewhere", "python/geometry.py", index.Pos{Line: 34, Col: 19},
			[]string{"python/geometry.py:33:4"}, []string{"python/geometry.py:34:19", "python/geometry.py:34:46"}},
		{"python: self.x is an attribute, not the parameter x", "python/geometry.py", index.Pos{Line: 8, Col: 17},
			[]string{"python/geometry.py:7:23"}, []string{"python/geometry.py:8:17"}},
		{"js: a let in a method", "js/cart.js", index.Pos{Line: 17, Col: 7},
			[]string{"js/cart.js:15:8"}, []string{"js/cart.js:17:6", "js/cart.js:19:11"}},
		{"js: a function called from an arrow function", "js/cart.js", index.Pos{Line: 28, Col: 23},
			[]string{"js/cart.js:23:16"}, []string{"js/cart.js:28:22"}},
		{"ts/tsx: a class across files", "ts/view.tsx", index.Pos{Line: 3, Col: 10},
			[]string{"ts/store.ts:14:13"}, []string{"ts/store.ts:29:28", "ts/view.tsx:0:9", "ts/view.tsx:3:9"}},
		{"rust: a struct through impl blocks", "rust/lib.rs", index.Pos{Line: 25, Col: 17},
			[]string{"rust/lib.rs:2:11"}, []string{"rust/lib.rs:10:5", "rust/lib.rs:12:8", "rust/lib.rs:16:15", "rust/lib.rs:25:16"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def, err := ix.Definition(ctx, tt.path, tt.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := locs(def); !slices.Equal(got, tt.wantDef) {
				t.Errorf("definition: got %q, want %q", got, tt.wantDef)
			}
			refs, err := ix.References(ctx, tt.path, tt.at, false)
			if err != nil {
				t.Fatal(err)
			}
			if got := locs(refs); !slices.Equal(got, tt.wantRefs) {
				t.Errorf("references: got %q, want %q", got, tt.wantRefs)
			}
		})
	}
}

func TestFixtureCallsAndDependencies(t *testing.T) {
	ix := fixtures(t)
	ctx := context.Background()
	in, err := ix.IncomingCalls(ctx, "go/shapes.go", index.Pos{Line: 25, Col: 6})
	if err != nil {
		t.Fatal(err)
	}
	if len(in) != 1 || in[0].Name != "Classify" || len(in[0].Calls) != 1 {
		t.Errorf("incoming calls of Describe: %+v", in)
	}
	out, err := ix.OutgoingCalls(ctx, "python/geometry.py", index.Pos{Line: 33, Col: 5})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range out {
		names = append(names, c.Name)
	}
	if !slices.Equal(names, []string{"Point", "distance", "classify"}) {
		t.Errorf("outgoing calls of main: %q", names)
	}

	var deps []string
	for _, d := range ix.Dependencies(ctx, "") {
		deps = append(deps, fmt.Sprintf("%s -> %s ext=%v", d.From, d.To, d.External))
	}
	want := []string{
		"go/shapes.go -> fmt ext=true", "go/shapes.go -> math ext=true",
		"js/cart.js -> ./format.js ext=true",
		"markdown/README.md -> docs/guide.md ext=true",
		"python/geometry.py -> math ext=true", "python/geometry.py -> collections ext=true",
		"rust/lib.rs -> std::collections::HashMap ext=true",
		"ts/store.ts -> ./item ext=true",
		"ts/view.tsx -> ts/store.ts ext=false",
	}
	if !slices.Equal(deps, want) {
		t.Errorf("dependencies\n got %q\nwant %q", deps, want)
	}
}

func TestWorkspaceSymbolsAndRepoMap(t *testing.T) {
	ix := fixtures(t)
	ctx := context.Background()
	var got []string
	for _, s := range ix.WorkspaceSymbols(ctx, "stor", 10) {
		got = append(got, s.Path+":"+s.Name)
	}
	if len(got) == 0 || got[0] != "ts/store.ts:MemoryStore" && got[0] != "ts/view.tsx:store" {
		t.Errorf("workspace symbols for stor: %q", got)
	}
	m := ix.RepoMap(ctx, nil, 200)
	if !strings.Contains(m, "ts/store.ts:\n") || !strings.Contains(m, "│export class MemoryStore") {
		t.Errorf("repo map lacks the class every other file uses:\n%s", m)
	}
	if len(m) > 800 {
		t.Errorf("repo map is %d bytes, over the 200-token budget", len(m))
	}
}
