// Package hubtest starts real hubs for tests: a real listener on
// 127.0.0.1:0, a real badger store in a temporary data directory, a real
// project folder on disk, and real WebSocket clients. Tests across the
// repository (hub, lsp, end-to-end) share it so none of them fakes the hub.
package hubtest

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// Hub is a running hub and what a test needs to reach it.
type Hub struct {
	*hub.Server
	// Token is the owner's API token.
	Token string
	// DataDir is the hub's data directory.
	DataDir string
	// Project is the name of the project served, and ProjectDir its folder.
	Project    string
	ProjectDir string

	t       testing.TB
	wg      conc.WaitGroup
	stopped bool
}

// Start runs a hub serving one project, "demo", in a fresh temporary
// folder, and stops it when the test ends. mutate may adjust the config.
func Start(t testing.TB, mutate ...func(*hub.Config)) *Hub {
	t.Helper()
	dir := t.TempDir()
	projDir := filepath.Join(dir, "demo")
	if err := os.Mkdir(projDir, 0o755); err != nil {
		t.Fatal(err)
	}
	cfg := hub.Config{
		Addr:     "127.0.0.1:0",
		DataDir:  filepath.Join(dir, "data"),
		Projects: []hub.ProjectSpec{{Name: "demo", Path: projDir}},
		Version:  "test",
	}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, start, err := hub.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("open hub: %v", err)
	}
	tok, err := os.ReadFile(start.OwnerTokenPath)
	if err != nil {
		t.Fatalf("owner token: %v", err)
	}
	h := &Hub{Server: srv, Token: strings.TrimSpace(string(tok)), DataDir: cfg.DataDir,
		Project: "demo", ProjectDir: projDir, t: t}
	h.wg.Go(func() {
		if err := srv.Serve(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	t.Cleanup(h.Stop)
	return h
}

// Stop shuts the hub down gracefully (idempotent).
func (h *Hub) Stop() {
	if h.stopped {
		return
	}
	h.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.Shutdown(ctx); err != nil {
		h.t.Errorf("shutdown: %v", err)
	}
	h.wg.Wait()
}

// Auth returns the Authorization header for token.
func Auth(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// Dial connects as the owner without initializing.
func (h *Hub) Dial(t testing.TB) *wsrpc.Client {
	t.Helper()
	return h.DialWith(t, Auth(h.Token), nil)
}

// DialWith connects with the given headers and handler for hub-to-client calls.
func (h *Hub) DialWith(t testing.TB, header http.Header, handler wsrpc.Handler) *wsrpc.Client {
	t.Helper()
	c, err := wsrpc.Dial(context.Background(), h.LSPURL(), header, handler, wsrpc.Options{})
	if err != nil {
		t.Fatalf("dial hub: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Connect dials as the owner, initializes and joins the demo project.
func (h *Hub) Connect(t testing.TB) *wsrpc.Client {
	t.Helper()
	c := h.Dial(t)
	Initialize(t, c, h.Project)
	return c
}

// Initialize sends initialize (joining project when not empty) and initialized.
func Initialize(t testing.TB, c *wsrpc.Client, project string) protocol.InitializeResult {
	t.Helper()
	var p protocol.InitializeParams
	p.InitializationOptions = &protocol.InitializationOptions{Project: project, Client: "test"}
	var res protocol.InitializeResult
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Call(ctx, protocol.MethodInitialize, p, &res); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if err := c.Notify(protocol.MethodInitialized, struct{}{}); err != nil {
		t.Fatalf("initialized: %v", err)
	}
	return res
}
