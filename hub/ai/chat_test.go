package ai_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
)

var providers = []string{"openai", "anthropic"}

func TestAnswerStreamsToEverySubscriber(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) {
			e := newEnv(t, prov, nil)
			subs := []*sub{e.room.join("p1"), e.room.join("p1"), e.room.join("p1")}
			other := e.room.join("p2")
			e.enqueue(aitest.Reply{Chunks: []string{"Divide ", "by ", "zero ", "panics."}, Input: 120, Output: 4, Delay: time.Millisecond})

			res, err := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "what does Div do?",
				Editor: &ai.EditorContext{Path: "calc/calc.go", Cursor: &ai.Position{Line: 3}}})
			if err != nil || res.MessageID == "" || res.ReplyID == "" {
				t.Fatalf("send: %+v %v", res, err)
			}
			for i, s := range subs {
				m := s.final(t, res.ReplyID)
				if m["status"] != "done" || m["text"] != "Divide by zero panics." || m["author"] != ai.AIAuthor {
					t.Errorf("subscriber %d final = %v", i, m)
				}
				if got := s.deltas(res.ReplyID); got != "Divide by zero panics." {
					t.Errorf("subscriber %d deltas = %q", i, got)
				}
				// Order: the question, the streaming answer, deltas, the final answer.
				ns := s.all()
				if ns[0].Method != ai.MethodMessage || ns[0].Params["message"].(map[string]any)["id"] != res.MessageID {
					t.Errorf("first notification = %+v", ns[0])
				}
				if ns[1].Params["message"].(map[string]any)["status"] != "streaming" {
					t.Errorf("second notification = %+v", ns[1])
				}
				usage := m["usage"].(map[string]any)
				if usage["inputTokens"] != float64(120) || usage["outputTokens"] != float64(4) {
					t.Errorf("usage = %v", usage)
				}
				if m["context"] == nil {
					t.Error("answer has no context report")
				}
			}
			if len(other.all()) != 0 {
				t.Errorf("another project's member got %d notifications", len(other.all()))
			}
			sent := lastUserText(e.reqs()[0])
			if !strings.HasPrefix(sent, "ann: what does Div do?") || !strings.Contains(sent, "return a / b  <-- cursor") {
				t.Errorf("prompt lacks the question or cursor region:\n%s", sent)
			}
			tot, _ := e.eng.Usage().Person(context.Background(), "ann", "")
			if tot.InputTokens != 120 || tot.Requests != 1 {
				t.Errorf("usage recorded = %+v", tot)
			}
		})
	}
}

func TestCancelStopsTheStreamAndTheProviderRequest(t *testing.T) {
	for _, prov := range providers {
		t.Run(prov, func(t *testing.T) {
			e := newEnv(t, prov, nil)
			s := e.room.join("p1")
			e.enqueue(aitest.Reply{Chunks: []string{"Let me think"}, Hang: true})
			res, err := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "long question"})
			if err != nil {
				t.Fatal(err)
			}
			s.waitFor(t, "first delta", func(n note) bool { return n.Method == ai.MethodDelta })
			at := time.Now()
			if err := e.eng.Cancel(context.Background(), "p1", res.ReplyID, "bob"); err != nil {
				t.Fatal(err)
			}
			select {
			case ended := <-e.ended:
				if d := ended.Sub(at); d > 100*time.Millisecond {
					t.Errorf("provider request ended %v after cancel, want within 100ms", d)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("the provider request was not aborted")
			}
			m := s.final(t, res.ReplyID)
			if m["status"] != "cancelled" || m["text"] != "Let me think" || !strings.Contains(m["error"].(string), "bob") {
				t.Errorf("final = %v", m)
			}
			// Cancelling again, or by the question's id, is harmless.
			if err := e.eng.Cancel(context.Background(), "p1", res.MessageID, "bob"); err != nil {
				t.Errorf("second cancel: %v", err)
			}
		})
	}
}

func TestRegenerateAnswersTheSameQuestionAgain(t *testing.T) {
	e := newEnv(t, "openai", nil)
	s := e.room.join("p1")
	e.enqueue(aitest.Reply{Chunks: []string{"first"}}, aitest.Reply{Chunks: []string{"second"}})
	ctx := context.Background()
	res, _ := e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "name a number"})
	s.final(t, res.ReplyID)
	again, err := e.eng.Regenerate(ctx, "p1", res.ReplyID, "bob")
	if err != nil || again.ReplyID == res.ReplyID || again.MessageID != res.MessageID {
		t.Fatalf("regenerate: %+v %v", again, err)
	}
	m := s.final(t, again.ReplyID)
	if m["text"] != "second" || m["regenerates"] != res.ReplyID {
		t.Errorf("regenerated = %v", m)
	}
	// The question is asked again, not with the first answer as history.
	if got := lastUserText(e.reqs()[1]); !strings.Contains(got, "name a number") {
		t.Errorf("regenerated prompt = %q", got)
	}
	if msgs := e.reqs()[1].Body["messages"].([]any); len(msgs) != 2 { // system + question
		t.Errorf("regenerated request has %d messages, want 2", len(msgs))
	}
	page, _ := e.eng.History(ctx, "p1", ai.HistoryQuery{})
	if len(page.Messages) != 3 {
		t.Errorf("history has %d messages, want question and both answers", len(page.Messages))
	}
}

func TestProviderErrorsBecomeClearMessages(t *testing.T) {
	cases := []struct {
		name string
		prov string
		fail *aitest.Failure
		kind string
		says string
	}{
		{"bad key", "openai", &aitest.ErrAuth, "auth", "OPENAI_API_KEY"},
		{"unknown model", "anthropic", &aitest.ErrModelNotFound, "model_not_found", "does not know model"},
		{"context too large", "openai", &aitest.ErrContextTooLarge, "context_too_large", "larger than model"},
		{"not configured", "none", nil, "not_configured", "--ai-provider"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := newEnv(t, c.prov, nil)
			s := e.room.join("p1")
			if c.fail != nil {
				e.enqueue(aitest.Reply{Fail: c.fail})
			}
			res, err := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "hi"})
			if err != nil {
				t.Fatal(err)
			}
			m := s.final(t, res.ReplyID)
			if m["status"] != "error" || m["errorKind"] != c.kind || !strings.Contains(m["error"].(string), c.says) || m["text"] == "" {
				t.Errorf("final = %v", m)
			}
		})
	}
}

func TestRetriesAreInvisibleToTheRoom(t *testing.T) {
	e := newEnv(t, "anthropic", nil)
	s := e.room.join("p1")
	e.enqueue(aitest.Reply{Fail: &aitest.ErrOverloaded}, aitest.Reply{Chunks: []string{"ok now"}})
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "hi"})
	if m := s.final(t, res.ReplyID); m["status"] != "done" || m["text"] != "ok now" {
		t.Errorf("final = %v", m)
	}
}

func TestLocalCommandsHistoryAndFeedback(t *testing.T) {
	e := newEnv(t, "openai", nil)
	s := e.room.join("p1")
	ctx := context.Background()

	res, _ := e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "/help"})
	if m := s.final(t, res.ReplyID); !strings.Contains(m["text"].(string), "/refactor") {
		t.Errorf("/help = %v", m["text"])
	}
	res, _ = e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "/search a / b"})
	if m := s.final(t, res.ReplyID); !strings.Contains(m["text"].(string), "calc/calc.go:4:") {
		t.Errorf("/search = %v", m["text"])
	}
	res, _ = e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "/model qwen2.5-coder:7b"})
	s.final(t, res.ReplyID)
	res, _ = e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "bob", Text: "/model"})
	if m := s.final(t, res.ReplyID); !strings.Contains(m["text"].(string), "qwen2.5-coder:7b") {
		t.Errorf("/model = %v", m["text"])
	}
	res, _ = e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "/nope"})
	if m := s.final(t, res.ReplyID); !strings.Contains(m["text"].(string), "Unknown command") {
		t.Errorf("/nope = %v", m["text"])
	}
	if len(e.reqs()) != 0 {
		t.Fatalf("local commands called the provider %d times", len(e.reqs()))
	}

	// People talk among themselves in the same thread.
	res, _ = e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "bob", Text: "lunch?", NoReply: true})
	if res.ReplyID != "" {
		t.Errorf("NoReply got an answer")
	}
	e.enqueue(aitest.Reply{Chunks: []string{"yes"}})
	res, _ = e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "question one"})
	s.final(t, res.ReplyID)
	last := e.reqs()[0]
	if last.Body["model"] != "qwen2.5-coder:7b" {
		t.Errorf("/model override not used: %v", last.Body["model"])
	}
	if !strings.Contains(lastUserText(last), "bob: lunch?") {
		t.Errorf("people's messages not in the model's history: %q", lastUserText(last))
	}

	m, err := e.eng.Feedback(ctx, "p1", res.ReplyID, "bob", "up", "helpful")
	if err != nil || m.Feedback["bob"].Rating != "up" {
		t.Fatalf("feedback: %+v %v", m.Feedback, err)
	}
	if _, err := e.eng.Feedback(ctx, "p1", res.MessageID, "bob", "up", ""); err == nil {
		t.Error("feedback on a person's message accepted")
	}

	// /clear: the model starts afresh, history stays.
	res, _ = e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "/clear"})
	e.enqueue(aitest.Reply{Chunks: []string{"fresh"}})
	res, _ = e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "question two"})
	s.final(t, res.ReplyID)
	if got := lastUserText(e.reqs()[1]); strings.Contains(got, "question one") || strings.Contains(got, "lunch") {
		t.Errorf("history before /clear reached the model: %q", got)
	}

	page, err := e.eng.History(ctx, "p1", ai.HistoryQuery{Limit: 4})
	if err != nil || len(page.Messages) != 4 || page.Next == "" {
		t.Fatalf("page 1: %d messages, next %q, %v", len(page.Messages), page.Next, err)
	}
	if page.Messages[3].Text != "fresh" {
		t.Errorf("newest message = %q", page.Messages[3].Text)
	}
	older, _ := e.eng.History(ctx, "p1", ai.HistoryQuery{Limit: 4, Before: page.Next})
	if len(older.Messages) != 4 || older.Messages[3].ID >= page.Messages[0].ID {
		t.Errorf("page 2 overlaps or is short: %d", len(older.Messages))
	}
	found, _ := e.eng.History(ctx, "p1", ai.HistoryQuery{Query: "LUNCH"})
	if len(found.Messages) != 1 || found.Messages[0].Author != "bob" {
		t.Errorf("search = %+v", found.Messages)
	}
}

func TestHistoryShowsAStreamingAnswerSoFar(t *testing.T) {
	e := newEnv(t, "openai", nil)
	s := e.room.join("p1")
	e.enqueue(aitest.Reply{Chunks: []string{"partial"}, Hang: true})
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "q"})
	s.waitFor(t, "delta", func(n note) bool { return n.Method == ai.MethodDelta })
	page, _ := e.eng.History(context.Background(), "p1", ai.HistoryQuery{})
	if m := page.Messages[1]; m.Status != ai.StatusStreaming || m.Text != "partial" {
		t.Errorf("late joiner sees %+v", m)
	}
	_ = e.eng.Close() // shutting down ends streams as cancelled
	if m := s.final(t, res.ReplyID); m["status"] != "cancelled" {
		t.Errorf("after Close: %v", m)
	}
	if _, err := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "q"}); err != ai.ErrClosed {
		t.Errorf("send after close: %v", err)
	}
}

func TestQuotaStopsRequestsBeforeTheProvider(t *testing.T) {
	e := newEnv(t, "openai", func(o *ai.Options) { o.Quota.TokensPerMonth = 100 })
	s := e.room.join("p1")
	e.enqueue(aitest.Reply{Chunks: []string{"a"}, Input: 90, Output: 20})
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "q"})
	s.final(t, res.ReplyID)
	res, _ = e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "q2"})
	if m := s.final(t, res.ReplyID); m["errorKind"] != "quota" {
		t.Errorf("over quota: %v", m)
	}
	if len(e.reqs()) != 1 {
		t.Errorf("provider called %d times", len(e.reqs()))
	}
}

func TestWaitReturnsTheFinishedAnswer(t *testing.T) {
	e := newEnv(t, "anthropic", nil)
	e.enqueue(aitest.Reply{Chunks: []string{"4", "2"}, Delay: 5 * time.Millisecond})
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "cli", Text: "answer?"})
	m, err := e.eng.Wait(context.Background(), "p1", res.ReplyID)
	if err != nil || m.Status != ai.StatusDone || m.Text != "42" {
		t.Fatalf("wait = %+v %v", m, err)
	}
}

func TestProjectBaseURLNeverGetsTheHubsKey(t *testing.T) {
	e := newEnv(t, "openai", nil)
	other := aitest.NewOpenAI()
	defer other.Close()
	ctx := context.Background()
	if err := e.eng.SetProjectConfig(ctx, "p1", ai.ProjectConfig{BaseURL: other.BaseURL(), Model: "llama3"}); err != nil {
		t.Fatal(err)
	}
	s := e.room.join("p1")
	res, _ := e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: "ann", Text: "hi"})
	s.final(t, res.ReplyID)
	if len(other.Requests()) != 1 || len(e.reqs()) != 0 {
		t.Fatalf("override not used: %d/%d", len(other.Requests()), len(e.reqs()))
	}
	if auth := other.Requests()[0].Header.Get("Authorization"); strings.Contains(auth, "sk-test") {
		t.Errorf("hub key sent to a project's server: %q", auth)
	}
	// The hub's own endpoint still gets it.
	s2 := e.room.join("p2")
	res, _ = e.eng.Send(ctx, ai.SendRequest{Project: "p2", Author: "ann", Text: "hi"})
	s2.final(t, res.ReplyID)
	if auth := e.reqs()[0].Header.Get("Authorization"); auth != "Bearer sk-test" {
		t.Errorf("hub endpoint auth = %q", auth)
	}
}

func TestConcurrentQuestionsCancelsAndReads(t *testing.T) {
	e := newEnv(t, "openai", nil)
	e.oai.SetDefault(aitest.Reply{Chunks: []string{"a", "b", "c"}, Delay: time.Millisecond})
	s := e.room.join("p1")
	ctx := context.Background()
	var wg sync.WaitGroup
	replies := make(chan string, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := e.eng.Send(ctx, ai.SendRequest{Project: "p1", Author: fmt.Sprintf("p%d", i), Text: "q"})
			if err != nil {
				t.Error(err)
				return
			}
			replies <- res.ReplyID
			if i%3 == 0 {
				_ = e.eng.Cancel(ctx, "p1", res.ReplyID, "someone")
			}
			_, _ = e.eng.History(ctx, "p1", ai.HistoryQuery{Limit: 5})
			_, _ = e.eng.Feedback(ctx, "p1", res.ReplyID, "p9", "up", "")
		}(i)
	}
	wg.Wait()
	close(replies)
	for id := range replies {
		m := s.final(t, id)
		if m["status"] != "done" && m["status"] != "cancelled" {
			t.Errorf("answer %s ended %v", id, m["status"])
		}
	}
	page, _ := e.eng.History(ctx, "p1", ai.HistoryQuery{Limit: 100})
	if len(page.Messages) != 16 {
		t.Errorf("history has %d messages, want 16", len(page.Messages))
	}
	for _, m := range page.Messages {
		if m.Role == ai.RoleAssistant && m.Feedback["p9"].Rating != "up" {
			t.Errorf("feedback lost on %s (%s)", m.ID, m.Status)
		}
	}
}

func TestAnswerLeftStreamingByACrashShowsAsInterrupted(t *testing.T) {
	e := newEnv(t, "openai", nil)
	s := e.room.join("p1")
	e.enqueue(aitest.Reply{Chunks: []string{"half"}, Hang: true})
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "q"})
	s.waitFor(t, "delta", func(n note) bool { return n.Method == ai.MethodDelta })
	// A second engine on the same store is the hub after a crash.
	eng2, err := ai.New(ai.Options{Store: e.st, Broadcaster: e.room})
	if err != nil {
		t.Fatal(err)
	}
	defer eng2.Close()
	page, _ := eng2.History(context.Background(), "p1", ai.HistoryQuery{})
	if m := page.Messages[1]; m.ID != res.ReplyID || m.Status != ai.StatusError || m.ErrorKind != "interrupted" {
		t.Errorf("after restart: %+v", m)
	}
}

func TestFastStreamsAreCoalescedWithoutLosingText(t *testing.T) {
	e := newEnv(t, "openai", nil)
	s := e.room.join("p1")
	chunks := make([]string, 500)
	var want strings.Builder
	for i := range chunks {
		chunks[i] = fmt.Sprintf("t%d ", i)
		want.WriteString(chunks[i])
	}
	e.enqueue(aitest.Reply{Chunks: chunks})
	res, _ := e.eng.Send(context.Background(), ai.SendRequest{Project: "p1", Author: "ann", Text: "q"})
	m := s.final(t, res.ReplyID)
	if got := s.deltas(res.ReplyID); got != want.String() || m["text"] != want.String() {
		t.Fatalf("text lost: deltas %d bytes, final %d bytes, want %d", len(got), len(m["text"].(string)), want.Len())
	}
	n := 0
	for _, x := range s.all() {
		if x.Method == ai.MethodDelta {
			n++
		}
	}
	if n >= len(chunks)/2 {
		t.Errorf("%d delta notifications for %d tokens streamed at once; want them coalesced", n, len(chunks))
	}
	// Deltas precede the final message.
	all := s.all()
	if last := all[len(all)-1]; last.Method != ai.MethodMessage {
		t.Errorf("last notification = %s", last.Method)
	}
}
