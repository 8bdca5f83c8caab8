// Package hub is the RubberDuck daemon: the HTTP server, the /lsp
// WebSocket endpoint that speaks JSON-RPC 2.0, the per-connection sessions,
// the project rooms that fan notifications out, and the single place where
// every request is authenticated and authorised.
//
// Protocol handlers are grouped by subject, one file each (lifecycle.go,
// projects.go, files.go, ...). Each handler is a thin adapter: it checks the
// caller's rights, decodes the params, and delegates to the package that owns
// the logic (hub/project, sandbox, hub/crdt, hub/ai, ...). Handlers are
// registered in methods.go, which is the index of everything the hub serves.
package hub
