package hub_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/hub/intel"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// TestGoplsSharedOverTheHub: two people in two editors share the
// project's one gopls through the hub. Each gets diagnostics and
// definitions for the other's unsaved edits, which reach gopls only
// through the shared documents (nothing is saved to disk).
func TestGoplsSharedOverTheHub(t *testing.T) {
	if testing.Short() {
		t.Skip("starts gopls")
	}
	tools, _ := filepath.Abs(filepath.Join("..", ".tools", "bin"))
	if _, err := exec.LookPath("gopls"); err != nil {
		if _, err := os.Stat(filepath.Join(tools, "gopls")); err != nil {
			t.Skip("gopls is not installed: run `make tools` (or put gopls on PATH)")
		}
	}
	h := hubtest.Start(t)
	files := map[string]string{
		"go.mod": "module example.com/m\n\ngo 1.22\n",
		"a.go":   "package m\n\nfunc A() int { return 1 }\n",
		"b.go":   "package m\n\nfunc B() int { return A() }\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(h.ProjectDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	h.SetIntel(intel.New(intel.Options{Hub: h.IntelHub(), ToolDirs: []string{tools}, DisableSecrets: true}))

	diags := make(chan string, 256)
	alice := newThin(t, h, h.Token, protocol.EncodingUTF16)
	bobToken := addPerson(t, h.Connect(t), "bob", "writer")
	bob := newThin(t, h, bobToken, protocol.EncodingUTF16)
	watcher := h.DialWith(t, hubtest.Auth(bobToken), wsrpc.HandlerFunc(func(_ context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
		if m.Method == "textDocument/publishDiagnostics" {
			diags <- string(m.Params)
		}
		return nil, nil
	}))
	hubtest.Initialize(t, watcher, "demo")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var st json.RawMessage
	if err := watcher.Call(ctx, protocol.MethodIntelStatus, protocol.IntelDependenciesParams{Project: "demo"}, &st); err != nil {
		t.Fatal(err)
	}

	// Alice types, unsaved, a function with a type error.
	alice.open("demo", "a.go", files["a.go"])
	waitText(t, alice, files["a.go"])
	alice.typeAt(alice.len(), 0, "\nfunc Added() string { return 1 }\n")
	for {
		select {
		case d := <-diags:
			if strings.Contains(d, "rubberduck://demo/a.go") && strings.Contains(d, "cannot use 1") {
				goto bobsTurn
			}
		case <-ctx.Done():
			t.Fatal("Bob never saw the type error in Alice's unsaved edit")
		}
	}
bobsTurn:
	// Bob, unsaved, calls the function that exists only in Alice's buffer,
	// and asks where it is defined.
	bob.open("demo", "b.go", files["b.go"])
	waitText(t, bob, files["b.go"])
	bob.typeAt(bob.len(), 0, "\nfunc C() string { return Added() }\n")
	params := map[string]any{"textDocument": map[string]any{"uri": "rubberduck://demo/b.go"},
		"position": protocol.Position{Line: 4, Character: 27}}
	deadline := time.Now().Add(60 * time.Second)
	for {
		var locs []struct {
			URI   string `json:"uri"`
			Range struct {
				Start struct{ Line int } `json:"start"`
			} `json:"range"`
		}
		err := watcher.Call(ctx, "textDocument/definition", params, &locs)
		if err == nil && len(locs) == 1 && locs[0].URI == "rubberduck://demo/a.go" && locs[0].Range.Start.Line == 4 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("definition of Added from Bob's unsaved call = %+v (%v), want Alice's unsaved a.go line 4", locs, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func waitText(t *testing.T, tc *thinClient, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for tc.Text() != want {
		if time.Now().After(deadline) {
			t.Fatalf("buffer = %q, want %q", tc.Text(), want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
