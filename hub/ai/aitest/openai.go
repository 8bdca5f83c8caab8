package aitest

import (
	"fmt"
	"net/http"
	"strings"
)

// OpenAI is a fake OpenAI-compatible server: POST /chat/completions streams
// `data: {chunk}` lines with choices[].delta (content and tool_calls), a
// usage chunk and `data: [DONE]`; POST /completions answers FIM requests.
// Point the SDK at URL() as its base URL.
type OpenAI struct{ *server }

// NewOpenAI starts the fake; Close it at the end of the test.
func NewOpenAI() *OpenAI { return &OpenAI{newServer(serveOpenAI)} }

// BaseURL is the base URL to configure (the fake ignores any /v1 prefix).
func (s *OpenAI) BaseURL() string { return s.URL + "/v1" }

func serveOpenAI(s *server, w http.ResponseWriter, r *http.Request, rep Reply, rec Request) {
	if rep.Fail != nil {
		f := rep.Fail
		if f.RetryAfter != "" {
			w.Header().Set("retry-after", f.RetryAfter)
		}
		typ := f.Type
		if f.Status == 401 || f.Status == 404 || f.Status == 400 {
			typ = "invalid_request_error"
		}
		var code any = f.Code
		if f.Code == "" {
			code = nil
		}
		writeJSON(w, f.Status, map[string]any{"error": map[string]any{
			"message": f.Message, "type": typ, "param": nil, "code": code,
		}})
		return
	}
	model, _ := rec.Body["model"].(string)
	if strings.HasSuffix(r.URL.Path, "/completions") && !strings.HasSuffix(r.URL.Path, "/chat/completions") {
		if rep.Hang {
			s.hang(r)
			return
		}
		writeJSON(w, 200, map[string]any{
			"id": "cmpl-1", "object": "text_completion", "created": 1, "model": model,
			"choices": []any{map[string]any{"text": rep.Completion, "index": 0, "logprobs": nil, "finish_reason": "stop"}},
			"usage":   map[string]any{"prompt_tokens": rep.Input, "completion_tokens": len(rep.Completion) / 4, "total_tokens": rep.Input + len(rep.Completion)/4},
		})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(200)
	fl, _ := w.(http.Flusher)
	send := func(v any) {
		fmt.Fprintf(w, "data: %s\n\n", mustJSON(v))
		if fl != nil {
			fl.Flush()
		}
	}
	chunk := func(delta map[string]any, finish any) map[string]any {
		return map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
			"system_fingerprint": "fp_fake",
			"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}},
		}
	}
	send(chunk(map[string]any{"role": "assistant", "content": ""}, nil))
	for i, c := range rep.Chunks {
		if i > 0 && !pause(r, rep.Delay) {
			return
		}
		send(chunk(map[string]any{"content": c}, nil))
		if rep.StreamErr != "" && i == 0 {
			send(map[string]any{"error": map[string]any{"message": rep.StreamErr, "type": "server_error", "code": nil}})
			return
		}
	}
	if rep.Hang {
		s.hang(r)
		return
	}
	for i, tc := range rep.ToolCalls {
		send(chunk(map[string]any{"tool_calls": []any{map[string]any{
			"index": i, "id": tc.ID, "type": "function",
			"function": map[string]any{"name": tc.Name, "arguments": ""},
		}}}, nil))
		for _, a := range tc.Args {
			send(chunk(map[string]any{"tool_calls": []any{map[string]any{
				"index": i, "function": map[string]any{"arguments": a},
			}}}, nil))
		}
	}
	finish := "stop"
	if len(rep.ToolCalls) > 0 {
		finish = "tool_calls"
	}
	send(chunk(map[string]any{}, finish))
	out := rep.Output
	if out == 0 {
		out = len(rep.Chunks)
	}
	if so, ok := rec.Body["stream_options"].(map[string]any); ok && so["include_usage"] == true {
		send(map[string]any{
			"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": model,
			"choices": []any{},
			"usage":   map[string]any{"prompt_tokens": rep.Input, "completion_tokens": out, "total_tokens": rep.Input + out},
		})
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	if fl != nil {
		fl.Flush()
	}
}
