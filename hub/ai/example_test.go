package ai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

// printer is the smallest Broadcaster: it prints what every member of the
// project would receive. The hub's rooms encode each notification once and
// queue it to every connection joined to the project.
type printer struct{ mu sync.Mutex }

func (p *printer) Notify(_ context.Context, project, method string, params any) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	// Decode as a client would.
	b, _ := json.Marshal(params)
	var wire struct {
		Text    string `json:"text"`
		Message struct {
			Role, Status, Text string
		} `json:"message"`
	}
	_ = json.Unmarshal(b, &wire)
	if method == ai.MethodDelta {
		fmt.Printf("%s %q\n", method, wire.Text)
	} else {
		fmt.Printf("%s %s %s %q\n", method, wire.Message.Role, wire.Message.Status, wire.Message.Text)
	}
	return nil
}

// Example wires an engine the way the hub does: a store, a broadcaster and
// a provider configuration (here a fake OpenAI-compatible server).
func Example() {
	srv := aitest.NewOpenAI()
	defer srv.Close()
	srv.Enqueue(aitest.Reply{Chunks: []string{"Hello"}})

	eng, err := ai.New(ai.Options{
		Store:       store.NewMemory(),
		Broadcaster: &printer{},
		Provider:    provider.Config{Provider: "openai", Model: "gpt-4o-mini", BaseURL: srv.BaseURL()},
	})
	if err != nil {
		panic(err)
	}
	defer eng.Close()

	ctx := context.Background()
	res, _ := eng.Send(ctx, ai.SendRequest{Project: "demo", Author: "ann", Text: "say hello"})
	final, _ := eng.Wait(ctx, "demo", res.ReplyID)
	fmt.Println("final:", final.Status, final.Text)
	// Output:
	// $/rubberduck/chat/message user done "say hello"
	// $/rubberduck/chat/message assistant streaming ""
	// $/rubberduck/chat/delta "Hello"
	// $/rubberduck/chat/message assistant done "Hello"
	// final: done Hello
}
