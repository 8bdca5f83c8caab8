package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

// File manager handlers: authorise (role and rate limit), then delegate to
// the project's sandbox, which validates paths, enforces the policy, audits
// and counts every operation.

// fileRoot authorises action in project for the caller, charges the rate
// limit of class, and returns the project's sandbox with the caller's
// identity attached to ctx for the audit trail.
func (sess *session) fileRoot(ctx context.Context, project string, action auth.Action, class ratelimit.Class) (context.Context, *sandbox.Root, error) {
	if err := requireField("project", project); err != nil {
		return ctx, nil, err
	}
	if _, err := sess.authorize(ctx, project, action); err != nil {
		return ctx, nil, err
	}
	if err := sess.srv.deps.Limits.Allow(sess.ident.UserID, project, class); err != nil {
		return ctx, nil, err
	}
	root, err := sess.srv.workspaces.root(ctx, project)
	if err != nil {
		return ctx, nil, err
	}
	return sandbox.WithActor(ctx, sess.ident.UserID), root, nil
}

func (sess *session) statFile(ctx context.Context, p protocol.FileParams) (sandbox.Entry, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionRead, ratelimit.Read)
	if err != nil {
		return sandbox.Entry{}, err
	}
	return root.Stat(ctx, p.Path)
}

func (sess *session) listFiles(ctx context.Context, p protocol.FileListParams) (*sandbox.Listing, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionRead, ratelimit.Read)
	if err != nil {
		return nil, err
	}
	return root.List(ctx, p.Path, sandbox.ListOptions{Cursor: p.Cursor, Limit: p.Limit})
}

func (sess *session) readFile(ctx context.Context, p protocol.FileParams) (*sandbox.File, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionRead, ratelimit.Read)
	if err != nil {
		return nil, err
	}
	return root.Read(ctx, p.Path)
}

func (sess *session) writeFile(ctx context.Context, p protocol.FileWriteParams) (*sandbox.WriteResult, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionWrite, ratelimit.Write)
	if err != nil {
		return nil, err
	}
	return root.Write(ctx, sandbox.WriteRequest{Path: p.Path, Content: p.Content, Encoding: p.Encoding, Etag: p.Etag})
}

func (sess *session) createFile(ctx context.Context, p protocol.FileWriteParams) (*sandbox.WriteResult, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionWrite, ratelimit.Write)
	if err != nil {
		return nil, err
	}
	return root.Create(ctx, sandbox.WriteRequest{Path: p.Path, Content: p.Content, Encoding: p.Encoding})
}

func (sess *session) mkdir(ctx context.Context, p protocol.MkdirParams) (sandbox.Entry, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionWrite, ratelimit.Write)
	if err != nil {
		return sandbox.Entry{}, err
	}
	return root.Mkdir(ctx, p.Path, p.Parents)
}

func (sess *session) renameFile(ctx context.Context, p protocol.RenameParams) (sandbox.Entry, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionWrite, ratelimit.Write)
	if err != nil {
		return sandbox.Entry{}, err
	}
	e, err := root.Rename(ctx, p.From, p.To)
	if err == nil {
		sess.tellOpenDocument(p.Project, p.From, fmt.Sprintf(
			"%s renamed %s to %s: edits to %s no longer reach that file; open %s to go on editing it.",
			sess.ident.UserName, p.From, e.Path, p.From, e.Path))
	}
	return e, err
}

func (sess *session) deleteFile(ctx context.Context, p protocol.FileParams) (sandbox.TrashEntry, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionWrite, ratelimit.Write)
	if err != nil {
		return sandbox.TrashEntry{}, err
	}
	t, err := root.Delete(ctx, p.Path)
	if err == nil {
		sess.tellOpenDocument(p.Project, p.Path, fmt.Sprintf(
			"%s deleted %s (it is in the project's trash): saving it here would create it again.",
			sess.ident.UserName, p.Path))
	}
	return t, err
}

// tellOpenDocument warns everyone else who has path open that its file
// moved or went away under them: their buffer keeps editing the document,
// which no longer belongs to that file.
func (sess *session) tellOpenDocument(project, path, message string) {
	ref, err := docRef(protocol.DocRef{Project: project, Path: path})
	if err != nil {
		return
	}
	sess.srv.docs.Tell(ref, sess.conn, protocol.MessageWarning, message)
}

func (sess *session) listTrash(ctx context.Context, p protocol.ProjectParams) ([]sandbox.TrashEntry, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionRead, ratelimit.Read)
	if err != nil {
		return nil, err
	}
	return root.ListTrash(ctx)
}

func (sess *session) restoreFile(ctx context.Context, p protocol.TrashParams) (sandbox.TrashEntry, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionWrite, ratelimit.Write)
	if err != nil {
		return sandbox.TrashEntry{}, err
	}
	return root.Restore(ctx, p.ID, p.To)
}

func (sess *session) purgeFile(ctx context.Context, p protocol.TrashParams) (any, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionWrite, ratelimit.Write)
	if err != nil {
		return nil, err
	}
	return nil, root.Purge(ctx, p.ID)
}

// searchFiles searches names and contents. With a partialResultToken the
// results stream to the caller as they are found (in batches at most every
// 50 ms); otherwise they come back in the response. Cancelling the request
// stops the search.
func (sess *session) searchFiles(ctx context.Context, p protocol.SearchParams) (protocol.SearchResponse, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionRead, ratelimit.Search)
	if err != nil {
		return protocol.SearchResponse{}, err
	}
	q := sandbox.SearchQuery{Path: p.Path, Glob: p.Glob, Pattern: p.Pattern, Literal: p.Literal,
		IgnoreCase: p.IgnoreCase, MaxResults: p.MaxResults, IncludeIgnored: p.IncludeIgnored}
	var results []sandbox.SearchResult
	stream := len(p.PartialResultToken) > 0 && string(p.PartialResultToken) != "null"
	last := time.Now()
	flush := func() error {
		if len(results) == 0 {
			return nil
		}
		err := sess.conn.Notify(protocol.MethodProgress, protocol.ProgressParams{
			Token: json.RawMessage(p.PartialResultToken), Value: map[string]any{"results": results}})
		results = nil
		last = time.Now()
		return err
	}
	sum, err := root.Search(ctx, q, func(r sandbox.SearchResult) error {
		results = append(results, r)
		if stream && (len(results) >= 200 || time.Since(last) > 50*time.Millisecond) {
			return flush()
		}
		return nil
	})
	if err != nil {
		return protocol.SearchResponse{}, err
	}
	if stream {
		if err := flush(); err != nil {
			return protocol.SearchResponse{}, err
		}
		return protocol.SearchResponse{Summary: sum}, nil
	}
	if results == nil {
		results = []sandbox.SearchResult{}
	}
	return protocol.SearchResponse{Results: results, Summary: sum}, nil
}

// auditSymlinks reports links that escape, dangle or cross mounts; owners only.
func (sess *session) auditSymlinks(ctx context.Context, p protocol.ProjectParams) (*sandbox.SymlinkReport, error) {
	ctx, root, err := sess.fileRoot(ctx, p.Project, auth.ActionAdmin, ratelimit.Search)
	if err != nil {
		return nil, err
	}
	return root.AuditSymlinks(ctx)
}

// sandboxCodes maps the sandbox's stable error codes onto the protocol's.
// The sandbox code itself travels in data.reason so clients can tell, say,
// a read-only project from a forbidden role.
var sandboxCodes = map[sandbox.Code]int64{
	sandbox.NotFound:        protocol.CodeNotFound,
	sandbox.Exists:          protocol.CodeExists,
	sandbox.Denied:          protocol.CodeForbidden,
	sandbox.ReadOnly:        protocol.CodeForbidden,
	sandbox.Disabled:        protocol.CodeForbidden,
	sandbox.InvalidPath:     protocol.CodeInvalidPath,
	sandbox.TooLarge:        protocol.CodeTooLarge,
	sandbox.Conflict:        protocol.CodeConflict,
	sandbox.NotAFile:        protocol.CodeUnsupported,
	sandbox.NotADirectory:   protocol.CodeUnsupported,
	sandbox.Unsupported:     protocol.CodeUnsupported,
	sandbox.Unavailable:     protocol.CodeUnavailable,
	sandbox.InvalidArgument: protocol.CodeInvalidParams,
	sandbox.Canceled:        protocol.CodeRequestCancelled,
}

func sandboxError(e *sandbox.Error) error {
	code, ok := sandboxCodes[e.Code]
	if !ok {
		return e // internal: logged by the transport, answered generically
	}
	return protocol.Errorf(code, "%s", e.Error()).WithData(map[string]string{"reason": string(e.Code)})
}
