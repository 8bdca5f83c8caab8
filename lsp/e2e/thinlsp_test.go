package e2e

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// thinEditor is a thin LSP client straight on the hub's WebSocket, the way
// the browser is one: textDocument/didOpen|didChange on a rubberduck:// URI,
// UTF-16 positions, and versioned workspace/applyEdit from the hub applied
// only at the current version (answered applied:true regardless, as Neovim).
type thinEditor struct {
	mu      sync.Mutex
	c       *wsrpc.Client
	uri     string
	text    string
	version int32
}

func dialThinEditor(t testing.TB, h *testHub, path, text string) *thinEditor {
	t.Helper()
	te := &thinEditor{uri: protocol.DocURI(protocol.DocRef{Project: h.Project, Path: path}), text: text, version: 1}
	c, err := wsrpc.Dial(context.Background(), h.URL, authHeader(h.Token), wsrpc.HandlerFunc(te.handle), wsrpc.Options{})
	if err != nil {
		t.Fatalf("thin editor: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	te.c = c
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ip protocol.InitializeParams
	ip.InitializationOptions = &protocol.InitializationOptions{Project: h.Project, Client: "browser"}
	ip.Capabilities.General = &protocol.GeneralClientCapabilities{PositionEncodings: []string{protocol.EncodingUTF16}}
	if err := c.Call(ctx, protocol.MethodInitialize, ip, nil); err != nil {
		t.Fatalf("thin editor initialize: %v", err)
	}
	_ = c.Notify(protocol.MethodInitialized, struct{}{})
	te.mu.Lock()
	defer te.mu.Unlock()
	if err := c.Notify(protocol.MethodDidOpen, protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: te.uri, LanguageID: "go", Version: 1, Text: text}}); err != nil {
		t.Fatal(err)
	}
	return te
}

func (te *thinEditor) handle(_ context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
	if m.Method != protocol.MethodApplyEdit {
		return nil, nil
	}
	var p protocol.ApplyWorkspaceEditParams
	if err := json.Unmarshal(m.Params, &p); err != nil {
		return nil, err
	}
	te.mu.Lock()
	defer te.mu.Unlock()
	for _, dc := range p.Edit.DocumentChanges {
		if dc.TextDocument.Version != nil && *dc.TextDocument.Version != te.version {
			continue // stale: dropped
		}
		// Edits refer to the text before any of them: apply from the end,
		// and report them all in one didChange, as Monaco (the browser
		// editor) reports one model change event.
		edits := dc.Edits
		var changes []protocol.TextDocumentContentChangeEvent
		for i := len(edits) - 1; i >= 0; i-- {
			e := edits[i]
			s, en := u16Offset(te.text, e.Range.Start), u16Offset(te.text, e.Range.End)
			te.text = te.text[:s] + e.NewText + te.text[en:]
			r := e.Range
			changes = append(changes, protocol.TextDocumentContentChangeEvent{Range: &r, Text: e.NewText})
		}
		if len(changes) > 0 {
			te.version++
			_ = te.c.Notify(protocol.MethodDidChange, protocol.DidChangeTextDocumentParams{
				TextDocument:   protocol.VersionedTextDocumentIdentifier{URI: te.uri, Version: te.version},
				ContentChanges: changes,
			})
		}
	}
	return map[string]bool{"applied": true}, nil
}

// edit makes one random edit (code points) before the final newline.
func (te *thinEditor) edit(rng *rand.Rand) {
	te.mu.Lock()
	defer te.mu.Unlock()
	pos, del, ins := randomEdit(rng, te.text)
	rs := []rune(te.text)
	s, en := len(string(rs[:pos])), len(string(rs[:pos+del]))
	r := protocol.Range{Start: u16Pos(te.text, s), End: u16Pos(te.text, en)}
	te.text = te.text[:s] + ins + te.text[en:]
	te.version++
	_ = te.c.Notify(protocol.MethodDidChange, protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{URI: te.uri, Version: te.version},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{{Range: &r, Text: ins}},
	})
}

func (te *thinEditor) snapshot() string {
	te.mu.Lock()
	defer te.mu.Unlock()
	return te.text
}

func u16Pos(text string, off int) protocol.Position {
	before := text[:off]
	ls := strings.LastIndexByte(before, '\n') + 1
	return protocol.Position{Line: uint32(strings.Count(before, "\n")), Character: uint32(crdt.Count(before[ls:], crdt.UTF16))}
}

func u16Offset(text string, p protocol.Position) int {
	off := 0
	for range p.Line {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	end := strings.IndexByte(text[off:], '\n')
	if end < 0 {
		end = len(text) - off
	}
	line := text[off : off+end]
	b, err := crdt.Convert(line, min(int(p.Character), crdt.Count(line, crdt.UTF16)), crdt.UTF16, crdt.UTF8)
	if err != nil {
		return off + len(line)
	}
	return off + b
}
