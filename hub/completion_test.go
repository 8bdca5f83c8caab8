package hub_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// A line whose cursor sits after a character outside the BMP: UTF-16
// counts it twice, UTF-8 four times, UTF-32 once.
const emojiGo = "package main\n\nfunc main() {\n\ts := \"😀\"; \n}\n"

func TestInlineCompletionOverTheWire(t *testing.T) {
	h, fake := aiHub(t, func(c *hub.AIConfig) { c.Provider.FIM = true })
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "main.go"), []byte(emojiGo), 0o644); err != nil {
		t.Fatal(err)
	}
	fake.SetDefault(aitest.Reply{Completion: "println(s)"})
	tests := []struct {
		enc  string
		char uint32
	}{
		{protocol.EncodingUTF16, 12},
		{protocol.EncodingUTF8, 14},
		{protocol.EncodingUTF32, 11},
	}
	for _, tt := range tests {
		t.Run(tt.enc, func(t *testing.T) {
			c := h.Dial(t)
			initialize(t, c, "demo", tt.enc)
			params := protocol.InlineCompletionParams{
				TextDocument: protocol.TextDocumentIdentifier{URI: "rubberduck://demo/main.go"},
				Position:     protocol.Position{Line: 3, Character: tt.char},
				Context:      protocol.InlineCompletionContext{TriggerKind: 2},
			}
			before := len(fake.Requests())
			var list protocol.InlineCompletionList
			if err := c.Call(ctx(t), protocol.MethodInlineCompl, params, &list); err != nil {
				t.Fatal(err)
			}
			if len(list.Items) != 1 || list.Items[0].InsertText != "println(s)" {
				t.Fatalf("items = %+v", list.Items)
			}
			reqs := fake.Requests()
			if len(reqs) > before {
				// The model saw the text split exactly at the cursor.
				last := reqs[len(reqs)-1].Body
				prompt, _ := last["prompt"].(string)
				suffix, _ := last["suffix"].(string)
				if !strings.HasSuffix(prompt, "\ts := \"😀\"; ") || !strings.HasPrefix(suffix, "\n}") {
					t.Fatalf("split at the cursor: prompt ends %q, suffix starts %q", tail(prompt, 12), head(suffix, 4))
				}
			}
			// The same request again is served from the cache.
			if err := c.Call(ctx(t), protocol.MethodInlineCompl, params, &list); err != nil || len(list.Items) != 1 {
				t.Fatalf("again: %v %+v", err, list)
			}
		})
	}
	if n := len(fake.Requests()); n != 1 {
		t.Fatalf("the provider was asked %d times for one position, want 1 (cache)", n)
	}

	// Clients without inline completion get the suggestion as a completion
	// item that inserts at the cursor.
	c := h.Connect(t)
	var list struct {
		IsIncomplete bool `json:"isIncomplete"`
		Items        []struct {
			Label    string `json:"label"`
			Detail   string `json:"detail"`
			TextEdit struct {
				Range   protocol.Range `json:"range"`
				NewText string         `json:"newText"`
			} `json:"textEdit"`
		} `json:"items"`
	}
	p := protocol.CompletionParams{TextDocument: protocol.TextDocumentIdentifier{URI: "rubberduck://demo/main.go"}, Position: protocol.Position{Line: 3, Character: 12}}
	var raw json.RawMessage
	if err := c.Call(ctx(t), protocol.MethodCompletion, p, &raw); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 || list.Items[0].TextEdit.NewText != "println(s)" || list.Items[0].Detail != "RubberDuck AI" ||
		list.Items[0].TextEdit.Range.Start != p.Position {
		t.Fatalf("completion = %s", raw)
	}
}

func TestInlineCompletionProviderFailureIsToldOnce(t *testing.T) {
	h, fake := aiHub(t, func(c *hub.AIConfig) { c.Provider.FIM = true })
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "main.go"), []byte(emojiGo), 0o644); err != nil {
		t.Fatal(err)
	}
	fail := aitest.ErrAuth
	fake.SetDefault(aitest.Reply{Fail: &fail})
	cc := newChatClient(t, h, h.Token)
	for i := range 2 {
		err := cc.c.Call(ctx(t), protocol.MethodInlineCompl, protocol.InlineCompletionParams{
			TextDocument: protocol.TextDocumentIdentifier{URI: "rubberduck://demo/main.go"},
			Position:     protocol.Position{Line: 3, Character: uint32(i)}}, nil)
		rpcErr, ok := protocol.AsError(err)
		if !ok || rpcErr.Code != protocol.CodeUnavailable || !strings.Contains(rpcErr.Message, "API key") {
			t.Fatalf("completion with a bad key: %v", err)
		}
	}
	cc.waitFor("a warning in the editor", func() bool { return len(cc.shown) > 0 })
	cc.mu.Lock()
	defer cc.mu.Unlock()
	if len(cc.shown) != 1 || !strings.Contains(cc.shown[0], "API key") {
		t.Fatalf("shown = %q, want one warning", cc.shown)
	}
}

func tail(s string, n int) string { return s[max(0, len(s)-n):] }
func head(s string, n int) string { return s[:min(len(s), n)] }
