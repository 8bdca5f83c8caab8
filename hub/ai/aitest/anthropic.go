package aitest

import (
	"fmt"
	"net/http"
)

// Anthropic is a fake Messages API: POST /v1/messages streams `event:` +
// `data:` pairs (message_start, content_block_start, ping,
// content_block_delta with text_delta or input_json_delta,
// content_block_stop, message_delta with usage, message_stop) and
// `event: error` for errors inside a stream. Every event carries its
// `event:` line: the SDK ignores events without one.
type Anthropic struct{ *server }

// NewAnthropic starts the fake; Close it at the end of the test.
func NewAnthropic() *Anthropic { return &Anthropic{newServer(serveAnthropic)} }

// BaseURL is the base URL to configure.
func (s *Anthropic) BaseURL() string { return s.URL }

func serveAnthropic(s *server, w http.ResponseWriter, r *http.Request, rep Reply, rec Request) {
	if rep.Fail != nil {
		f := rep.Fail
		if f.RetryAfter != "" {
			w.Header().Set("retry-after", f.RetryAfter)
		}
		typ := f.Type
		if f.Status == 400 {
			typ = "invalid_request_error"
		}
		msg := f.Message
		if f.Code == "context_length_exceeded" {
			msg = "prompt is too long: 210000 tokens > 200000 maximum"
		}
		w.Header().Set("request-id", "req_fake")
		writeJSON(w, f.Status, map[string]any{"type": "error", "error": map[string]any{"type": typ, "message": msg}})
		return
	}
	model, _ := rec.Body["model"].(string)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(200)
	fl, _ := w.(http.Flusher)
	send := func(event string, v any) {
		fmt.Fprintf(w, "event: %s\ndata: %s\n\n", event, mustJSON(v))
		if fl != nil {
			fl.Flush()
		}
	}
	send("message_start", map[string]any{"type": "message_start", "message": map[string]any{
		"id": "msg_fake", "type": "message", "role": "assistant", "content": []any{}, "model": model,
		"stop_reason": nil, "stop_sequence": nil,
		"usage": map[string]any{"input_tokens": rep.Input, "output_tokens": 1, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0},
	}})
	idx := 0
	if len(rep.Chunks) > 0 || len(rep.ToolCalls) == 0 {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": idx, "content_block": map[string]any{"type": "text", "text": ""}})
		send("ping", map[string]any{"type": "ping"})
		for i, c := range rep.Chunks {
			if i > 0 && !pause(r, rep.Delay) {
				return
			}
			send("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "text_delta", "text": c}})
			if rep.StreamErr != "" && i == 0 {
				send("error", map[string]any{"type": "error", "error": map[string]any{"type": rep.StreamErr, "message": "Overloaded"}})
				return
			}
		}
		if rep.Hang {
			s.hang(r)
			return
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx})
		idx++
	}
	for _, tc := range rep.ToolCalls {
		send("content_block_start", map[string]any{"type": "content_block_start", "index": idx, "content_block": map[string]any{
			"type": "tool_use", "id": tc.ID, "name": tc.Name, "input": map[string]any{}}})
		for _, a := range tc.Args {
			send("content_block_delta", map[string]any{"type": "content_block_delta", "index": idx, "delta": map[string]any{"type": "input_json_delta", "partial_json": a}})
		}
		send("content_block_stop", map[string]any{"type": "content_block_stop", "index": idx})
		idx++
	}
	stop := "end_turn"
	if len(rep.ToolCalls) > 0 {
		stop = "tool_use"
	}
	out := rep.Output
	if out == 0 {
		out = len(rep.Chunks)
	}
	send("message_delta", map[string]any{"type": "message_delta", "delta": map[string]any{"stop_reason": stop, "stop_sequence": nil},
		"usage": map[string]any{"output_tokens": out}})
	send("message_stop", map[string]any{"type": "message_stop"})
}
