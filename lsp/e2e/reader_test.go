//go:build !devhub

package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// TestReaderTypingIsUndoneInNeovim: a reader types in their Neovim; the
// change reaches nobody, their buffer goes back to the shared text, they
// are told why, and a writer's typing still reaches them.
func TestReaderTypingIsUndoneInNeovim(t *testing.T) {
	needNvim(t)
	h := hubtest.Start(t)
	owner := h.Connect(t)
	readerToken := addMember(t, owner, h.Project, "rita", "reader")
	const path = "shared.go"
	if err := os.WriteFile(filepath.Join(h.ProjectDir, path), []byte(initialText), 0o644); err != nil {
		t.Fatal(err)
	}
	writer := startEditor(t, "writer", h.LSPURL(), h.Project, h.Token, h.ProjectDir)
	reader := startEditor(t, "reader", h.LSPURL(), h.Project, readerToken, h.ProjectDir)
	writer.open(t, path, initialText)
	reader.open(t, path, initialText)

	reader.edit(t, 0.5, 0, "SNEAKY")
	texts := func() []string {
		return []string{initialText, reader.text(t), writer.text(t), hubText(t, owner, h.Project, path)}
	}
	if _, ok := converge(t, 5*time.Second, texts); !ok {
		t.Fatalf("reader's change not undone everywhere: want, reader, writer, hub = %q", texts())
	}
	var msg string
	if err := reader.v.ExecLua(`return require('rubberduck').message or ''`, &msg); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "read-only") {
		t.Errorf("reader was told %q; want a read-only message", msg)
	}

	writer.edit(t, 0, 0, "// hi\n")
	want := "// hi\n" + initialText
	texts = func() []string {
		return []string{want, reader.text(t), writer.text(t), hubText(t, owner, h.Project, path)}
	}
	if _, ok := converge(t, 5*time.Second, texts); !ok {
		t.Fatalf("writer's edit did not reach the reader: want, reader, writer, hub = %q", texts())
	}
}

// addMember creates a person with an API token and a role in project.
func addMember(t testing.TB, owner interface {
	Call(ctx context.Context, method string, params, result any) error
}, project, name, role string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := owner.Call(ctx, protocol.MethodUserAdd, protocol.UserAddParams{Name: name}, nil); err != nil {
		t.Fatal(err)
	}
	var tok protocol.TokenCreateResult
	if err := owner.Call(ctx, protocol.MethodTokenCreate, protocol.TokenCreateParams{User: name, Name: "e2e"}, &tok); err != nil {
		t.Fatal(err)
	}
	if err := owner.Call(ctx, protocol.MethodProjectGrant, protocol.GrantParams{Project: project, User: name, Role: role}, nil); err != nil {
		t.Fatal(err)
	}
	return tok.Token
}
