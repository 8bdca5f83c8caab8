package hubtest

import (
	"context"
	"os"
	"strings"

	"testing"

	"github.com/rubberduckhub/rubberduck/hub"
)

// Restart stops h (gracefully) and starts a new hub on the same data
// directory and project folder, as an operator restarting the daemon would;
// tests use it to check that nothing acknowledged is lost. mutate may
// adjust the new hub's config.
func (h *Hub) Restart(t testing.TB, mutate ...func(*hub.Config)) *Hub {
	t.Helper()
	h.Stop()
	cfg := hub.Config{
		Addr:     "127.0.0.1:0",
		DataDir:  h.DataDir,
		Projects: []hub.ProjectSpec{{Name: h.Project, Path: h.ProjectDir}},
		Version:  "test",
	}
	for _, m := range mutate {
		m(&cfg)
	}
	srv, start, err := hub.Open(context.Background(), cfg)
	if err != nil {
		t.Fatalf("reopen hub: %v", err)
	}
	tok, err := os.ReadFile(start.OwnerTokenPath)
	if err != nil {
		t.Fatalf("owner token: %v", err)
	}
	n := &Hub{Server: srv, Token: strings.TrimSpace(string(tok)), DataDir: cfg.DataDir,
		Project: h.Project, ProjectDir: h.ProjectDir, t: t}
	n.wg.Go(func() {
		if err := srv.Serve(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	t.Cleanup(n.Stop)
	return n
}
