package lspool_test

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"

	"github.com/rubberduckhub/rubberduck/hub/intel/lspool"
)

// TestMain lets the test binary act as a scripted language server, so
// the pool's routing is tested without any real server installed.
func TestMain(m *testing.M) {
	if os.Getenv("LSPOOL_FAKE_SERVER") == "1" {
		fakeServer()
		return
	}
	os.Exit(m.Run())
}

type stdrw struct {
	io.Reader
	io.Writer
}

func (stdrw) Close() error { return nil }

// fakeServer speaks just enough LSP to exercise every server-to-client
// path: it registers a capability, asks for configuration, reports
// progress on the caller's token, asks the client to apply an edit,
// publishes diagnostics for what it is given, and crashes on request.
func fakeServer() {
	conn := jsonrpc2.NewConn(jsonrpc2.NewStream(stdrw{os.Stdin, os.Stdout}))
	ctx := context.Background()
	var mu sync.Mutex
	var root string
	var config json.RawMessage
	registered := false
	conn.Go(ctx, jsonrpc2.AsyncHandler(func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		switch req.Method() {
		case "initialize":
			var p struct {
				RootURI string `json:"rootUri"`
			}
			_ = json.Unmarshal(req.Params(), &p)
			mu.Lock()
			root = p.RootURI
			mu.Unlock()
			return reply(ctx, map[string]any{"capabilities": map[string]any{"textDocumentSync": 1}}, nil)
		case "initialized":
			if _, err := conn.Call(ctx, "client/registerCapability", map[string]any{"registrations": []any{}}, nil); err == nil {
				mu.Lock()
				registered = true
				mu.Unlock()
			}
			var cfg json.RawMessage
			_, _ = conn.Call(ctx, "workspace/configuration", map[string]any{"items": []any{map[string]any{"section": "fake.level"}}}, &cfg)
			mu.Lock()
			config = cfg
			mu.Unlock()
			return reply(ctx, nil, nil) // (a no-op for notifications that lets AsyncHandler go on)
		case "textDocument/didOpen", "textDocument/didChange":
			var p struct {
				TextDocument struct {
					URI     string `json:"uri"`
					Version int    `json:"version"`
				} `json:"textDocument"`
			}
			_ = json.Unmarshal(req.Params(), &p)
			defer reply(ctx, nil, nil)
			return conn.Notify(ctx, "textDocument/publishDiagnostics", map[string]any{"uri": p.TextDocument.URI,
				"diagnostics": []any{map[string]any{"message": req.Method(), "severity": 1,
					"range": map[string]any{"start": map[string]int{"line": 0, "character": 0}, "end": map[string]int{"line": 0, "character": 1}}}}})
		case "test/echo":
			var p struct {
				Token string `json:"workDoneToken"`
			}
			_ = json.Unmarshal(req.Params(), &p)
			_ = conn.Notify(ctx, "$/progress", map[string]any{"token": p.Token, "value": map[string]any{"kind": "begin", "title": "echo"}})
			mu.Lock()
			defer mu.Unlock()
			return reply(ctx, map[string]any{"config": config, "registered": registered}, nil)
		case "test/edit":
			mu.Lock()
			uri := root + "/x.go"
			mu.Unlock()
			var res json.RawMessage
			_, err := conn.Call(ctx, "workspace/applyEdit", map[string]any{"edit": map[string]any{"changes": map[string]any{
				uri: []any{map[string]any{"newText": "y", "range": map[string]any{
					"start": map[string]int{"line": 0, "character": 0}, "end": map[string]int{"line": 0, "character": 1}}}}}}}, &res)
			return reply(ctx, res, err)
		case "test/crash":
			os.Exit(3)
		case "shutdown":
			return reply(ctx, nil, nil)
		case "exit":
			os.Exit(0)
		}
		if _, ok := req.(*jsonrpc2.Call); !ok {
			return reply(ctx, nil, nil)
		}
		return reply(ctx, nil, jsonrpc2.ErrMethodNotFound)
	}))
	<-conn.Done()
}

type recorder struct {
	room
	mu     sync.Mutex
	notes  []string // person|method
	diags  chan string
	person string
}

func (r *recorder) Notify(_ context.Context, person, method string, _ json.RawMessage) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, person+"|"+method)
}

func (r *recorder) PublishDiagnostics(_ context.Context, source, path string, d json.RawMessage) {
	r.diags <- source + "|" + path + "|" + string(d)
}

func (r *recorder) ApplyEdit(_ context.Context, person string, edit json.RawMessage) (bool, error) {
	r.mu.Lock()
	r.person = person
	r.mu.Unlock()
	return r.room.ApplyEdit(context.Background(), person, edit)
}

func TestServerToClientRoutingAndRestart(t *testing.T) {
	t.Setenv("LSPOOL_FAKE_SERVER", "1")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{diags: make(chan string, 16)}
	pool, err := lspool.New(lspool.Options{
		Project: "demo", Root: t.TempDir(), Client: rec, MinBackoff: 20 * time.Millisecond,
		Servers: map[string]lspool.ServerConfig{"fake": {Name: "fake", Command: []string{exe}, Languages: []string{"go"},
			Settings: map[string]any{"fake": map[string]any{"level": "high"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	ctx := context.Background()
	if !pool.Available("go") || pool.Available("rust") {
		t.Fatal("availability: want go (fake server) only")
	}
	if err := pool.DidOpen(ctx, "x.go", "go", "x"); err != nil {
		t.Fatal(err)
	}
	waitDiag := func(want string) {
		t.Helper()
		select {
		case d := <-rec.diags:
			if !strings.HasPrefix(d, "fake|x.go|") || !strings.Contains(d, want) {
				t.Fatalf("diagnostics: %s, want %s", d, want)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("no diagnostics (%s)", want)
		}
	}
	waitDiag("didOpen")

	res, err := pool.Request(ctx, "alice", "x.go", "test/echo", json.RawMessage(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	if string(res) != `{"config":["high"],"registered":true}` {
		t.Errorf("workspace/configuration or registerCapability answered wrongly: %s", res)
	}
	rec.mu.Lock()
	notes := strings.Join(rec.notes, ",")
	rec.mu.Unlock()
	if notes != "alice|$/progress" {
		t.Errorf("progress went to %q, want only alice", notes)
	}

	res, err = pool.Request(ctx, "bob", "x.go", "test/edit", json.RawMessage(`{}`))
	if err != nil || string(res) != `{"applied":true}` {
		t.Fatalf("applyEdit: %s (%v)", res, err)
	}
	rec.room.mu.Lock()
	edit := string(rec.room.edits[0])
	rec.room.mu.Unlock()
	if !strings.Contains(edit, `"rubberduck://demo/x.go"`) || strings.Contains(edit, "file://") {
		t.Errorf("the edit reached the documents with server URIs: %s", edit)
	}

	// A crash: the server comes back and gets the live text again.
	if err := pool.DidChange(ctx, "x.go", "xy"); err != nil {
		t.Fatal(err)
	}
	waitDiag("didChange")
	_, _ = pool.Request(ctx, "bob", "x.go", "test/crash", json.RawMessage(`{}`))
	waitDiag("didOpen")
	if _, err := pool.Request(ctx, "alice", "x.go", "test/echo", json.RawMessage(`{}`)); err != nil {
		t.Fatalf("after restart: %v", err)
	}
	if _, err := pool.Request(ctx, "alice", "x.go", "no/such", json.RawMessage(`{}`)); err == nil {
		t.Error("an unknown method succeeded")
	}
}
