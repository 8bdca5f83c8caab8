package provider

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config selects and tunes one provider. The hub builds it from flags
// (--ai-provider, --ai-model, --ai-base-url), environment variables
// (RUBBERDUCK_AI_PROVIDER, RUBBERDUCK_AI_MODEL, RUBBERDUCK_AI_BASE_URL,
// RUBBERDUCK_AI_FIM) and per-project overrides; keys come only from
// OPENAI_API_KEY / ANTHROPIC_API_KEY unless APIKey is set explicitly.
type Config struct {
	Provider string // "openai", "anthropic" or "" (none)
	Model    string
	BaseURL  string // empty: the provider's public endpoint
	APIKey   string // empty: read from the provider's environment variable
	// Keyless stops the environment's key from being sent. The engine sets
	// it when a project points at its own base URL, so a project override
	// can never send the hub's key to a server of its choosing.
	Keyless bool
	// FIM says the model serves fill-in-the-middle on /v1/completions with a
	// suffix (Ollama, vLLM, llama.cpp with code models). Without it inline
	// completions are asked for through chat.
	FIM bool
	// FIMTemplate sends fill-in-the-middle as a raw prompt in the model's own
	// FIM tokens, for servers that ignore the suffix parameter (llama.cpp,
	// vLLM): a preset name (see FIMTemplates) or a template with {prefix}
	// and {suffix}. It implies FIM.
	FIMTemplate string
	// ContextWindow is the model's context size in tokens when the hub's
	// table does not know it or the server runs it smaller (Ollama's
	// num_ctx); 0: from the table (RUBBERDUCK_AI_CONTEXT_WINDOW).
	ContextWindow int
	// CompletionModel is the model used for inline completions; empty means Model.
	CompletionModel string
	// RequestTimeout bounds the wait for a response's headers (not the
	// stream after them); 0 means 2 minutes.
	RequestTimeout time.Duration
	// HTTPClient is used for all calls; nil means a client with sane timeouts.
	HTTPClient *http.Client
}

// ConfigFromEnv reads the RUBBERDUCK_AI_* variables into a Config, so
// `rubberduck serve` works with nothing but environment variables.
func ConfigFromEnv(getenv func(string) string) Config {
	if getenv == nil {
		getenv = os.Getenv
	}
	return Config{
		Provider:        strings.ToLower(strings.TrimSpace(getenv("RUBBERDUCK_AI_PROVIDER"))),
		Model:           strings.TrimSpace(getenv("RUBBERDUCK_AI_MODEL")),
		BaseURL:         strings.TrimSpace(getenv("RUBBERDUCK_AI_BASE_URL")),
		CompletionModel: strings.TrimSpace(getenv("RUBBERDUCK_AI_COMPLETION_MODEL")),
		FIM:             getenv("RUBBERDUCK_AI_FIM") == "1" || strings.EqualFold(getenv("RUBBERDUCK_AI_FIM"), "true"),
		ContextWindow:   atoi(getenv("RUBBERDUCK_AI_CONTEXT_WINDOW")),
		FIMTemplate:     strings.TrimSpace(getenv("RUBBERDUCK_AI_FIM_TEMPLATE")),
	}
}

func atoi(s string) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// Merge returns c with every non-empty field of o applied on top: a
// project's overrides over the hub's configuration.
func (c Config) Merge(o Config) Config {
	if o.Provider != "" {
		c.Provider = o.Provider
	}
	if o.Model != "" {
		c.Model = o.Model
	}
	if o.BaseURL != "" {
		c.BaseURL = o.BaseURL
	}
	if o.APIKey != "" {
		c.APIKey = o.APIKey
	}
	if o.CompletionModel != "" {
		c.CompletionModel = o.CompletionModel
	}
	if o.FIM {
		c.FIM = true
	}
	if o.FIMTemplate != "" {
		c.FIMTemplate = o.FIMTemplate
	}
	if o.ContextWindow > 0 {
		c.ContextWindow = o.ContextWindow
	}
	if o.Keyless {
		c.Keyless = true
	}
	if o.RequestTimeout != 0 {
		c.RequestTimeout = o.RequestTimeout
	}
	if o.HTTPClient != nil {
		c.HTTPClient = o.HTTPClient
	}
	return c
}

// New builds the Provider that c describes, without any network call. With
// no provider configured it returns NotConfigured, whose every call answers
// with instructions; an unknown provider name is an error at start-up.
func New(c Config) (Provider, error) {
	switch c.Provider {
	case "", "none":
		return NotConfigured{}, nil
	case "openai", "ollama", "vllm", "llamacpp", "lmstudio":
		if c.Model == "" {
			return nil, fmt.Errorf("ai provider %s: no model configured (--ai-model or RUBBERDUCK_AI_MODEL)", c.Provider)
		}
		return NewOpenAI(c), nil
	case "anthropic":
		if c.Model == "" {
			return nil, fmt.Errorf("ai provider anthropic: no model configured (--ai-model or RUBBERDUCK_AI_MODEL)")
		}
		return NewAnthropic(c), nil
	}
	return nil, fmt.Errorf("ai provider %q unknown: use openai (any OpenAI-compatible server) or anthropic", c.Provider)
}

func (c Config) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.ResponseHeaderTimeout = 2 * time.Minute
	if c.RequestTimeout > 0 {
		t.ResponseHeaderTimeout = c.RequestTimeout
	}
	return &http.Client{Transport: t}
}

// NotConfigured is the Provider of a hub without AI configuration. Every call
// fails with ErrNotConfigured, whose message says how to configure one.
type NotConfigured struct{}

// Name implements Provider.
func (NotConfigured) Name() string { return "none" }

// Model implements Provider.
func (NotConfigured) Model() string { return "" }

// Chat implements Provider.
func (NotConfigured) Chat(context.Context, Request, Handler) (Result, error) {
	return Result{}, ErrNotConfigured
}

// Complete implements Provider.
func (NotConfigured) Complete(context.Context, FIMRequest) (string, Usage, error) {
	return "", Usage{}, ErrNotConfigured
}
