package hub

import (
	"context"
	"errors"

	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/hub/docs"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

// Document handlers: replica clients (rubberduck/doc/*) and thin clients
// (textDocument/* on rubberduck:// URIs). Each authorises, decodes, and
// delegates to hub/docs, which owns the documents.

// docRef checks a document reference and cleans its path, so one file has
// one key however a client spells it.
func docRef(ref protocol.DocRef) (protocol.DocRef, error) {
	if err := requireField("project", ref.Project); err != nil {
		return ref, err
	}
	clean, err := sandbox.CleanPath(ref.Path)
	if err != nil || clean == "" || clean == "." {
		return ref, protocol.Errorf(protocol.CodeInvalidPath, "invalid document path")
	}
	return protocol.DocRef{Project: ref.Project, Path: clean}, nil
}

// uriRef reads a thin client's rubberduck:// URI.
func uriRef(uri string) (protocol.DocRef, error) {
	ref, err := protocol.ParseDocURI(uri)
	if err != nil {
		return ref, protocol.Errorf(protocol.CodeInvalidParams, "%s", err.Error())
	}
	return docRef(ref)
}

// docError maps hub/docs errors onto protocol codes.
func docError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, docs.ErrNotSubscribed):
		return protocol.Errorf(protocol.CodeInvalidRequest, "open the document first")
	case errors.Is(err, docs.ErrBinary):
		return protocol.Errorf(protocol.CodeUnsupported, "not a text file")
	case errors.Is(err, docs.ErrClosed):
		return protocol.Errorf(protocol.CodeShuttingDown, "the hub is stopping")
	case errors.Is(err, crdt.ErrMalformed), errors.Is(err, crdt.ErrOutOfRange), errors.Is(err, crdt.ErrInvalidText):
		return protocol.Errorf(protocol.CodeInvalidParams, "invalid document update")
	}
	return err
}

func (sess *session) docSync(ctx context.Context, p protocol.DocSyncParams) (protocol.DocSyncResult, error) {
	ref, err := docRef(p.DocRef)
	if err != nil {
		return protocol.DocSyncResult{}, err
	}
	role, err := sess.authorize(ctx, ref.Project, auth.ActionRead)
	if err != nil {
		return protocol.DocSyncResult{}, err
	}
	res, err := sess.srv.docs.Sync(ctx, sess.conn, ref, sess.ident.UserID, p.StateVector)
	if err != nil {
		return protocol.DocSyncResult{}, docError(err)
	}
	return protocol.DocSyncResult{Update: res.Update, StateVector: res.StateVector, Role: string(role)}, nil
}

func (sess *session) docUpdate(ctx context.Context, p protocol.DocUpdateParams) (any, error) {
	ref, err := docRef(p.DocRef)
	if err != nil {
		return nil, err
	}
	if _, err := sess.authorize(ctx, ref.Project, auth.ActionWrite); err != nil {
		if errors.Is(err, auth.ErrForbidden) {
			sess.tell(protocol.MessageWarning, ref.Path+" is read-only for you: your change was not shared.")
		}
		return nil, err
	}
	return nil, docError(sess.srv.docs.Update(ctx, sess.conn, ref, p.Update))
}

func (sess *session) docClose(_ context.Context, p protocol.DocRef) (any, error) {
	ref, err := docRef(p)
	if err != nil {
		return nil, err
	}
	sess.closeDoc(ref)
	return nil, nil
}

// closeDoc ends the connection's subscription and clears its cursor there.
// Closing needs no authorisation: it only ever takes something away.
func (sess *session) closeDoc(ref protocol.DocRef) {
	sess.srv.docs.Unsubscribe(sess.conn, ref)
	sess.srv.presence.Cursor(sess.conn, protocol.CursorParams{DocRef: ref, Selections: []protocol.Selection{}})
}

func (sess *session) docRead(ctx context.Context, p protocol.DocRef) (protocol.DocReadResult, error) {
	ref, err := docRef(p)
	if err != nil {
		return protocol.DocReadResult{}, err
	}
	if _, err := sess.authorize(ctx, ref.Project, auth.ActionRead); err != nil {
		return protocol.DocReadResult{}, err
	}
	text, err := sess.srv.docs.Read(ctx, ref)
	if err != nil {
		return protocol.DocReadResult{}, docError(err)
	}
	return protocol.DocReadResult{DocRef: ref, Text: text}, nil
}

func (sess *session) docSave(ctx context.Context, p protocol.DocRef) (any, error) {
	ref, err := docRef(p)
	if err != nil {
		return nil, err
	}
	if _, err := sess.authorize(ctx, ref.Project, auth.ActionWrite); err != nil {
		return nil, err
	}
	return nil, docError(sess.srv.docs.Save(sandbox.WithActor(ctx, sess.ident.UserID), ref))
}

// docUndo takes back the caller's own last step in a document they have
// open as a thin client; everyone sees it as an edit.
func (sess *session) docUndo(ctx context.Context, p protocol.DocUndoParams) (protocol.UndoResult, error) {
	ref, err := docRef(p.DocRef)
	if err != nil {
		return protocol.UndoResult{}, err
	}
	if _, err := sess.authorize(ctx, ref.Project, auth.ActionWrite); err != nil {
		return protocol.UndoResult{}, err
	}
	done, err := sess.srv.docs.Undo(ctx, sess.conn, ref, sess.ident.UserID, p.Redo)
	if err != nil {
		return protocol.UndoResult{}, docError(err)
	}
	return protocol.UndoResult{Done: done}, nil
}

// didOpen subscribes a thin client; the hub's text wins over the buffer's.
func (sess *session) didOpen(ctx context.Context, p protocol.DidOpenTextDocumentParams) (any, error) {
	ref, err := uriRef(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	if _, err := sess.authorize(ctx, ref.Project, auth.ActionRead); err != nil {
		return nil, err
	}
	readOnly := sess.readOnly(ctx, ref.Project)
	sess.mu.Lock()
	enc := sess.encoding
	sess.mu.Unlock()
	return nil, docError(sess.srv.docs.Open(ctx, sess.conn, ref, p.TextDocument.URI, sess.ident.UserID, enc,
		readOnly, p.TextDocument.Version, p.TextDocument.Text))
}

// didChange applies a thin client's typing, or reverts it for a reader.
func (sess *session) didChange(ctx context.Context, p protocol.DidChangeTextDocumentParams) (any, error) {
	ref, err := uriRef(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	readOnly := false
	if _, err := sess.authorize(ctx, ref.Project, auth.ActionWrite); err != nil {
		if !errors.Is(err, auth.ErrForbidden) {
			return nil, err
		}
		readOnly = true // a reader: the change is reverted in their buffer
	}
	return nil, docError(sess.srv.docs.Change(ctx, sess.conn, ref, readOnly, p.TextDocument.Version, p.ContentChanges))
}

func (sess *session) didClose(_ context.Context, p protocol.DidCloseTextDocumentParams) (any, error) {
	ref, err := uriRef(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	sess.closeDoc(ref)
	return nil, nil
}

// didSave writes the document for a thin client that saved its buffer.
func (sess *session) didSave(ctx context.Context, p protocol.DidSaveTextDocumentParams) (any, error) {
	ref, err := uriRef(p.TextDocument.URI)
	if err != nil {
		return nil, err
	}
	if _, err := sess.authorize(ctx, ref.Project, auth.ActionWrite); err != nil {
		return nil, err
	}
	return nil, docError(sess.srv.docs.Save(sandbox.WithActor(ctx, sess.ident.UserID), ref))
}

// readOnly reports whether the caller may only read project.
func (sess *session) readOnly(ctx context.Context, project string) bool {
	_, err := sess.srv.deps.Auth.Authorize(ctx, sess.ident, project, auth.ActionWrite)
	return err != nil
}

// tell shows a message in the person's editor.
func (sess *session) tell(t protocol.MessageType, msg string) {
	_ = sess.conn.Notify(protocol.MethodShowMessage, protocol.ShowMessageParams{Type: t, Message: msg})
}

// newDocs builds the document manager on the hub's store and sandboxes.
func (s *Server) newDocs() *docs.Manager {
	return docs.NewManager(docs.Options{
		Store: s.deps.Store,
		Files: func(ctx context.Context, project string) (docs.Files, error) {
			return s.workspaces.root(ctx, project)
		},
		Changed:    s.feed.changed,
		Registerer: s.metrics.registry,
		Logger:     s.log.With("subsystem", "docs"),
	})
}

// documentsHook ends a connection's document subscriptions in a project it
// leaves (or when it disconnects).
func (s *Server) documentsHook() roomHook {
	return roomHook{leave: func(sess *session, project string) { s.docs.Leave(sess.conn, project) }}
}
