package complete_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/hub/ai/complete"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
)

// source serves one provider for every project.
type source struct {
	p   provider.Provider
	cfg provider.Config
}

func (s source) ProviderFor(context.Context, string) (provider.Provider, provider.Config, error) {
	return s.p, s.cfg, nil
}

func newFIM(t *testing.T) (*aitest.OpenAI, *complete.Engine) {
	t.Helper()
	o := aitest.NewOpenAI()
	t.Cleanup(o.Close)
	cfg := provider.Config{Provider: "openai", Model: "qwen2.5-coder", BaseURL: o.BaseURL(), FIM: true}
	p, err := provider.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	e, err := complete.New(complete.Options{Source: source{p, cfg}, MinDebounce: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close() })
	return o, e
}

func TestCompletionUsesFIMAndTheCache(t *testing.T) {
	o, e := newFIM(t)
	o.Enqueue(aitest.Reply{Completion: "return a + b\n}"})
	req := complete.Request{Project: "p", Person: "ann", Path: "a.go", Prefix: "func add(a, b int) int {\n\t", Suffix: "\n}\n"}
	res, err := e.Complete(context.Background(), req)
	if err != nil || res.Text != "return a + b" || res.Cached {
		t.Fatalf("first = %+v %v (the closing brace already follows the cursor)", res, err)
	}
	body := o.Requests()[0].Body
	if body["prompt"] != req.Prefix || body["suffix"] != req.Suffix {
		t.Errorf("FIM body = %v", body)
	}
	res, err = e.Complete(context.Background(), req)
	if err != nil || !res.Cached || res.Text != "return a + b" {
		t.Fatalf("second = %+v %v", res, err)
	}
	// Typing the first characters of the suggestion is served from it.
	req.Prefix += "retu"
	res, err = e.Complete(context.Background(), req)
	if err != nil || !res.Cached || res.Text != "rn a + b" {
		t.Fatalf("typed-ahead = %+v %v", res, err)
	}
	if len(o.Requests()) != 1 {
		t.Errorf("provider called %d times", len(o.Requests()))
	}
}

func TestNewRequestCancelsThePreviousOne(t *testing.T) {
	o, e := newFIM(t)
	o.Enqueue(aitest.Reply{Hang: true}, aitest.Reply{Completion: "x"})
	first := complete.Request{Project: "p", Person: "ann", Path: "a.go", Prefix: "a"}
	errs := make(chan error, 1)
	go func() {
		_, err := e.Complete(context.Background(), first)
		errs <- err
	}()
	for len(o.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	at := time.Now()
	second := first
	second.Prefix = "ab"
	res, err := e.Complete(context.Background(), second)
	if err != nil || res.Text != "x" {
		t.Fatalf("second = %+v %v", res, err)
	}
	select {
	case ended := <-o.Ended():
		if d := ended.Sub(at); d > 100*time.Millisecond {
			t.Errorf("previous request aborted after %v", d)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("previous request never aborted")
	}
	if err := <-errs; !errors.Is(err, complete.ErrSuperseded) {
		t.Errorf("first = %v, want ErrSuperseded", err)
	}
	// Another person's request in the same document is independent.
	third := second
	third.Person = "bob"
	if _, err := e.Complete(context.Background(), third); err != nil {
		t.Errorf("bob: %v", err)
	}
}

func TestSupersededDuringDebounceNeverReachesTheModel(t *testing.T) {
	o := aitest.NewOpenAI()
	defer o.Close()
	cfg := provider.Config{Provider: "openai", Model: "m", BaseURL: o.BaseURL(), FIM: true}
	p, _ := provider.New(cfg)
	e, _ := complete.New(complete.Options{Source: source{p, cfg}, MinDebounce: 50 * time.Millisecond, MaxDebounce: 200 * time.Millisecond})
	defer e.Close()
	o.SetDefault(aitest.Reply{Completion: "z"})
	var wg sync.WaitGroup
	results := make([]error, 5)
	for i := range 5 {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			_, results[i] = e.Complete(context.Background(), complete.Request{Project: "p", Person: "ann", Path: "a.go", Prefix: string(rune('a' + i))})
		}(i)
		time.Sleep(10 * time.Millisecond)
	}
	wg.Wait()
	superseded := 0
	for _, err := range results {
		if errors.Is(err, complete.ErrSuperseded) {
			superseded++
		}
	}
	if superseded != 4 || len(o.Requests()) != 1 {
		t.Errorf("superseded %d, provider calls %d; want 4 and 1", superseded, len(o.Requests()))
	}
}

func TestCompletionErrorsAreTyped(t *testing.T) {
	o, e := newFIM(t)
	o.Enqueue(aitest.Reply{Fail: &aitest.ErrModelNotFound})
	_, err := e.Complete(context.Background(), complete.Request{Project: "p", Person: "ann", Path: "a.go", Prefix: "x"})
	if provider.KindOf(err) != provider.KindModelNotFound {
		t.Fatalf("err = %v", err)
	}
}
