package hub_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// A language server's workspace edit (a rename, a code action) goes
// through the shared documents for open files and the sandbox for closed
// ones, only for people who may write.
func TestLanguageServerEditsGoThroughTheSharedDocuments(t *testing.T) {
	h := hubtest.Start(t)
	for name, text := range map[string]string{
		"a.go": "package m\n\nfunc Added() {}\n",
		"b.go": "package m\n\nvar _ = Added\n",
	} {
		if err := os.WriteFile(filepath.Join(h.ProjectDir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	owner := newThin(t, h, h.Token, protocol.EncodingUTF16)
	owner.open("demo", "a.go", "package m\n\nfunc Added() {}\n")
	waitText(t, owner, "package m\n\nfunc Added() {}\n")
	readerTok := addPerson(t, h.Connect(t), "rita", "reader")
	reader := h.DialWith(t, hubtest.Auth(readerTok), nil)
	hubtest.Initialize(t, reader, "demo")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	id := func(c interface {
		Call(context.Context, string, any, any) error
	}) string {
		var u auth.User
		if err := c.Call(ctx, protocol.MethodWhoami, nil, &u); err != nil {
			t.Fatal(err)
		}
		return u.ID
	}
	rename := func(line uint32) []protocol.TextEdit {
		return []protocol.TextEdit{{Range: protocol.Range{
			Start: protocol.Position{Line: line, Character: 5}, End: protocol.Position{Line: line, Character: 10}}, NewText: "Plus"}}
	}
	edit, _ := json.Marshal(map[string]any{
		"documentChanges": []protocol.TextDocumentEdit{{
			TextDocument: protocol.OptionalVersionedTextDocumentIdentifier{URI: "rubberduck://demo/a.go"}, Edits: rename(2)}},
		"changes": map[string][]protocol.TextEdit{"rubberduck://demo/b.go": {{Range: protocol.Range{
			Start: protocol.Position{Line: 2, Character: 8}, End: protocol.Position{Line: 2, Character: 13}}, NewText: "Plus"}}},
	})

	if ok, err := h.IntelHub().ApplyEdit(ctx, "demo", id(reader), edit); ok || err == nil {
		t.Fatalf("a reader's workspace edit was applied: %v %v", ok, err)
	}
	if ok, err := h.IntelHub().ApplyEdit(ctx, "demo", id(owner.c), edit); !ok || err != nil {
		t.Fatalf("owner's workspace edit = %v, %v", ok, err)
	}
	waitText(t, owner, "package m\n\nfunc Plus() {}\n") // the open document, in the editor
	b, _ := os.ReadFile(filepath.Join(h.ProjectDir, "b.go"))
	if string(b) != "package m\n\nvar _ = Plus\n" {
		t.Fatalf("closed file on disk = %q", b)
	}
	outside, _ := json.Marshal(map[string]any{"changes": map[string][]protocol.TextEdit{"rubberduck://other/x.go": rename(0)}})
	if ok, _ := h.IntelHub().ApplyEdit(ctx, "demo", id(owner.c), outside); ok {
		t.Fatal("an edit of another project's file was applied")
	}
}
