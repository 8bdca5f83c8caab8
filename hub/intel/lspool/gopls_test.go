package lspool_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/intel/lspool"
)

// toolDirs are where `make tools` installs language servers for tests
// (GOBIN=$(CURDIR)/.tools/bin), besides PATH.
func toolDirs() []string {
	dirs := []string{filepath.Join("..", "..", "..", ".tools", "bin")}
	if d := os.Getenv("RUBBERDUCK_TOOLS_BIN"); d != "" {
		dirs = append(dirs, d)
	}
	return dirs
}

func findGopls(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("gopls"); err == nil {
		return
	}
	for _, d := range toolDirs() {
		if _, err := os.Stat(filepath.Join(d, "gopls")); err == nil {
			return
		}
	}
	t.Skip("gopls is not installed: run `GOBIN=$PWD/.tools/bin go install golang.org/x/tools/gopls@v0.23.0` (or put gopls on PATH)")
}

// participant is one simulated editor: it sees what the hub fans out to
// everybody and what is addressed to it.
type participant struct {
	name string
	mu   sync.Mutex
	diag map[string]json.RawMessage // path -> latest diagnostics
	seen chan struct{}
}

func newParticipant(name string) *participant {
	return &participant{name: name, diag: map[string]json.RawMessage{}, seen: make(chan struct{}, 1)}
}

func (p *participant) diagnostics(path string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.diag[path])
}

// waitDiag waits until the participant's diagnostics for path satisfy ok.
func (p *participant) waitDiag(t *testing.T, path string, what string, ok func(string) bool) {
	t.Helper()
	deadline := time.After(90 * time.Second)
	for {
		if ok(p.diagnostics(path)) {
			return
		}
		select {
		case <-p.seen:
		case <-deadline:
			t.Fatalf("%s: no diagnostics for %s where %s; last: %s", p.name, path, what, p.diagnostics(path))
		}
	}
}

// room is a stand-in for the hub's project room: diagnostics to all.
type room struct {
	people []*participant
	mu     sync.Mutex
	edits  []json.RawMessage
}

func (r *room) ApplyEdit(_ context.Context, _ string, edit json.RawMessage) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.edits = append(r.edits, edit)
	return true, nil
}

func (r *room) Notify(context.Context, string, string, json.RawMessage) {}

func (r *room) PublishDiagnostics(_ context.Context, _ string, path string, diags json.RawMessage) {
	for _, p := range r.people {
		p.mu.Lock()
		p.diag[path] = diags
		p.mu.Unlock()
		select {
		case p.seen <- struct{}{}:
		default:
		}
	}
}

func writeModule(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestGoplsSharedByTwoParticipants: Alice and Bob share one gopls. Each
// gets diagnostics and definitions for the other's unsaved edits, which
// reach gopls only through the pool (nothing is written to disk).
func TestGoplsSharedByTwoParticipants(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gopls")
	}
	findGopls(t)
	dir := writeModule(t, map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.22\n",
		"a.go":   "package m\n\nfunc A() int { return 1 }\n",
		"b.go":   "package m\n\nfunc B() int { return A() }\n",
	})
	alice, bob := newParticipant("alice"), newParticipant("bob")
	r := &room{people: []*participant{alice, bob}}
	pool, err := lspool.New(lspool.Options{Project: "demo", Root: dir, Client: r, SearchDirs: toolDirs()})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()

	// Alice types (unsaved) a function with a type error.
	aliceText := "package m\n\nfunc A() int { return 1 }\n\nfunc Added() string { return 1 }\n"
	if err := pool.DidOpen(ctx, "a.go", "go", aliceText); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*participant{alice, bob} {
		p.waitDiag(t, "a.go", "Alice's type error is reported", func(d string) bool {
			return strings.Contains(d, "cannot use 1")
		})
	}

	// Bob (unsaved) calls the function that exists only in Alice's buffer.
	bobText := "package m\n\nfunc B() int { return A() }\n\nfunc C() string { return Added() }\n"
	if err := pool.DidOpen(ctx, "b.go", "go", bobText); err != nil {
		t.Fatal(err)
	}
	params := json.RawMessage(`{"textDocument":{"uri":"rubberduck://demo/b.go"},"position":{"line":4,"character":27}}`)
	for _, who := range []string{"bob", "alice"} {
		res, err := pool.Request(ctx, who, "b.go", "textDocument/definition", params)
		if err != nil {
			t.Fatalf("%s: definition: %v", who, err)
		}
		var locs []struct {
			URI   string `json:"uri"`
			Range struct {
				Start struct{ Line int } `json:"start"`
			} `json:"range"`
		}
		if err := json.Unmarshal(res, &locs); err != nil || len(locs) != 1 {
			t.Fatalf("%s: definition result %s (%v)", who, res, err)
		}
		if locs[0].URI != "rubberduck://demo/a.go" || locs[0].Range.Start.Line != 4 {
			t.Errorf("%s: definition of Added = %+v, want rubberduck://demo/a.go line 4", who, locs[0])
		}
	}

	// Alice fixes her error: everyone's diagnostics for a.go clear; Bob's
	// file, which uses Added, has none.
	if err := pool.DidChange(ctx, "a.go", "package m\n\nfunc A() int { return 1 }\n\nfunc Added() string { return \"x\" }\n"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*participant{alice, bob} {
		p.waitDiag(t, "a.go", "the error is gone", func(d string) bool { return d == "[]" || d == "null" })
	}
	if d := bob.diagnostics("b.go"); strings.Contains(d, "undefined") {
		t.Errorf("b.go diagnostics mention undefined names: %s", d)
	}

	// Hover from either participant answers with the live signature.
	hover, err := pool.Request(ctx, "alice", "b.go", "textDocument/hover", params)
	if err != nil || !strings.Contains(string(hover), "func Added() string") {
		t.Errorf("hover: %s (%v)", hover, err)
	}
	if err := pool.Close(); err != nil {
		t.Fatal(err)
	}
	if got := pool.Running(); len(got) != 0 {
		t.Errorf("servers still running after Close: %v", got)
	}
}
