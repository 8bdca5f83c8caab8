package sandbox

import (
	"context"
	"io/fs"
	"time"
)

// Observer is told about every successful mutation, after it happened, so
// the watcher (sandbox/watch) can recognise the hub's own writes and not
// report them back as outside changes. Paths are project-relative and name
// the file that actually changed (after in-project symlinks are resolved).
// Calls are synchronous: implementations must be quick and must not call
// back into the Root.
type Observer interface {
	Wrote(rel string, info fs.FileInfo)
	Removed(rel string)
	Renamed(from, to string)
}

// ContentCache lets Read skip disk reads (sandbox/cache implements it). Read
// calls Get with the fstat of the file it has already opened, so an entry
// must only be returned when it was stored for the same file identity:
// implementations compare size, modification time and inode (info.Sys() is a
// *syscall.Stat_t on Unix). Invalidate(rel) drops rel and, when rel is a
// directory, everything below it. Slices passed to Put and returned by Get
// are shared with Read's results and must never be modified.
type ContentCache interface {
	Get(rel string, info fs.FileInfo) ([]byte, bool)
	Put(rel string, info fs.FileInfo, data []byte)
	Invalidate(rel string)
}

// IgnoreMatcher answers whether Search should skip a path because of
// .gitignore rules; sandbox/ignore's *Matcher satisfies it. If the matcher
// also has a Load(dir string) error method, Search calls it for each
// directory it enters, so nested .gitignore files are always current.
type IgnoreMatcher interface {
	Ignored(rel string, isDir bool) bool
}

// ignoreLoader is the optional part of IgnoreMatcher.
type ignoreLoader interface {
	Load(dir string) error
}

// Auditor receives one Event per operation, successful or not. The hub
// stores them (hub/audit). Record must not block for long: it is called on
// the request path.
type Auditor interface {
	Record(ctx context.Context, ev Event)
}

// Event describes one sandbox operation for the audit trail: who did what
// to which path, and how it ended. It never contains file content.
type Event struct {
	Time    time.Time `json:"time"`
	Project string    `json:"project"`
	// Actor is the identity set with WithActor, or "" when none was set.
	Actor string `json:"actor"`
	// Op is the operation: stat, list, read, write, create, mkdir, rename,
	// delete, restore, purge, trash, search, audit-symlinks.
	Op string `json:"op"`
	// Path is the project-relative path as requested (cleaned when valid,
	// quoted when not); To is the destination of a rename or restore.
	Path string `json:"path"`
	To   string `json:"to,omitempty"`
	// Outcome is "ok" or the error Code.
	Outcome string `json:"outcome"`
	// Bytes is the amount of content read or written, when relevant.
	Bytes int64 `json:"bytes,omitempty"`
	// Detail adds a short non-sensitive explanation (the refusal reason).
	Detail string `json:"detail,omitempty"`
}

type actorKey struct{}

// WithActor attaches the identity of the user (or token, or "system") the
// hub acts for. The sandbox does not check it — authorization happens once,
// in the hub, before a call reaches the sandbox — but it records it in every
// audit Event. Passing identity in the context keeps every operation's
// signature the same for the hub's adapters.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the identity set by WithActor, or "".
func ActorFrom(ctx context.Context) string {
	s, _ := ctx.Value(actorKey{}).(string)
	return s
}
