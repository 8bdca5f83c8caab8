package ai_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/hub/ai/complete"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

// fanout is a Broadcaster shaped like the hub's rooms: each notification is
// encoded once and queued to every subscriber, whose goroutine drains it.
type fanout struct {
	subs      []chan []byte
	wg        sync.WaitGroup
	mu        sync.Mutex
	firstAt   map[string]time.Time // project -> first delta
	finals    map[string]chan struct{}
	delivered []int
	deltas    int
}

func newFanout(n int) *fanout {
	f := &fanout{firstAt: map[string]time.Time{}, finals: map[string]chan struct{}{}, delivered: make([]int, n)}
	for i := 0; i < n; i++ {
		ch := make(chan []byte, 8192)
		f.subs = append(f.subs, ch)
		f.wg.Add(1)
		go func(i int) {
			defer f.wg.Done()
			for range ch {
				f.delivered[i]++
			}
		}(i)
	}
	return f
}

func (f *fanout) close() {
	for _, ch := range f.subs {
		close(ch)
	}
	f.wg.Wait()
}

func (f *fanout) expect(project string) chan struct{} {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch := make(chan struct{})
	f.finals[project] = ch
	return ch
}

func (f *fanout) Notify(_ context.Context, project, method string, params any) error {
	now := time.Now()
	frame, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method, "params": params})
	if err != nil {
		return err
	}
	for _, ch := range f.subs {
		ch <- frame
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if method == ai.MethodDelta {
		f.deltas++
		if _, ok := f.firstAt[project]; !ok {
			f.firstAt[project] = now
		}
	}
	if method == ai.MethodMessage {
		if m, ok := params.(map[string]any)["message"].(*ai.Message); ok && m.Role == ai.RoleAssistant && m.Status != ai.StatusStreaming {
			if ch := f.finals[project]; ch != nil {
				close(ch)
				delete(f.finals, project)
			}
		}
	}
	return nil
}

func percentiles(d []time.Duration) (p50, p95 time.Duration) {
	slices.Sort(d)
	return d[len(d)/2], d[min(len(d)-1, len(d)*95/100)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkTimeToFirstToken compares the time from a question to its first
// token through the engine (store, context, notifications) with calling the
// fake provider directly through the SDK.
func BenchmarkTimeToFirstToken(b *testing.B) {
	for _, c := range []struct {
		prov    string
		history int
	}{{"openai", 0}, {"anthropic", 0}, {"openai", 500}} {
		prov := c.prov
		b.Run(fmt.Sprintf("%s/history=%d", prov, c.history), func(b *testing.B) {
			e := newEnv(b, prov, nil)
			_ = e.eng.Close()
			f := newFanout(3)
			defer f.close()
			cfg := provider.Config{Provider: "openai", Model: "gpt-4o-mini", BaseURL: e.oai.BaseURL()}
			if prov == "anthropic" {
				cfg = provider.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", BaseURL: e.ant.BaseURL()}
			}
			eng, err := ai.New(ai.Options{Store: store.NewMemory(), Broadcaster: f, Files: e.files, Documents: e.docs, Provider: cfg})
			if err != nil {
				b.Fatal(err)
			}
			defer eng.Close()
			direct, _ := provider.New(cfg)
			reply := aitest.Reply{Chunks: []string{"first", " second"}}
			if prov == "openai" {
				e.oai.SetDefault(reply)
			} else {
				e.ant.SetDefault(reply)
			}
			for i := 0; i < c.history; i++ {
				if _, err := eng.Send(context.Background(), ai.SendRequest{Project: "shared", Author: "bob", NoReply: true,
					Text: "an earlier message in a long conversation about the calculator package and its bugs"}); err != nil {
					b.Fatal(err)
				}
			}
			var viaEngine, viaSDK []time.Duration
			ed := &ai.EditorContext{Path: "calc/calc.go", Cursor: &ai.Position{Line: 2}, SelectionText: "return a / b"}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				project := fmt.Sprintf("p%d", i)
				if c.history > 0 {
					project = "shared"
					f.mu.Lock()
					delete(f.firstAt, project)
					f.mu.Unlock()
				}
				done := f.expect(project)
				t0 := time.Now()
				if _, err := eng.Send(context.Background(), ai.SendRequest{Project: project, Author: "ann", Text: "why?", Editor: ed}); err != nil {
					b.Fatal(err)
				}
				<-done
				f.mu.Lock()
				viaEngine = append(viaEngine, f.firstAt[project].Sub(t0))
				f.mu.Unlock()

				var first time.Duration
				t1 := time.Now()
				_, err := direct.Chat(context.Background(), provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Text: "why?"}}},
					func(string) error {
						if first == 0 {
							first = time.Since(t1)
						}
						return nil
					})
				if err != nil {
					b.Fatal(err)
				}
				viaSDK = append(viaSDK, first)
			}
			b.StopTimer()
			e50, e95 := percentiles(viaEngine)
			d50, d95 := percentiles(viaSDK)
			b.ReportMetric(ms(e50), "engine-p50-ms")
			b.ReportMetric(ms(e95), "engine-p95-ms")
			b.ReportMetric(ms(d50), "direct-p50-ms")
			b.ReportMetric(ms(d95), "direct-p95-ms")
			b.ReportMetric(ms(e50-d50), "added-p50-ms")
			b.ReportMetric(ms(e95-d95), "added-p95-ms")
		})
	}
}

// BenchmarkCachedCompletion measures a completion served from the cache.
func BenchmarkCachedCompletion(b *testing.B) {
	o := aitest.NewOpenAI()
	defer o.Close()
	o.SetDefault(aitest.Reply{Completion: "return a + b"})
	cfg := provider.Config{Provider: "openai", Model: "coder", BaseURL: o.BaseURL(), FIM: true}
	p, _ := provider.New(cfg)
	c, _ := complete.New(complete.Options{Source: srcFor{p, cfg}})
	defer c.Close()
	req := complete.Request{Project: "p", Person: "ann", Path: "a.go", Prefix: string(make([]byte, 6000)), Suffix: "\n}\n"}
	if _, err := c.Complete(context.Background(), req); err != nil {
		b.Fatal(err)
	}
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		res, err := c.Complete(context.Background(), req)
		lat = append(lat, time.Since(t0))
		if err != nil || !res.Cached {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.StopTimer()
	p50, p95 := percentiles(lat)
	b.ReportMetric(ms(p50), "p50-ms")
	b.ReportMetric(ms(p95), "p95-ms")
}

type srcFor struct {
	p   provider.Provider
	cfg provider.Config
}

func (s srcFor) ProviderFor(context.Context, string) (provider.Provider, provider.Config, error) {
	return s.p, s.cfg, nil
}

// BenchmarkFanOut streams a 2,000-token answer to 30 subscribers as fast as
// the fake provider can send it; the time includes the SDK decoding 2,000
// SSE chunks, which dominates.
func BenchmarkFanOut(b *testing.B) {
	o := aitest.NewOpenAI()
	defer o.Close()
	chunks := make([]string, 2000)
	for i := range chunks {
		chunks[i] = " tok"
	}
	o.SetDefault(aitest.Reply{Chunks: chunks})
	f := newFanout(30)
	eng, err := ai.New(ai.Options{Store: store.NewMemory(), Broadcaster: f,
		Provider: provider.Config{Provider: "openai", Model: "gpt-4o-mini", BaseURL: o.BaseURL()}})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	var per []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		project := fmt.Sprintf("p%d", i)
		done := f.expect(project)
		t0 := time.Now()
		if _, err := eng.Send(context.Background(), ai.SendRequest{Project: project, Author: "ann", Text: "long answer please"}); err != nil {
			b.Fatal(err)
		}
		<-done
		per = append(per, time.Since(t0))
	}
	b.StopTimer()
	p50, p95 := percentiles(per)
	b.ReportMetric(ms(p50), "answer-p50-ms")
	b.ReportMetric(ms(p95), "answer-p95-ms")
	f.mu.Lock()
	b.ReportMetric(float64(f.deltas)/float64(b.N), "delta-frames/answer")
	f.mu.Unlock()
}

// tokens is an in-memory provider that streams n tokens, to measure the
// engine's own fan-out cost without HTTP and SDK decoding.
type tokens struct{ n int }

func (tokens) Name() string  { return "mem" }
func (tokens) Model() string { return "mem" }
func (t tokens) Chat(_ context.Context, _ provider.Request, on provider.Handler) (provider.Result, error) {
	for i := 0; i < t.n; i++ {
		if err := on(" tok"); err != nil {
			return provider.Result{}, err
		}
	}
	return provider.Result{Usage: provider.Usage{InputTokens: 10, OutputTokens: t.n}}, nil
}
func (tokens) Complete(context.Context, provider.FIMRequest) (string, provider.Usage, error) {
	return "", provider.Usage{}, nil
}

// BenchmarkFanOutEngineOnly is BenchmarkFanOut without HTTP: 2,000 tokens
// from an in-memory provider to 30 subscribers.
func BenchmarkFanOutEngineOnly(b *testing.B) {
	f := newFanout(30)
	eng, err := ai.New(ai.Options{Store: store.NewMemory(), Broadcaster: f,
		Provider:    provider.Config{Provider: "openai", Model: "gpt-4o-mini"},
		NewProvider: func(provider.Config) (provider.Provider, error) { return tokens{2000}, nil }})
	if err != nil {
		b.Fatal(err)
	}
	defer eng.Close()
	var per []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		project := fmt.Sprintf("p%d", i)
		done := f.expect(project)
		t0 := time.Now()
		if _, err := eng.Send(context.Background(), ai.SendRequest{Project: project, Author: "ann", Text: "long answer please"}); err != nil {
			b.Fatal(err)
		}
		<-done
		per = append(per, time.Since(t0))
	}
	b.StopTimer()
	p50, p95 := percentiles(per)
	b.ReportMetric(ms(p50), "answer-p50-ms")
	b.ReportMetric(ms(p95), "answer-p95-ms")
}
