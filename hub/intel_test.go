package hub_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/hub/intel"
	"github.com/rubberduckhub/rubberduck/hub/intel/lspool"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// TestIntelOverTheWire: the context panel's requests and the standard
// LSP requests, answered by the index when no language server runs.
func TestIntelOverTheWire(t *testing.T) {
	h := hubtest.Start(t)
	src, err := os.ReadFile("intel/testdata/go/shapes.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "shapes.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	svc := intel.New(intel.Options{Servers: map[string]lspool.ServerConfig{}, DisableSecrets: true})
	t.Cleanup(func() { _ = svc.Close() })
	h.SetIntel(svc)
	c := h.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	var outline protocol.IntelOutlineResult
	if err := c.Call(ctx, protocol.MethodIntelOutline, protocol.IntelParams{Project: "demo", Path: "shapes.go"}, &outline); err != nil {
		t.Fatal(err)
	}
	if len(outline.Symbols) != 8 || outline.Symbols[0].Name != "Shape" || outline.Symbols[0].Children[0].Name != "Area" {
		t.Errorf("outline: %+v", outline.Symbols)
	}
	var metrics protocol.IntelMetricsResult
	if err := c.Call(ctx, protocol.MethodIntelMetrics, protocol.IntelParams{Project: "demo", Path: "shapes.go"}, &metrics); err != nil {
		t.Fatal(err)
	}
	if len(metrics.Functions) != 4 {
		t.Errorf("metrics: %+v", metrics.Functions)
	}
	var defs []struct {
		URI   string `json:"uri"`
		Range protocol.IntelRange
	}
	params := map[string]any{"textDocument": map[string]any{"uri": "rubberduck://demo/shapes.go"},
		"position": protocol.Position{Line: 40, Character: 8}}
	if err := c.Call(ctx, "textDocument/definition", params, &defs); err != nil {
		t.Fatal(err)
	}
	if len(defs) != 1 || defs[0].URI != "rubberduck://demo/shapes.go" || defs[0].Range.Start.Line != 25 {
		t.Errorf("definition: %+v", defs)
	}
	var repo protocol.IntelRepoMapResult
	if err := c.Call(ctx, protocol.MethodIntelRepoMap, protocol.IntelRepoMapParams{Project: "demo", MaxTokens: 200}, &repo); err != nil {
		t.Fatal(err)
	}
	if repo.Text == "" {
		t.Error("empty repo map")
	}

	// Errors: a path that leaves the project, a project not joined.
	err = c.Call(ctx, protocol.MethodIntelOutline, protocol.IntelParams{Project: "demo", Path: "../../etc/passwd"}, &json.RawMessage{})
	if e, ok := protocol.AsError(err); !ok || e.Code != protocol.CodeInvalidParams {
		t.Errorf("escaping path: %v", err)
	}
	err = c.Call(ctx, protocol.MethodIntelOutline, protocol.IntelParams{Project: "other", Path: "x.go"}, &json.RawMessage{})
	if e, ok := protocol.AsError(err); !ok || e.Code != protocol.CodeNotJoined {
		t.Errorf("not joined: %v", err)
	}
}

// TestIntelDiagnosticsReachTheRoom: the hub's own diagnostics (here a
// committed token found by the initial scan) reach every participant.
func TestIntelDiagnosticsReachTheRoom(t *testing.T) {
	h := hubtest.Start(t)
	token := "ghp_R8uTq2LmZx4VbN7cW1yE5aK9sD3fG6hJ0pQw" // shaped like a GitHub token, not a real one
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "deploy.env"), []byte("GITHUB_TOKEN="+token+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	svc := intel.New(intel.Options{Hub: h.IntelHub(), Servers: map[string]lspool.ServerConfig{}})
	t.Cleanup(func() { _ = svc.Close() })
	h.SetIntel(svc)

	got := make(chan string, 16)
	watch := func() *wsrpc.Client {
		c := h.DialWith(t, hubtest.Auth(h.Token), wsrpc.HandlerFunc(func(_ context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
			if m.Method == "textDocument/publishDiagnostics" {
				got <- string(m.Params)
			}
			return nil, nil
		}))
		hubtest.Initialize(t, c, "demo")
		return c
	}
	alice, _ := watch(), watch()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// The first intel request starts the project's code intelligence.
	var st protocol.IntelStatusResult
	if err := alice.Call(ctx, protocol.MethodIntelStatus, protocol.IntelDependenciesParams{Project: "demo"}, &st); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		select {
		case p := <-got:
			if !strings.Contains(p, "rubberduck://demo/deploy.env") || !strings.Contains(p, "secret/github-pat") {
				t.Errorf("diagnostics: %s", p)
			}
		case <-ctx.Done():
			t.Fatalf("participant %d got no diagnostics", i+1)
		}
	}
}
