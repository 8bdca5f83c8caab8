//go:build !(linux || darwin || freebsd)

package sandbox

import (
	"context"
	"io/fs"
)

// The sandbox needs Unix *at system calls. On other platforms the package
// builds (so that the CLI and the editor proxy, which share the module, can be
// cross-compiled) but Open fails with Unsupported and no Root exists.

const supported = false

func devOf(fs.FileInfo) uint64 { return 0 }

func unsupported(op string) error {
	return newErr(Unsupported, op, "", "not supported on this platform")
}

func (r *Root) Stat(context.Context, string) (Entry, error) { return Entry{}, unsupported("stat") }
func (r *Root) List(context.Context, string, ListOptions) (*Listing, error) {
	return nil, unsupported("list")
}
func (r *Root) Read(context.Context, string) (*File, error) { return nil, unsupported("read") }
func (r *Root) Write(context.Context, WriteRequest) (*WriteResult, error) {
	return nil, unsupported("write")
}
func (r *Root) Create(context.Context, WriteRequest) (*WriteResult, error) {
	return nil, unsupported("create")
}
func (r *Root) Mkdir(context.Context, string, bool) (Entry, error) {
	return Entry{}, unsupported("mkdir")
}
func (r *Root) Rename(context.Context, string, string) (Entry, error) {
	return Entry{}, unsupported("rename")
}
func (r *Root) Delete(context.Context, string) (TrashEntry, error) {
	return TrashEntry{}, unsupported("delete")
}
func (r *Root) ListTrash(context.Context) ([]TrashEntry, error) { return nil, unsupported("trash") }
func (r *Root) Restore(context.Context, string, string) (TrashEntry, error) {
	return TrashEntry{}, unsupported("restore")
}
func (r *Root) Purge(context.Context, string) error { return unsupported("purge") }
func (r *Root) Search(context.Context, SearchQuery, func(SearchResult) error) (*SearchSummary, error) {
	return nil, unsupported("search")
}
func (r *Root) AuditSymlinks(context.Context) (*SymlinkReport, error) {
	return nil, unsupported("audit-symlinks")
}
