package provider

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Kind classifies a provider failure so the engine can decide whether to
// retry and the person can be told what to do about it.
type Kind string

// The failure kinds. Transient ones (RateLimited, Overloaded, Server,
// Unreachable) are retried; the others are final.
const (
	KindNotConfigured   Kind = "not_configured"
	KindAuth            Kind = "auth"
	KindRateLimited     Kind = "rate_limited"
	KindModelNotFound   Kind = "model_not_found"
	KindContextTooLarge Kind = "context_too_large"
	KindUnreachable     Kind = "unreachable"
	KindOverloaded      Kind = "overloaded"
	KindServer          Kind = "server"
	KindBadRequest      Kind = "bad_request"
	KindCircuitOpen     Kind = "circuit_open"
	KindCancelled       Kind = "cancelled"
	KindQuota           Kind = "quota"
	KindUnsupported     Kind = "unsupported"
)

// Error is the only error type the provider layer returns. Message is safe
// to show to any member of the project: it never holds a key, a prompt or
// an absolute path.
type Error struct {
	Kind       Kind
	Provider   string
	Model      string
	Status     int           // HTTP status, 0 when none
	RetryAfter time.Duration // from a retry-after header, 0 when none
	Message    string        // for people
	Err        error         // the cause, for logs; may be nil
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("ai %s (%s): %s: %v", e.Provider, e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("ai %s (%s): %s", e.Provider, e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// UserMessage returns the person-facing explanation of err: the Message of
// a *Error, or a generic sentence for anything else.
func UserMessage(err error) string {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Message
	}
	if errors.Is(err, context.Canceled) {
		return "The request was cancelled."
	}
	return "The AI request failed unexpectedly; the hub's log has details."
}

// KindOf returns the Kind of err, or "" when err is not a *Error.
func KindOf(err error) Kind {
	var pe *Error
	if errors.As(err, &pe) {
		return pe.Kind
	}
	return ""
}

// Transient reports whether retrying err later may succeed.
func Transient(err error) bool {
	switch KindOf(err) {
	case KindRateLimited, KindOverloaded, KindServer, KindUnreachable:
		return true
	}
	return false
}

// NotConfiguredMessage tells people how to configure a provider; it is the
// answer to every AI request on a hub that has none.
const NotConfiguredMessage = "No AI provider is configured on this hub. Start it with " +
	"`rubberduck serve --ai-provider openai --ai-model gpt-4o-mini` (or --ai-provider anthropic " +
	"--ai-model claude-sonnet-4-5), or set RUBBERDUCK_AI_PROVIDER and RUBBERDUCK_AI_MODEL " +
	"(and RUBBERDUCK_AI_BASE_URL for Ollama, vLLM, llama.cpp or LM Studio), with the key in " +
	"OPENAI_API_KEY or ANTHROPIC_API_KEY."

// ErrNotConfigured is returned by NotConfigured's methods.
var ErrNotConfigured = &Error{Kind: KindNotConfigured, Provider: "none", Message: NotConfiguredMessage}

// classify turns an HTTP-level failure into a *Error. status is 0 for
// transport failures; code and typ are the provider's error code and type
// strings; msg the provider's own message (only used for classification, not
// shown, because some providers echo request content in it).
func classify(prov, model string, status int, code, typ, msg string, header http.Header, cause error) *Error {
	e := &Error{Provider: prov, Model: model, Status: status, Err: cause}
	if header != nil {
		e.RetryAfter = parseRetryAfter(header)
	}
	lc := strings.ToLower(code + " " + typ + " " + msg)
	switch {
	case strings.Contains(lc, "context_length") || strings.Contains(lc, "context length") ||
		strings.Contains(lc, "prompt is too long") || strings.Contains(lc, "too many tokens") ||
		strings.Contains(lc, "maximum context"):
		e.Kind = KindContextTooLarge
		e.Message = fmt.Sprintf("The request is larger than model %q accepts. Narrow the question, mention fewer files, or raise the model's context size (Ollama defaults to 2048 tokens: set num_ctx).", model)
	case status == http.StatusUnauthorized || status == http.StatusForbidden ||
		strings.Contains(lc, "authentication") || strings.Contains(lc, "invalid_api_key") || strings.Contains(lc, "permission_error"):
		e.Kind = KindAuth
		e.Message = fmt.Sprintf("The %s provider rejected the API key. Check %s on the hub.", prov, keyEnv(prov))
	case status == http.StatusNotFound || strings.Contains(lc, "model_not_found") || strings.Contains(lc, "not_found_error"):
		e.Kind = KindModelNotFound
		e.Message = fmt.Sprintf("The %s provider does not know model %q (or the base URL is wrong). Pick another with /model or --ai-model.", prov, model)
	case status == http.StatusTooManyRequests || strings.Contains(lc, "rate_limit"):
		e.Kind = KindRateLimited
		e.Message = fmt.Sprintf("The %s provider is rate-limiting this hub", prov)
		if e.RetryAfter > 0 {
			e.Message += fmt.Sprintf("; try again in %s", e.RetryAfter.Round(time.Second))
		}
		e.Message += "."
	case status == 529 || strings.Contains(lc, "overloaded"):
		e.Kind = KindOverloaded
		e.Message = fmt.Sprintf("The %s provider is overloaded; try again in a moment.", prov)
	case status >= 500:
		e.Kind = KindServer
		e.Message = fmt.Sprintf("The %s provider had an internal error (HTTP %d); try again in a moment.", prov, status)
	case status == 0:
		e.Kind = KindUnreachable
		e.Message = fmt.Sprintf("The %s provider cannot be reached; check the base URL and that the server is running.", prov)
	default:
		e.Kind = KindBadRequest
		e.Message = fmt.Sprintf("The %s provider refused the request (HTTP %d).", prov, status)
	}
	return e
}

func keyEnv(prov string) string {
	if prov == "anthropic" {
		return "ANTHROPIC_API_KEY"
	}
	return "OPENAI_API_KEY"
}

func parseRetryAfter(h http.Header) time.Duration {
	if v := h.Get("retry-after-ms"); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms > 0 {
			return time.Duration(ms * float64(time.Millisecond))
		}
	}
	v := h.Get("retry-after")
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil && s > 0 {
		return time.Duration(s * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// transportError classifies an error that carries no HTTP status: the
// caller's cancellation, or a network failure.
func transportError(ctx context.Context, prov, model string, err error) *Error {
	if ctx.Err() != nil || errors.Is(err, context.Canceled) {
		return &Error{Kind: KindCancelled, Provider: prov, Model: model, Message: "The request was cancelled.", Err: err}
	}
	var ne net.Error
	var ue *url.Error
	if errors.As(err, &ne) || errors.As(err, &ue) || errors.Is(err, context.DeadlineExceeded) {
		e := classify(prov, model, 0, "", "", "", nil, err)
		return e
	}
	return &Error{Kind: KindServer, Provider: prov, Model: model,
		Message: fmt.Sprintf("The %s provider sent a response the hub could not read; try again.", prov), Err: err}
}
