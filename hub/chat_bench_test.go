package hub_test

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// percentiles reports p50 and p95 of samples in microseconds.
func aiPercentiles(b *testing.B, name string, samples []time.Duration) (p50, p95 float64) {
	b.Helper()
	if len(samples) == 0 {
		return 0, 0
	}
	sort.Slice(samples, func(i, j int) bool { return samples[i] < samples[j] })
	at := func(q float64) float64 {
		return float64(samples[min(len(samples)-1, int(q*float64(len(samples))))].Microseconds())
	}
	p50, p95 = at(0.50), at(0.95)
	b.ReportMetric(p50, name+"-p50-µs")
	b.ReportMetric(p95, name+"-p95-µs")
	return p50, p95
}

// BenchmarkTimeToFirstToken measures what the hub adds to the time to the
// first token: a question sent over a WebSocket until its first delta
// arrives back, against the same fake provider called directly through
// the SDK. Goal: the hub adds at most 15 ms at p95.
func BenchmarkTimeToFirstToken(b *testing.B) {
	h, fake := aiHub(b)
	hub.WithoutRateLimits(h.Server)
	fake.SetDefault(aitest.Reply{Chunks: []string{"Hi", " there"}})
	cc := newChatClient(b, h, h.Token)

	direct := provider.NewOpenAI(provider.Config{Provider: "openai", Model: "gpt-4o-mini", BaseURL: fake.BaseURL(), APIKey: "sk-test"})
	var viaHub, viaSDK []time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		var first time.Duration
		_, err := direct.Chat(context.Background(), provider.Request{Messages: []provider.Message{{Role: provider.RoleUser, Text: "hi"}}},
			func(string) error {
				if first == 0 {
					first = time.Since(start)
				}
				return nil
			})
		if err != nil {
			b.Fatal(err)
		}
		viaSDK = append(viaSDK, first)

		start = time.Now()
		res := cc.send("hi", nil)
		cc.final(res.ReplyID)
		cc.mu.Lock()
		viaHub = append(viaHub, cc.first[res.ReplyID].Sub(start))
		cc.mu.Unlock()
	}
	b.StopTimer()
	s50, s95 := aiPercentiles(b, "sdk", viaSDK)
	h50, h95 := aiPercentiles(b, "hub", viaHub)
	b.ReportMetric(h50-s50, "added-p50-µs")
	b.ReportMetric(h95-s95, "added-p95-µs")
}

// BenchmarkCachedInlineCompletion measures an inline completion served
// from the cache, over the wire: what a person feels on every keystroke
// that repeats a suggestion. Goal: under 16 ms (one frame).
func BenchmarkCachedInlineCompletion(b *testing.B) {
	h, fake := aiHub(b, func(c *hub.AIConfig) { c.Provider.FIM = true })
	hub.WithoutRateLimits(h.Server)
	fake.SetDefault(aitest.Reply{Completion: "println(s)"})
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "main.go"), []byte(emojiGo), 0o644); err != nil {
		b.Fatal(err)
	}
	c := h.Connect(b)
	params := protocol.InlineCompletionParams{
		TextDocument: protocol.TextDocumentIdentifier{URI: "rubberduck://demo/main.go"},
		Position:     protocol.Position{Line: 3, Character: 12},
	}
	var list protocol.InlineCompletionList
	if err := c.Call(context.Background(), protocol.MethodInlineCompl, params, &list); err != nil || len(list.Items) != 1 {
		b.Fatalf("prime: %v %+v", err, list)
	}
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := c.Call(context.Background(), protocol.MethodInlineCompl, params, &list); err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	aiPercentiles(b, "cached", samples)
	if n := len(fake.Requests()); n != 1 {
		b.Fatalf("provider asked %d times", n)
	}
}

// BenchmarkFanout2000Tokens30Clients streams a 2,000-token answer, as fast
// as the fake provider can send it, to 30 WebSocket clients; one op is one
// whole answer delivered to everyone, every client's text checked.
func BenchmarkFanout2000Tokens30Clients(b *testing.B) {
	h, fake := aiHub(b)
	hub.WithoutRateLimits(h.Server)
	chunks := make([]string, 2000)
	for i := range chunks {
		chunks[i] = "tok "
	}
	want := strings.Repeat("tok ", 2000)
	fake.SetDefault(aitest.Reply{Chunks: chunks})
	clients := make([]*chatClient, 30)
	for i := range clients {
		clients[i] = newChatClient(b, h, h.Token)
	}
	b.ResetTimer()
	for range b.N {
		res := clients[0].send("talk for a while", nil)
		var wg sync.WaitGroup
		for _, cc := range clients {
			wg.Add(1)
			go func() {
				defer wg.Done()
				m, streamed := cc.final(res.ReplyID)
				if m.Text != want || streamed != want {
					b.Errorf("client got %d/%d bytes, want %d", len(m.Text), len(streamed), len(want))
				}
			}()
		}
		wg.Wait()
	}
}

// BenchmarkCancelToProvider measures from rubberduck/chat/cancel leaving a
// client to the fake provider seeing its HTTP request end: how soon a
// model stops generating (and costing) after someone presses stop.
// Goal: 100 ms.
func BenchmarkCancelToProvider(b *testing.B) {
	h, fake := aiHub(b)
	hub.WithoutRateLimits(h.Server)
	fake.SetDefault(aitest.Reply{Chunks: []string{"thinking"}, Hang: true})
	cc := newChatClient(b, h, h.Token)
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		res := cc.send("think", nil)
		cc.waitFor("the first delta", func() bool { return cc.deltas[res.ReplyID] != "" })
		start := time.Now()
		if err := cc.c.Call(context.Background(), protocol.MethodChatCancel, protocol.ChatRefParams{Project: "demo", MessageID: res.ReplyID}, nil); err != nil {
			b.Fatal(err)
		}
		select {
		case ended := <-fake.Ended():
			samples = append(samples, ended.Sub(start))
		case <-time.After(10 * time.Second):
			b.Fatal("the provider's request never ended")
		}
		cc.final(res.ReplyID)
	}
	b.StopTimer()
	aiPercentiles(b, "cancel", samples)
}
