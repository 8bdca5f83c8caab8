// Package aitest runs in-process fake OpenAI and Anthropic servers that speak
// the providers' exact streaming wire formats, so the AI engine is tested
// through the real SDKs without a network or a key.
//
// A test enqueues Replies (text chunks, tool calls, usage, errors, delays, a
// hang until cancelled) and reads back the requests the server received and
// the moments their contexts ended, which is how cancellation reaching the
// provider's HTTP request is checked.
package aitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// ToolCall is a tool invocation a fake model streams; Args is sent in the
// given fragments, as real providers split the JSON arbitrarily.
type ToolCall struct {
	ID   string
	Name string
	Args []string
}

// Failure is an HTTP error response the fake sends instead of a stream,
// rendered in the provider's own error body format.
type Failure struct {
	Status     int
	Type       string // provider error type (Anthropic "rate_limit_error", OpenAI "invalid_request_error")
	Code       string // OpenAI error code ("invalid_api_key", "model_not_found", ...)
	Message    string
	RetryAfter string // the retry-after header, if any
}

// The failures the issue asks the engine to explain to people. The fakes
// render each in their provider's format.
var (
	ErrAuth            = Failure{Status: 401, Type: "authentication_error", Code: "invalid_api_key", Message: "Incorrect API key provided"}
	ErrModelNotFound   = Failure{Status: 404, Type: "not_found_error", Code: "model_not_found", Message: "The model does not exist"}
	ErrContextTooLarge = Failure{Status: 400, Type: "invalid_request_error", Code: "context_length_exceeded", Message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens."}
	ErrOverloaded      = Failure{Status: 529, Type: "overloaded_error", Message: "Overloaded"}
	ErrServer          = Failure{Status: 500, Type: "api_error", Code: "server_error", Message: "Internal server error"}
)

// ErrRateLimit is a 429 with a retry-after header of the given seconds.
func ErrRateLimit(retryAfter string) Failure {
	return Failure{Status: 429, Type: "rate_limit_error", Code: "rate_limit_exceeded", Message: "Rate limit reached", RetryAfter: retryAfter}
}

// Reply scripts one response of a fake server.
type Reply struct {
	Chunks     []string      // streamed text deltas
	ToolCalls  []ToolCall    // streamed after the text
	Input      int           // usage: prompt tokens
	Output     int           // usage: completion tokens (default: number of chunks)
	Fail       *Failure      // an HTTP error instead of a stream
	StreamErr  string        // an error event after the first chunks (Anthropic "overloaded_error")
	Delay      time.Duration // between chunks
	Hang       bool          // after the chunks, wait until the client goes away
	Completion string        // the text of a non-streamed /completions answer
}

// Request is what a fake server recorded of one call.
type Request struct {
	Path   string
	Body   map[string]any
	Header http.Header
}

// server holds what both fakes share.
type server struct {
	*httptest.Server
	mu       sync.Mutex
	queue    []Reply
	fallback Reply
	reqs     []Request
	ended    chan time.Time
	// Handle may replace the queue: it picks the reply for each request.
	handle func(Request) Reply
}

func newServer(h func(s *server, w http.ResponseWriter, r *http.Request, rep Reply, rec Request)) *server {
	s := &server{ended: make(chan time.Time, 64), fallback: Reply{Chunks: []string{"ok"}}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rec := Request{Path: r.URL.Path, Header: r.Header.Clone()}
		_ = json.Unmarshal(body, &rec.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, rec)
		rep := s.fallback
		switch {
		case s.handle != nil:
			hf := s.handle
			s.mu.Unlock()
			rep = hf(rec)
			s.mu.Lock()
		case len(s.queue) > 0:
			rep = s.queue[0]
			s.queue = s.queue[1:]
		}
		s.mu.Unlock()
		h(s, w, r, rep, rec)
	}))
	return s
}

// Enqueue adds replies for the next requests, in order; when the queue is
// empty the fake answers "ok".
func (s *server) Enqueue(r ...Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.queue = append(s.queue, r...)
}

// SetDefault sets the reply used when the queue is empty.
func (s *server) SetDefault(r Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.fallback = r
}

// HandleFunc makes f choose every reply, e.g. by looking at the prompt.
func (s *server) HandleFunc(f func(Request) Reply) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handle = f
}

// Requests returns the requests received so far.
func (s *server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Ended delivers the time at which a hanging request's context ended, i.e.
// when the client aborted the HTTP request.
func (s *server) Ended() <-chan time.Time { return s.ended }

// hang waits until the client goes away and reports when.
func (s *server) hang(r *http.Request) {
	<-r.Context().Done()
	select {
	case s.ended <- time.Now():
	default:
	}
}

// pause waits d or until the client goes away; false means it went away.
func pause(r *http.Request, d time.Duration) bool {
	if d <= 0 {
		return r.Context().Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return false
	case <-t.C:
		return true
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}
