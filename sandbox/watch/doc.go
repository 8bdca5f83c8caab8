// Package watch reports changes made on disk by anything other than the hub
// (git checkout, formatters, builds, other tools) to every client of a
// project: quickly, in order, without flooding them, and within the
// machine's inotify budget.
//
// A Watcher watches one project tree with fsnotify (inotify on Linux): one
// watch per directory that is not ignored (.gitignore files at any depth,
// .git, configured patterns), added as directories appear; a new directory
// is scanned right after its watch is added, so files created in it before
// are not lost. Symlinks are reported as entries but never followed or
// watched.
//
// Events only say where to look. When the tree has been quiet for
// Config.Quiet (or Config.MaxDelay after the first change, whichever comes
// first) every dirty path is lstat'ed through an os.Root and compared with
// the watcher's snapshot (path -> size, mtime, inode). That comparison is
// what makes the output calm: a delete followed by a create of the same path
// is one "modified", a create+delete inside one window is nothing, a
// disappearing and an appearing path with the same inode are one "renamed",
// and a deleted or renamed directory is one event. When the kernel queue
// overflows, the whole tree is rescanned and the differences are sent as a
// batch marked Resync; a watcher that fails is restarted with backoff and
// does the same.
//
// The hub's own writes go through the sandbox, which tells the watcher
// through the sandbox.Observer methods (Wrote, Removed, Renamed) what the
// result should look like; matching changes are not reported back. A change
// to a document someone has open is also handed to OpenDocuments so the
// document layer can apply it as an edit.
//
// The Manager owns the watchers of a hub: Acquire/Release per client join
// and leave, Subscribe for delivery, Observer for sandbox.Open, Health for
// /readyz, and rubberduck_watch_* metrics.
package watch
