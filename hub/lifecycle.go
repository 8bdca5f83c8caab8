package hub

import (
	"context"
	"encoding/json"
	"time"

	lsp "go.lsp.dev/protocol"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// initialize negotiates the session: position encoding, capabilities, and
// optionally joins the project named in initializationOptions.
func (sess *session) initialize(ctx context.Context, p protocol.InitializeParams) (*protocol.InitializeResult, error) {
	sess.mu.Lock()
	if sess.state != stateNew {
		sess.mu.Unlock()
		return nil, protocol.Errorf(protocol.CodeInvalidRequest, "initialize was already sent")
	}
	var offered []string
	if p.Capabilities.General != nil {
		offered = p.Capabilities.General.PositionEncodings
	}
	sess.encoding = protocol.NegotiateEncoding(offered)
	if p.InitializationOptions != nil {
		sess.client = p.InitializationOptions.Client
	}
	sess.mu.Unlock()

	if p.InitializationOptions != nil && p.InitializationOptions.Project != "" {
		if _, err := sess.join(ctx, p.InitializationOptions.Project); err != nil {
			return nil, sess.srv.rpcError(err)
		}
	}
	sess.mu.Lock()
	sess.state = stateInitialized
	enc := sess.encoding
	sess.mu.Unlock()

	return &protocol.InitializeResult{
		ServerInfo: &lsp.ServerInfo{Name: "rubberduck", Version: sess.srv.cfg.Version},
		Capabilities: protocol.ServerCapabilities{
			ServerCapabilities: lsp.ServerCapabilities{
				// Thin clients (the browser, plain LSP clients) edit
				// rubberduck:// documents with incremental didChange.
				TextDocumentSync: lsp.TextDocumentSyncOptions{
					OpenClose: true,
					Change:    lsp.TextDocumentSyncKindIncremental,
					Save:      &lsp.SaveOptions{},
				},
				// The AI's code actions (codeactions.go).
				CodeActionProvider:     true,
				ExecuteCommandProvider: &lsp.ExecuteCommandOptions{Commands: aiCommands()},
			},
			PositionEncoding: enc,
			// LSP 3.18 inline completion, answered by the AI engine.
			InlineCompletionProvider: map[string]any{},
			Experimental: map[string]any{"rubberduck": protocol.ExperimentalCapabilities{
				ProtocolVersion: protocol.Version,
				MaxMessageBytes: sess.srv.cfg.MaxMessageBytes,
			}},
		},
	}, nil
}

func (sess *session) initialized(context.Context, json.RawMessage) (any, error) { return nil, nil }

// shutdown moves the session to LSP's shut-down state: later requests are
// refused until the client sends exit.
func (sess *session) shutdown(context.Context, json.RawMessage) (any, error) {
	sess.mu.Lock()
	sess.state = stateShutdown
	sess.mu.Unlock()
	return nil, nil
}

func (sess *session) setTrace(context.Context, json.RawMessage) (any, error) { return nil, nil }

func (sess *session) ping(context.Context, json.RawMessage) (protocol.PingResult, error) {
	return protocol.PingResult{Time: time.Now().UTC().Format(time.RFC3339Nano)}, nil
}
