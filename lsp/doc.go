// Package lsp is RubberDuck's editor proxy: the language server an editor
// (Neovim, VS Code, Helix, ...) starts over stdio as `rubberduck lsp`.
//
// To the editor it is an ordinary LSP server with incremental text sync. To
// the hub it is a replica client: it holds a CRDT replica of every open
// document and exchanges binary CRDT updates with the hub over one
// WebSocket (rubberduck/doc/sync on open and after every reconnect,
// $/rubberduck/doc/update both ways). Between the editor's buffer and the
// replica it reconciles versions (see document), so edits typed while the
// hub is away stay in the replica and merge by state vector when the proxy
// reconnects, with no editor restart.
//
// Start with Serve; Mirror is the `rubberduck join` side that copies a
// project to another machine's disk.
package lsp
