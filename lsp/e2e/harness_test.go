package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/neovim/go-client/nvim"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

var (
	binary   string // the rubberduck binary built from this tree
	nvimPath string
	repoRoot string
	setupErr error
)

func TestMain(m *testing.M) {
	code := func() int {
		tmp, err := os.MkdirTemp("", "rubberduck-e2e")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(tmp)
		_, file, _, _ := runtime.Caller(0)
		repoRoot = filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		if p, err := exec.LookPath("nvim"); err == nil {
			nvimPath = p
		}
		binary = filepath.Join(tmp, "rubberduck")
		cmd := exec.Command("go", "build", "-o", binary, "./cmd/rubberduck")
		cmd.Dir = repoRoot
		if out, err := cmd.CombinedOutput(); err != nil {
			setupErr = fmt.Errorf("build rubberduck: %v\n%s", err, out)
		}
		return m.Run()
	}()
	os.Exit(code)
}

func needNvim(t testing.TB) {
	t.Helper()
	if setupErr != nil {
		t.Fatal(setupErr)
	}
	if nvimPath == "" {
		t.Skip("nvim is not installed: apt-get install -y neovim to run the end-to-end tests")
	}
}

// editor is one headless Neovim with the RubberDuck plugin, started over
// --embed and driven through its msgpack-RPC API.
type editor struct {
	name string
	v    *nvim.Nvim
	log  string
	buf  nvim.Buffer
}

// startEditor starts Neovim in dir with the plugin configured for hubURL.
func startEditor(t testing.TB, name, hubURL, project, token, dir string) *editor {
	t.Helper()
	tmp := t.TempDir()
	logFile := filepath.Join(tmp, name+".log")
	init := filepath.Join(tmp, "init.lua")
	lua := fmt.Sprintf(`
vim.opt.runtimepath:prepend(%q)
vim.opt.swapfile = false
-- RUBBERDUCK_E2E_NVIM_LOG=1 keeps Neovim's own LSP trace (XDG_CACHE_HOME/nvim/lsp.log).
if os.getenv('RUBBERDUCK_E2E_NVIM_LOG') == '1' then vim.lsp.set_log_level('trace') end
vim.opt.shortmess:append('A')
-- rd_edit makes one random edit of the current buffer atomically (the text
-- cannot change between choosing the place and editing it): a, b in [0,1)
-- choose the place and length in characters, never touching the final
-- newline Neovim keeps as 'eol'.
function _G.rd_edit(a, b, ins)
  local lines = vim.api.nvim_buf_get_lines(0, 0, -1, true)
  local text = table.concat(lines, "\n")
  local n = vim.fn.strchars(text)
  local pos = math.floor(a * (n + 1))
  local del = 0
  if b > 0 and pos < n then del = 1 + math.floor(b * math.min(4, n - pos)) end
  if del == 0 and ins == '' then ins = 'q' end
  local function rc(cp)
    local byte = vim.fn.byteidx(text, cp)
    if byte < 0 then byte = #text end
    local before = text:sub(1, byte)
    local row = select(2, before:gsub("\n", ""))
    local nl = before:match(".*()\n")
    local col = nl and (byte - nl) or byte
    return row, col
  end
  local sr, sc = rc(pos)
  local er, ec = rc(pos + del)
  local new = vim.split(ins, "\n", true)
  if sr == er then
    vim.api.nvim_buf_set_text(0, sr, sc, er, ec, new)
    return
  end
  -- Neovim 0.7's nvim_buf_set_text can corrupt a multi-line range
  -- (neovim#19643); a person's typing never goes through it.
  local old = vim.api.nvim_buf_get_lines(0, sr, er + 1, true)
  new[1] = old[1]:sub(1, sc) .. new[1]
  new[#new] = new[#new] .. old[#old]:sub(ec + 1)
  vim.api.nvim_buf_set_lines(0, sr, er + 1, true, new)
end
-- rd_insert_line inserts text as a new line before line floor(a * count).
function _G.rd_insert_line(a, text)
  local row = math.floor(a * vim.api.nvim_buf_line_count(0))
  vim.api.nvim_buf_set_text(0, row, 0, row, 0, { text, "" })
end
require('rubberduck').setup({
  cmd = %q, hub = %q, project = %q, root = %q, log_file = %q,
})
`, filepath.Join(repoRoot, "extensions", "nvim"), binary, hubURL, project, dir, logFile)
	if err := os.WriteFile(init, []byte(lua), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := nvim.NewChildProcess(
		nvim.ChildProcessCommand(nvimPath),
		nvim.ChildProcessArgs("--clean", "-u", init, "-n", "-i", "NONE", "--embed", "--headless"),
		nvim.ChildProcessDir(dir),
		nvim.ChildProcessEnv(append(os.Environ(), "RUBBERDUCK_TOKEN="+token, "RUBBERDUCK_LOG_LEVEL=debug", "XDG_CACHE_HOME="+tmp)),
	)
	if err != nil {
		t.Fatalf("start nvim: %v", err)
	}
	e := &editor{name: name, v: v, log: logFile}
	t.Cleanup(func() {
		_ = v.Command("qa!")
		_ = v.Close()
		if t.Failed() {
			if b, err := os.ReadFile(logFile); err == nil {
				t.Logf("%s proxy log (tail):\n%s", name, tail(string(b), 4000))
			}
		}
	})
	return e
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// open edits path and waits until the proxy is attached and the buffer
// holds want.
func (e *editor) open(t testing.TB, path, want string) {
	t.Helper()
	if err := e.v.Command("edit " + path); err != nil {
		t.Fatalf("%s: edit %s: %v", e.name, path, err)
	}
	buf, err := e.v.CurrentBuffer()
	if err != nil {
		t.Fatal(err)
	}
	e.buf = buf
	deadline := time.Now().Add(15 * time.Second)
	for {
		var attached bool
		if err := e.v.ExecLua(`local rd = require('rubberduck'); return rd.client_id ~= nil and vim.lsp.buf_is_attached(0, rd.client_id) and rd.status == 'connected'`, &attached); err != nil {
			t.Fatal(err)
		}
		if attached {
			if got := e.text(t); got == want {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not attached and synced after 15s (text %q)", e.name, e.text(t))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// text is the buffer as the LSP sees it: lines joined with \n, plus the
// final newline Neovim writes ('eol').
func (e *editor) text(t testing.TB) string {
	t.Helper()
	lines, err := e.v.BufferLines(e.buf, 0, -1, true)
	if err != nil {
		t.Fatalf("%s: lines: %v", e.name, err)
	}
	return string(bytes.Join(lines, []byte("\n"))) + "\n"
}

// insertLine inserts text as a whole new line at a random place, so
// concurrent insertions never split each other.
func (e *editor) insertLine(t testing.TB, a float64, text string) {
	t.Helper()
	if err := e.v.ExecLua("rd_insert_line(...)", nil, a, text); err != nil {
		t.Errorf("%s: insert: %v", e.name, err)
	}
}

// edit makes one random edit in the current buffer the way a user would
// (one nvim_buf_set_text), choosing the place inside Neovim so the text
// cannot change between choosing and editing.
func (e *editor) edit(t testing.TB, a, b float64, ins string) {
	t.Helper()
	if err := e.v.ExecLua("rd_edit(...)", nil, a, b, ins); err != nil {
		t.Errorf("%s: edit: %v", e.name, err)
	}
}

// thinClient is a replica client straight on the hub's WebSocket: it
// edits its own CRDT replica and exchanges updates, with no editor.
type thinClient struct {
	mu      sync.Mutex
	doc     *crdt.Doc
	project string
	path    string
	c       *wsrpc.Client
}

func dialThin(t testing.TB, hubURL, token, project, path string) *thinClient {
	t.Helper()
	tc := &thinClient{doc: crdt.New(crdt.NewReplicaID()), project: project, path: path}
	c, err := wsrpc.Dial(context.Background(), hubURL, authHeader(token), wsrpc.HandlerFunc(tc.handle), wsrpc.Options{})
	if err != nil {
		t.Fatalf("thin client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	tc.c = c
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ip protocol.InitializeParams
	ip.InitializationOptions = &protocol.InitializationOptions{Project: project, Client: "test"}
	if err := c.Call(ctx, protocol.MethodInitialize, ip, nil); err != nil {
		t.Fatalf("thin initialize: %v", err)
	}
	_ = c.Notify(protocol.MethodInitialized, struct{}{})
	tc.mu.Lock()
	sv := tc.doc.StateVector().Encode()
	tc.mu.Unlock()
	var res protocol.DocSyncResult
	if err := c.Call(ctx, protocol.MethodDocSync, protocol.DocSyncParams{
		DocRef: protocol.DocRef{Project: project, Path: path}, StateVector: sv}, &res); err != nil {
		t.Fatalf("thin doc/sync: %v", err)
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if _, err := tc.doc.Apply(res.Update); err != nil {
		t.Fatalf("thin apply: %v", err)
	}
	return tc
}

func (tc *thinClient) handle(_ context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
	if m.Method != protocol.MethodDocUpdate {
		return nil, nil
	}
	var p protocol.DocUpdateParams
	if err := json.Unmarshal(m.Params, &p); err != nil || p.Path != tc.path {
		return nil, nil
	}
	tc.mu.Lock()
	defer tc.mu.Unlock()
	_, _ = tc.doc.Apply(p.Update)
	return nil, nil
}

func (tc *thinClient) text() string {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.doc.Text()
}

// edit applies a local edit at code point pos and sends it to the hub.
func (tc *thinClient) edit(t testing.TB, pos, del int, ins string) {
	t.Helper()
	tc.mu.Lock()
	// pos and del were chosen on a snapshot of the text; remote updates
	// may have shortened it since, as under a person's fingers: edit
	// within the text as it is now.
	n := tc.doc.Len()
	pos = min(pos, n)
	del = min(del, n-pos)
	u, err := tc.doc.Replace("thin", pos, del, ins)
	tc.mu.Unlock()
	if err != nil {
		t.Fatalf("thin edit: %v", err)
	}
	if u == nil {
		return
	}
	if err := tc.c.Notify(protocol.MethodDocUpdate, protocol.DocUpdateParams{
		DocRef: protocol.DocRef{Project: tc.project, Path: tc.path}, Update: u}); err != nil && !errors.Is(err, wsrpc.ErrClosed) {
		t.Fatalf("thin send: %v", err)
	}
}

// hubText reads the hub's current text with rubberduck/doc/read.
func hubText(t testing.TB, c *wsrpc.Client, project, path string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var res protocol.DocReadResult
	if err := c.Call(ctx, protocol.MethodDocRead, protocol.DocRef{Project: project, Path: path}, &res); err != nil {
		t.Fatalf("doc/read: %v", err)
	}
	return res.Text
}
