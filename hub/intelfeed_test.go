package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/hub/intel"
	"github.com/rubberduckhub/rubberduck/hub/intel/lspool"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// Code intelligence follows the live shared text: a function typed in one
// editor, unsaved, shows in another participant's outline; a file written
// on disk from outside shows too.
func TestIntelFollowsLiveEditsAndOutsideChanges(t *testing.T) {
	h := hubtest.Start(t)
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "a.go"), []byte("package a\n\nfunc First() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	h.SetIntel(intel.New(intel.Options{Servers: map[string]lspool.ServerConfig{}, DisableSecrets: true}))
	writer := newThin(t, h, h.Token, protocol.EncodingUTF16)
	reader := h.Connect(t)

	names := func(path string) []string {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		var out protocol.IntelOutlineResult
		if err := reader.Call(ctx, protocol.MethodIntelOutline, protocol.IntelParams{Project: "demo", Path: path}, &out); err != nil {
			return nil
		}
		var ns []string
		for _, s := range out.Symbols {
			ns = append(ns, s.Name)
		}
		return ns
	}
	eventually := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("never: %s", what)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	eventually("the index has First", func() bool { return slices.Contains(names("a.go"), "First") })

	writer.open("demo", "a.go", "package a\n\nfunc First() {}\n")
	eventually("the writer's buffer is in sync", func() bool { return writer.Text() == "package a\n\nfunc First() {}\n" })
	writer.typeAt(writer.len(), 0, "\nfunc Second() {}\n")
	eventually("an unsaved function shows in the outline", func() bool { return slices.Contains(names("a.go"), "Second") })

	if err := os.WriteFile(filepath.Join(h.ProjectDir, "b.go"), []byte("package a\n\nfunc Third() {}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	eventually("a file written outside shows", func() bool { return slices.Contains(names("b.go"), "Third") })
}
