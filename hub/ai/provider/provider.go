// Package provider talks to language-model services for the hub's AI engine.
//
// Two wire families are supported through their official Go SDKs: the
// OpenAI-compatible chat-completions API (OpenAI itself, Ollama, vLLM,
// llama.cpp's server, LM Studio; any base URL) and Anthropic's Messages API.
// Both are reduced to one small streaming interface, Provider, so the engine
// never sees an SDK type. Every failure is a *Error with a Kind and a
// message written for the person at the keyboard, because a local model that
// fails silently is the top complaint users have about AI assistants.
//
// Resilient wraps a Provider with deliberate retries (the SDKs' own retries
// are switched off so that exactly one layer retries) and a circuit breaker.
package provider

import (
	"context"
	"encoding/json"
	"strings"
)

// Role says who wrote a Message in a conversation sent to a model.
type Role string

// The roles a model conversation uses. Tool results travel in RoleTool.
const (
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// Message is one turn of the conversation sent to a model. An assistant turn
// may carry ToolCalls it made; a tool turn carries the result of one call.
type Message struct {
	Role       Role
	Text       string
	ToolCalls  []ToolCall // assistant turns only
	ToolCallID string     // tool turns only: the call this answers
	IsError    bool       // tool turns only: the tool failed
}

// ToolSpec describes a tool the model may call. Schema is a JSON Schema
// object for the arguments.
type ToolSpec struct {
	Name        string
	Description string
	Schema      map[string]any
}

// ToolCall is a complete tool invocation by the model, assembled from the
// streamed fragments of its arguments.
type ToolCall struct {
	ID   string
	Name string
	Args json.RawMessage
}

// Request is one chat call. Model overrides the provider's default model
// when set (per-project overrides, /model).
type Request struct {
	Model     string
	System    string
	Messages  []Message
	Tools     []ToolSpec
	MaxTokens int
}

// Usage counts the tokens one call consumed, as the provider reported them.
type Usage struct {
	InputTokens  int `json:"inputTokens"`
	OutputTokens int `json:"outputTokens"`
}

// Add returns the sum of two usages.
func (u Usage) Add(o Usage) Usage {
	return Usage{InputTokens: u.InputTokens + o.InputTokens, OutputTokens: u.OutputTokens + o.OutputTokens}
}

// Result is what remains of a streamed call once it ended: the tool calls the
// model made, why it stopped and what it cost. The text went out as deltas.
type Result struct {
	Model      string
	ToolCalls  []ToolCall
	StopReason string
	Usage      Usage
}

// Handler receives streamed text as it arrives. Returning an error stops the
// stream and the call returns that error.
type Handler func(delta string) error

// FIMRequest is a fill-in-the-middle completion: the model writes what goes
// between Prefix and Suffix.
type FIMRequest struct {
	Model     string
	Prefix    string
	Suffix    string
	MaxTokens int
	Stop      []string
}

// Provider is one configured model service. Implementations are safe for
// concurrent use and make no network call until a method is called.
type Provider interface {
	// Name is the provider family ("openai" or "anthropic"), for messages and metrics.
	Name() string
	// Model is the default model name.
	Model() string
	// Chat streams one answer. Cancelling ctx aborts the HTTP request.
	Chat(ctx context.Context, req Request, onText Handler) (Result, error)
	// Complete returns a fill-in-the-middle completion for inline suggestions.
	Complete(ctx context.Context, req FIMRequest) (string, Usage, error)
}

// partialCall gathers one tool call as its arguments stream in, the same
// way for every provider's stream.
type partialCall struct {
	id, name string
	args     strings.Builder
}

// toolCall is the finished call; a call streamed with no arguments gets
// an empty JSON object, which every tool accepts.
func (c *partialCall) toolCall() ToolCall {
	args := c.args.String()
	if args == "" {
		args = "{}"
	}
	return ToolCall{ID: c.id, Name: c.name, Args: json.RawMessage(args)}
}

// completionModel is the model inline completions use: the request's,
// else the configured completion model, else the chat model.
func (c Config) completionModel(requested string) string {
	switch {
	case requested != "":
		return requested
	case c.CompletionModel != "":
		return c.CompletionModel
	}
	return c.Model
}
