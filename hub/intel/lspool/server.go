package lspool

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/sourcegraph/conc"
	"go.lsp.dev/jsonrpc2"
)

// server is one language server process and the connection to it, across
// restarts.
type server struct {
	p    *Pool
	cfg  ServerConfig
	prog string
	log  *slog.Logger

	mu       sync.Mutex
	conn     jsonrpc2.Conn
	connCtx  context.Context // cancelled when conn ends
	ready    chan struct{}   // closed once the current process is initialized
	up       bool
	opened   map[string]bool // documents opened on the current process
	caps     json.RawMessage
	stopping bool
	actor    string // person whose command may cause workspace/applyEdit

	handlers conc.WaitGroup
}

func newServer(p *Pool, cfg ServerConfig, prog string) *server {
	return &server{p: p, cfg: cfg, prog: prog, log: p.log.With("server", cfg.Name),
		ready: make(chan struct{}), opened: map[string]bool{}}
}

func (s *server) isReady() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

// supervise runs the server until the pool closes, restarting it with
// backoff when it exits.
func (s *server) supervise() {
	defer s.handlers.Wait()
	bo := backoff{min: s.p.opts.MinBackoff, max: s.p.opts.MaxBackoff, stable: time.Minute}
	for {
		started := time.Now()
		err := s.runOnce()
		if s.p.ctx.Err() != nil {
			return
		}
		delay := bo.next(time.Since(started))
		s.log.Warn("language server stopped; restarting", "err", err, "in", delay)
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.p.ctx.Done():
			t.Stop()
			return
		}
	}
}

type stdio struct {
	io.ReadCloser
	io.WriteCloser
}

func (c stdio) Close() error {
	werr := c.WriteCloser.Close()
	rerr := c.ReadCloser.Close()
	return errors.Join(werr, rerr)
}

// runOnce starts the process, initializes it, replays the open documents
// and waits until it exits.
func (s *server) runOnce() error {
	cmd := exec.Command(s.prog, s.cfg.Command[1:]...)
	cmd.Dir = s.p.uris.root
	cmd.Env = os.Environ()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return err
	}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", s.cfg.Name, err)
	}
	var procs conc.WaitGroup
	exited := make(chan error, 1)
	procs.Go(func() {
		// Drain stderr into the log (servers can block on a full pipe).
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			s.log.Debug("stderr", "line", sc.Text())
		}
	})
	conn := jsonrpc2.NewConn(jsonrpc2.NewStream(stdio{stdout, stdin}))
	conn.Go(s.p.ctx, s.handle)
	// jsonrpc2 v0.10.0 leaves pending calls waiting when the stream dies;
	// calls watch this context to fail fast instead.
	connCtx, connCancel := context.WithCancel(s.p.ctx)
	defer connCancel()
	s.mu.Lock()
	s.conn = conn
	s.connCtx = connCtx
	s.opened = map[string]bool{}
	s.mu.Unlock()

	initErr := s.initialize(conn)
	if initErr != nil {
		s.log.Warn("initialize failed", "err", initErr)
		_ = conn.Close()
	}
	select {
	case <-conn.Done():
	case <-s.p.ctx.Done():
		<-conn.Done() // stop() closes the connection
	}
	connCancel()
	s.mu.Lock()
	s.up = false
	s.ready = make(chan struct{})
	s.mu.Unlock()

	procs.Go(func() { exited <- cmd.Wait() })
	var werr error
	select {
	case werr = <-exited:
	case <-time.After(3 * time.Second):
		_ = cmd.Process.Kill()
		werr = <-exited
	}
	procs.Wait()
	if initErr != nil {
		return initErr
	}
	if werr == nil {
		werr = conn.Err()
	}
	return werr
}

func (s *server) initialize(conn jsonrpc2.Conn) error {
	ctx, cancel := context.WithTimeout(s.p.ctx, 2*time.Minute)
	defer cancel()
	root := s.p.uris.fileURI("")
	params := map[string]any{
		"processId":             os.Getpid(),
		"clientInfo":            map[string]any{"name": "rubberduck-hub"},
		"rootUri":               root,
		"rootPath":              s.p.uris.root,
		"workspaceFolders":      []map[string]any{{"uri": root, "name": s.p.opts.Project}},
		"initializationOptions": s.cfg.InitializationOptions,
		"capabilities": map[string]any{
			"general": map[string]any{"positionEncodings": []string{"utf-16"}},
			"workspace": map[string]any{
				"applyEdit": true, "configuration": true, "workspaceFolders": true,
				"workspaceEdit":          map[string]any{"documentChanges": true},
				"didChangeWatchedFiles":  map[string]any{"dynamicRegistration": true},
				"didChangeConfiguration": map[string]any{"dynamicRegistration": true},
			},
			"window": map[string]any{"workDoneProgress": true, "showMessage": map[string]any{}},
			"textDocument": map[string]any{
				"synchronization":    map[string]any{"didSave": true, "dynamicRegistration": true},
				"publishDiagnostics": map[string]any{"relatedInformation": true, "versionSupport": true},
				"hover":              map[string]any{"contentFormat": []string{"markdown", "plaintext"}},
				"completion": map[string]any{"completionItem": map[string]any{
					"snippetSupport": true, "documentationFormat": []string{"markdown", "plaintext"}}},
				"definition":     map[string]any{},
				"references":     map[string]any{},
				"rename":         map[string]any{"prepareSupport": true},
				"documentSymbol": map[string]any{"hierarchicalDocumentSymbolSupport": true},
				"signatureHelp":  map[string]any{},
				"codeAction":     map[string]any{},
			},
		},
	}
	var res struct {
		Capabilities json.RawMessage `json:"capabilities"`
	}
	if _, err := conn.Call(ctx, "initialize", params, &res); err != nil {
		return fmt.Errorf("initialize %s: %w", s.cfg.Name, err)
	}
	if err := conn.Notify(ctx, "initialized", map[string]any{}); err != nil {
		return fmt.Errorf("initialized %s: %w", s.cfg.Name, err)
	}
	if s.cfg.Settings != nil {
		_ = conn.Notify(ctx, "workspace/didChangeConfiguration", map[string]any{"settings": s.cfg.Settings})
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.caps = res.Capabilities
	for rel, d := range s.p.openDocs(s.cfg.Languages) {
		if err := s.openLocked(ctx, rel, d); err != nil {
			return err
		}
	}
	s.up = true
	close(s.ready)
	s.log.Info("language server ready")
	return nil
}

func (s *server) openLocked(ctx context.Context, rel string, d document) error {
	s.opened[rel] = true
	return s.conn.Notify(ctx, "textDocument/didOpen", map[string]any{"textDocument": map[string]any{
		"uri": s.p.uris.fileURI(rel), "languageId": d.lang, "version": d.version, "text": d.text}})
}

// didOpen opens (or, if this process has it open, updates) a document. A
// server still starting gets it in the replay at the end of initialize.
func (s *server) didOpen(ctx context.Context, rel string, d *document) error {
	s.p.mu.Lock()
	snap := *d
	s.p.mu.Unlock()
	return s.sync(ctx, rel, snap)
}

func (s *server) sync(ctx context.Context, rel string, d document) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.up {
		return nil
	}
	if !s.opened[rel] {
		return s.openLocked(ctx, rel, d)
	}
	return s.conn.Notify(ctx, "textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": s.p.uris.fileURI(rel), "version": d.version},
		"contentChanges": []map[string]any{{"text": d.text}},
	})
}

func (s *server) didClose(ctx context.Context, rel string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.up || !s.opened[rel] {
		return nil
	}
	delete(s.opened, rel)
	return s.conn.Notify(ctx, "textDocument/didClose", map[string]any{"textDocument": map[string]any{"uri": s.p.uris.fileURI(rel)}})
}

// notifyReady sends a notification if the server is up; otherwise it is
// dropped (the replay after a start covers documents, and the rest is
// re-derived by the server from disk).
func (s *server) notifyReady(ctx context.Context, method string, params any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.up {
		return nil
	}
	return s.conn.Notify(ctx, method, params)
}

// call waits for the server to be ready and sends one request; a
// cancelled ctx sends $/cancelRequest.
func (s *server) call(ctx context.Context, method string, params json.RawMessage) (json.RawMessage, error) {
	s.mu.Lock()
	ready := s.ready
	s.mu.Unlock()
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, fmt.Errorf("%s: waiting for %s to start: %w", method, s.cfg.Name, ctx.Err())
	}
	s.mu.Lock()
	conn, connCtx := s.conn, s.connCtx
	s.mu.Unlock()
	callCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(connCtx, cancel)
	defer stop()
	var res json.RawMessage
	id, err := conn.Call(callCtx, method, params, &res)
	if err != nil && ctx.Err() == nil && connCtx.Err() != nil {
		return nil, fmt.Errorf("%s: %s stopped before answering", method, s.cfg.Name)
	}
	if err != nil && ctx.Err() != nil {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_ = conn.Notify(cctx, "$/cancelRequest", map[string]any{"id": id})
		cancel()
		return nil, fmt.Errorf("%s: %w", method, ctx.Err())
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	return res, nil
}

// stop asks the server to shut down and exit, then closes the connection;
// runOnce kills the process if it lingers.
func (s *server) stop() {
	s.mu.Lock()
	conn, up := s.conn, s.up
	s.stopping = true
	s.mu.Unlock()
	if conn == nil {
		return
	}
	if up {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = conn.Call(ctx, "shutdown", nil, nil)
		_ = conn.Notify(ctx, "exit", nil)
		cancel()
	}
	_ = conn.Close()
}

// handle answers what the server asks of its client. It never blocks the
// connection's read loop: anything slow runs on the server's handlers.
func (s *server) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	p := s.p
	switch req.Method() {
	case "textDocument/publishDiagnostics":
		var d struct {
			URI         string          `json:"uri"`
			Diagnostics json.RawMessage `json:"diagnostics"`
		}
		if json.Unmarshal(req.Params(), &d) != nil {
			return nil
		}
		rel, ok := p.uris.rel(d.URI)
		if !ok {
			return nil
		}
		diags, err := p.uris.toClient(d.Diagnostics)
		if err != nil {
			return nil
		}
		p.opts.Client.PublishDiagnostics(ctx, s.cfg.Name, rel, diags)
		return nil
	case "$/progress":
		var pr struct {
			Token json.RawMessage `json:"token"`
		}
		if json.Unmarshal(req.Params(), &pr) != nil {
			return nil
		}
		p.opts.Client.Notify(ctx, p.personFor(pr.Token), "$/progress", req.Params())
		return nil
	case "window/showMessage":
		p.opts.Client.Notify(ctx, "", "window/showMessage", req.Params())
		return nil
	case "window/logMessage", "telemetry/event":
		s.log.Debug(req.Method(), "params", string(req.Params()))
		return nil
	case "window/workDoneProgress/create", "client/registerCapability", "client/unregisterCapability",
		"workspace/semanticTokens/refresh", "workspace/inlayHint/refresh", "workspace/codeLens/refresh",
		"workspace/diagnostic/refresh", "workspace/inlineValue/refresh", "window/showMessageRequest":
		return reply(ctx, nil, nil)
	case "window/showDocument":
		return reply(ctx, map[string]any{"success": false}, nil)
	case "workspace/workspaceFolders":
		return reply(ctx, []map[string]any{{"uri": p.uris.fileURI(""), "name": p.opts.Project}}, nil)
	case "workspace/configuration":
		var cp struct {
			Items []struct {
				Section string `json:"section"`
			} `json:"items"`
		}
		if err := json.Unmarshal(req.Params(), &cp); err != nil {
			return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.InvalidParams, err.Error()))
		}
		out := make([]any, len(cp.Items))
		for i, it := range cp.Items {
			out[i] = setting(s.cfg.Settings, it.Section)
		}
		return reply(ctx, out, nil)
	case "workspace/applyEdit":
		s.mu.Lock()
		actor := s.actor
		s.mu.Unlock()
		params := append(json.RawMessage(nil), req.Params()...)
		s.handlers.Go(func() {
			var ae struct {
				Edit json.RawMessage `json:"edit"`
			}
			res := map[string]any{"applied": false}
			if json.Unmarshal(params, &ae) != nil {
				res["failureReason"] = "invalid params"
			} else if edit, err := p.uris.toClient(ae.Edit); err != nil {
				res["failureReason"] = "invalid edit"
			} else if ok, err := p.opts.Client.ApplyEdit(p.ctx, actor, edit); err != nil {
				res["failureReason"] = err.Error()
			} else {
				res["applied"] = ok
			}
			_ = reply(p.ctx, res, nil)
		})
		return nil
	}
	if _, isCall := req.(*jsonrpc2.Call); isCall {
		return reply(ctx, nil, jsonrpc2.NewError(jsonrpc2.MethodNotFound, "not supported by the RubberDuck hub: "+req.Method()))
	}
	return nil
}

// setActor records who issued a request that may make the server edit
// (executeCommand, rename resolution), so its applyEdit is attributed.
func (s *server) setActor(person string) {
	s.mu.Lock()
	s.actor = person
	s.mu.Unlock()
}
