package e2e

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/conc"
	"go.lsp.dev/jsonrpc2"
	lsp "go.lsp.dev/protocol"

	rdlsp "github.com/rubberduckhub/rubberduck/lsp"
)

// scriptEditor is a scripted LSP client that behaves like Neovim for the
// proxy: UTF-8 positions, versioned applyEdit applied only at the current
// version, every change reported as a didChange.
type scriptEditor struct {
	conn    jsonrpc2.Conn
	uri     lsp.DocumentURI
	mu      sync.Mutex
	cond    *sync.Cond
	text    string
	version int32
	changed time.Time // when text last changed by an applied edit
}

func newScriptEditor(ctx context.Context, wg *conc.WaitGroup, cfg rdlsp.Config, root, path, text string) (*scriptEditor, error) {
	a, b := net.Pipe()
	wg.Go(func() { _ = rdlsp.Serve(ctx, cfg, b) })
	e := &scriptEditor{conn: jsonrpc2.NewConn(jsonrpc2.NewStream(a)), text: text, version: 1}
	e.cond = sync.NewCond(&e.mu)
	e.uri = lsp.DocumentURI("file://" + filepath.Join(root, path))
	// Never hand jsonrpc2 v0.10.0 a handler error: it panics when errors of
	// two types reach its atomic.Value (see lsp/proxy.go).
	e.conn.Go(ctx, func(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
		_ = e.handle(ctx, reply, req)
		return nil
	})
	init := map[string]any{
		"rootUri":      "file://" + root,
		"capabilities": map[string]any{"general": map[string]any{"positionEncodings": []string{"utf-8"}}},
	}
	if _, err := e.conn.Call(ctx, "initialize", init, nil); err != nil {
		return nil, err
	}
	_ = e.conn.Notify(ctx, "initialized", struct{}{})
	err := e.conn.Notify(ctx, "textDocument/didOpen", lsp.DidOpenTextDocumentParams{TextDocument: lsp.TextDocumentItem{
		URI: e.uri, LanguageID: "plaintext", Version: 1, Text: text}})
	return e, err
}

func (e *scriptEditor) handle(ctx context.Context, reply jsonrpc2.Replier, req jsonrpc2.Request) error {
	if req.Method() != "workspace/applyEdit" {
		if _, ok := req.(*jsonrpc2.Call); ok {
			return reply(ctx, nil, nil)
		}
		return nil
	}
	var p lsp.ApplyWorkspaceEditParams
	if err := json.Unmarshal(req.Params(), &p); err != nil {
		return reply(ctx, nil, err)
	}
	e.mu.Lock()
	for _, dc := range p.Edit.DocumentChanges {
		if dc.TextDocument.Version != nil && *dc.TextDocument.Version != e.version {
			continue // stale: dropped (and answered applied:true, like Neovim)
		}
		// Every edit's range is in the text before any of them: apply
		// them from the last to the first, as Neovim does.
		edits := slices.Clone(dc.Edits)
		slices.SortStableFunc(edits, func(a, b lsp.TextEdit) int {
			return cmpPos(b.Range.Start, a.Range.Start)
		})
		for _, te := range edits {
			s, en := offset(e.text, te.Range.Start), offset(e.text, te.Range.End)
			e.text = e.text[:s] + te.NewText + e.text[en:]
			e.version++
			_ = e.conn.Notify(ctx, "textDocument/didChange", map[string]any{
				"textDocument":   map[string]any{"uri": e.uri, "version": e.version},
				"contentChanges": []any{map[string]any{"range": te.Range, "text": te.NewText}},
			})
		}
		e.changed = time.Now()
		e.cond.Broadcast()
	}
	e.mu.Unlock()
	return reply(ctx, lsp.ApplyWorkspaceEditResponse{Applied: true}, nil)
}

func cmpPos(a, b lsp.Position) int {
	if a.Line != b.Line {
		return int(a.Line) - int(b.Line)
	}
	return int(a.Character) - int(b.Character)
}

func offset(text string, p lsp.Position) int {
	off := 0
	for range p.Line {
		off += strings.IndexByte(text[off:], '\n') + 1
	}
	return off + int(p.Character)
}

// type inserts s at the start of the text, as the user would.
func (e *scriptEditor) typeAt0(ctx context.Context, s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.text = s + e.text
	e.version++
	_ = e.conn.Notify(ctx, "textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": e.uri, "version": e.version},
		"contentChanges": []any{map[string]any{"range": lsp.Range{}, "text": s}},
	})
}

// snapshot is the editor's current text.
func (e *scriptEditor) snapshot() string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.text
}

// typeRandom makes one random ASCII edit before the final newline.
func (e *scriptEditor) typeRandom(ctx context.Context, rng *rand.Rand) {
	e.mu.Lock()
	n := len(e.text) - 1
	pos := rng.IntN(max(n, 0) + 1)
	del := 0
	if rng.IntN(3) == 0 && pos < n {
		del = 1 + rng.IntN(min(3, n-pos))
	}
	ins := []string{"a", "bc", "\n", "", "xyz"}[rng.IntN(5)]
	if del == 0 && ins == "" {
		ins = "q"
	}
	start := lspPos(e.text, pos)
	end := lspPos(e.text, pos+del)
	e.text = e.text[:pos] + ins + e.text[pos+del:]
	e.version++
	v := e.version
	// Send under the lock, so didChanges leave in version order.
	_ = e.conn.Notify(ctx, "textDocument/didChange", map[string]any{
		"textDocument":   map[string]any{"uri": e.uri, "version": v},
		"contentChanges": []any{map[string]any{"range": lsp.Range{Start: start, End: end}, "text": ins}},
	})
	e.mu.Unlock()
}

func lspPos(text string, off int) lsp.Position {
	line := strings.Count(text[:off], "\n")
	col := off - (strings.LastIndexByte(text[:off], '\n') + 1)
	return lsp.Position{Line: uint32(line), Character: uint32(col)}
}

// waitLen waits until the text is n bytes long and returns when it got there.
func (e *scriptEditor) waitLen(n int, deadline time.Time) (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.text) < n {
		if time.Now().After(deadline) {
			return time.Time{}, false
		}
		e.mu.Unlock()
		time.Sleep(50 * time.Microsecond)
		e.mu.Lock()
	}
	return e.changed, true
}

// BenchmarkKeystrokeFanout50 measures one keystroke from one editor through
// its proxy, the hub and 49 other proxies into the other 49 editors'
// buffers, on loopback. Reported: p50 and p99 of the per-receiver latency,
// and p99 of the time until the last receiver has it.
func BenchmarkKeystrokeFanout50(b *testing.B) {
	const clients = 50
	h := startHub(b)
	path := "bench.txt"
	text := "hello\n"
	if err := os.WriteFile(filepath.Join(h.Dir, path), []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg conc.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	cfg := rdlsp.Config{HubURL: h.URL, Project: h.Project, Token: h.Token, Author: "bench"}
	eds := make([]*scriptEditor, clients)
	for i := range eds {
		e, err := newScriptEditor(ctx, &wg, cfg, h.Dir, path, text)
		if err != nil {
			b.Fatal(err)
		}
		eds[i] = e
	}
	// Wait until every proxy has synced: one keystroke reaches everyone.
	warm := func(n int) {
		eds[0].typeAt0(ctx, "w")
		for _, e := range eds[1:] {
			if _, ok := e.waitLen(n, time.Now().Add(30*time.Second)); !ok {
				b.Fatal("warm-up keystroke did not arrive")
			}
		}
	}
	n := len(text) + 1
	warm(n)
	var each, last []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		n++
		t0 := time.Now()
		eds[i%clients].typeAt0(ctx, "k")
		var worst time.Duration
		for j, e := range eds {
			if j == i%clients {
				continue
			}
			at, ok := e.waitLen(n, time.Now().Add(10*time.Second))
			if !ok {
				b.Fatalf("keystroke %d did not reach editor %d", i, j)
			}
			d := at.Sub(t0)
			each = append(each, d)
			worst = max(worst, d)
		}
		last = append(last, worst)
	}
	b.StopTimer()
	slices.Sort(each)
	slices.Sort(last)
	pct := func(s []time.Duration, p float64) float64 {
		return float64(s[int(float64(len(s)-1)*p)].Microseconds()) / 1000
	}
	b.ReportMetric(pct(each, 0.50), "p50-ms")
	b.ReportMetric(pct(each, 0.99), "p99-ms")
	b.ReportMetric(pct(last, 0.99), "p99-all-ms")
	b.Logf("%d keystrokes x %d receivers: p50 %.2fms p99 %.2fms, last receiver p50 %.2fms p99 %.2fms",
		len(last), clients-1, pct(each, 0.5), pct(each, 0.99), pct(last, 0.5), pct(last, 0.99))
}
