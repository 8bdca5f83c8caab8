package sandbox

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var escRe = regexp.MustCompile(`\\x[0-9a-fA-F]{2}|\\u[0-9a-fA-F]{4}`)

// loadCorpusLines reads a payload list: one payload per line, "#" comments,
// \xNN (a raw byte) and \uNNNN (a UTF-8 rune) escapes, {LONG} for a name
// over the length limit.
func loadCorpusLines(tb testing.TB, name string) []string {
	tb.Helper()
	f, err := os.Open(name)
	if err != nil {
		tb.Fatalf("open corpus: %v", err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		line = escRe.ReplaceAllStringFunc(line, func(m string) string {
			n, _ := strconv.ParseUint(m[2:], 16, 32)
			if m[1] == 'x' {
				return string([]byte{byte(n)})
			}
			return string(rune(n))
		})
		line = strings.ReplaceAll(line, "{LONG}", strings.Repeat("x", MaxNameLen+1)+"/")
		out = append(out, line)
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return out
}

// world is a data directory with two sibling projects p1 and p10 and a
// canary file outside both, as in a real hub (DATA/projects/p1 vs p10 is the
// classic string-prefix trap).
type world struct {
	data, p1, p10, trash string
	canary, sibling      string // absolute paths of secret files
	secret               string // their content
}

const secretText = "CANARY-SECRET-6b1f"

func newWorld(tb testing.TB) *world {
	tb.Helper()
	d := tb.TempDir()
	w := &world{
		data:  d,
		p1:    filepath.Join(d, "projects", "p1"),
		p10:   filepath.Join(d, "projects", "p10"),
		trash: filepath.Join(d, "trash", "p1"),
	}
	for _, dir := range []string{w.p1, w.p10, filepath.Join(w.p1, "sub", "deep")} {
		must(tb, os.MkdirAll(dir, 0o755))
	}
	w.secret = secretText
	w.canary = filepath.Join(d, "canary.txt")
	w.sibling = filepath.Join(w.p10, "secret.txt")
	must(tb, os.WriteFile(w.canary, []byte(secretText), 0o644))
	must(tb, os.WriteFile(w.sibling, []byte(secretText), 0o644))
	must(tb, os.WriteFile(filepath.Join(w.p1, "hello.txt"), []byte("hello\n"), 0o644))
	must(tb, os.WriteFile(filepath.Join(w.p1, "sub", "deep", "x.go"), []byte("package x\n"), 0o644))
	return w
}

func must(tb testing.TB, err error) {
	tb.Helper()
	if err != nil {
		tb.Fatal(err)
	}
}

// recorder is an Auditor and Observer that keeps what it is told.
type recorder struct {
	mu      sync.Mutex
	events  []Event
	wrote   []string
	removed []string
	renamed [][2]string
}

func (r *recorder) Record(_ context.Context, ev Event) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.mu.Unlock()
}
func (r *recorder) Wrote(rel string, _ os.FileInfo) {
	r.mu.Lock()
	r.wrote = append(r.wrote, rel)
	r.mu.Unlock()
}
func (r *recorder) Removed(rel string) {
	r.mu.Lock()
	r.removed = append(r.removed, rel)
	r.mu.Unlock()
}
func (r *recorder) Renamed(from, to string) {
	r.mu.Lock()
	r.renamed = append(r.renamed, [2]string{from, to})
	r.mu.Unlock()
}

func openTest(tb testing.TB, dir string, pol Policy, opts Options) *Root {
	tb.Helper()
	opts.NoSync = true
	r, err := Open(dir, pol, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { r.Close() })
	return r
}
