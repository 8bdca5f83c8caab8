//go:build linux || darwin || freebsd

package sandbox

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/rubberduckhub/rubberduck/sandbox/ignore"
)

func gitignoreOption(fsys fs.FS) (IgnoreMatcher, error) { return ignore.New(fsys, nil) }

func searchTree(t *testing.T) *world {
	w := newWorld(t)
	files := map[string]string{
		".gitignore":        "build/\n*.log\n",
		"main.go":           "package main\n\nfunc main() {\n\tprintln(\"Hello\")\n}\n",
		"util/strings.go":   "package util\n\n// hello helper\nfunc Hello() string { return \"hello\" }\n",
		"util/.gitignore":   "generated.go\n",
		"util/generated.go": "package util // hello generated\n",
		"build/out.go":      "hello from build\n",
		"debug.log":         "hello log\n",
		".git/config":       "hello git\n",
		"bin.dat":           "hello\x00binary",
		"docs/readme.md":    "Say HELLO\nsay hello again\n",
	}
	for name, content := range files {
		p := filepath.Join(w.p1, name)
		must(t, os.MkdirAll(filepath.Dir(p), 0o755))
		must(t, os.WriteFile(p, []byte(content), 0o644))
	}
	must(t, os.Symlink(w.canary, filepath.Join(w.p1, "out-link.txt")))
	must(t, os.Symlink("../p10", filepath.Join(w.p1, "sibling")))
	return w
}

func collect(t *testing.T, r *Root, q SearchQuery) ([]string, *SearchSummary) {
	t.Helper()
	var got []string
	sum, err := r.Search(context.Background(), q, func(res SearchResult) error {
		if res.Line == 0 {
			got = append(got, res.Path)
		} else {
			got = append(got, res.Path+":"+itoa(res.Line)+":"+itoa(res.Column)+":"+res.Text)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	sort.Strings(got)
	return got, sum
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestSearchSpec(t *testing.T) {
	w := searchTree(t)
	r := openTest(t, w.p1, DefaultPolicy(), Options{Ignore: gitignoreOption})
	got, sum := collect(t, r, SearchQuery{Pattern: "hello", Literal: true})
	want := []string{
		"docs/readme.md:2:5:say hello again",
		"hello.txt:1:1:hello",
		"util/strings.go:3:4:// hello helper",
		"util/strings.go:4:31:func Hello() string { return \"hello\" }",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("literal search:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if sum.SkippedBinary != 1 || sum.Results != 4 {
		t.Fatalf("summary %+v", sum)
	}
	got, _ = collect(t, r, SearchQuery{Pattern: `^func \w+\(`})
	if len(got) != 2 {
		t.Fatalf("regex search: %v", got)
	}
	got, _ = collect(t, r, SearchQuery{Pattern: "hello", IgnoreCase: true, Glob: "*.md"})
	if len(got) != 2 || !strings.HasPrefix(got[0], "docs/readme.md:1:5:Say HELLO") {
		t.Fatalf("ignore-case search: %v", got)
	}
	got, _ = collect(t, r, SearchQuery{Glob: "**/*.go"})
	if strings.Join(got, ",") != "main.go,sub/deep/x.go,util/strings.go" {
		t.Fatalf("name search: %v", got)
	}
	got, _ = collect(t, r, SearchQuery{Glob: "*.go", IncludeIgnored: true})
	if strings.Join(got, ",") != "build/out.go,main.go,sub/deep/x.go,util/generated.go,util/strings.go" {
		t.Fatalf("name search with ignored: %v", got)
	}
	got, _ = collect(t, r, SearchQuery{Path: "util", Pattern: "hello"})
	if len(got) != 2 {
		t.Fatalf("search in subdir: %v", got)
	}
	// The result limit truncates.
	_, sum = collect(t, r, SearchQuery{Pattern: "e", MaxResults: 2})
	if !sum.Truncated || sum.Results != 2 {
		t.Fatalf("limit: %+v", sum)
	}
	// The receiver can stop the search.
	stop := errors.New("enough")
	_, err := r.Search(context.Background(), SearchQuery{Pattern: "e"}, func(SearchResult) error { return stop })
	if CodeOf(err) != Canceled {
		t.Fatalf("receiver stop: %v", err)
	}
	// Cancellation.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Search(ctx, SearchQuery{Pattern: "e"}, func(SearchResult) error { return nil }); CodeOf(err) != Canceled {
		t.Fatalf("cancelled: %v", err)
	}
	// Bad input.
	for _, q := range []SearchQuery{{}, {Pattern: "("}, {Glob: "[x"}, {Path: "../", Pattern: "x"}, {Path: "main.go", Pattern: "x"}} {
		_, err := r.Search(context.Background(), q, func(SearchResult) error { return nil })
		if c := CodeOf(err); c != InvalidArgument && c != InvalidPath && c != NotADirectory {
			t.Fatalf("query %+v: %v", q, err)
		}
	}
	// Denied paths are not searched.
	must(t, r.SetPolicy(Policy{Enabled: true, Deny: []string{"docs"}}))
	got, _ = collect(t, r, SearchQuery{Pattern: "hello", IgnoreCase: true})
	for _, g := range got {
		if strings.HasPrefix(g, "docs/") {
			t.Fatalf("denied path searched: %v", got)
		}
	}
}

func TestAuditSymlinks(t *testing.T) {
	w := newWorld(t)
	p := w.p1
	must(t, os.Symlink("hello.txt", filepath.Join(p, "ok")))
	must(t, os.Symlink(w.canary, filepath.Join(p, "abs-out")))
	must(t, os.Symlink(filepath.Join(p, "hello.txt"), filepath.Join(p, "abs-in")))
	must(t, os.Symlink("../../p10/secret.txt", filepath.Join(p, "sub", "rel-out")))
	must(t, os.Symlink("missing", filepath.Join(p, "sub", "deep", "dangling")))
	must(t, os.Symlink("l2", filepath.Join(p, "l1")))
	must(t, os.Symlink("l1", filepath.Join(p, "l2")))
	must(t, os.Symlink("abs-out", filepath.Join(p, "via")))
	r := openTest(t, p, DefaultPolicy(), Options{})
	rep, err := r.AuditSymlinks(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range rep.Findings {
		got[f.Path] = f.Problem
		if strings.Contains(f.Target, w.data) {
			t.Errorf("finding shows a server path: %+v", f)
		}
	}
	want := map[string]string{
		"abs-out": ProblemEscapes, "abs-in": ProblemAbsolute, "sub/rel-out": ProblemEscapes,
		"sub/deep/dangling": ProblemDangling, "l1": ProblemLoop, "l2": ProblemLoop, "via": ProblemEscapes,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q want %q", k, got[k], v)
		}
	}
	if _, ok := got["ok"]; ok || rep.Symlinks != 8 {
		t.Errorf("report %+v", rep)
	}
}

func TestFoldFinder(t *testing.T) {
	for _, tc := range []struct {
		needle, text string
		want         int
	}{
		{"needle", "a NeEdLe here", 2},
		{"needle", "needl", -1},
		{"needle", "xxNEEDLE", 2},
		{"q_x", "Q_Xq_x", 0},
		{"zz", "aZzZ", 1},
		{"a(b", "xxA(B", 2},
		{"ab", "", -1},
	} {
		f := newFoldFinder([]byte(tc.needle))
		if got := f.index([]byte(tc.text), 0); got != tc.want {
			t.Errorf("find %q in %q = %d, want %d", tc.needle, tc.text, got, tc.want)
		}
	}
}

// TestFoldFinderAgainstNaive compares the rare-byte finder with a plain
// lowered search on random ASCII text.
func TestFoldFinderAgainstNaive(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	const alphabet = "aAbBcC_( "
	gen := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return b
	}
	for range 20000 {
		needle := lowerASCII(gen(1 + rng.IntN(4)))
		text := gen(rng.IntN(40))
		want := bytes.Index(lowerASCII(bytes.Clone(text)), needle)
		for _, common := range []bool{false, true} {
			f := newFoldFinder(needle)
			f.common = common
			if got := f.index(text, 0); got != want {
				t.Fatalf("find %q in %q (common %v) = %d, want %d", needle, text, common, got, want)
			}
		}
	}
}

func TestLiteralOf(t *testing.T) {
	for _, tc := range []struct {
		expr, lit string
		ic, fold  bool
		ok        bool
	}{
		{"NeedleHandler", "NeedleHandler", false, false, true},
		{"NeedleHandler", "needlehandler", true, true, true},
		{`a\.b`, "a.b", false, false, true},
		{`a.b`, "", false, false, false},
		{"straße", "", true, false, false}, // non-ASCII folding stays with regexp
		{"straße", "straße", false, false, true},
	} {
		lit, fold, ok := literalOf(tc.expr, tc.ic)
		if lit != tc.lit || fold != tc.fold || ok != tc.ok {
			t.Errorf("literalOf(%q, %v) = %q %v %v", tc.expr, tc.ic, lit, fold, ok)
		}
	}
}

func TestSearchIsLineOriented(t *testing.T) {
	w := newWorld(t)
	must(t, os.WriteFile(filepath.Join(w.p1, "two.txt"), []byte("alpha\nbeta x\nalpha beta\n"), 0o644))
	r := openTest(t, w.p1, DefaultPolicy(), Options{})
	got, _ := collect(t, r, SearchQuery{Pattern: `alpha\s+beta`})
	if strings.Join(got, "|") != "two.txt:3:1:alpha beta" {
		t.Fatalf("got %v", got)
	}
	// Without a required literal the regexp runs over the whole buffer;
	// results must still be per line.
	got, _ = collect(t, r, SearchQuery{Pattern: `a\s+b`})
	if strings.Join(got, "|") != "two.txt:3:5:alpha beta" {
		t.Fatalf("got %v", got)
	}
}
