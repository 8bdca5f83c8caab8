package hub

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// The AI's code actions (Explain, Fix, Refactor, Write tests, Document)
// offered the way editors show code actions: textDocument/codeAction lists
// them for the selection, and choosing one runs workspace/executeCommand,
// which asks the AI in the project's shared conversation. Edits in the
// answer become proposals that writers accept hunk by hunk.

// aiCommandPrefix starts the command of each AI code action.
const aiCommandPrefix = "rubberduck.ai."

var aiCodeActions = []struct {
	action, title, kind string
}{
	{ai.ActionExplain, "RubberDuck: Explain this code", ""},
	{ai.ActionFix, "RubberDuck: Fix this code", "quickfix"},
	{ai.ActionRefactor, "RubberDuck: Refactor this code", "refactor"},
	{ai.ActionTest, "RubberDuck: Write tests", "source"},
	{ai.ActionDocument, "RubberDuck: Document this code", "source"},
}

// aiCommands are the commands announced in executeCommandProvider; the
// protocol's list, which the editor proxy announces too.
func aiCommands() []string { return protocol.AICommands }

// codeActionParams is the part of LSP's CodeActionParams the hub reads.
type codeActionParams struct {
	TextDocument protocol.TextDocumentIdentifier `json:"textDocument"`
	Range        protocol.Range                  `json:"range"`
}

type codeAction struct {
	Title   string         `json:"title"`
	Kind    string         `json:"kind,omitempty"`
	Command commandWithArg `json:"command"`
}

type commandWithArg struct {
	Title     string           `json:"title"`
	Command   string           `json:"command"`
	Arguments []codeActionArgs `json:"arguments"`
}

type codeActionArgs struct {
	URI   string         `json:"uri"`
	Range protocol.Range `json:"range"`
}

func (sess *session) codeActions(ctx context.Context, p codeActionParams) ([]codeAction, error) {
	ref, err := uriRef(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	if _, err := sess.authorize(ctx, ref.Project, auth.ActionRead); err != nil {
		return nil, err
	}
	out := make([]codeAction, 0, len(aiCodeActions))
	for _, a := range aiCodeActions {
		out = append(out, codeAction{Title: a.title, Kind: a.kind, Command: commandWithArg{
			Title: a.title, Command: aiCommandPrefix + a.action,
			Arguments: []codeActionArgs{{URI: p.TextDocument.URI, Range: p.Range}},
		}})
	}
	return out, nil
}

// executeCommandParams is LSP's ExecuteCommandParams.
type executeCommandParams struct {
	Command   string            `json:"command"`
	Arguments []json.RawMessage `json:"arguments"`
}

// executeCommand runs an AI code action chosen in the editor: it is the
// same request as rubberduck/chat/action, with the selection as context.
func (sess *session) executeCommand(ctx context.Context, p executeCommandParams) (ai.SendResult, error) {
	action, ok := strings.CutPrefix(p.Command, aiCommandPrefix)
	if !ok || len(p.Arguments) != 1 {
		return ai.SendResult{}, protocol.Errorf(protocol.CodeInvalidParams, "unknown command %q", p.Command)
	}
	var arg codeActionArgs
	if err := json.Unmarshal(p.Arguments[0], &arg); err != nil {
		return ai.SendResult{}, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: %v", err)
	}
	ref, err := uriRef(arg.URI)
	if err != nil {
		return ai.SendResult{}, err
	}
	sel := arg.Range
	return sess.chatAction(ctx, protocol.ChatActionParams{Project: ref.Project, Kind: action,
		Editor: &protocol.ChatEditor{Path: ref.Path, Selection: &sel, Cursor: &sel.Start}})
}
