package sandbox

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"github.com/cespare/xxhash/v2"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// This file holds the API types of every operation, so that they exist on
// every platform (the operations themselves need Unix *at system calls).

// Entry kinds.
const (
	KindFile    = "file"
	KindDir     = "dir"
	KindSymlink = "symlink"
	// KindOther is a FIFO, socket or device: shown, never opened.
	KindOther = "other"
)

// Symlink target states in Entry.TargetState.
const (
	TargetInside   = "inside"
	TargetOutside  = "outside"
	TargetDangling = "dangling"
)

// Entry describes one directory entry without following symlinks.
type Entry struct {
	Name string `json:"name"`
	// Path is project-relative.
	Path string `json:"path"`
	// Kind is file, dir, symlink or other.
	Kind  string    `json:"kind"`
	Size  int64     `json:"size"`
	Mtime time.Time `json:"mtime"`
	// Mode is the permission bits in octal, e.g. "0644".
	Mode string `json:"mode"`
	// Target is a symlink's text when it is relative; absolute targets are
	// withheld (they would reveal server paths) and reported as outside.
	Target string `json:"target,omitempty"`
	// TargetState says whether the sandbox follows the link (inside), or
	// refuses it (outside, including absolute), or it points nowhere (dangling).
	TargetState string `json:"targetState,omitempty"`
}

func splitRel(rel string) []string {
	if rel == "." || rel == "" {
		return nil
	}
	return splitSlash(rel)
}

func splitSlash(s string) []string {
	n := 1
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			n++
		}
	}
	out := make([]string, 0, n)
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// ListOptions pages through a directory. Entries are sorted by name (byte
// order); Cursor is the NextCursor of the previous page.
type ListOptions struct {
	Cursor string `json:"cursor,omitempty"`
	// Limit is the page size: 0 means DefaultListLimit, at most MaxListLimit.
	Limit int `json:"limit,omitempty"`
}

// Paging limits of List.
const (
	DefaultListLimit = 1000
	MaxListLimit     = 10000
)

// Listing is one page of a directory.
type Listing struct {
	Path    string  `json:"path"`
	Entries []Entry `json:"entries"`
	// NextCursor is empty on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
	// Hidden counts entries left out by the policy, the sandbox's own
	// temporary files, and names that are not valid sandbox paths (control
	// characters, invalid UTF-8...).
	Hidden int `json:"hidden,omitempty"`
}

// File is the result of Read, ready to be sent to a client as JSON.
type File struct {
	Path string `json:"path"`
	// Content is the text when Encoding is "utf-8", else base64.
	Content  string `json:"content"`
	Encoding string `json:"encoding"`
	// Etag identifies this content; pass it to Write to detect conflicts.
	Etag  string    `json:"etag"`
	Size  int64     `json:"size"`
	Mtime time.Time `json:"mtime"`
	// Data is the raw content, for callers inside the hub. It shares
	// memory with Content and possibly with the ContentCache: treat it as
	// read-only.
	Data []byte `json:"-"`
}

// Content encodings.
const (
	EncodingUTF8   = "utf-8"
	EncodingBase64 = "base64"
)

// Etag computes the etag of content as Read and Write report it: a 64-bit
// xxhash with the length. It detects concurrent changes; it is not a
// security boundary (whoever could forge a collision could also write).
func Etag(data []byte) string {
	return strconv.FormatUint(xxhash.Sum64(data), 16) + "-" + strconv.FormatInt(int64(len(data)), 16)
}

// IsBinary reports whether data should be sent as base64: it contains a NUL
// byte in its first 8000 bytes (git's heuristic) or is not valid UTF-8.
func IsBinary(data []byte) bool {
	head := data[:min(len(data), 8000)]
	return bytes.IndexByte(head, 0) >= 0 || !utf8.Valid(data)
}

var errTooLarge = fmt.Errorf("too large")

// WriteRequest is the input of Write and Create.
type WriteRequest struct {
	Path    string `json:"path"`
	Content string `json:"content"`
	// Encoding of Content: "utf-8" (default) or "base64".
	Encoding string `json:"encoding,omitempty"`
	// Etag, when set, must equal the etag of the file on disk or the write
	// fails with Conflict (optimistic concurrency). A missing file never
	// matches. Empty means overwrite unconditionally. Ignored by Create.
	// An etag names content, not a version: a save of identical content
	// leaves it unchanged, so such a save never causes a conflict.
	Etag string `json:"etag,omitempty"`
	// Data, when not nil, is used instead of Content/Encoding (callers
	// inside the hub).
	Data []byte `json:"-"`
}

// WriteResult describes the file after a successful Write or Create.
type WriteResult struct {
	Path  string    `json:"path"`
	Etag  string    `json:"etag"`
	Size  int64     `json:"size"`
	Mtime time.Time `json:"mtime"`
}

// tempPrefix marks the hub's temporary files; watchers should ignore names
// starting with it.
const tempPrefix = ".rubberduck-tmp-"

// IsTempName reports whether a file name is one of the sandbox's own
// temporary files, so the watcher can ignore them.
func IsTempName(name string) bool { return strings.HasPrefix(name, tempPrefix) }

func (req *WriteRequest) bytes(op, rel string) ([]byte, error) {
	if req.Data != nil {
		return req.Data, nil
	}
	switch req.Encoding {
	case "", EncodingUTF8:
		return []byte(req.Content), nil
	case EncodingBase64:
		b, err := base64.StdEncoding.DecodeString(req.Content)
		if err != nil {
			return nil, newErr(InvalidArgument, op, rel, "content is not valid base64")
		}
		return b, nil
	}
	return nil, newErr(InvalidArgument, op, rel, "unknown encoding")
}

// TrashEntry describes something Delete moved to the project's trash.
type TrashEntry struct {
	// ID names the entry for Restore and Purge.
	ID string `json:"id"`
	// Path is where the entry was in the project.
	Path      string    `json:"path"`
	Kind      string    `json:"kind"`
	Size      int64     `json:"size"`
	DeletedAt time.Time `json:"deletedAt"`
	DeletedBy string    `json:"deletedBy,omitempty"`
}

// SearchQuery asks for files by name, by content, or both.
type SearchQuery struct {
	// Path is the directory to search under; "" is the project root.
	Path string `json:"path,omitempty"`
	// Glob filters files by a doublestar pattern; a pattern without "/"
	// matches the base name at any depth ("*.go"), one with "/" the
	// project-relative path ("cmd/**/*.go").
	Glob string `json:"glob,omitempty"`
	// Pattern is an RE2 regular expression (Go regexp syntax) searched in
	// file contents line by line; "" lists matching file names only.
	Pattern string `json:"pattern,omitempty"`
	// Literal treats Pattern as plain text.
	Literal bool `json:"literal,omitempty"`
	// IgnoreCase matches case-insensitively.
	IgnoreCase bool `json:"ignoreCase,omitempty"`
	// MaxResults stops the search after this many results: 0 means
	// DefaultSearchResults, at most MaxSearchResults.
	MaxResults int `json:"maxResults,omitempty"`
	// IncludeIgnored also searches paths .gitignore excludes (.git
	// directories are never searched).
	IncludeIgnored bool `json:"includeIgnored,omitempty"`
}

// Search result limits.
const (
	DefaultSearchResults = 1000
	MaxSearchResults     = 100000
	// maxLineText bounds SearchResult.Text so one minified line cannot
	// flood a client.
	maxLineText = 300
)

// SearchResult is one matching line, or one matching file name (Line 0).
type SearchResult struct {
	Path string `json:"path"`
	// Line is 1-based; 0 for a file-name result.
	Line int `json:"line,omitempty"`
	// Column is the 1-based byte offset of the match in the line.
	Column int `json:"column,omitempty"`
	// Text is the line, cut to 300 bytes, invalid UTF-8 replaced.
	Text string `json:"text,omitempty"`
}

// SearchSummary tells what a search covered.
type SearchSummary struct {
	FilesSearched int `json:"filesSearched"`
	Results       int `json:"results"`
	// Truncated is true when MaxResults stopped the search early.
	Truncated     bool `json:"truncated,omitempty"`
	SkippedBinary int  `json:"skippedBinary,omitempty"`
	SkippedLarge  int  `json:"skippedLarge,omitempty"`
}

// Symlink audit problems.
const (
	// ProblemEscapes: the link (or a link it leads through) points outside
	// the project; the sandbox refuses it.
	ProblemEscapes = "escapes"
	// ProblemAbsolute: the link is absolute but points inside the project;
	// the sandbox refuses absolute links, so it does not work for clients.
	ProblemAbsolute = "absolute"
	// ProblemDangling: the target does not exist.
	ProblemDangling = "dangling"
	// ProblemLoop: resolving the link never ends.
	ProblemLoop = "loop"
	// ProblemCrossesMount: the link leads to another file system (a mount
	// inside the project).
	ProblemCrossesMount = "crosses-mount"
	// ProblemMountPoint: a directory of the project is a mount point.
	ProblemMountPoint = "mount-point"
)

// SymlinkFinding is one problem found by AuditSymlinks.
type SymlinkFinding struct {
	Path string `json:"path"`
	// Target is the link text when relative; absolute targets are withheld
	// from the report like from listings (see Entry.Target).
	Target  string `json:"target,omitempty"`
	Problem string `json:"problem"`
}

// SymlinkReport is the result of AuditSymlinks.
type SymlinkReport struct {
	// Entries is the number of directory entries scanned.
	Entries int `json:"entries"`
	// Symlinks is the number of symlinks found, fine or not.
	Symlinks int              `json:"symlinks"`
	Findings []SymlinkFinding `json:"findings"`
	// Truncated is true when more than MaxAuditFindings were found.
	Truncated bool `json:"truncated,omitempty"`
}

// MaxAuditFindings bounds a SymlinkReport.
const MaxAuditFindings = 10000
