package ai_test

import (
	"context"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/ai/aitest"
	"github.com/rubberduckhub/rubberduck/hub/ai/propose"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

// note is one notification a subscriber received, decoded from JSON as a
// client would see it.
type note struct {
	Method string
	Params map[string]any
}

// room is a Broadcaster with subscribers: each connection of a project gets
// every notification, encoded once like the hub's rooms do.
type room struct {
	mu   sync.Mutex
	subs map[string][]*sub
}

type sub struct {
	mu    sync.Mutex
	notes []note
	wake  chan struct{}
}

func newRoom() *room { return &room{subs: map[string][]*sub{}} }

func (r *room) join(project string) *sub {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := &sub{wake: make(chan struct{}, 1)}
	r.subs[project] = append(r.subs[project], s)
	return s
}

func (r *room) Notify(_ context.Context, project, method string, params any) error {
	b, err := json.Marshal(params)
	if err != nil {
		return err
	}
	r.mu.Lock()
	subs := append([]*sub(nil), r.subs[project]...)
	r.mu.Unlock()
	for _, s := range subs {
		var p map[string]any
		_ = json.Unmarshal(b, &p)
		s.mu.Lock()
		s.notes = append(s.notes, note{method, p})
		s.mu.Unlock()
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
	return nil
}

func (s *sub) all() []note {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]note(nil), s.notes...)
}

// waitFor waits until a notification satisfies ok and returns it.
func (s *sub) waitFor(t *testing.T, what string, ok func(note) bool) note {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		for _, n := range s.all() {
			if ok(n) {
				return n
			}
		}
		select {
		case <-s.wake:
		case <-deadline:
			t.Fatalf("timed out waiting for %s; got %d notifications", what, len(s.all()))
		}
	}
}

// final waits for the final chat/message of an answer.
func (s *sub) final(t *testing.T, replyID string) map[string]any {
	t.Helper()
	n := s.waitFor(t, "final message "+replyID, func(n note) bool {
		if n.Method != ai.MethodMessage {
			return false
		}
		m := n.Params["message"].(map[string]any)
		return m["id"] == replyID && m["status"] != string(ai.StatusStreaming)
	})
	return n.Params["message"].(map[string]any)
}

func (s *sub) deltas(replyID string) string {
	var b strings.Builder
	for _, n := range s.all() {
		if n.Method == ai.MethodDelta && n.Params["messageId"] == replyID {
			b.WriteString(n.Params["text"].(string))
		}
	}
	return b.String()
}

// files is an in-memory project tree with a per-person deny list.
type files struct {
	mu     sync.Mutex
	data   map[string]string
	denied map[string]bool // person -> may read nothing
}

func newFiles(m map[string]string) *files {
	return &files{data: m, denied: map[string]bool{}}
}

func (f *files) For(_ context.Context, _, person string) (ai.Files, error) {
	if f.denied[person] {
		return nil, errors.New("forbidden")
	}
	return &view{f}, nil
}

type view struct{ f *files }

func (v *view) ReadFile(_ context.Context, path string) (string, error) {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	t, ok := v.f.data[path]
	if !ok {
		return "", errors.New("not found")
	}
	return t, nil
}

func (v *view) ListDir(_ context.Context, dir string) ([]ai.DirEntry, error) {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	var out []ai.DirEntry
	for p := range v.f.data {
		if dir == "" || dir == "." || strings.HasPrefix(p, dir+"/") {
			out = append(out, ai.DirEntry{Name: p})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

func (v *view) Search(_ context.Context, q string, limit int) ([]ai.SearchHit, error) {
	v.f.mu.Lock()
	defer v.f.mu.Unlock()
	var out []ai.SearchHit
	for p, t := range v.f.data {
		for i, l := range strings.Split(t, "\n") {
			if strings.Contains(l, q) && len(out) < limit {
				out = append(out, ai.SearchHit{Path: p, Line: i + 1, Text: l})
			}
		}
	}
	return out, nil
}

// docs serves the same files as live documents with versions.
type docs struct {
	f       *files
	mu      sync.Mutex
	version map[string]uint64
}

func (d *docs) Text(_ context.Context, _, path string) (string, uint64, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	t, ok := d.f.data[path]
	if !ok {
		return "", 0, errors.New("not open")
	}
	return t, d.version[path], nil
}

func (d *docs) Apply(_ context.Context, _, path, _ string, v uint64, edits []propose.Edit) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.version[path] != v {
		return propose.ErrStale
	}
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	t := d.f.data[path]
	for i := len(edits) - 1; i >= 0; i-- {
		t = t[:edits[i].Start] + edits[i].NewText + t[edits[i].End:]
	}
	d.f.data[path] = t
	d.version[path]++
	return nil
}

func (d *docs) edit(path string, fn func(string) string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.f.mu.Lock()
	defer d.f.mu.Unlock()
	d.f.data[path] = fn(d.f.data[path])
	d.version[path]++
}

// env is an engine wired to fakes.
type env struct {
	eng   *ai.Engine
	room  *room
	files *files
	docs  *docs
	st    store.Store
	oai   *aitest.OpenAI
	ant   *aitest.Anthropic
	// enqueue targets the provider under test.
	enqueue func(...aitest.Reply)
	reqs    func() []aitest.Request
	ended   <-chan time.Time
}

func newEnv(t testing.TB, prov string, mod func(*ai.Options)) *env {
	t.Helper()
	e := &env{room: newRoom(), st: store.NewMemory(), oai: aitest.NewOpenAI(), ant: aitest.NewAnthropic()}
	t.Cleanup(e.oai.Close)
	t.Cleanup(e.ant.Close)
	e.files = newFiles(map[string]string{
		"calc/calc.go": "package calc\n\nfunc Div(a, b int) int {\n\treturn a / b\n}\n",
		"README.md":    "# calc\n",
	})
	e.docs = &docs{f: e.files, version: map[string]uint64{}}
	cfg := provider.Config{Provider: "openai", Model: "gpt-4o-mini", BaseURL: e.oai.BaseURL(), APIKey: "sk-test"}
	e.enqueue, e.reqs, e.ended = e.oai.Enqueue, e.oai.Requests, e.oai.Ended()
	if prov == "anthropic" {
		cfg = provider.Config{Provider: "anthropic", Model: "claude-sonnet-4-5", BaseURL: e.ant.BaseURL(), APIKey: "sk-ant-test"}
		e.enqueue, e.reqs, e.ended = e.ant.Enqueue, e.ant.Requests, e.ant.Ended()
	}
	if prov == "none" {
		cfg = provider.Config{}
	}
	opts := ai.Options{Store: e.st, Broadcaster: e.room, Files: e.files, Documents: e.docs, Provider: cfg}
	if mod != nil {
		mod(&opts)
	}
	eng, err := ai.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
	t.Cleanup(func() { _ = eng.Close() })
	return e
}

// lastUserText is the text of the last user turn the provider received.
func lastUserText(r aitest.Request) string {
	msgs, _ := r.Body["messages"].([]any)
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i].(map[string]any)
		if m["role"] != "user" {
			continue
		}
		switch c := m["content"].(type) {
		case string:
			return c
		case []any:
			var b strings.Builder
			for _, part := range c {
				if p, ok := part.(map[string]any); ok {
					if s, ok := p["text"].(string); ok {
						b.WriteString(s)
					}
				}
			}
			return b.String()
		}
	}
	return ""
}
