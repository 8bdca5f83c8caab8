// Package sync keeps one linear editor buffer and one CRDT replica in step,
// the way Teamtype's daemon does, for every place an editor meets a
// document: the LSP proxy (one Buffer per open file, beside its replica)
// and the hub (one Buffer per thin client and document, on the hub's
// replica).
//
// Editors do not know the CRDT. They report their own edits with
// textDocument/didChange, each carrying the buffer's version, and take other
// people's edits as versioned workspace/applyEdit requests, which they apply
// only while the buffer is still at that version. A Buffer remembers the
// text the editor holds (its shadow at the last reported version), the one
// applyEdit in flight and the changes queued behind it. When a didChange
// arrives it tells the echo of its own edit (same text reached, or the
// exact parts it sent) from the person's typing; typing that raced an edit
// means the editor dropped that edit, whatever applyEdit answered (Neovim
// says applied:true), so the edit's changes are transformed across the
// typing and sent again. The typing itself is transformed across what the
// editor has not received and applied to the Doc. Echoes are never applied
// twice.
//
// Positions on the editor side are LSP line/character pairs in the
// negotiated encoding (UTF-8, UTF-16 or UTF-32); the Doc counts code points.
// Line endings are normalised to "\n" (see Normalize).
//
// Buffer is a pure state machine without I/O or goroutines; the owner
// serialises calls with every other use of the Doc.
package sync
