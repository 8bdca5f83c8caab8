package hub_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/hub/intel"
	"github.com/rubberduckhub/rubberduck/hub/intel/lspool"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// aiHub starts a hub whose AI provider is an in-process fake OpenAI server,
// configured the way an operator would: through the hub's Config. Retries
// are off so each scripted failure is seen once.
func aiHub(t testing.TB, mutate ...func(*hub.AIConfig)) (*hubtest.Hub, *aitest.OpenAI) {
	t.Helper()
	fake := aitest.NewOpenAI()
	t.Cleanup(fake.Close)
	h := hubtest.Start(t, func(c *hub.Config) {
		c.AI.Provider = provider.Config{Provider: "openai", Model: "gpt-4o-mini", BaseURL: fake.BaseURL(), APIKey: "sk-test"}
		c.AI.Retry = provider.RetryPolicy{Attempts: 1}
		for _, m := range mutate {
			m(&c.AI)
		}
	})
	return h, fake
}

// chatClient is a participant of the demo project's room that records the
// AI notifications it receives.
type chatClient struct {
	t testing.TB
	c *wsrpc.Client

	mu        sync.Mutex
	changed   chan struct{}
	deltas    map[string]string
	first     map[string]time.Time // first delta of each message
	messages  map[string]protocol.ChatMessage
	proposals map[string]protocol.Proposal
	shown     []string // window/showMessage
}

func newChatClient(t testing.TB, h *hubtest.Hub, token string) *chatClient {
	t.Helper()
	cc := &chatClient{t: t, changed: make(chan struct{}, 1), deltas: map[string]string{}, first: map[string]time.Time{},
		messages: map[string]protocol.ChatMessage{}, proposals: map[string]protocol.Proposal{}}
	cc.c = h.DialWith(t, hubtest.Auth(token), wsrpc.HandlerFunc(cc.handle))
	hubtest.Initialize(t, cc.c, h.Project)
	return cc
}

func (cc *chatClient) handle(_ context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
	cc.mu.Lock()
	switch m.Method {
	case protocol.MethodChatDelta:
		var p protocol.ChatDeltaParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			cc.t.Errorf("delta: %v", err)
		}
		if _, ok := cc.first[p.MessageID]; !ok {
			cc.first[p.MessageID] = time.Now()
		}
		cc.deltas[p.MessageID] += p.Text
	case protocol.MethodChatMessage:
		var p protocol.ChatMessageParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			cc.t.Errorf("message: %v", err)
		}
		cc.messages[p.Message.ID] = p.Message
	case protocol.MethodProposal:
		var p protocol.ProposalParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			cc.t.Errorf("proposal: %v", err)
		}
		cc.proposals[p.Proposal.ID] = p.Proposal
	case protocol.MethodShowMessage:
		var p protocol.ShowMessageParams
		_ = json.Unmarshal(m.Params, &p)
		cc.shown = append(cc.shown, p.Message)
	}
	cc.mu.Unlock()
	select {
	case cc.changed <- struct{}{}:
	default:
	}
	return nil, nil
}

// waitFor waits until cond (called under the lock) holds.
func (cc *chatClient) waitFor(what string, cond func() bool) {
	cc.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		cc.mu.Lock()
		ok := cond()
		cc.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-cc.changed:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			cc.t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// final waits for message id to end and returns it with the text its
// deltas added up to.
func (cc *chatClient) final(id string) (protocol.ChatMessage, string) {
	cc.t.Helper()
	cc.waitFor("the end of "+id, func() bool {
		m, ok := cc.messages[id]
		return ok && m.Status != protocol.ChatStreaming
	})
	cc.mu.Lock()
	defer cc.mu.Unlock()
	return cc.messages[id], cc.deltas[id]
}

func (cc *chatClient) send(text string, ed *protocol.ChatEditor) protocol.ChatSendResult {
	cc.t.Helper()
	var res protocol.ChatSendResult
	if err := cc.c.Call(context.Background(), protocol.MethodChatSend, protocol.ChatSendParams{Project: "demo", Text: text, Editor: ed}, &res); err != nil {
		cc.t.Fatalf("chat/send: %v", err)
	}
	if res.MessageID == "" || res.ReplyID == "" {
		cc.t.Fatalf("chat/send answered %+v", res)
	}
	return res
}

func TestChatStreamsOneAnswerToEveryone(t *testing.T) {
	h, fake := aiHub(t)
	fake.Enqueue(aitest.Reply{Chunks: []string{"Hel", "lo, ", "room", "!"}, Delay: 5 * time.Millisecond, Input: 120, Output: 4})
	owner := newChatClient(t, h, h.Token)
	writer := newChatClient(t, h, addPerson(t, owner.c, "ann", "writer"))
	reader := newChatClient(t, h, addPerson(t, owner.c, "bob", "reader"))

	res := reader.send("say hello to the room", nil)
	for _, cc := range []*chatClient{owner, writer, reader} {
		m, streamed := cc.final(res.ReplyID)
		if m.Status != protocol.ChatDone || m.Text != "Hello, room!" || streamed != m.Text {
			t.Fatalf("final %s %q, streamed %q; want done \"Hello, room!\" both", m.Status, m.Text, streamed)
		}
		if m.AskedBy != "bob" || m.Author != "rubberduck" || m.ReplyTo != res.MessageID {
			t.Fatalf("answer metadata: askedBy %q author %q replyTo %q", m.AskedBy, m.Author, m.ReplyTo)
		}
		// Budget and usage travel with the answer, for the token meter.
		if m.Usage == nil || m.Usage.InputTokens != 120 || m.Usage.OutputTokens != 4 {
			t.Fatalf("usage = %+v, want 120 in / 4 out", m.Usage)
		}
		if m.Context == nil || m.Context.Window == 0 || m.Context.Used == 0 || len(m.Context.Included) == 0 {
			t.Fatalf("context report = %+v, want the budget used", m.Context)
		}
		q, ok := cc.messages[res.MessageID]
		if !ok || q.Author != "bob" || q.Text != "say hello to the room" {
			t.Fatalf("question seen as %+v", q)
		}
	}
	// Someone who looks later finds both in the history.
	var page protocol.ChatHistoryResult
	if err := writer.c.Call(ctx(t), protocol.MethodChatHistory, protocol.ChatHistoryParams{Project: "demo"}, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 2 || page.Messages[1].Text != "Hello, room!" {
		t.Fatalf("history = %+v", page.Messages)
	}
	// The provider got the question with the hub's key, never a client's.
	reqs := fake.Requests()
	if len(reqs) != 1 || reqs[0].Header.Get("Authorization") != "Bearer sk-test" {
		t.Fatalf("provider requests = %d, auth %q", len(reqs), reqs[0].Header.Get("Authorization"))
	}
}

func TestChatCancelReachesTheProvider(t *testing.T) {
	h, fake := aiHub(t)
	fake.Enqueue(aitest.Reply{Chunks: []string{"thinking"}, Hang: true})
	a := newChatClient(t, h, h.Token)
	b := newChatClient(t, h, h.Token)
	res := a.send("a long question", nil)
	a.waitFor("the first delta", func() bool { return a.deltas[res.ReplyID] != "" })

	start := time.Now()
	// Anyone in the room may stop it, by the answer's or the question's id.
	if err := b.c.Call(ctx(t), protocol.MethodChatCancel, protocol.ChatRefParams{Project: "demo", MessageID: res.MessageID}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case ended := <-fake.Ended():
		took := ended.Sub(start)
		t.Logf("provider saw the request end %v after chat/cancel", took)
		if took > 2*time.Second { // the goal is 100 ms; see BenchmarkCancelToProvider
			t.Fatalf("provider request ended %v after cancel", took)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the provider's request never ended")
	}
	for _, cc := range []*chatClient{a, b} {
		if m, _ := cc.final(res.ReplyID); m.Status != protocol.ChatCancelled || m.Text != "thinking" {
			t.Fatalf("after cancel: %s %q", m.Status, m.Text)
		}
	}
	// Cancelling again is not an error.
	if err := a.c.Call(ctx(t), protocol.MethodChatCancel, protocol.ChatRefParams{Project: "demo", MessageID: res.ReplyID}, nil); err != nil {
		t.Fatalf("second cancel: %v", err)
	}
}

func TestChatRegenerate(t *testing.T) {
	h, fake := aiHub(t)
	fake.Enqueue(aitest.Reply{Chunks: []string{"first try"}}, aitest.Reply{Chunks: []string{"second try"}})
	a := newChatClient(t, h, h.Token)
	res := a.send("try twice", nil)
	if m, _ := a.final(res.ReplyID); m.Text != "first try" {
		t.Fatalf("first answer %q", m.Text)
	}
	var again protocol.ChatSendResult
	if err := a.c.Call(ctx(t), protocol.MethodChatRegenerate, protocol.ChatRefParams{Project: "demo", MessageID: res.ReplyID}, &again); err != nil {
		t.Fatal(err)
	}
	m, _ := a.final(again.ReplyID)
	if again.ReplyID == res.ReplyID || m.Text != "second try" || m.Regenerates != res.ReplyID {
		t.Fatalf("regenerated %+v: %q regenerates %q", again, m.Text, m.Regenerates)
	}
	// Feedback on the new answer is shown to the room.
	var rated protocol.ChatMessage
	if err := a.c.Call(ctx(t), protocol.MethodChatFeedback, protocol.ChatFeedbackParams{Project: "demo", MessageID: again.ReplyID, Rating: "up"}, &rated); err != nil {
		t.Fatal(err)
	}
	if rated.Feedback["owner"].Rating != "up" {
		t.Fatalf("feedback = %+v", rated.Feedback)
	}
	var page protocol.ChatHistoryResult
	if err := a.c.Call(ctx(t), protocol.MethodChatHistory, protocol.ChatHistoryParams{Project: "demo"}, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Messages) != 3 {
		t.Fatalf("history has %d messages, want question and both answers", len(page.Messages))
	}
	// An unknown message is not found, not an internal error.
	err := a.c.Call(ctx(t), protocol.MethodChatRegenerate, protocol.ChatRefParams{Project: "demo", MessageID: "nope"}, nil)
	if rpcErr, ok := protocol.AsError(err); !ok || rpcErr.Code != protocol.CodeNotFound {
		t.Fatalf("regenerate unknown: %v", err)
	}
}

func TestProviderErrorsReachEveryoneClearly(t *testing.T) {
	h, fake := aiHub(t)
	a := newChatClient(t, h, h.Token)
	b := newChatClient(t, h, h.Token)
	tests := []struct {
		name string
		fail aitest.Failure
		kind string
	}{
		{"bad key", aitest.ErrAuth, "auth"},
		{"rate limited", aitest.ErrRateLimit("1"), "rate_limited"},
		{"unknown model", aitest.ErrModelNotFound, "model_not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fail := tt.fail
			fake.Enqueue(aitest.Reply{Fail: &fail})
			res := a.send("hello?", nil)
			for _, cc := range []*chatClient{a, b} {
				m, _ := cc.final(res.ReplyID)
				if m.Status != protocol.ChatError || m.ErrorKind != tt.kind || m.Error == "" {
					t.Fatalf("got %s kind %q error %q, want error of kind %s", m.Status, m.ErrorKind, m.Error, tt.kind)
				}
				if strings.Contains(m.Error, "sk-test") || strings.Contains(strings.ToLower(m.Error), "internal error") {
					t.Fatalf("error message %q leaks or says nothing", m.Error)
				}
				t.Logf("%s: %s", tt.kind, m.Error)
			}
		})
	}
}

func TestNoProviderConfiguredSaysHowToConfigureOne(t *testing.T) {
	h := hubtest.Start(t)
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "a.go"), []byte("package a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := newChatClient(t, h, h.Token)
	res := a.send("anyone there?", nil)
	m, _ := a.final(res.ReplyID)
	if m.Status != protocol.ChatError || m.ErrorKind != "not_configured" || !strings.Contains(m.Text, "--ai-provider") {
		t.Fatalf("got %s %q %q", m.Status, m.ErrorKind, m.Text)
	}
	// Completions say the same, with a code clients can branch on.
	err := a.c.Call(ctx(t), protocol.MethodInlineCompl, protocol.InlineCompletionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: "rubberduck://demo/a.go"}, Position: protocol.Position{Line: 1}}, nil)
	rpcErr, ok := protocol.AsError(err)
	if !ok || rpcErr.Code != protocol.CodeUnavailable || !strings.Contains(rpcErr.Message, "--ai-provider") {
		t.Fatalf("inline completion without a provider: %v", err)
	}
}

func TestHubStartsWithoutNetworkCalls(t *testing.T) {
	h, fake := aiHub(t)
	a := newChatClient(t, h, h.Token)
	var page protocol.ChatHistoryResult
	if err := a.c.Call(ctx(t), protocol.MethodChatHistory, protocol.ChatHistoryParams{Project: "demo"}, &page); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Fatalf("the provider was called %d times before anyone asked", n)
	}
	// A provider that cannot be reached does not stop the hub from starting.
	offline := hubtest.Start(t, func(c *hub.Config) {
		c.AI.Provider = provider.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", BaseURL: "http://127.0.0.1:1"}
	})
	b := newChatClient(t, offline, offline.Token)
	if err := b.c.Call(ctx(t), protocol.MethodChatHistory, protocol.ChatHistoryParams{Project: "demo"}, &page); err != nil {
		t.Fatal(err)
	}
	// And a misspelt provider is a start-up error, not a failure later.
	dir := t.TempDir()
	_, _, err := hub.Open(context.Background(), hub.Config{Addr: "127.0.0.1:0", DataDir: dir,
		AI: hub.AIConfig{Provider: provider.Config{Provider: "opnai", Model: "x"}}})
	if err == nil || !strings.Contains(err.Error(), "opnai") {
		t.Fatalf("open with an unknown provider: %v", err)
	}
}

func TestChatRefusesWhatTheRoleDoesNotAllow(t *testing.T) {
	h, _ := aiHub(t)
	owner := newChatClient(t, h, h.Token)
	reader := newChatClient(t, h, addPerson(t, owner.c, "rita", "reader"))
	// Not joined: refused before anything reaches the engine.
	stranger := h.Dial(t)
	hubtest.Initialize(t, stranger, "")
	err := stranger.Call(ctx(t), protocol.MethodChatSend, protocol.ChatSendParams{Project: "demo", Text: "hi"}, nil)
	if rpcErr, ok := protocol.AsError(err); !ok || rpcErr.Code != protocol.CodeNotJoined {
		t.Fatalf("send without joining: %v", err)
	}
	// Readers may not resolve proposals.
	hunk := 0
	err = reader.c.Call(ctx(t), protocol.MethodProposalResolve, protocol.ProposalResolveParams{Project: "demo", ID: "p1", Hunk: &hunk, Accept: true}, nil)
	if rpcErr, ok := protocol.AsError(err); !ok || rpcErr.Code != protocol.CodeForbidden {
		t.Fatalf("reader resolving: %v", err)
	}
	// Malformed requests are invalid params, not internal errors.
	err = owner.c.Call(ctx(t), protocol.MethodChatSend, protocol.ChatSendParams{Project: "demo", Text: "   "}, nil)
	if rpcErr, ok := protocol.AsError(err); !ok || rpcErr.Code != protocol.CodeInvalidParams {
		t.Fatalf("empty message: %v", err)
	}
	err = owner.c.Call(ctx(t), protocol.MethodChatAction, protocol.ChatActionParams{Project: "demo", Kind: "dance"}, nil)
	if rpcErr, ok := protocol.AsError(err); !ok || rpcErr.Code != protocol.CodeInvalidParams {
		t.Fatalf("unknown action: %v", err)
	}
}

func TestAIUsageAndProjectConfig(t *testing.T) {
	h, fake := aiHub(t)
	owner := newChatClient(t, h, h.Token)
	olga := newChatClient(t, h, addPerson(t, owner.c, "olga", "owner"))
	wes := newChatClient(t, h, addPerson(t, owner.c, "wes", "writer"))

	// Owners choose the project's model; writers may not.
	var cfg protocol.AIConfigResult
	if err := olga.c.Call(ctx(t), protocol.MethodAIConfig, protocol.AIConfigParams{Project: "demo",
		Set: &protocol.AIProjectConfig{Model: "gpt-4.1-mini"}}, &cfg); err != nil {
		t.Fatal(err)
	}
	if cfg.Model != "gpt-4.1-mini" || cfg.Provider != "openai" || cfg.Overrides.Model != "gpt-4.1-mini" {
		t.Fatalf("config = %+v", cfg)
	}
	err := wes.c.Call(ctx(t), protocol.MethodAIConfig, protocol.AIConfigParams{Project: "demo", Set: &protocol.AIProjectConfig{Model: "x"}}, nil)
	if rpcErr, ok := protocol.AsError(err); !ok || rpcErr.Code != protocol.CodeForbidden {
		t.Fatalf("writer changing the model: %v", err)
	}
	// Pointing the project at another server is for hub admins only.
	err = olga.c.Call(ctx(t), protocol.MethodAIConfig, protocol.AIConfigParams{Project: "demo",
		Set: &protocol.AIProjectConfig{Model: "gpt-4.1-mini", BaseURL: "http://169.254.169.254/v1"}}, nil)
	if rpcErr, ok := protocol.AsError(err); !ok || rpcErr.Code != protocol.CodeForbidden {
		t.Fatalf("owner changing the server: %v", err)
	}
	err = owner.c.Call(ctx(t), protocol.MethodAIConfig, protocol.AIConfigParams{Project: "demo",
		Set: &protocol.AIProjectConfig{Provider: "nonsense"}}, nil)
	if rpcErr, ok := protocol.AsError(err); !ok || rpcErr.Code != protocol.CodeInvalidParams {
		t.Fatalf("admin setting an unknown provider: %v", err)
	}

	// The next answer uses the project's model and its cost is counted.
	fake.Enqueue(aitest.Reply{Chunks: []string{"ok"}, Input: 100, Output: 5})
	res := wes.send("count me", nil)
	if m, _ := wes.final(res.ReplyID); m.Model != "gpt-4.1-mini" {
		t.Fatalf("answer model %q", m.Model)
	}
	if got := fake.Requests()[0].Body["model"]; got != "gpt-4.1-mini" {
		t.Fatalf("provider asked for model %v", got)
	}
	var u protocol.AIUsageResult
	if err := wes.c.Call(ctx(t), protocol.MethodAIUsage, protocol.AIUsageParams{Project: "demo"}, &u); err != nil {
		t.Fatal(err)
	}
	if u.You.Person != "wes" || u.You.InputTokens != 100 || u.You.OutputTokens != 5 || u.People != nil || u.Project != nil {
		t.Fatalf("writer's usage = %+v", u)
	}
	if err := olga.c.Call(ctx(t), protocol.MethodAIUsage, protocol.AIUsageParams{Project: "demo"}, &u); err != nil {
		t.Fatal(err)
	}
	if u.You.InputTokens != 0 || u.Project == nil || u.Project.InputTokens != 100 || len(u.People) != 1 || u.People[0].Person != "wes" {
		t.Fatalf("owner's usage view = %+v", u)
	}
}

// With code intelligence on the hub, the AI sees the repository map and
// finds @symbol mentions through it.
func TestChatContextFromCodeIntelligence(t *testing.T) {
	h, fake := aiHub(t)
	src, err := os.ReadFile("intel/testdata/go/shapes.go")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "shapes.go"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	svc := intel.New(intel.Options{Servers: map[string]lspool.ServerConfig{}, DisableSecrets: true})
	t.Cleanup(func() { _ = svc.Close() })
	h.SetIntel(svc)
	cc := newChatClient(t, h, h.Token)
	// The project is indexed on its first intel request.
	if err := cc.c.Call(ctx(t), protocol.MethodIntelStatus, protocol.IntelDependenciesParams{Project: "demo"}, &json.RawMessage{}); err != nil {
		t.Fatal(err)
	}
	ip, err := svc.Project("demo")
	if err != nil {
		t.Fatal(err)
	}
	ip.Wait()
	fake.Enqueue(aitest.Reply{Chunks: []string{"It is a shape."}})
	res := cc.send("what is @symbol:Circle for?", nil)
	m, _ := cc.final(res.ReplyID)
	kinds := map[string]bool{}
	for _, e := range m.Context.Included {
		kinds[e.Kind] = true
	}
	if !kinds["repoMap"] || !kinds["mention"] {
		t.Fatalf("context included %+v, want the repo map and the mentioned symbol", m.Context.Included)
	}
	body, _ := json.Marshal(fake.Requests()[0].Body)
	if !strings.Contains(string(body), "Circle struct") {
		t.Fatalf("the model did not see Circle's definition: %s", body)
	}
}

func TestChatThroughAnthropic(t *testing.T) {
	fake := aitest.NewAnthropic()
	t.Cleanup(fake.Close)
	h := hubtest.Start(t, func(c *hub.Config) {
		c.AI.Provider = provider.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", BaseURL: fake.BaseURL(), APIKey: "sk-ant-test"}
		c.AI.Retry = provider.RetryPolicy{Attempts: 1}
	})
	fake.Enqueue(aitest.Reply{Chunks: []string{"Quack ", "from Claude."}, Input: 30, Output: 3})
	a := newChatClient(t, h, h.Token)
	b := newChatClient(t, h, h.Token)
	res := a.send("who are you?", nil)
	for _, cc := range []*chatClient{a, b} {
		m, streamed := cc.final(res.ReplyID)
		if m.Status != protocol.ChatDone || m.Text != "Quack from Claude." || streamed != m.Text || m.Usage == nil || m.Usage.InputTokens != 30 {
			t.Fatalf("got %s %q (streamed %q) usage %+v", m.Status, m.Text, streamed, m.Usage)
		}
	}
	if n := len(fake.Requests()); n != 1 {
		t.Fatalf("anthropic requests = %d", n)
	}
}
