package index_test

import (
	"context"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/intel/index"
)

// TestIncrementalEditsMatchFreshParse types and deletes at random places in
// every fixture: after each edit, the incrementally re-parsed document must
// read exactly like a fresh parse of the same text.
func TestIncrementalEditsMatchFreshParse(t *testing.T) {
	ctx := context.Background()
	inserts := []string{"x", " ", "\n", "(", "}", "if a { b() }\n", "é", "// c\n", "def f(y):\n    return y\n"}
	for _, rel := range []string{"go/shapes.go", "python/geometry.py", "js/cart.js", "ts/store.ts", "ts/view.tsx", "rust/lib.rs", "markdown/README.md"} {
		t.Run(rel, func(t *testing.T) {
			src, err := os.ReadFile("../testdata/" + rel)
			if err != nil {
				t.Fatal(err)
			}
			ix := index.New(index.FSSource(os.DirFS("../testdata")), index.Options{})
			defer ix.Close()
			if err := ix.Open(ctx, rel, string(src)); err != nil {
				t.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, uint64(len(rel))))
			text := string(src)
			for i := 0; i < 150; i++ {
				at := rng.IntN(len(text) + 1)
				var e index.Edit
				if rng.IntN(3) == 0 && at < len(text) {
					end := min(len(text), at+1+rng.IntN(8))
					e = index.Edit{Start: at, End: end}
				} else {
					e = index.Edit{Start: at, End: at, Text: inserts[rng.IntN(len(inserts))]}
				}
				text = text[:e.Start] + e.Text + text[e.End:]
				if err := ix.Edit(ctx, rel, e); err != nil {
					t.Fatal(err)
				}
				fresh, err := index.ExtractFile(ctx, rel, []byte(text))
				if err != nil {
					t.Fatal(err)
				}
				got := ix.File(rel)
				if !slices.Equal(symbolLines(got), symbolLines(fresh)) {
					t.Fatalf("edit %d (%+v): incremental\n%q\nfresh\n%q", i, e, symbolLines(got), symbolLines(fresh))
				}
				for what, pair := range map[string][2]any{
					"symbols": {got.Symbols, fresh.Symbols}, "refs": {got.Refs, fresh.Refs},
					"locals": {got.Locals, fresh.Locals}, "imports": {got.Imports, fresh.Imports},
				} {
					if !reflect.DeepEqual(pair[0], pair[1]) {
						t.Fatalf("edit %d (%+v): %s differ\nincremental %v\nfresh       %v", i, e, what, pair[0], pair[1])
					}
				}
			}
			// Sync with the original text is one edit back.
			if err := ix.Sync(ctx, rel, string(src)); err != nil {
				t.Fatal(err)
			}
			want, _ := index.ExtractFile(ctx, rel, src)
			if !slices.Equal(symbolLines(ix.File(rel)), symbolLines(want)) {
				t.Errorf("after Sync back: %q", symbolLines(ix.File(rel)))
			}
		})
	}
}

// TestWatcherFeed: Update picks up new and changed files, Remove drops
// files and directories, and open documents keep their live text.
func TestWatcherFeed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	write := func(name, text string) {
		t.Helper()
		if err := os.MkdirAll(dir+"/pkg", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dir+"/"+name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("pkg/a.go", "package pkg\n\nfunc A() {}\n")
	write("pkg/b.go", "package pkg\n\nfunc B() { A() }\n")
	ix := index.New(index.FSSource(os.DirFS(dir)), index.Options{})
	defer ix.Close()
	if err := ix.Update(ctx, []string{"pkg/a.go", "pkg/b.go", "notes.txt"}); err != nil {
		t.Fatal(err)
	}
	if len(ix.Defs("A")) != 1 || len(ix.NameReferences("A", false)) != 1 {
		t.Fatalf("A: defs %d refs %d", len(ix.Defs("A")), len(ix.NameReferences("A", false)))
	}
	write("pkg/a.go", "package pkg\n\nfunc Renamed() {}\n")
	if err := ix.Update(ctx, []string{"pkg/a.go"}); err != nil {
		t.Fatal(err)
	}
	if len(ix.Defs("A")) != 0 || len(ix.Defs("Renamed")) != 1 {
		t.Errorf("a change on disk was not picked up")
	}
	// An open document is not overwritten by the disk.
	if err := ix.Open(ctx, "pkg/b.go", "package pkg\n\nfunc Live() {}\n"); err != nil {
		t.Fatal(err)
	}
	if err := ix.Update(ctx, []string{"pkg/b.go"}); err != nil {
		t.Fatal(err)
	}
	if len(ix.Defs("Live")) != 1 {
		t.Errorf("the watcher overwrote an open document")
	}
	if err := os.Remove(dir + "/pkg/a.go"); err != nil {
		t.Fatal(err)
	}
	if err := ix.Update(ctx, []string{"pkg/a.go"}); err != nil {
		t.Fatal(err)
	}
	if ix.File("pkg/a.go") != nil {
		t.Error("a deleted file stayed in the index")
	}
	if err := ix.CloseDoc(ctx, "pkg/b.go"); err != nil {
		t.Fatal(err)
	}
	if len(ix.Defs("B")) != 1 {
		t.Error("closing a document did not go back to the disk's text")
	}
	ix.Remove([]string{"pkg"})
	if st := ix.Stats(); st.Files != 0 {
		t.Errorf("removing the directory left %d files", st.Files)
	}
}
