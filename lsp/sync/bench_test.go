package sync_test

import (
	"strings"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
)

// BenchmarkKeystroke is the edge's cost of one typed character in the
// middle of a 100 KB file: decode the didChange, transform, apply to the
// Doc (UTF-16 positions, the VS Code case).
func BenchmarkKeystroke(b *testing.B) {
	text := strings.Repeat("\tfmt.Println(\"hello, world\", i, j, k) // 🦆 a line of code\n", 1600)
	doc := crdt.New(crdt.NewReplicaID())
	if _, err := doc.Insert("x", 0, text); err != nil {
		b.Fatal(err)
	}
	buf := lsync.New(doc, "me", protocol.EncodingUTF16)
	buf.Open(1, text)
	r := protocol.Range{Start: protocol.Position{Line: 800, Character: 10}, End: protocol.Position{Line: 800, Character: 10}}
	v := int32(1)
	for b.Loop() {
		v++
		if _, err := buf.EditorChanged(v, []protocol.TextDocumentContentChangeEvent{{Range: &r, Text: "x"}}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRemoteKeystroke is the cost of one remote character: queue it,
// build the applyEdit, and recognise the editor's echo.
func BenchmarkRemoteKeystroke(b *testing.B) {
	text := strings.Repeat("\tfmt.Println(\"hello, world\", i, j, k) // 🦆 a line of code\n", 1600)
	doc := crdt.New(crdt.NewReplicaID())
	if _, err := doc.Insert("x", 0, text); err != nil {
		b.Fatal(err)
	}
	buf := lsync.New(doc, "me", protocol.EncodingUTF16)
	buf.Open(1, text)
	v := int32(1)
	pos := doc.Len() / 2
	for b.Loop() {
		e := buf.RemoteApplied([]crdt.Change{{Pos: pos, Insert: "y"}})
		if e == nil {
			b.Fatal("no edit")
		}
		v++
		te := e.Edits[0]
		if _, err := buf.EditorChanged(v, []protocol.TextDocumentContentChangeEvent{{Range: &te.Range, Text: te.NewText}}); err != nil {
			b.Fatal(err)
		}
	}
}
