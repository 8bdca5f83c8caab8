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
