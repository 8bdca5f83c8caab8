package provider_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
)

// fake is one of the two fake servers with the provider that talks to it.
type fake struct {
	name    string
	enqueue func(...aitest.Reply)
	ended   <-chan time.Time
	reqs    func() []aitest.Request
	prov    provider.Provider
}

func fakes(t *testing.T) []fake {
	t.Helper()
	o := aitest.NewOpenAI()
	a := aitest.NewAnthropic()
	t.Cleanup(o.Close)
	t.Cleanup(a.Close)
	op, err := provider.New(provider.Config{Provider: "openai", Model: "gpt-test", BaseURL: o.BaseURL(), APIKey: "sk-test"})
	if err != nil {
		t.Fatal(err)
	}
	ap, err := provider.New(provider.Config{Provider: "anthropic", Model: "claude-test", BaseURL: a.BaseURL(), APIKey: "sk-ant-test"})
	if err != nil {
		t.Fatal(err)
	}
	return []fake{
		{"openai", o.Enqueue, o.Ended(), o.Requests, op},
		{"anthropic", a.Enqueue, a.Ended(), a.Requests, ap},
	}
}

func TestChatStreamsTextUsageAndToolCalls(t *testing.T) {
	for _, f := range fakes(t) {
		t.Run(f.name, func(t *testing.T) {
			f.enqueue(aitest.Reply{
				Chunks: []string{"Hel", "lo ", "world"}, Input: 42, Output: 7,
				ToolCalls: []aitest.ToolCall{{ID: "call_1", Name: "read_file", Args: []string{`{"pa`, `th":"a.go"}`}}},
			})
			var got strings.Builder
			res, err := f.prov.Chat(context.Background(), provider.Request{
				System:   "be brief",
				Messages: []provider.Message{{Role: provider.RoleUser, Text: "hi"}},
				Tools:    []provider.ToolSpec{{Name: "read_file", Description: "read", Schema: map[string]any{"type": "object", "properties": map[string]any{"path": map[string]any{"type": "string"}}}}},
			}, func(d string) error { got.WriteString(d); return nil })
			if err != nil {
				t.Fatal(err)
			}
			if got.String() != "Hello world" {
				t.Errorf("text = %q", got.String())
			}
			if res.Usage != (provider.Usage{InputTokens: 42, OutputTokens: 7}) {
				t.Errorf("usage = %+v", res.Usage)
			}
			if len(res.ToolCalls) != 1 || res.ToolCalls[0].Name != "read_file" || string(res.ToolCalls[0].Args) != `{"path":"a.go"}` || res.ToolCalls[0].ID != "call_1" {
				t.Errorf("tool calls = %+v", res.ToolCalls)
			}
			reqs := f.reqs()
			if len(reqs) != 1 || reqs[0].Body["stream"] != true {
				t.Errorf("request not streamed: %+v", reqs)
			}
		})
	}
}

func TestToolResultsRoundTrip(t *testing.T) {
	for _, f := range fakes(t) {
		t.Run(f.name, func(t *testing.T) {
			_, err := f.prov.Chat(context.Background(), provider.Request{Messages: []provider.Message{
				{Role: provider.RoleUser, Text: "read a.go"},
				{Role: provider.RoleAssistant, ToolCalls: []provider.ToolCall{{ID: "c1", Name: "read_file", Args: []byte(`{"path":"a.go"}`)}}},
				{Role: provider.RoleTool, ToolCallID: "c1", Text: "package a"},
			}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			msgs, _ := f.reqs()[0].Body["messages"].([]any)
			if len(msgs) != 3 {
				t.Fatalf("messages sent = %d, want 3: %v", len(msgs), msgs)
			}
		})
	}
}

func TestErrorsReachPeopleAsClearKinds(t *testing.T) {
	cases := []struct {
		fail aitest.Failure
		kind provider.Kind
		says string
	}{
		{aitest.ErrAuth, provider.KindAuth, "API key"},
		{aitest.ErrRateLimit("7"), provider.KindRateLimited, "try again in 7s"},
		{aitest.ErrModelNotFound, provider.KindModelNotFound, "does not know model"},
		{aitest.ErrContextTooLarge, provider.KindContextTooLarge, "larger than model"},
		{aitest.ErrOverloaded, provider.KindOverloaded, "overloaded"},
	}
	for _, f := range fakes(t) {
		for _, c := range cases {
			t.Run(f.name+"/"+string(c.kind), func(t *testing.T) {
				f.enqueue(aitest.Reply{Fail: &c.fail})
				_, err := f.prov.Chat(context.Background(), provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Text: "x"}}}, nil)
				if provider.KindOf(err) != c.kind {
					t.Fatalf("kind = %q (%v), want %q", provider.KindOf(err), err, c.kind)
				}
				msg := provider.UserMessage(err)
				if !strings.Contains(msg, c.says) {
					t.Errorf("message %q does not say %q", msg, c.says)
				}
				if strings.Contains(msg, "sk-") || strings.Contains(msg, "127.0.0.1") {
					t.Errorf("message leaks a key or address: %q", msg)
				}
			})
		}
	}
}

func TestStreamErrorEvent(t *testing.T) {
	for _, f := range fakes(t) {
		t.Run(f.name, func(t *testing.T) {
			f.enqueue(aitest.Reply{Chunks: []string{"par", "tial"}, StreamErr: "overloaded_error"})
			var got string
			_, err := f.prov.Chat(context.Background(), provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Text: "x"}}},
				func(d string) error { got += d; return nil })
			if err == nil || !provider.Transient(err) {
				t.Fatalf("err = %v, want a transient provider error", err)
			}
			if got != "par" {
				t.Errorf("text before the error = %q", got)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	p, _ := provider.New(provider.Config{Provider: "openai", Model: "m", BaseURL: "http://127.0.0.1:1/v1"})
	_, err := p.Chat(context.Background(), provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Text: "x"}}}, nil)
	if provider.KindOf(err) != provider.KindUnreachable {
		t.Fatalf("kind = %q (%v)", provider.KindOf(err), err)
	}
}

func TestCancelAbortsTheHTTPRequest(t *testing.T) {
	for _, f := range fakes(t) {
		t.Run(f.name, func(t *testing.T) {
			f.enqueue(aitest.Reply{Chunks: []string{"thinking"}, Hang: true})
			ctx, cancel := context.WithCancel(context.Background())
			first := make(chan struct{})
			done := make(chan error, 1)
			go func() {
				_, err := f.prov.Chat(ctx, provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Text: "x"}}},
					func(string) error { close(first); return nil })
				done <- err
			}()
			<-first
			at := time.Now()
			cancel()
			select {
			case ended := <-f.ended:
				if d := ended.Sub(at); d > 100*time.Millisecond {
					t.Errorf("server saw the request end after %v, want within 100ms", d)
				}
			case <-time.After(2 * time.Second):
				t.Fatal("server never saw the request end")
			}
			if err := <-done; provider.KindOf(err) != provider.KindCancelled {
				t.Errorf("err = %v, want cancelled", err)
			}
		})
	}
}

func TestResilientRetriesTransientFailures(t *testing.T) {
	for _, f := range fakes(t) {
		t.Run(f.name, func(t *testing.T) {
			r := provider.NewResilient(f.prov, provider.RetryPolicy{BaseDelay: time.Millisecond}, provider.BreakerPolicy{})
			f.enqueue(aitest.Reply{Fail: &aitest.ErrServer}, aitest.Reply{Fail: ptr(aitest.ErrRateLimit("0.01"))}, aitest.Reply{Chunks: []string{"fine"}})
			var got string
			_, err := r.Chat(context.Background(), provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Text: "x"}}},
				func(d string) error { got += d; return nil })
			if err != nil || got != "fine" {
				t.Fatalf("got %q, %v", got, err)
			}
			if n := len(f.reqs()); n != 3 {
				t.Errorf("requests = %d, want 3 (the SDK must not retry on its own)", n)
			}
		})
	}
}

func TestResilientDoesNotRetryFinalErrors(t *testing.T) {
	for _, f := range fakes(t) {
		t.Run(f.name, func(t *testing.T) {
			r := provider.NewResilient(f.prov, provider.RetryPolicy{BaseDelay: time.Millisecond}, provider.BreakerPolicy{})
			f.enqueue(aitest.Reply{Fail: &aitest.ErrAuth})
			_, err := r.Chat(context.Background(), provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Text: "x"}}}, nil)
			if provider.KindOf(err) != provider.KindAuth || len(f.reqs()) != 1 {
				t.Fatalf("err = %v after %d requests", err, len(f.reqs()))
			}
		})
	}
}

func TestBreakerOpensAfterRepeatedFailures(t *testing.T) {
	o := aitest.NewOpenAI()
	defer o.Close()
	o.SetDefault(aitest.Reply{Fail: &aitest.ErrServer})
	p, _ := provider.New(provider.Config{Provider: "openai", Model: "m", BaseURL: o.BaseURL()})
	r := provider.NewResilient(p, provider.RetryPolicy{Attempts: 1}, provider.BreakerPolicy{Failures: 3, OpenFor: time.Minute})
	req := provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Text: "x"}}}
	for i := 0; i < 3; i++ {
		if _, err := r.Chat(context.Background(), req, nil); provider.KindOf(err) != provider.KindServer {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := r.Chat(context.Background(), req, nil)
	if provider.KindOf(err) != provider.KindCircuitOpen {
		t.Fatalf("err = %v, want circuit open", err)
	}
	if n := len(o.Requests()); n != 3 {
		t.Errorf("requests = %d, want 3: an open circuit must not call the provider", n)
	}
	if r.BreakerState() != "open" {
		t.Errorf("state = %s", r.BreakerState())
	}
}

func TestNotConfiguredExplainsHowToConfigure(t *testing.T) {
	p, err := provider.New(provider.Config{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Chat(context.Background(), provider.Request{}, nil)
	if !errors.Is(err, provider.ErrNotConfigured) || !strings.Contains(provider.UserMessage(err), "--ai-provider") {
		t.Fatalf("err = %v", err)
	}
	if _, err := provider.New(provider.Config{Provider: "bogus"}); err == nil {
		t.Error("unknown provider accepted")
	}
}

func TestFIM(t *testing.T) {
	o := aitest.NewOpenAI()
	defer o.Close()
	o.Enqueue(aitest.Reply{Completion: "return a + b"})
	p, _ := provider.New(provider.Config{Provider: "openai", Model: "coder", BaseURL: o.BaseURL(), FIM: true})
	text, _, err := p.Complete(context.Background(), provider.FIMRequest{Prefix: "func add(a, b int) int {\n\t", Suffix: "\n}\n"})
	if err != nil || text != "return a + b" {
		t.Fatalf("%q %v", text, err)
	}
	body := o.Requests()[0].Body
	if body["suffix"] != "\n}\n" || o.Requests()[0].Path != "/v1/completions" {
		t.Errorf("FIM request = %s %v", o.Requests()[0].Path, body)
	}

	a := aitest.NewAnthropic()
	defer a.Close()
	a.Enqueue(aitest.Reply{Chunks: []string{"```go\n", "return a + b\n", "```"}})
	ap, _ := provider.New(provider.Config{Provider: "anthropic", Model: "claude", BaseURL: a.BaseURL()})
	text, _, err = ap.Complete(context.Background(), provider.FIMRequest{Prefix: "x", Suffix: "y"})
	if err != nil || text != "return a + b" {
		t.Fatalf("chat FIM = %q %v", text, err)
	}
}

func ptr[T any](v T) *T { return &v }

func TestFIMTemplateForServersWithoutSuffix(t *testing.T) {
	o := aitest.NewOpenAI()
	defer o.Close()
	o.Enqueue(aitest.Reply{Completion: "a + b"})
	p, _ := provider.New(provider.Config{Provider: "openai", Model: "qwen2.5-coder", BaseURL: o.BaseURL(), FIMTemplate: "qwen"})
	if _, _, err := p.Complete(context.Background(), provider.FIMRequest{Prefix: "return ", Suffix: "\n}"}); err != nil {
		t.Fatal(err)
	}
	body := o.Requests()[0].Body
	if body["prompt"] != "<|fim_prefix|>return <|fim_suffix|>\n}<|fim_middle|>" || body["suffix"] != nil {
		t.Errorf("raw FIM body = %v", body)
	}
}
