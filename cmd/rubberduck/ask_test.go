package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/hubtest"
)

// aiCLIHub runs a hub whose AI is a fake OpenAI-compatible server.
func aiCLIHub(t *testing.T) (*hubtest.Hub, *aitest.OpenAI) {
	t.Helper()
	t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no stray user config
	fake := aitest.NewOpenAI()
	t.Cleanup(fake.Close)
	h := hubtest.Start(t, func(c *hub.Config) {
		c.AI.Provider = provider.Config{Provider: "openai", Model: "gpt-4o-mini", BaseURL: fake.BaseURL(), APIKey: "sk-test"}
		c.AI.Retry = provider.RetryPolicy{Attempts: 1}
	})
	return h, fake
}

func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(args)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := root.ExecuteContext(ctx)
	return out.String(), errOut.String(), err
}

func TestAskStreamsTheAnswer(t *testing.T) {
	h, fake := aiCLIHub(t)
	fake.Enqueue(aitest.Reply{Chunks: []string{"Quack", ", ", "quack."}, Delay: 5 * time.Millisecond})
	tokenFile := filepath.Join(h.DataDir, hub.OwnerTokenFile)
	// No --project: the owner's only project is the default.
	out, _, err := runCLI(t, "", "ask", "--hub", h.URL(), "--token-file", tokenFile, "what", "does", "a", "duck", "say?")
	if err != nil {
		t.Fatal(err)
	}
	if out != "Quack, quack.\n" {
		t.Fatalf("ask printed %q", out)
	}
	// The question went to the model as asked.
	reqs := fake.Requests()
	if len(reqs) != 1 || !strings.Contains(string(mustJSON(reqs[0].Body)), "what does a duck say?") {
		t.Fatalf("provider requests: %d", len(reqs))
	}

	// A failing provider is the command's error, in words.
	fail := aitest.ErrAuth
	fake.Enqueue(aitest.Reply{Fail: &fail})
	_, _, err = runCLI(t, "", "ask", "--hub", h.URL(), "--token-file", tokenFile, "--project", "demo", "again?")
	if err == nil || !strings.Contains(err.Error(), "API key") {
		t.Fatalf("ask with a bad key: %v", err)
	}
}

func TestChatCommandTalksLineByLine(t *testing.T) {
	h, fake := aiCLIHub(t)
	fake.Enqueue(aitest.Reply{Chunks: []string{"first answer"}}, aitest.Reply{Chunks: []string{"second answer"}})
	tokenFile := filepath.Join(h.DataDir, hub.OwnerTokenFile)
	out, _, err := runCLI(t, "hello\n\nand again\n/quit\n", "chat", "--hub", h.URL(), "--token-file", tokenFile)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "first answer\n") || !strings.Contains(out, "second answer\n") {
		t.Fatalf("chat printed %q", out)
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

func TestAskInterruptedStopsTheAnswerForEveryone(t *testing.T) {
	h, fake := aiCLIHub(t)
	fake.Enqueue(aitest.Reply{Chunks: []string{"Let me think"}, Hang: true})
	tokenFile := filepath.Join(h.DataDir, hub.OwnerTokenFile)
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"ask", "--hub", h.URL(), "--token-file", tokenFile, "think hard"})
	// Ctrl-C ends the command's context, as signal.NotifyContext does in main.
	ctx, interrupt := context.WithCancel(context.Background())
	defer interrupt()
	errc := make(chan error, 1)
	go func() { errc <- root.ExecuteContext(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(fake.Requests()) == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // let the first delta through
	interrupt()
	select {
	case <-fake.Ended():
	case <-time.After(10 * time.Second):
		t.Fatal("the provider's request did not end after Ctrl-C")
	}
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "stopped") {
			t.Fatalf("ask after Ctrl-C: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("ask did not exit after Ctrl-C")
	}
}
