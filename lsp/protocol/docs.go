package protocol

// Document methods. Two kinds of client edit documents:
//
//   - Thin clients (the browser, or any LSP client connecting straight to
//     /lsp) use standard textDocument/didOpen|didChange|didClose|didSave
//     with uri = rubberduck://<project>/<path>; the hub keeps their buffer
//     in step with versioned workspace/applyEdit requests.
//   - Replica clients (the LSP proxy) hold a CRDT replica and exchange
//     binary CRDT updates (base64 in JSON) with the hub, catching up with
//     state vectors after a reconnect.
const (
	// MethodDocSync (request) opens a document on a replica client, or
	// catches it up: the hub answers everything the client's state vector
	// lacks, plus its own state vector so the client can send back what
	// the hub lacks with MethodDocUpdate.
	MethodDocSync = "rubberduck/doc/sync"
	// MethodDocUpdate (notification, both directions) carries one CRDT
	// update of a document.
	MethodDocUpdate = "$/rubberduck/doc/update"
	// MethodDocClose (notification) stops a replica client's subscription.
	MethodDocClose = "$/rubberduck/doc/close"
	// MethodDocRead (request) returns the hub's current text of a document.
	MethodDocRead = "rubberduck/doc/read"
	// MethodDocSave (request) writes the hub's current text to disk,
	// atomically, through the sandbox.
	MethodDocSave = "rubberduck/doc/save"
	// MethodDocUndo (request) undoes the caller's own last step in a
	// document they have open as a thin client (redo: re-applies the step
	// they last undid), leaving everyone else's edits; DocUndoParams →
	// UndoResult.
	MethodDocUndo = "rubberduck/doc/undo"

	// MethodPresence (notification, hub to client) tells who is in a
	// project and where: join, leave, focus.
	MethodPresence = "$/rubberduck/presence"
	// MethodFocus (notification, client to hub) says which file and viewport
	// a person looks at, for presence and follow mode.
	MethodFocus = "$/rubberduck/presence/focus"
	// MethodCursor (notification, both directions) carries one person's
	// cursors and selections in one document. Cursors never enter the CRDT.
	MethodCursor = "$/rubberduck/cursor"
)

// URIScheme is the scheme thin clients use for project files:
// rubberduck://<project>/<path>.
const URIScheme = "rubberduck"

// DocRef names a document: a project and a slash-separated path relative to
// the project's root.
type DocRef struct {
	Project string `json:"project"`
	Path    string `json:"path"`
}

// DocSyncParams asks for everything the client's replica lacks.
type DocSyncParams struct {
	DocRef
	// StateVector is the client's crdt.StateVector, encoded, base64; empty
	// for a replica that has nothing yet.
	StateVector []byte `json:"stateVector,omitempty"`
}

// DocSyncResult answers DocSyncParams.
type DocSyncResult struct {
	// Update is crdt.Doc.EncodeSince(client's state vector), base64.
	Update []byte `json:"update"`
	// StateVector is the hub's state vector, base64, so the client can
	// send EncodeSince(it) back as a MethodDocUpdate.
	StateVector []byte `json:"stateVector"`
	// Role is the caller's role: readers' updates are refused.
	Role string `json:"role"`
}

// DocUpdateParams carries one CRDT update (base64 in JSON).
type DocUpdateParams struct {
	DocRef
	Update []byte `json:"update"`
}

// DocReadResult is a document's current text on the hub.
type DocReadResult struct {
	DocRef
	Text string `json:"text"`
}

// Position is an LSP position in the receiver's negotiated encoding.
type Position struct {
	Line      uint32 `json:"line"`
	Character uint32 `json:"character"`
}

// Selection is one cursor: Head is where the caret is, Anchor where the
// selection started (equal to Head for a bare cursor).
type Selection struct {
	Anchor Position `json:"anchor"`
	Head   Position `json:"head"`
}

// Person identifies someone in a room, with a colour that is stable for
// that person across sessions.
type Person struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Color  string `json:"color"`            // CSS hex, e.g. "#e5534b"
	Client string `json:"client,omitempty"` // nvim, vscode, browser, ...
	// Session distinguishes one person's several connections.
	Session string `json:"session"`
}

// CursorParams carries one person's cursors in one document. From a client
// the hub fills Person; to a client positions are in its encoding.
type CursorParams struct {
	DocRef
	Person     *Person     `json:"person,omitempty"`
	Selections []Selection `json:"selections"`
}

// Viewport is the range of lines a person sees.
type Viewport struct {
	Start uint32 `json:"start"`
	End   uint32 `json:"end"`
}

// FocusParams says which file and lines a person is looking at.
type FocusParams struct {
	DocRef
	Viewport *Viewport `json:"viewport,omitempty"`
}

// PresenceParams is a presence event: Event is "join", "leave" or "focus".
type PresenceParams struct {
	Project  string    `json:"project"`
	Event    string    `json:"event"`
	Person   Person    `json:"person"`
	Path     string    `json:"path,omitempty"`
	Viewport *Viewport `json:"viewport,omitempty"`
}

// DocUndoParams are the params of rubberduck/doc/undo.
type DocUndoParams struct {
	DocRef
	Redo bool `json:"redo,omitempty"`
}
