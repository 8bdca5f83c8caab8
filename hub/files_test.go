package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// fileOp is one file-manager call, made fresh for each caller so that
// mutations do not collide.
type fileOp struct {
	name   string
	write  bool
	method string
	params func(who string) any
}

func fileOps() []fileOp {
	return []fileOp{
		{"stat", false, protocol.MethodFilesStat, func(string) any { return protocol.FileParams{Project: "demo", Path: "README.md"} }},
		{"list", false, protocol.MethodFilesList, func(string) any { return protocol.FileListParams{Project: "demo", Path: "."} }},
		{"read", false, protocol.MethodFilesRead, func(string) any { return protocol.FileParams{Project: "demo", Path: "README.md"} }},
		{"search", false, protocol.MethodFilesSearch, func(string) any { return protocol.SearchParams{Project: "demo", Pattern: "hello"} }},
		{"trash", false, protocol.MethodFilesTrash, func(string) any { return protocol.ProjectParams{Project: "demo"} }},
		{"write", true, protocol.MethodFilesWrite, func(w string) any {
			return protocol.FileWriteParams{Project: "demo", Path: "README.md", Content: "hello from " + w}
		}},
		{"create", true, protocol.MethodFilesCreate, func(w string) any {
			return protocol.FileWriteParams{Project: "demo", Path: "new-" + w + ".txt", Content: "x"}
		}},
		{"mkdir", true, protocol.MethodFilesMkdir, func(w string) any { return protocol.MkdirParams{Project: "demo", Path: "dir-" + w} }},
		{"rename", true, protocol.MethodFilesRename, func(w string) any {
			return protocol.RenameParams{Project: "demo", From: "mine-" + w + ".txt", To: "moved-" + w + ".txt"}
		}},
		{"delete", true, protocol.MethodFilesDelete, func(w string) any { return protocol.FileParams{Project: "demo", Path: "gone-" + w + ".txt"} }},
	}
}

func TestFileRoleMatrix(t *testing.T) {
	h := hubtest.Start(t)
	for _, f := range []string{"README.md"} {
		if err := os.WriteFile(filepath.Join(h.ProjectDir, f), []byte("hello\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	owner := h.Connect(t)
	callers := map[string]*wsrpc.Client{"owner": owner}
	for _, role := range []string{"writer", "reader", "outsider"} {
		r := role
		if role == "outsider" {
			r = ""
		}
		tok := addPerson(t, owner, role, r)
		c := h.DialWith(t, hubtest.Auth(tok), nil)
		hubtest.Initialize(t, c, "")
		if role != "outsider" {
			if err := c.Call(ctx(t), protocol.MethodProjectJoin, protocol.JoinParams{Project: "demo"}, nil); err != nil {
				t.Fatal(err)
			}
		}
		callers[role] = c
	}
	for who := range callers {
		for _, f := range []string{"mine-" + who + ".txt", "gone-" + who + ".txt"} {
			_ = os.WriteFile(filepath.Join(h.ProjectDir, f), []byte("x"), 0o644)
		}
	}
	want := func(who string, op fileOp) int64 {
		switch {
		case who == "outsider":
			return protocol.CodeNotJoined // and joining is refused as "not found"
		case op.write && who == "reader":
			return protocol.CodeForbidden
		}
		return 0
	}
	for _, who := range []string{"owner", "writer", "reader", "outsider"} {
		for _, op := range fileOps() {
			t.Run(who+"/"+op.name, func(t *testing.T) {
				err := callers[who].Call(ctx(t), op.method, op.params(who), nil)
				if got := rpcCode(err); got != want(who, op) {
					t.Fatalf("%s by %s = %v, want code %d", op.method, who, err, want(who, op))
				}
			})
		}
	}
	// Nothing a reader or outsider attempted reached the disk.
	for _, f := range []string{"new-reader.txt", "new-outsider.txt", "moved-reader.txt"} {
		if _, err := os.Stat(filepath.Join(h.ProjectDir, f)); err == nil {
			t.Errorf("%s exists: a refused write happened", f)
		}
	}
}

func TestHostilePathsOverTheWire(t *testing.T) {
	h := hubtest.Start(t)
	secret := filepath.Join(filepath.Dir(h.ProjectDir), "secret.txt")
	if err := os.WriteFile(secret, []byte("TOP-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(secret, filepath.Join(h.ProjectDir, "link")); err != nil {
		t.Fatal(err)
	}
	c := h.Connect(t)
	for _, p := range []string{"../secret.txt", "/etc/passwd", "..\\secret.txt", "a/../../secret.txt", "link", "x\x00y", "%2e%2e/secret.txt", "C:\\Windows"} {
		t.Run(p, func(t *testing.T) {
			var f json.RawMessage
			err := c.Call(ctx(t), protocol.MethodFilesRead, protocol.FileParams{Project: "demo", Path: p}, &f)
			if err == nil {
				t.Fatalf("read %q succeeded: %s", p, f)
			}
			if strings.Contains(err.Error(), "TOP-SECRET") || strings.Contains(err.Error(), h.ProjectDir) {
				t.Fatalf("error leaks: %v", err)
			}
			if code := rpcCode(err); code == protocol.CodeInternalError || code == 0 {
				t.Fatalf("read %q = %v: want a clear refusal, not an internal error", p, err)
			}
			err = c.Call(ctx(t), protocol.MethodFilesWrite, protocol.FileWriteParams{Project: "demo", Path: p, Content: "pwned"}, nil)
			if err == nil {
				t.Fatalf("write %q succeeded", p)
			}
		})
	}
	if b, _ := os.ReadFile(secret); string(b) != "TOP-SECRET" {
		t.Fatal("a write escaped the project")
	}
}

func TestSearchStreamsPartialResults(t *testing.T) {
	h := hubtest.Start(t)
	for i := range 30 {
		name := filepath.Join(h.ProjectDir, fmt.Sprintf("f%02d.txt", i))
		if err := os.WriteFile(name, []byte("needle here\nnothing\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	streamed := 0
	c := h.DialWith(t, hubtest.Auth(h.Token), wsrpc.HandlerFunc(func(_ context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
		if m.Method == protocol.MethodProgress {
			var p struct {
				Token string `json:"token"`
				Value struct {
					Results []json.RawMessage `json:"results"`
				} `json:"value"`
			}
			_ = json.Unmarshal(m.Params, &p)
			if p.Token == "t1" {
				mu.Lock()
				streamed += len(p.Value.Results)
				mu.Unlock()
			}
		}
		return nil, nil
	}))
	hubtest.Initialize(t, c, "demo")

	var whole struct {
		Results []json.RawMessage `json:"results"`
		Summary struct {
			Results int `json:"results"`
		} `json:"summary"`
	}
	if err := c.Call(ctx(t), protocol.MethodFilesSearch, protocol.SearchParams{Project: "demo", Pattern: "need+le"}, &whole); err != nil {
		t.Fatal(err)
	}
	if len(whole.Results) != 30 || whole.Summary.Results != 30 {
		t.Fatalf("search found %d (summary %d), want 30", len(whole.Results), whole.Summary.Results)
	}
	var streamedResp struct {
		Results []json.RawMessage `json:"results"`
	}
	err := c.Call(ctx(t), protocol.MethodFilesSearch, protocol.SearchParams{Project: "demo", Pattern: "needle",
		PartialResultToken: json.RawMessage(`"t1"`)}, &streamedResp)
	if err != nil {
		t.Fatal(err)
	}
	// Notifications are handled in order on the client, possibly just
	// after the response resolved the call: give them a moment.
	deadline := time.Now().Add(5 * time.Second)
	for {
		mu.Lock()
		n := streamed
		mu.Unlock()
		if n >= 30 || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	defer mu.Unlock()
	if streamed != 30 || len(streamedResp.Results) != 0 {
		t.Fatalf("streamed %d results and returned %d, want 30 streamed and none returned", streamed, len(streamedResp.Results))
	}
}
