package hub_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// An editor lists the AI's code actions for a selection and runs one; the
// answer streams into the project's shared conversation.
func TestAICodeActionsFromTheEditorsMenu(t *testing.T) {
	h, fake := aiHub(t)
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "a.go"), []byte("package a\n\nfunc F() int { return 1 }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fake.Enqueue(aitest.Reply{Chunks: []string{"F returns one."}})
	cc := newChatClient(t, h, h.Token)

	sel := protocol.Range{Start: protocol.Position{Line: 2, Character: 0}, End: protocol.Position{Line: 2, Character: 26}}
	var actions []struct {
		Title   string `json:"title"`
		Command struct {
			Command   string            `json:"command"`
			Arguments []json.RawMessage `json:"arguments"`
		} `json:"command"`
	}
	params := map[string]any{"textDocument": map[string]any{"uri": "rubberduck://demo/a.go"}, "range": sel, "context": map[string]any{"diagnostics": []any{}}}
	if err := cc.c.Call(ctx(t), "textDocument/codeAction", params, &actions); err != nil {
		t.Fatal(err)
	}
	var titles []string
	for _, a := range actions {
		titles = append(titles, a.Title)
	}
	if len(actions) != 5 || !strings.Contains(strings.Join(titles, "|"), "Explain") {
		t.Fatalf("code actions = %v", titles)
	}
	explain := actions[0].Command
	var res protocol.ChatSendResult
	if err := cc.c.Call(ctx(t), "workspace/executeCommand", map[string]any{"command": explain.Command, "arguments": explain.Arguments}, &res); err != nil {
		t.Fatal(err)
	}
	m, _ := cc.final(res.ReplyID)
	if m.Status != protocol.ChatDone || m.Text != "F returns one." {
		t.Fatalf("answer = %s %q", m.Status, m.Text)
	}
	reqs := fake.Requests()
	body, _ := json.Marshal(reqs[0].Body)
	if len(reqs) != 1 || !strings.Contains(string(body), "return 1") {
		t.Fatalf("the selected code was not sent as context")
	}
	err := cc.c.Call(ctx(t), "workspace/executeCommand", map[string]any{"command": "rm -rf", "arguments": []any{}}, nil)
	if rpcCode(err) != protocol.CodeInvalidParams {
		t.Fatalf("unknown command = %v", err)
	}
}

// The protocol's command list (announced by the proxy too) is exactly the
// hub's actions.
func TestAICommandListMatchesTheActions(t *testing.T) {
	h, _ := aiHub(t)
	cc := newChatClient(t, h, h.Token)
	var actions []struct {
		Command struct {
			Command string `json:"command"`
		} `json:"command"`
	}
	params := map[string]any{"textDocument": map[string]any{"uri": "rubberduck://demo/a.go"}, "range": protocol.Range{}}
	if err := cc.c.Call(ctx(t), "textDocument/codeAction", params, &actions); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range actions {
		got = append(got, a.Command.Command)
	}
	if strings.Join(got, ",") != strings.Join(protocol.AICommands, ",") {
		t.Fatalf("actions %v, announced %v", got, protocol.AICommands)
	}
}
