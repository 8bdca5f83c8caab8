package hub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/hub/intel"
	"github.com/rubberduckhub/rubberduck/hub/intel/index"
	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

// Code intelligence handlers: rubberduck/intel/* for the browser's context
// panel and the CLI, and the standard textDocument/* requests answered by
// the project's shared language servers (hub/intel/lspool) with the hub's
// own index (hub/intel/index) as fallback. Each authorises, then delegates
// to hub/intel.

// SetIntel replaces the server's code intelligence (Open gives every hub
// one); tests use it to pick language servers. Call it before Serve.
// Projects are added to the service on their first intel request.
func (s *Server) SetIntel(svc *intel.Service) {
	if s.intel != nil && s.intel != svc {
		_ = s.intel.Close()
	}
	s.intel = svc
}

func (s *Server) intelService() *intel.Service { return s.intel }

// intelProject authorises action for the caller and returns the project's
// code intelligence, starting it (initial index through the sandbox) on
// first use.
func (sess *session) intelProject(ctx context.Context, project string, action auth.Action) (*intel.Project, error) {
	if err := requireField("project", project); err != nil {
		return nil, err
	}
	if _, err := sess.authorize(ctx, project, action); err != nil {
		return nil, err
	}
	if err := sess.srv.deps.Limits.Allow(sess.ident.UserID, project, ratelimit.Read); err != nil {
		return nil, err
	}
	svc := sess.srv.intelService()
	if svc == nil {
		return nil, protocol.Errorf(protocol.CodeMethodNotFound, "code intelligence is not enabled on this hub")
	}
	if p, err := svc.Project(project); err == nil {
		return p, nil
	}
	root, err := sess.srv.workspaces.root(ctx, project)
	if err != nil {
		return nil, err
	}
	proj, err := sess.srv.deps.Projects.Get(ctx, project)
	if err != nil {
		return nil, err
	}
	// Listing names only; every read goes through the sandbox. All files:
	// the index skips what it cannot parse, the secret scan reads them.
	files, _ := index.WalkAll(os.DirFS(proj.Root), ".")
	return svc.AddProject(ctx, project, proj.Root, sandboxSource{root}, files)
}

// sandboxSource reads closed files for the index through the sandbox.
type sandboxSource struct{ root *sandbox.Root }

func (s sandboxSource) ReadFile(ctx context.Context, path string) ([]byte, error) {
	f, err := s.root.Read(ctx, path)
	if err != nil {
		return nil, err
	}
	if f.Encoding != "utf-8" {
		return nil, fmt.Errorf("%s: not text", path)
	}
	return []byte(f.Content), nil
}

func (sess *session) positionEncoding() string {
	sess.mu.Lock()
	defer sess.mu.Unlock()
	return sess.encoding
}

// intelError maps hub/intel's errors onto protocol codes.
func intelError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, intel.ErrInvalid), errors.Is(err, index.ErrUnsupported):
		return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: %s", strings.TrimPrefix(err.Error(), "intel: "))
	case errors.Is(err, intel.ErrUnknownProject):
		return protocol.Errorf(protocol.CodeNotFound, "not found")
	}
	if _, ok := protocol.AsError(err); ok {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	// Index and sandbox errors name project paths only; still, keep the
	// client's answer generic.
	return protocol.Errorf(protocol.CodeNotFound, "no code intelligence for this file")
}

func (sess *session) intelOutline(ctx context.Context, p protocol.IntelParams) (*protocol.IntelOutlineResult, error) {
	ip, err := sess.intelProject(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	r, err := ip.Outline(ctx, p.Path, sess.positionEncoding())
	return r, intelError(err)
}

func (sess *session) intelMetrics(ctx context.Context, p protocol.IntelParams) (*protocol.IntelMetricsResult, error) {
	ip, err := sess.intelProject(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	r, err := ip.Metrics(ctx, p.Path, sess.positionEncoding())
	return r, intelError(err)
}

func (sess *session) intelDefinition(ctx context.Context, p protocol.IntelParams) (*protocol.IntelLocationsResult, error) {
	ip, err := sess.intelProject(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	r, err := ip.Definition(ctx, sess.ident.UserID, p.Path, p.Position, sess.positionEncoding())
	return r, intelError(err)
}

func (sess *session) intelReferences(ctx context.Context, p protocol.IntelReferencesParams) (*protocol.IntelLocationsResult, error) {
	ip, err := sess.intelProject(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	r, err := ip.References(ctx, sess.ident.UserID, p.Path, p.Position, p.IncludeDeclaration, sess.positionEncoding())
	return r, intelError(err)
}

func (sess *session) intelCalls(ctx context.Context, p protocol.IntelCallsParams) (*protocol.IntelCallsResult, error) {
	ip, err := sess.intelProject(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	r, err := ip.Calls(ctx, p.Path, p.Position, p.Direction, sess.positionEncoding())
	return r, intelError(err)
}

func (sess *session) intelDependencies(ctx context.Context, p protocol.IntelDependenciesParams) (*protocol.IntelDependenciesResult, error) {
	ip, err := sess.intelProject(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	r, err := ip.Dependencies(ctx, p.Path)
	return r, intelError(err)
}

func (sess *session) intelSymbols(ctx context.Context, p protocol.IntelSymbolsParams) (*protocol.IntelSymbolsResult, error) {
	ip, err := sess.intelProject(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	return ip.Symbols(ctx, p.Query, min(max(p.Limit, 0), 500), sess.positionEncoding()), nil
}

func (sess *session) intelRepoMap(ctx context.Context, p protocol.IntelRepoMapParams) (*protocol.IntelRepoMapResult, error) {
	ip, err := sess.intelProject(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	return ip.RepoMap(ctx, p.Focus, min(max(p.MaxTokens, 0), 32000)), nil
}

func (sess *session) intelStatus(ctx context.Context, p protocol.IntelDependenciesParams) (*protocol.IntelStatusResult, error) {
	ip, err := sess.intelProject(ctx, p.Project, auth.ActionRead)
	if err != nil {
		return nil, err
	}
	return ip.Status(), nil
}

// lspTextDocument forwards a standard textDocument/* request on a
// rubberduck://project/path document to the project's language server.
// Without one, definition, references and documentSymbol are answered by
// the index; anything else answers null. Language servers count in UTF-16,
// so sessions that negotiated another encoding are answered by the index.
func lspTextDocument(method string, write bool) func(context.Context, *session, json.RawMessage) (any, error) {
	action := auth.ActionRead
	if write {
		action = auth.ActionWrite
	}
	return func(ctx context.Context, sess *session, raw json.RawMessage) (any, error) {
		var p struct {
			TextDocument struct {
				URI string `json:"uri"`
			} `json:"textDocument"`
			Position *protocol.Position `json:"position"`
			Context  struct {
				IncludeDeclaration bool `json:"includeDeclaration"`
			} `json:"context"`
		}
		if err := json.Unmarshal(raw, &p); err != nil {
			return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: %v", err)
		}
		project, path, ok := splitDocURI(p.TextDocument.URI)
		if !ok {
			return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: textDocument.uri must be rubberduck://<project>/<path>")
		}
		ip, err := sess.intelProject(ctx, project, action)
		if err != nil {
			return nil, err
		}
		enc := sess.positionEncoding()
		if enc == intel.UTF16 || enc == "" {
			res, handled, err := ip.LSP(ctx, sess.ident.UserID, path, method, raw)
			if handled {
				if err != nil {
					return nil, protocol.Errorf(protocol.CodeInternalError, "language server: request failed")
				}
				return res, nil
			}
		}
		toLocations := func(r *protocol.IntelLocationsResult, err error) (any, error) {
			if err != nil {
				return nil, intelError(err)
			}
			out := make([]map[string]any, 0, len(r.Locations))
			for _, l := range r.Locations {
				out = append(out, map[string]any{"uri": "rubberduck://" + project + "/" + l.Path, "range": l.Range})
			}
			return out, nil
		}
		switch method {
		case "textDocument/definition":
			return toLocations(ip.Definition(ctx, sess.ident.UserID, path, p.Position, enc))
		case "textDocument/references":
			return toLocations(ip.References(ctx, sess.ident.UserID, path, p.Position, p.Context.IncludeDeclaration, enc))
		case "textDocument/documentSymbol":
			r, err := ip.Outline(ctx, path, enc)
			if err != nil {
				return nil, intelError(err)
			}
			return documentSymbols(r.Symbols), nil
		}
		return nil, nil
	}
}

// documentSymbols renders an outline as LSP DocumentSymbol[].
func documentSymbols(syms []protocol.IntelSymbol) []map[string]any {
	out := make([]map[string]any, 0, len(syms))
	for _, s := range syms {
		out = append(out, map[string]any{
			"name": s.Name, "kind": lspSymbolKind(s.Kind), "detail": s.Signature,
			"range": s.Range, "selectionRange": s.SelectionRange, "children": documentSymbols(s.Children),
		})
	}
	return out
}

func lspSymbolKind(k string) int {
	switch index.Kind(k) {
	case index.KindModule:
		return 2
	case index.KindClass:
		return 5
	case index.KindMethod:
		return 6
	case index.KindField:
		return 8
	case index.KindEnum:
		return 10
	case index.KindInterface:
		return 11
	case index.KindFunction:
		return 12
	case index.KindVariable:
		return 13
	case index.KindConstant:
		return 14
	case index.KindHeading:
		return 15 // String: Markdown headings
	case index.KindStruct:
		return 23
	case index.KindType:
		return 26 // TypeParameter is the closest LSP has to a type alias
	}
	return 13
}

// splitDocURI splits rubberduck://<project>/<path>.
func splitDocURI(uri string) (project, path string, ok bool) {
	rest, ok := strings.CutPrefix(uri, protocol.URIScheme+"://")
	if !ok {
		return "", "", false
	}
	project, path, ok = strings.Cut(rest, "/")
	if !ok || project == "" || path == "" {
		return "", "", false
	}
	if un, err := url.PathUnescape(path); err == nil {
		path = un
	}
	return project, path, true
}

// aiSymbols adapts code intelligence to the AI engine's @symbol lookups.
type aiSymbols struct{ s *Server }

// AISymbols returns the ai.Symbols the AI engine should be given (nil
// service: no lookups).
func (s *Server) AISymbols() ai.Symbols { return aiSymbols{s} }

func (a aiSymbols) Lookup(ctx context.Context, project, _ string, name string) ([]ai.Symbol, error) {
	svc := a.s.intelService()
	if svc == nil {
		return nil, nil
	}
	found, err := svc.Lookup(ctx, project, name, 20)
	if err != nil {
		return nil, err
	}
	out := make([]ai.Symbol, 0, len(found))
	for _, f := range found {
		out = append(out, ai.Symbol{Name: f.Name, Path: f.Path, Line: int(f.Sel.Start.Line) + 1, Snippet: f.Sig})
	}
	return out, nil
}

// IntelHub adapts the server to what hub/intel needs: notifications to a
// project's room or to one person in it, and edits to shared documents.
// Wire it as intel.New(intel.Options{Hub: srv.IntelHub(), ...}).
func (s *Server) IntelHub() intel.Hub { return intelHub{s} }

type intelHub struct{ s *Server }

func (h intelHub) Notify(_ context.Context, project, person, method string, params json.RawMessage) {
	if person == "" {
		_ = h.s.rooms.broadcast(project, method, params, nil)
		return
	}
	m, err := protocol.NewNotification(method, params)
	if err != nil {
		return
	}
	frame, err := json.Marshal(m)
	if err != nil {
		return
	}
	for _, sess := range h.s.rooms.sessions(project) {
		if sess.ident.UserID == person {
			_ = sess.conn.NotifyRaw(frame)
		}
	}
}

// ApplyEdit applies a language server's workspace edit (a rename, a
// code action) to the shared documents on behalf of the person whose
// request caused it, if they may write: open documents change through the
// CRDT, so every editor sees the edit and nobody's typing is lost; closed
// files are rewritten on disk through the sandbox. Each file's edits are
// checked against the text the server saw; a file that moved on since is
// refused rather than edited in the wrong place.
func (h intelHub) ApplyEdit(ctx context.Context, project, person string, raw json.RawMessage) (bool, error) {
	s := h.s
	var ident *auth.Principal
	for _, sess := range s.rooms.sessions(project) {
		if sess.ident.UserID == person {
			id := sess.ident
			ident = &id
			break
		}
	}
	if ident == nil {
		return false, errors.New("the person who asked for this edit is no longer connected")
	}
	if _, err := s.deps.Auth.Authorize(ctx, *ident, project, auth.ActionWrite); err != nil {
		return false, errors.New("the person who asked for this edit may not change files")
	}
	var we struct {
		Changes         map[string][]protocol.TextEdit `json:"changes"`
		DocumentChanges []protocol.TextDocumentEdit    `json:"documentChanges"`
	}
	if err := json.Unmarshal(raw, &we); err != nil {
		return false, fmt.Errorf("workspace edit: %w", err)
	}
	files := we.Changes
	if files == nil {
		files = make(map[string][]protocol.TextEdit)
	}
	for _, dc := range we.DocumentChanges {
		files[dc.TextDocument.URI] = append(files[dc.TextDocument.URI], dc.Edits...)
	}
	ctx = sandbox.WithActor(ctx, ident.UserID)
	for uri, edits := range files {
		ref, err := protocol.ParseDocURI(uri)
		if err != nil || ref.Project != project {
			return false, fmt.Errorf("workspace edit names a document outside the project")
		}
		if ref, err = docRef(ref); err != nil {
			return false, err
		}
		text, version, err := s.liveText(ctx, project, ref.Path)
		if err != nil {
			return false, err
		}
		byteEdits := make([]propose.Edit, 0, len(edits))
		for _, e := range edits {
			start, err1 := lspByteOffset(text, e.Range.Start)
			end, err2 := lspByteOffset(text, e.Range.End)
			if err := errors.Join(err1, err2); err != nil {
				return false, fmt.Errorf("edit of %s: %w", ref.Path, err)
			}
			byteEdits = append(byteEdits, propose.Edit{Start: start, End: end, NewText: e.NewText})
		}
		if err := s.applyEdits(ctx, ref, ident.UserName, version, byteEdits); err != nil {
			return false, err
		}
	}
	return true, nil
}

// lspByteOffset turns a language server's position (UTF-16, as LSP's
// default) into a byte offset in text.
func lspByteOffset(text string, pos protocol.Position) (int, error) {
	cp, err := lsync.Offset(text, pos, crdt.UTF16)
	if err != nil {
		return 0, err
	}
	return crdt.Convert(text, cp, crdt.CodePoint, crdt.UTF8)
}
