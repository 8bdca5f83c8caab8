//go:build linux || darwin || freebsd

package sandbox

import (
	"context"
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// sharedTraversal is the attack-list directory every developer and CI run
// has beside the checkout (sandbox -> ../../shared).
const sharedTraversal = "../../shared/testdata/traversal"

// TestTraversalLists replays public path-traversal payload lists and our own
// (testdata/traversal_extra.txt) against every entry point that takes a
// path. {FILE} becomes, in turn, a canary beside the projects directory, a
// canary in the sibling project p10 (the /srv/p1 vs /srv/p10 trap) and the
// canary's absolute path. The property: no secret byte comes back, nothing
// outside p1 changes, and no payload causes an unexpected (internal) error.
func TestTraversalLists(t *testing.T) {
	t.Run("shared", func(t *testing.T) {
		if _, err := os.Stat(sharedTraversal); err != nil {
			t.Skipf("%s not found: the shared attack lists are present for developers and CI (see ../shared/README.md)", sharedTraversal)
		}
		var payloads []string
		for _, name := range []string{"deep_traversal.txt", "directory_traversal.txt"} {
			b, err := os.ReadFile(filepath.Join(sharedTraversal, name))
			must(t, err)
			for _, line := range strings.Split(string(b), "\n") {
				if line = strings.TrimSuffix(line, "\r"); line != "" {
					payloads = append(payloads, line)
				}
			}
		}
		replayTraversal(t, payloads)
	})
	t.Run("own", func(t *testing.T) {
		replayTraversal(t, loadCorpusLines(t, "testdata/traversal_extra.txt"))
	})
}

func replayTraversal(t *testing.T, payloads []string) {
	w := newWorld(t)
	must(t, os.WriteFile(filepath.Join(w.data, "projects", "canary.txt"), []byte(secretText), 0o644))
	must(t, os.WriteFile(filepath.Join(w.p10, "canary.txt"), []byte(secretText), 0o644))
	// Links a hostile repository could contain.
	must(t, os.Symlink("../p10", filepath.Join(w.p1, "p10")))
	must(t, os.Symlink(w.data, filepath.Join(w.p1, "data")))
	must(t, os.Symlink("../../canary.txt", filepath.Join(w.p1, "canary.txt")))
	r := openTest(t, w.p1, DefaultPolicy(), Options{TrashDir: w.trash})
	ctx := context.Background()
	before := snapshotOutside(t, w)

	targets := []string{"canary.txt", "p10/secret.txt", "projects/p10/secret.txt", w.canary[1:], w.canary}
	if testing.Short() {
		targets = targets[:2] // the escape to the canary and to the sibling project
	}
	var ops, refused, internal int
	spent := map[string]time.Duration{}
	last := time.Now()
	check := func(op, p string, err error) {
		now := time.Now()
		spent[op] += now.Sub(last)
		last = now
		ops++
		if err == nil {
			return
		}
		refused++
		if CodeOf(err) == Internal {
			internal++
			t.Errorf("%s %q: internal error: %v", op, p, err)
		}
		// Echoing the client's own (project-relative) input is fine.
		if strings.Contains(err.Error(), w.data) && !strings.Contains(p, w.data[1:]) {
			t.Errorf("%s %q: error shows a server path: %v", op, p, err)
		}
	}
	leak := func(op, p, content string) {
		if strings.Contains(content, secretText) || strings.Contains(content, "root:x:0:0") || strings.Contains(content, "[fonts]") {
			t.Errorf("%s %q LEAKED: %.60q", op, p, content)
		}
	}
	// Pass 1: operations that only read, on the pristine tree.
	for _, raw := range payloads {
		for _, target := range targets {
			p := strings.ReplaceAll(raw, "{FILE}", target)
			last = time.Now()
			f, err := r.Read(ctx, p)
			check("read", p, err)
			if err == nil {
				leak("read", p, f.Content)
			}
			_, err = r.Stat(ctx, p)
			check("stat", p, err)
			l, err := r.List(ctx, p, ListOptions{})
			check("list", p, err)
			if err == nil {
				if l.Path == "p10" || l.Path == "data" {
					t.Errorf("list %q followed a link out of the project", p)
				}
				for _, e := range l.Entries {
					if _, lerr := os.Lstat(filepath.Join(w.p1, filepath.FromSlash(l.Path), e.Name)); lerr != nil {
						t.Errorf("list %q shows %q which is not inside p1", p, e.Name)
					}
				}
			}
			_, err = r.Search(ctx, SearchQuery{Path: p, Pattern: secretText, Literal: true}, func(res SearchResult) error {
				t.Errorf("search %q LEAKED %s:%d", p, res.Path, res.Line)
				return nil
			})
			check("search", p, err)
			_, err = r.Search(ctx, SearchQuery{Glob: p, Pattern: secretText, Literal: true}, func(res SearchResult) error {
				t.Errorf("search glob %q LEAKED %s:%d", p, res.Path, res.Line)
				return nil
			})
			check("search-glob", p, err)
		}
	}
	// Pass 2: mutations.
	for i, raw := range payloads {
		for _, target := range targets {
			p := strings.ReplaceAll(raw, "{FILE}", target)
			last = time.Now()
			_, err := r.Write(ctx, WriteRequest{Path: p, Content: "PWNED"})
			check("write", p, err)
			_, err = r.Create(ctx, WriteRequest{Path: p, Content: "PWNED"})
			check("create", p, err)
			_, err = r.Mkdir(ctx, p, true)
			check("mkdir", p, err)
			// Rename both ways, then put hello.txt back for the next round.
			_, err = r.Rename(ctx, "hello.txt", p)
			check("rename-to", p, err)
			if err == nil {
				_, err = r.Rename(ctx, p, "hello.txt")
				check("rename-back", p, err)
			}
			_, err = r.Rename(ctx, p, "moved-"+itoa(i))
			check("rename-from", p, err)
			_, err = r.Delete(ctx, p)
			check("delete", p, err)
		}
	}
	// Whatever the mutations left inside p1 must still not lead out.
	_, err := r.Search(ctx, SearchQuery{Pattern: secretText, Literal: true, IncludeIgnored: true}, func(res SearchResult) error {
		t.Errorf("final search LEAKED %s:%d", res.Path, res.Line)
		return nil
	})
	check("search-all", ".", err)
	after := snapshotOutside(t, w)
	for name, sum := range before {
		if after[name] != sum {
			t.Errorf("outside the project, %s changed", name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("outside the project, %s appeared", name)
		}
	}
	t.Logf("%d payloads x %d targets: %d operations, %d refused, %d internal errors, 0 leaks",
		len(payloads), len(targets), ops, refused, internal)
	t.Logf("time per operation kind: %v", spent)
}

// snapshotOutside hashes every file under the data directory except p1 and
// its trash.
func snapshotOutside(t *testing.T, w *world) map[string][32]byte {
	t.Helper()
	out := map[string][32]byte{}
	err := filepath.WalkDir(w.data, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == w.p1 || p == filepath.Dir(w.trash) {
			return filepath.SkipDir
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[p] = sha256.Sum256(b)
		} else if !d.IsDir() {
			out[p] = sha256.Sum256([]byte(d.Type().String()))
		}
		return nil
	})
	must(t, err)
	return out
}

// FuzzOperations feeds arbitrary paths to read, list, stat and write on a
// project with hostile links: nothing may leak, nothing outside may change,
// and no input may cause an internal error or a panic.
func FuzzOperations(f *testing.F) {
	for _, s := range loadCorpusLines(f, "testdata/traversal_extra.txt") {
		f.Add(strings.ReplaceAll(s, "{FILE}", "canary.txt"))
	}
	for _, s := range []string{"out", "out/x", "dirout/canary.txt", "p10/secret.txt", "hello.txt", ".", ""} {
		f.Add(s)
	}
	w := newWorld(f)
	must(f, os.Symlink("../../canary.txt", filepath.Join(w.p1, "out")))
	must(f, os.Symlink("../..", filepath.Join(w.p1, "dirout")))
	must(f, os.Symlink("../p10", filepath.Join(w.p1, "p10")))
	r := openTest(f, w.p1, DefaultPolicy(), Options{})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, p string) {
		if fl, err := r.Read(ctx, p); err == nil && strings.Contains(fl.Content, secretText) {
			t.Fatalf("read %q leaked", p)
		} else if CodeOf(err) == Internal {
			t.Fatalf("read %q: %v", p, err)
		}
		if l, err := r.List(ctx, p, ListOptions{Limit: 5}); err == nil && (l.Path == "p10" || l.Path == "dirout") {
			t.Fatalf("list %q followed a link out", p)
		} else if CodeOf(err) == Internal {
			t.Fatalf("list %q: %v", p, err)
		}
		if _, err := r.Stat(ctx, p); CodeOf(err) == Internal {
			t.Fatalf("stat %q: %v", p, err)
		}
		if _, err := r.Write(ctx, WriteRequest{Path: p, Content: "FUZZ"}); CodeOf(err) == Internal {
			t.Fatalf("write %q: %v", p, err)
		}
		for _, q := range []string{w.canary, w.sibling} {
			if b, _ := os.ReadFile(q); string(b) != secretText {
				t.Fatalf("write %q changed %s", p, q)
			}
		}
	})
}
