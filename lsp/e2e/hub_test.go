//go:build !devhub

package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// startHub runs a real hub (hubtest) serving one project.
func startHub(t testing.TB) *testHub {
	h := hubtest.Start(t)
	reader := h.Connect(t)
	requireDocSync(t, reader, h.Project)
	return &testHub{URL: h.LSPURL(), Token: h.Token, Project: h.Project, Dir: h.ProjectDir,
		read: func(t testing.TB, path string) string { return hubText(t, reader, h.Project, path) }}
}

// requireDocSync skips when the hub does not serve document sync yet, so
// this package stays green while the hub side is being built.
func requireDocSync(t testing.TB, c *wsrpc.Client, project string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.Call(ctx, protocol.MethodDocRead, protocol.DocRef{Project: project, Path: "absent-probe.txt"}, nil)
	if e, ok := protocol.AsError(err); ok && e.Code == protocol.CodeMethodNotFound {
		t.Skip("the hub does not serve rubberduck/doc/* yet; end-to-end co-editing needs hub/docs")
	}
}
