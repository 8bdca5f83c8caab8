package protocol

import (
	"fmt"
	"net/url"
	"strings"
)

// Editor-edge types: what a thin client (an LSP client speaking to the hub
// directly) and the hub exchange to keep one editor buffer in step with a
// document. They mirror LSP 3.17 exactly where go.lsp.dev/protocol (3.16)
// cannot: a content change without a range is a full-text replacement, which
// a non-pointer Range cannot express, and versions must be optional on the
// way out.

// Range is an LSP range: Start inclusive, End exclusive, in the receiver's
// negotiated position encoding.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// TextEdit replaces Range with NewText. The edits of one TextDocumentEdit all
// refer to the document before any of them is applied and never overlap.
type TextEdit struct {
	Range   Range  `json:"range"`
	NewText string `json:"newText"`
}

// TextDocumentIdentifier names a document by URI.
type TextDocumentIdentifier struct {
	URI string `json:"uri"`
}

// VersionedTextDocumentIdentifier is a document at a version the client
// reported (didChange).
type VersionedTextDocumentIdentifier struct {
	URI     string `json:"uri"`
	Version int32  `json:"version"`
}

// OptionalVersionedTextDocumentIdentifier is the target of a versioned edit:
// the client applies the edit only while its buffer is at Version, which is
// what lets the hub detect an edit that lost the race against typing.
type OptionalVersionedTextDocumentIdentifier struct {
	URI     string `json:"uri"`
	Version *int32 `json:"version"`
}

// TextDocumentEdit is a set of edits to one document at one version.
type TextDocumentEdit struct {
	TextDocument OptionalVersionedTextDocumentIdentifier `json:"textDocument"`
	Edits        []TextEdit                              `json:"edits"`
}

// WorkspaceEdit carries versioned document edits (documentChanges); the hub
// never uses the unversioned "changes" form, since it could not tell a
// stale edit from a fresh one.
type WorkspaceEdit struct {
	DocumentChanges []TextDocumentEdit `json:"documentChanges,omitempty"`
}

// ApplyWorkspaceEditParams is the params of workspace/applyEdit (hub to
// client) that brings a thin client's buffer up to date with the document.
type ApplyWorkspaceEditParams struct {
	Label string        `json:"label,omitempty"`
	Edit  WorkspaceEdit `json:"edit"`
}

// ApplyWorkspaceEditResult answers workspace/applyEdit. Applied is only a
// hint: Neovim answers true even when it dropped a stale edit, so the hub
// confirms edits by the versions of later didChange notifications.
type ApplyWorkspaceEditResult struct {
	Applied       bool    `json:"applied"`
	FailureReason string  `json:"failureReason,omitempty"`
	FailedChange  *uint32 `json:"failedChange,omitempty"`
}

// TextDocumentItem is an opened document with its text.
type TextDocumentItem struct {
	URI        string `json:"uri"`
	LanguageID string `json:"languageId"`
	Version    int32  `json:"version"`
	Text       string `json:"text"`
}

// DidOpenTextDocumentParams is the params of textDocument/didOpen.
type DidOpenTextDocumentParams struct {
	TextDocument TextDocumentItem `json:"textDocument"`
}

// TextDocumentContentChangeEvent is one change of a didChange: Range nil
// means Text is the whole new content.
type TextDocumentContentChangeEvent struct {
	Range       *Range  `json:"range,omitempty"`
	RangeLength *uint32 `json:"rangeLength,omitempty"` // deprecated in LSP; ignored
	Text        string  `json:"text"`
}

// DidChangeTextDocumentParams is the params of textDocument/didChange. The
// version is the buffer's version after all ContentChanges, which apply in
// order, each to the result of the previous one.
type DidChangeTextDocumentParams struct {
	TextDocument   VersionedTextDocumentIdentifier  `json:"textDocument"`
	ContentChanges []TextDocumentContentChangeEvent `json:"contentChanges"`
}

// DidCloseTextDocumentParams is the params of textDocument/didClose.
type DidCloseTextDocumentParams struct {
	TextDocument TextDocumentIdentifier `json:"textDocument"`
}

// DidSaveTextDocumentParams is the params of textDocument/didSave.
type DidSaveTextDocumentParams struct {
	TextDocument TextDocumentIdentifier `json:"textDocument"`
	Text         *string                `json:"text,omitempty"`
}

// MessageType is the severity of window/showMessage.
type MessageType int

// Message types of LSP.
const (
	MessageError   MessageType = 1
	MessageWarning MessageType = 2
	MessageInfo    MessageType = 3
	MessageLog     MessageType = 4
)

// ShowMessageParams is the params of window/showMessage, which the hub sends
// to tell a person why their edit was refused.
type ShowMessageParams struct {
	Type    MessageType `json:"type"`
	Message string      `json:"message"`
}

// DocURI returns the rubberduck:// URI thin clients use for a project file.
// Path segments are escaped, so names with spaces or '#' survive.
func DocURI(ref DocRef) string {
	segs := strings.Split(ref.Path, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return URIScheme + "://" + url.PathEscape(ref.Project) + "/" + strings.Join(segs, "/")
}

// ParseDocURI reads a rubberduck://<project>/<path> URI. It checks only the
// shape; the sandbox validates the path itself.
func ParseDocURI(uri string) (DocRef, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return DocRef{}, fmt.Errorf("document uri: %w", err)
	}
	if u.Scheme != URIScheme {
		return DocRef{}, fmt.Errorf("document uri: scheme %q is not %q", u.Scheme, URIScheme)
	}
	p := strings.TrimPrefix(u.Path, "/")
	if u.Host == "" || p == "" {
		return DocRef{}, fmt.Errorf("document uri: want %s://<project>/<path>", URIScheme)
	}
	return DocRef{Project: u.Host, Path: p}, nil
}
