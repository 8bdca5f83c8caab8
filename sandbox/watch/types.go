package watch

import (
	"context"
	"time"
)

// Kinds of change, as they appear on the wire in Event.Kind.
const (
	// KindCreated: the path did not exist (for the watcher) and now does.
	KindCreated = "created"
	// KindModified: a file's content may have changed. A delete followed by
	// a create of the same path inside one batch window (git checkout,
	// atomic saves) is reported as one "modified".
	KindModified = "modified"
	// KindDeleted: the path is gone. A deleted directory is one event; its
	// contents went with it and are not listed.
	KindDeleted = "deleted"
	// KindRenamed: the path was moved from OldPath inside the project. A
	// renamed directory is one event; its contents moved with it.
	KindRenamed = "renamed"
)

// Event is one change to one path, as sent to clients inside
// $/rubberduck/files/changed.
type Event struct {
	// Path is project-relative and slash-separated.
	Path string `json:"path"`
	// Kind is one of KindCreated, KindModified, KindDeleted, KindRenamed.
	Kind string `json:"kind"`
	// OldPath is the previous path of a rename.
	OldPath string `json:"oldPath,omitempty"`
	// Dir marks directories, so a client's file tree knows what it got
	// without another round trip.
	Dir bool `json:"dir,omitempty"`
	// Hub marks a change the hub made itself (a save, a file operation
	// through the protocol): not an outside change, never handed to open
	// documents, but news to every other client's tree and mirror.
	Hub bool `json:"hub,omitempty"`
}

// Batch is the unit of delivery: the changes of one debounce window of one
// project, in the order they were first seen.
type Batch struct {
	Project string `json:"project"`
	// Seq increases by one with every batch of a project (no gaps), also
	// across watcher restarts and idle stops, so a client that sees a gap
	// knows it missed something.
	Seq uint64 `json:"seq"`
	// Resync marks a batch computed by rescanning the tree and comparing it
	// with the watcher's last snapshot (after an inotify queue overflow or a
	// watcher restart): it holds the net differences, not every step. A
	// Resync batch with no events from a Manager subscription means "you
	// fell behind and batches were dropped: re-list what you show".
	Resync bool    `json:"resync,omitempty"`
	Events []Event `json:"events"`
}

// OpenDocuments connects the watcher to the document layer: a change on
// disk to a document someone has open must become an edit (by a "disk"
// author) in its live replica rather than a surprise for the editors.
// Implementations must be safe for concurrent use.
type OpenDocuments interface {
	// IsOpen reports whether rel has a live document. It is called on the
	// watcher's goroutine and must be quick.
	IsOpen(rel string) bool
	// DiskChanged hands over the new content of rel after it was created or
	// modified on disk by someone other than the hub. It is called from one
	// goroutine per watcher, in order, and may block; ctx is cancelled when
	// the watcher stops.
	DiskChanged(ctx context.Context, rel string, content []byte)
}

// Health is a watcher's state for /readyz and operators. Errors never
// contain absolute server paths.
type Health struct {
	Project string `json:"project"`
	// State is "starting", "watching", "restarting", "degraded" (watching,
	// but some directories could not be watched) or "stopped".
	State string `json:"state"`
	// Healthy is true while the watcher delivers every change it can see.
	Healthy bool `json:"healthy"`
	// Watches is the number of inotify watches (directories) in use.
	Watches int `json:"watches"`
	// Restarts counts restarts after failures since the watcher started.
	Restarts int `json:"restarts"`
	// Rescans counts full or partial rescans (overflow, restart, .gitignore).
	Rescans int `json:"rescans"`
	// LastError is the most recent failure, if any.
	LastError string `json:"lastError,omitempty"`
	// LastBatch is when the last batch was delivered.
	LastBatch time.Time `json:"lastBatch,omitzero"`
}
