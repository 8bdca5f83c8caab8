package protocol

// AICommands are the workspace/executeCommand commands of the AI's code
// actions (textDocument/codeAction on the hub lists them for a selection).
// The hub and the editor proxy announce the same list.
var AICommands = []string{
	"rubberduck.ai.explain",
	"rubberduck.ai.fix",
	"rubberduck.ai.refactor",
	"rubberduck.ai.test",
	"rubberduck.ai.doc",
}

// MethodExecuteCommand is LSP's workspace/executeCommand.
const MethodExecuteCommand = "workspace/executeCommand"

// Undo and redo of one person's own edits in a shared document, as
// workspace/executeCommand commands the editor proxy answers itself
// (arguments: the document's URI). An editor's own undo would also revert
// other people's edits it was shown; these revert only the person's, on the
// CRDT, so everyone else's text stays.
const (
	CommandUndo = "rubberduck.undo"
	CommandRedo = "rubberduck.redo"
)

// UndoResult answers CommandUndo and CommandRedo. Done is false when there
// was nothing (left) to undo or redo.
type UndoResult struct {
	Done bool `json:"done"`
}
