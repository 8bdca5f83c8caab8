// Package protocol defines what travels on RubberDuck's wire: the JSON-RPC
// 2.0 envelope, its error codes, the LSP 3.17/3.18 additions that
// go.lsp.dev/protocol (which stops at LSP 3.16) lacks, and every
// rubberduck/* and $/rubberduck/* message.
//
// The hub, the LSP proxy and the tests all speak through these types, and
// docs/protocol.md describes the same messages for the JavaScript and Lua
// clients, so a change here is a change of the protocol: bump Version.
package protocol

// Version is the version of the RubberDuck protocol on /lsp. Clients read it
// from the initialize result's serverInfo and experimental capabilities to
// know which rubberduck/* messages the hub understands.
const Version = "0.1.0"
