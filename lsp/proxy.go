package lsp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"time"

	"github.com/sourcegraph/conc"
	"go.lsp.dev/jsonrpc2"
	lsp "go.lsp.dev/protocol"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// Config is what `rubberduck lsp` needs to know.
type Config struct {
	// HubURL is the hub's /lsp WebSocket URL (ws:// or wss://).
	HubURL string
	// Project is the project to join.
	Project string
	// Token is the API token sent as Authorization: Bearer.
	Token string
	// Root overrides the project folder; by default it is the editor's
	// first workspace folder or rootUri.
	Root string
	// Author stamps this user's edits in the CRDT (attribution, per-user
	// undo). Default: $USER.
	Author string
	// Client names the editor for presence ("nvim", "vscode", ...); the
	// editor's clientInfo.name is used when empty.
	Client string
	// Logger receives the proxy's logs. It must not write to stdout, which
	// is the LSP channel. Default: discard.
	Logger *slog.Logger
	// MinBackoff and MaxBackoff bound the reconnect delay (defaults
	// 100ms and 10s); each attempt doubles it, with full jitter.
	MinBackoff, MaxBackoff time.Duration
}

// Serve runs the proxy on one editor connection (usually stdin/stdout)
// until the editor sends exit, closes the stream, or ctx ends. Every
// goroutine it starts has ended when it returns.
func Serve(ctx context.Context, cfg Config, rwc io.ReadWriteCloser) error {
	if cfg.HubURL == "" || cfg.Project == "" {
		return errors.New("lsp: hub URL and project are required")
	}
	if cfg.Token == "" {
		return errors.New("lsp: a token is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Author == "" {
		cfg.Author = os.Getenv("USER")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 10 * time.Second
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &proxy{
		cfg:    cfg,
		log:    cfg.Logger,
		ctx:    ctx,
		cancel: cancel,
		events: make(chan func(), 1024),
		docs:   make(map[lsp.DocumentURI]*document),
		byPath: make(map[string]*document),
		enc:    protocol.EncodingUTF16,
	}
	p.editor = jsonrpc2.NewConn(newStream(rwc))
	// jsonrpc2 v0.10.0 records every error a handler returns in an
	// atomic.Value and panics when two of different types arrive (say a
	// write error, then the read error at exit): handler errors are
	// logged here and never returned.
	p.editor.Go(ctx, func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		if err := p.handleEditor(ctx, reply, req); err != nil {
			p.log.Debug("editor request failed", "method", req.Method(), "err", err)
		}
		return nil
	})
	p.wg.Go(p.loop)
	select {
	case <-p.editor.Done():
	case <-ctx.Done():
	}
	cancel()
	_ = p.editor.Close()
	<-p.editor.Done()
	p.wg.Wait()
	if err := p.editor.Err(); err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrClosedPipe) && ctx.Err() == nil {
		return fmt.Errorf("editor connection: %w", err)
	}
	return nil
}

// proxy is one editor's session. Everything below "loop-owned" is touched
// only by the loop goroutine; other goroutines post closures to it.
type proxy struct {
	cfg    Config
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	editor jsonrpc2.Conn
	events chan func()
	wg     conc.WaitGroup

	// loop-owned
	enc         string
	paths       pathMap
	client      string
	initialized bool
	docs        map[lsp.DocumentURI]*document
	byPath      map[string]*document
	hub         *wsrpc.Client // nil while offline
	gen         uint64        // increments on every (re)connection
	everOnline  bool
	warned      bool // told the user the hub is unreachable
}

// post runs f on the loop goroutine. It gives up when the proxy stops.
func (p *proxy) post(f func()) {
	select {
	case p.events <- f:
	case <-p.ctx.Done():
	}
}

func (p *proxy) loop() {
	for {
		select {
		case f := <-p.events:
			f()
		case <-p.ctx.Done():
			return
		}
	}
}

// goAsync runs f in a goroutine the proxy owns.
func (p *proxy) goAsync(f func()) { p.wg.Go(f) }

// ---- editor side ----

func (p *proxy) handleEditor(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	switch req.Method() {
	case protocol.MethodInitialize:
		return p.initialize(ctx, reply, req.Params())
	case protocol.MethodInitialized, protocol.MethodSetTrace, protocol.MethodCancel:
		return nil
	case protocol.MethodShutdown:
		return reply(ctx, nil, nil)
	case protocol.MethodExit:
		p.cancel()
		return nil
	case protocol.MethodDidOpen, protocol.MethodDidChange, protocol.MethodDidClose, protocol.MethodDidSave,
		protocol.MethodCursor, protocol.MethodFocus:
		params := req.Params()
		method := req.Method()
		p.post(func() { p.editorNotification(method, params) })
		return nil
	}
	if req.Method() == protocol.MethodExecuteCommand {
		var params lsp.ExecuteCommandParams
		if err := json.Unmarshal(req.Params(), &params); err == nil && (params.Command == protocol.CommandUndo || params.Command == protocol.CommandRedo) {
			var uri lsp.DocumentURI
			if len(params.Arguments) > 0 {
				if s, ok := params.Arguments[0].(string); ok {
					uri = lsp.DocumentURI(s)
				}
			}
			redo := params.Command == protocol.CommandRedo
			p.post(func() {
				res, err := p.undo(uri, redo)
				_ = reply(ctx, res, err)
			})
			return nil
		}
	}
	if _, isCall := req.(*jsonrpc2.Call); !isCall {
		method, params := req.Method(), req.Params()
		p.post(func() { p.forwardNotification(method, params) })
		return nil
	}
	method, params := req.Method(), req.Params()
	p.post(func() {
		hub, paths := p.hub, p.paths
		p.goAsync(func() { p.forwardCall(hub, paths, method, params, reply) })
	})
	return nil
}

func (p *proxy) initialize(ctx context.Context, reply jsonrpc2.Replier, raw json.RawMessage) error {
	var params protocol.InitializeParams
	if err := json.Unmarshal(raw, &params); err != nil {
		return reply(ctx, nil, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "initialize: %v", err))
	}
	var offered []string
	if params.Capabilities.General != nil {
		offered = params.Capabilities.General.PositionEncodings
	}
	var legacy struct {
		Capabilities struct {
			OffsetEncoding []string `json:"offsetEncoding"`
		} `json:"capabilities"`
	}
	_ = json.Unmarshal(raw, &legacy)
	if len(offered) == 0 {
		// clangd's pre-3.17 extension, which Neovim 0.7 understands.
		offered = legacy.Capabilities.OffsetEncoding
	}
	enc := protocol.NegotiateEncoding(offered)
	root := rootFromInit(p.cfg.Root, &params.InitializeParams)
	client := p.cfg.Client
	if client == "" && params.ClientInfo != nil {
		client = params.ClientInfo.Name
	}
	done := make(chan struct{})
	p.post(func() {
		defer close(done)
		p.enc = enc
		p.paths = pathMap{root: root, project: p.cfg.Project}
		p.client = client
		if !p.initialized {
			p.initialized = true
			p.wg.Go(p.hubLoop)
		}
	})
	<-done
	p.log.Info("editor initialized", "encoding", enc, "root", root)
	res := struct {
		protocol.InitializeResult
		OffsetEncoding string `json:"offsetEncoding"`
	}{
		InitializeResult: protocol.InitializeResult{
			ServerInfo: &lsp.ServerInfo{Name: "rubberduck-lsp", Version: protocol.Version},
			Capabilities: protocol.ServerCapabilities{
				ServerCapabilities: lsp.ServerCapabilities{
					TextDocumentSync: lsp.TextDocumentSyncOptions{
						OpenClose: true,
						Change:    lsp.TextDocumentSyncKindIncremental,
						Save:      &lsp.SaveOptions{},
					},
					// Answered by the hub's shared language servers and AI,
					// forwarded with URIs rewritten. Read-only requests only:
					// edits reach documents through the CRDT, never twice.
					HoverProvider:          true,
					DefinitionProvider:     true,
					ReferencesProvider:     true,
					DocumentSymbolProvider: true,
					CompletionProvider:     &lsp.CompletionOptions{TriggerCharacters: []string{"."}},
					SignatureHelpProvider:  &lsp.SignatureHelpOptions{TriggerCharacters: []string{"(", ","}},
					// The AI's code actions: their edits become proposals
					// in the shared conversation, not edits here.
					CodeActionProvider:     true,
					ExecuteCommandProvider: &lsp.ExecuteCommandOptions{Commands: append([]string{protocol.CommandUndo, protocol.CommandRedo}, protocol.AICommands...)},
				},
				InlineCompletionProvider: map[string]any{},
				PositionEncoding:         enc,
				Experimental: map[string]any{"rubberduck": protocol.ExperimentalCapabilities{
					ProtocolVersion: protocol.Version,
				}},
			},
		},
		OffsetEncoding: enc,
	}
	return reply(ctx, res, nil)
}

type versionedChange struct {
	TextDocument struct {
		URI     lsp.DocumentURI `json:"uri"`
		Version int32           `json:"version"`
	} `json:"textDocument"`
	ContentChanges []protocol.TextDocumentContentChangeEvent `json:"contentChanges"`
}

// editorNotification handles document and presence notifications, on the loop.
func (p *proxy) editorNotification(method string, raw json.RawMessage) {
	switch method {
	case protocol.MethodDidOpen:
		var params lsp.DidOpenTextDocumentParams
		if err := json.Unmarshal(raw, &params); err != nil {
			p.log.Warn("bad didOpen", "err", err)
			return
		}
		p.open(params.TextDocument.URI, params.TextDocument.Version, params.TextDocument.Text)
	case protocol.MethodDidChange:
		var params versionedChange
		if err := json.Unmarshal(raw, &params); err != nil {
			p.log.Warn("bad didChange", "err", err)
			return
		}
		d := p.docs[params.TextDocument.URI]
		if d == nil {
			return
		}
		out, err := d.didChange(params.TextDocument.Version, params.ContentChanges)
		if err != nil {
			p.log.Error("didChange", "path", d.path, "err", err)
		}
		p.apply(d, out)
	case protocol.MethodDidClose:
		var params lsp.DidCloseTextDocumentParams
		if err := json.Unmarshal(raw, &params); err != nil {
			return
		}
		d := p.docs[params.TextDocument.URI]
		if d == nil {
			return
		}
		delete(p.docs, d.uri)
		delete(p.byPath, d.path)
		if p.hub != nil {
			_ = p.hub.Notify(protocol.MethodDocClose, protocol.DocRef{Project: p.cfg.Project, Path: d.path})
		}
	case protocol.MethodDidSave:
		var params lsp.DidSaveTextDocumentParams
		if err := json.Unmarshal(raw, &params); err != nil {
			return
		}
		d := p.docs[params.TextDocument.URI]
		if d == nil || p.hub == nil {
			return
		}
		hub, ref := p.hub, protocol.DocRef{Project: p.cfg.Project, Path: d.path}
		p.goAsync(func() {
			ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
			defer cancel()
			if err := hub.Call(ctx, protocol.MethodDocSave, ref, nil); err != nil {
				p.log.Warn("save on hub", "path", ref.Path, "err", err)
			}
		})
	case protocol.MethodCursor:
		var params protocol.EditorCursorParams
		if err := json.Unmarshal(raw, &params); err != nil || p.hub == nil {
			return
		}
		path, ok := p.paths.toPath(lsp.DocumentURI(params.URI))
		if !ok {
			return
		}
		_ = p.hub.Notify(protocol.MethodCursor, protocol.CursorParams{
			DocRef: protocol.DocRef{Project: p.cfg.Project, Path: path}, Selections: params.Selections})
	case protocol.MethodFocus:
		var params protocol.EditorFocusParams
		if err := json.Unmarshal(raw, &params); err != nil || p.hub == nil {
			return
		}
		path, ok := p.paths.toPath(lsp.DocumentURI(params.URI))
		if !ok {
			return
		}
		_ = p.hub.Notify(protocol.MethodFocus, protocol.FocusParams{
			DocRef: protocol.DocRef{Project: p.cfg.Project, Path: path}, Viewport: params.Viewport})
	}
}

func (p *proxy) open(u lsp.DocumentURI, version int32, text string) {
	path, ok := p.paths.toPath(u)
	if !ok {
		p.log.Debug("not in the project; not shared", "uri", u)
		return
	}
	if old := p.byPath[path]; old != nil {
		delete(p.docs, old.uri)
	}
	d := newDocument(u, path, version, text, p.enc, p.cfg.Author)
	p.docs[u] = d
	p.byPath[path] = d
	p.syncDoc(d)
}

// forwardNotification passes an editor notification the proxy does not
// handle to the hub, with URIs rewritten. Dropped while offline.
func (p *proxy) forwardNotification(method string, raw json.RawMessage) {
	if p.hub == nil {
		return
	}
	_ = p.hub.Notify(method, p.paths.rewrite(raw, true))
}

// forwardCall passes an editor request to the hub and its answer back.
func (p *proxy) forwardCall(hub *wsrpc.Client, paths pathMap, method string, raw json.RawMessage, reply jsonrpc2.Replier) {
	if hub == nil {
		_ = reply(p.ctx, nil, jsonrpc2.Errorf(jsonrpc2.Code(-32803), "rubberduck: the hub is not connected; retrying in the background"))
		return
	}
	var res json.RawMessage
	err := hub.Call(p.ctx, method, paths.rewrite(raw, true), &res)
	if err != nil {
		if e, ok := protocol.AsError(err); ok {
			_ = reply(p.ctx, nil, jsonrpc2.NewError(jsonrpc2.Code(e.Code), e.Message))
			return
		}
		_ = reply(p.ctx, nil, jsonrpc2.Errorf(jsonrpc2.Code(-32803), "rubberduck: %v", err))
		return
	}
	if len(res) == 0 {
		res = json.RawMessage("null")
	}
	_ = reply(p.ctx, paths.rewrite(res, false), nil)
}

// undo reverts the person's most recent step in the document at uri (or
// re-applies the step they last undid): only their own edits, on the
// replica, so other people's text stays. The change reaches the hub as an
// update and the editor as an applyEdit, like anyone else's.
func (p *proxy) undo(uri lsp.DocumentURI, redo bool) (protocol.UndoResult, error) {
	d := p.docs[uri]
	if d == nil {
		return protocol.UndoResult{}, jsonrpc2.Errorf(jsonrpc2.InvalidParams, "rubberduck: %s is not a shared document", uri)
	}
	out, err := d.undo(redo)
	if errors.Is(err, crdt.ErrNothingToUndo) {
		return protocol.UndoResult{}, nil
	}
	if err != nil {
		return protocol.UndoResult{}, jsonrpc2.Errorf(jsonrpc2.InternalError, "rubberduck: %v", err)
	}
	p.apply(d, out)
	return protocol.UndoResult{Done: true}, nil
}

// apply carries out what an event on d asks for: updates to the hub, an
// applyEdit to the editor, a word to a reader whose typing was undone.
func (p *proxy) apply(d *document, out outcome) {
	if out.refused && !d.toldReadOnly {
		d.toldReadOnly = true
		p.status("connected", "RubberDuck: "+d.path+" is read-only for you (reader): your changes are not shared and are undone.", lsp.MessageTypeWarning)
	}
	for _, u := range out.updates {
		p.sendUpdate(d, u)
	}
	p.sendEdit(d, out.edit)
}

// sendEdit sends the editor one workspace/applyEdit and hands its answer
// back to the document.
func (p *proxy) sendEdit(d *document, e *lsync.Edit) {
	if e == nil {
		return
	}
	params := e.Params(string(d.uri))
	id := e.ID
	p.goAsync(func() {
		var res lsp.ApplyWorkspaceEditResponse
		_, err := p.editor.Call(p.ctx, protocol.MethodApplyEdit, params, &res)
		p.post(func() {
			if p.docs[d.uri] != d {
				return
			}
			applied := err == nil && res.Applied
			p.sendEdit(d, d.answered(id, applied))
			if applied {
				p.settle(d, id)
			}
		})
	})
}

// settle calls EditSettled for an applied edit once its echoes must have
// arrived, so parts the editor did not apply after all are sent again
// without waiting for the person's next keystroke.
func (p *proxy) settle(d *document, id uint64) {
	p.goAsync(func() {
		select {
		case <-time.After(lsync.SettleDelay):
		case <-p.ctx.Done():
			return
		}
		p.post(func() {
			if p.docs[d.uri] == d && d.buf != nil {
				p.sendEdit(d, d.buf.EditSettled(id))
			}
		})
	})
}

// ---- hub side ----

// sendUpdate sends one local update to the hub if the document is synced
// on the current connection; otherwise the next sync carries it.
func (p *proxy) sendUpdate(d *document, u []byte) {
	if p.hub == nil || d.syncGen != p.gen {
		return
	}
	err := p.hub.Notify(protocol.MethodDocUpdate, protocol.DocUpdateParams{
		DocRef: protocol.DocRef{Project: p.cfg.Project, Path: d.path}, Update: u})
	if err != nil {
		p.log.Warn("send update", "path", d.path, "err", err)
	}
}

// syncDoc asks the hub for what the replica lacks and answers with what
// the hub lacks: on open and after every reconnect.
func (p *proxy) syncDoc(d *document) {
	if p.hub == nil {
		return
	}
	hub, gen := p.hub, p.gen
	params := protocol.DocSyncParams{
		DocRef:      protocol.DocRef{Project: p.cfg.Project, Path: d.path},
		StateVector: d.replica.StateVector().Encode(),
	}
	p.goAsync(func() {
		ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
		defer cancel()
		var res protocol.DocSyncResult
		err := hub.Call(ctx, protocol.MethodDocSync, params, &res)
		p.post(func() { p.synced(d, gen, res, err) })
	})
}

func (p *proxy) synced(d *document, gen uint64, res protocol.DocSyncResult, err error) {
	if p.docs[d.uri] != d || gen != p.gen || p.hub == nil {
		return // closed meanwhile, or a newer connection syncs again
	}
	if err != nil {
		p.log.Warn("doc sync", "path", d.path, "err", err)
		return
	}
	hubSV, err := crdt.DecodeStateVector(res.StateVector)
	if err != nil {
		hubSV = crdt.StateVector{}
	}
	d.setReadOnly(res.Role == "reader")
	if d.joined() && disjoint(d.replica.StateVector(), hubSV) {
		// The hub came back without this document's history. Keep the
		// person's text on top of the hub's new history instead of
		// merging two histories of the same text into a doubled one.
		p.log.Warn("hub lost the document's history; re-sending this editor's text as edits", "path", d.path)
		p.status("connected", "RubberDuck: the hub lost recent history of "+d.path+"; your text was kept and re-sent", lsp.MessageTypeWarning)
		out, err := d.adoptHistory(res.Update)
		if err != nil {
			p.log.Error("doc sync", "path", d.path, "err", err)
			return
		}
		d.syncGen = gen
		p.apply(d, out)
		return
	}
	if len(res.Update) > 0 {
		e, err := d.remote(res.Update)
		if err != nil {
			p.log.Error("doc sync", "path", d.path, "err", err)
			return
		}
		p.sendEdit(d, e)
	}
	d.syncGen = gen
	if !d.joined() {
		out, err := d.joinHub()
		if err != nil {
			p.log.Error("join doc", "path", d.path, "err", err)
			return
		}
		// The merge's updates are in the replica: EncodeSince below
		// carries them.
		out.updates = nil
		p.apply(d, out)
	}
	if up := d.replica.EncodeSince(hubSV); len(up) > 0 && !d.readOnly {
		p.sendUpdate(d, up)
	}
}

// hubLoop keeps one connection to the hub, reconnecting with exponential
// backoff and full jitter until the proxy stops.
func (p *proxy) hubLoop() {
	attempt := 0
	for p.ctx.Err() == nil {
		c, err := p.dialHub()
		if err != nil {
			p.log.Warn("hub unreachable", "err", err, "attempt", attempt)
			p.post(func() { p.offline(err) })
			delay := min(p.cfg.MaxBackoff, p.cfg.MinBackoff<<min(attempt, 20))
			delay = time.Duration(rand.Int64N(int64(delay)) + 1)
			attempt++
			select {
			case <-time.After(delay):
			case <-p.ctx.Done():
			}
			continue
		}
		attempt = 0
		p.post(func() { p.online(c) })
		select {
		case <-c.Done():
		case <-p.ctx.Done():
		}
		_ = c.Close()
		reason := c.Err()
		if reason == nil {
			reason = errors.New("connection closed")
		}
		p.post(func() {
			if p.hub == c {
				p.hub = nil
				p.offline(reason)
			}
		})
	}
}

func (p *proxy) dialHub() (*wsrpc.Client, error) {
	ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
	defer cancel()
	header := http.Header{"Authorization": {"Bearer " + p.cfg.Token}}
	c, err := wsrpc.Dial(ctx, p.cfg.HubURL, header, wsrpc.HandlerFunc(p.handleHub), wsrpc.Options{Logger: p.log})
	if err != nil {
		return nil, err
	}
	encDone := make(chan string, 1)
	p.post(func() { encDone <- p.enc; close(encDone) })
	var enc string
	select {
	case enc = <-encDone:
	case <-p.ctx.Done():
		_ = c.Close()
		return nil, p.ctx.Err()
	}
	var params protocol.InitializeParams
	params.Capabilities.General = &protocol.GeneralClientCapabilities{PositionEncodings: []string{enc}}
	params.InitializationOptions = &protocol.InitializationOptions{Project: p.cfg.Project, Client: "proxy"}
	var res protocol.InitializeResult
	if err := c.Call(ctx, protocol.MethodInitialize, params, &res); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("initialize: %w", err)
	}
	if err := c.Notify(protocol.MethodInitialized, struct{}{}); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("initialized: %w", err)
	}
	return c, nil
}

func (p *proxy) online(c *wsrpc.Client) {
	p.hub = c
	p.gen++
	if p.everOnline {
		p.status("connected", "RubberDuck: reconnected to the hub; merging edits", lsp.MessageTypeInfo)
	} else {
		p.status("connected", "", 0)
	}
	p.everOnline = true
	p.warned = false
	for _, d := range p.docs {
		p.syncDoc(d)
	}
}

func (p *proxy) offline(reason error) {
	if p.warned {
		return
	}
	p.warned = true
	msg := "RubberDuck: cannot reach the hub; retrying"
	if p.everOnline {
		msg = "RubberDuck: lost the hub; your edits are kept and will sync when it is back"
	}
	var de *wsrpc.DialError
	if errors.As(reason, &de) && (de.Status == http.StatusUnauthorized || de.Status == http.StatusForbidden) {
		msg = fmt.Sprintf("RubberDuck: the hub refused the token (HTTP %d); check --token-file or RUBBERDUCK_TOKEN", de.Status)
	}
	p.status("offline", msg, lsp.MessageTypeWarning)
}

// status tells the editor about the hub connection: a window/showMessage
// for people, and $/rubberduck/status for plugins.
func (p *proxy) status(state, msg string, typ lsp.MessageType) {
	_ = p.editor.Notify(p.ctx, protocol.MethodProxyStatus, protocol.ProxyStatusParams{
		State: state, Hub: p.cfg.HubURL, Project: p.cfg.Project, Message: msg})
	if msg != "" {
		_ = p.editor.Notify(p.ctx, protocol.MethodShowMessage, lsp.ShowMessageParams{Type: typ, Message: msg})
	}
}

// handleHub serves what the hub sends. It runs on the connection's reader,
// so it only decodes and posts to the loop.
func (p *proxy) handleHub(_ context.Context, c *wsrpc.Conn, m *protocol.Message) (any, error) {
	switch m.Method {
	case protocol.MethodDocUpdate:
		var params protocol.DocUpdateParams
		if err := json.Unmarshal(m.Params, &params); err != nil {
			return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: %v", err)
		}
		p.post(func() {
			d := p.byPath[params.Path]
			if d == nil || params.Project != p.cfg.Project {
				return
			}
			e, err := d.remote(params.Update)
			if err != nil {
				p.log.Warn("remote update", "path", d.path, "err", err)
				return
			}
			p.sendEdit(d, e)
		})
		return nil, nil
	case protocol.MethodCursor:
		var params protocol.CursorParams
		if err := json.Unmarshal(m.Params, &params); err != nil {
			return nil, nil
		}
		p.post(func() {
			_ = p.editor.Notify(p.ctx, protocol.MethodCursor, protocol.EditorCursorParams{
				URI: string(p.uriOf(params.Path)), Person: params.Person, Selections: params.Selections})
		})
		return nil, nil
	case protocol.MethodPresence:
		var params protocol.PresenceParams
		if err := json.Unmarshal(m.Params, &params); err != nil {
			return nil, nil
		}
		p.post(func() {
			out := protocol.EditorPresenceParams{PresenceParams: params}
			if params.Path != "" {
				out.URI = string(p.uriOf(params.Path))
			}
			_ = p.editor.Notify(p.ctx, protocol.MethodPresence, out)
		})
		return nil, nil
	}
	if m.IsNotification() {
		// Other notifications (chat, AI streams, showMessage) go to the
		// editor as they are, with URIs rewritten.
		method, raw := m.Method, m.Params
		p.post(func() { _ = p.editor.Notify(p.ctx, method, p.paths.rewrite(raw, false)) })
		return nil, nil
	}
	return nil, protocol.Errorf(protocol.CodeMethodNotFound, "method not found: %s", m.Method)
}

func (p *proxy) uriOf(path string) lsp.DocumentURI {
	if d := p.byPath[path]; d != nil {
		return d.uri
	}
	return p.paths.toURI(path)
}
