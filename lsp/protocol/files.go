package protocol

import "encoding/json"

// File manager methods. Every path is relative to the project's root and
// slash-separated; the hub's sandbox refuses anything that would leave it.
const (
	MethodFilesStat          = "rubberduck/files/stat"
	MethodFilesList          = "rubberduck/files/list"
	MethodFilesRead          = "rubberduck/files/read"
	MethodFilesWrite         = "rubberduck/files/write"
	MethodFilesCreate        = "rubberduck/files/create"
	MethodFilesMkdir         = "rubberduck/files/mkdir"
	MethodFilesRename        = "rubberduck/files/rename"
	MethodFilesDelete        = "rubberduck/files/delete"
	MethodFilesTrash         = "rubberduck/files/trash"
	MethodFilesRestore       = "rubberduck/files/restore"
	MethodFilesPurge         = "rubberduck/files/purge"
	MethodFilesSearch        = "rubberduck/files/search"
	MethodFilesAuditSymlinks = "rubberduck/files/auditSymlinks"
	// MethodFilesChanged (notification, hub to client) reports changes made
	// on disk by anything but the hub.
	MethodFilesChanged = "$/rubberduck/files/changed"
)

// FileParams names one path in a project.
type FileParams struct {
	Project string `json:"project"`
	Path    string `json:"path"`
}

// FileListParams pages through a directory.
type FileListParams struct {
	Project string `json:"project"`
	Path    string `json:"path"`
	Cursor  string `json:"cursor,omitempty"`
	Limit   int    `json:"limit,omitempty"`
}

// FileWriteParams replaces (write) or creates (create) a file. Encoding is
// "utf-8" (default) or "base64". With Etag, a write fails with -32013 if
// the file changed since it was read.
type FileWriteParams struct {
	Project  string `json:"project"`
	Path     string `json:"path"`
	Content  string `json:"content"`
	Encoding string `json:"encoding,omitempty"`
	Etag     string `json:"etag,omitempty"`
}

// MkdirParams creates a directory (and its parents with Parents).
type MkdirParams struct {
	Project string `json:"project"`
	Path    string `json:"path"`
	Parents bool   `json:"parents,omitempty"`
}

// RenameParams moves a file or directory within a project.
type RenameParams struct {
	Project string `json:"project"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// TrashParams names an entry of a project's trash; To restores it
// elsewhere than where it was deleted from.
type TrashParams struct {
	Project string `json:"project"`
	ID      string `json:"id"`
	To      string `json:"to,omitempty"`
}

// ProjectParams names a project.
type ProjectParams struct {
	Project string `json:"project"`
}

// SearchParams searches file names (glob) and contents (pattern, a Go
// regular expression unless literal). With partialResultToken the hub
// streams results as $/progress notifications {token, value: {results}}
// while searching, as LSP's partial results do, and the response carries
// only the summary.
type SearchParams struct {
	Project            string          `json:"project"`
	Path               string          `json:"path,omitempty"`
	Glob               string          `json:"glob,omitempty"`
	Pattern            string          `json:"pattern,omitempty"`
	Literal            bool            `json:"literal,omitempty"`
	IgnoreCase         bool            `json:"ignoreCase,omitempty"`
	MaxResults         int             `json:"maxResults,omitempty"`
	IncludeIgnored     bool            `json:"includeIgnored,omitempty"`
	PartialResultToken json.RawMessage `json:"partialResultToken,omitempty"`
}

// SearchResponse answers a search: the results (unless they were streamed)
// and what the search covered.
type SearchResponse struct {
	Results any `json:"results,omitempty"`
	Summary any `json:"summary"`
}

// ProgressParams is LSP's $/progress, used for streamed partial results.
type ProgressParams struct {
	Token json.RawMessage `json:"token"`
	Value any             `json:"value"`
}
