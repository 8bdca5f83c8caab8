package protocol

import (
	lsp "go.lsp.dev/protocol"
)

// Position encodings of LSP 3.17. The hub negotiates one per connection and
// converts every position it sends or receives at that edge.
const (
	EncodingUTF8  = "utf-8"
	EncodingUTF16 = "utf-16"
	EncodingUTF32 = "utf-32"
)

// Standard LSP method names the hub serves.
const (
	MethodInitialize   = "initialize"
	MethodInitialized  = "initialized"
	MethodShutdown     = "shutdown"
	MethodExit         = "exit"
	MethodCancel       = "$/cancelRequest"
	MethodSetTrace     = "$/setTrace"
	MethodShowMessage  = "window/showMessage"
	MethodLogMessage   = "window/logMessage"
	MethodApplyEdit    = "workspace/applyEdit"
	MethodDidOpen      = "textDocument/didOpen"
	MethodDidChange    = "textDocument/didChange"
	MethodDidClose     = "textDocument/didClose"
	MethodDidSave      = "textDocument/didSave"
	MethodInlineCompl  = "textDocument/inlineCompletion"
	MethodCompletion   = "textDocument/completion"
	MethodProgress     = "$/progress"
	MethodWorkDoneInit = "window/workDoneProgress/create"
)

// InitializeParams is LSP's InitializeParams with the 3.17 fields that
// go.lsp.dev/protocol lacks (general.positionEncodings) and RubberDuck's
// initializationOptions. The shallower fields shadow the embedded ones in
// encoding/json, so one decode reads both.
type InitializeParams struct {
	lsp.InitializeParams
	Capabilities          ClientCapabilities     `json:"capabilities"`
	InitializationOptions *InitializationOptions `json:"initializationOptions,omitempty"`
}

// InitializationOptions is what a RubberDuck client tells the hub at
// initialize: which project to join straight away, and who it is for
// presence (the hub trusts only the credential for identity).
type InitializationOptions struct {
	Project string `json:"project,omitempty"`
	Client  string `json:"client,omitempty"` // "nvim", "vscode", "browser", "cli", "proxy"
}

// ClientCapabilities adds LSP 3.17's general capabilities.
type ClientCapabilities struct {
	lsp.ClientCapabilities
	General *GeneralClientCapabilities `json:"general,omitempty"`
}

// GeneralClientCapabilities carries positionEncodings (LSP 3.17): the
// encodings the client can count positions in, most preferred first.
type GeneralClientCapabilities struct {
	lsp.GeneralClientCapabilities
	PositionEncodings []string `json:"positionEncodings,omitempty"`
}

// InitializeResult is LSP's result with 3.17's positionEncoding capability.
type InitializeResult struct {
	Capabilities ServerCapabilities `json:"capabilities"`
	ServerInfo   *lsp.ServerInfo    `json:"serverInfo,omitempty"`
}

// ServerCapabilities adds positionEncoding (3.17) and inlineCompletionProvider
// (3.18) to LSP 3.16's capabilities, and announces RubberDuck's protocol
// under experimental.rubberduck.
type ServerCapabilities struct {
	lsp.ServerCapabilities
	PositionEncoding         string `json:"positionEncoding,omitempty"`
	InlineCompletionProvider any    `json:"inlineCompletionProvider,omitempty"`
	Experimental             any    `json:"experimental,omitempty"`
}

// NegotiateEncoding picks the position encoding for a connection: the
// client's most preferred of those the hub supports, or UTF-16 when the
// client offers none, as LSP mandates.
func NegotiateEncoding(offered []string) string {
	for _, e := range offered {
		switch e {
		case EncodingUTF8, EncodingUTF16, EncodingUTF32:
			return e
		}
	}
	return EncodingUTF16
}
