package protocol

// Messages between the LSP proxy (`rubberduck lsp`) and the editor that
// started it. The editor names documents by its own file:// URIs, which the
// proxy maps to project paths, so these carry a uri where the hub's carry a
// DocRef. The method names are the hub's (MethodCursor, MethodFocus,
// MethodPresence), so an editor plugin learns one set of names.

// EditorCursorParams is MethodCursor between proxy and editor: from the
// editor, its own selections; to the editor, someone else's, with Person.
type EditorCursorParams struct {
	URI        string      `json:"uri"`
	Person     *Person     `json:"person,omitempty"`
	Selections []Selection `json:"selections"`
}

// EditorFocusParams is MethodFocus from the editor: which buffer and lines
// the user looks at.
type EditorFocusParams struct {
	URI      string    `json:"uri"`
	Viewport *Viewport `json:"viewport,omitempty"`
}

// EditorPresenceParams is MethodPresence to the editor: the hub's event plus
// the editor's URI for Path, when the event names a file.
type EditorPresenceParams struct {
	PresenceParams
	URI string `json:"uri,omitempty"`
}

// MethodProxyStatus (notification, proxy to editor) says whether the proxy
// is connected to the hub, so a plugin can show it in the status line
// without parsing window/showMessage texts.
const MethodProxyStatus = "$/rubberduck/status"

// ProxyStatusParams is MethodProxyStatus: State is "connecting",
// "connected" or "offline"; Pending counts documents with edits the hub
// has not confirmed yet.
type ProxyStatusParams struct {
	State   string `json:"state"`
	Hub     string `json:"hub"`
	Project string `json:"project"`
	Message string `json:"message,omitempty"`
}
