package webui_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/chromedp/chromedp"
	"github.com/sourcegraph/conc"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/hub/webui"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// chromiumPath is Debian's Chromium, which `make deps` installs; tests never
// download a browser.
const chromiumPath = "/usr/bin/chromium"

// TestBrowserEditsWithAThinClient drives the real page in headless
// Chromium against a real hub: sign in through the login page, open a file
// from the tree, type with real key events while another person's editor
// edits the same document, and check that the browser, the hub and the
// other editor end with the same text; the other person's cursor shows,
// Ctrl-Z undoes only the browser's own typing, and Ctrl-S writes the file.
func TestBrowserEditsWithAThinClient(t *testing.T) {
	h := startHub(t)
	const initial = "package main\n\nfunc main() {\n}\n"
	writeFile(t, h, "main.go", initial)
	bob := addWriter(t, h, "bob")
	bctx := openBrowser(t, h, "main.go", initial)

	other := dialThin(t, h, bob, "main.go", initial)

	// Bob's cursor shows in the browser, in his colour with his name.
	if err := other.c.Notify(protocol.MethodCursor, protocol.CursorParams{
		DocRef:     protocol.DocRef{Project: h.Project, Path: "main.go"},
		Selections: []protocol.Selection{{Anchor: protocol.Position{Line: 0, Character: 0}, Head: protocol.Position{Line: 0, Character: 7}}},
	}); err != nil {
		t.Fatal(err)
	}
	waitJS(t, bctx, "bob's cursor is a decoration",
		`document.querySelectorAll(".rd-cur").length > 0 && document.querySelectorAll(".rd-sel").length > 0 && [...document.querySelectorAll(".rd-label")].some(e => e.textContent.includes("bob"))`)

	// Chat is shown as text, never as HTML.
	const chat = "<b>look</b> at main"
	run(t, bctx, "chat",
		chromedp.SendKeys(chromedp.CSS("#chat-input"), chat),
		chromedp.Click(chromedp.CSS("#chat-form button")),
	)
	waitJS(t, bctx, "the chat message", fmt.Sprintf(
		`[...document.querySelectorAll("#chat-log .text")].some(e => e.textContent === %q) && !document.querySelector("#chat-log b")`, chat))

	// Type in the body of main while bob adds lines at the top.
	run(t, bctx, "put the cursor in main",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`rubberduck.editor.setPosition({lineNumber: 4, column: 1}); rubberduck.editor.focus(); true`)(ctx, tg)
			return err
		}),
	)
	const rounds = 8
	var wg conc.WaitGroup
	wg.Go(func() {
		for i := range rounds {
			other.insertAtTop(fmt.Sprintf("// bob %d\n", i))
			time.Sleep(15 * time.Millisecond)
		}
	})
	for i := range rounds {
		run(t, bctx, "type", chromedp.KeyEvent(fmt.Sprintf("\tx%d()\n", i)))
	}
	wg.Wait()

	final := converge(t, bctx, h, other)
	for i := range rounds {
		for _, want := range []string{fmt.Sprintf("// bob %d\n", i), fmt.Sprintf("x%d()", i)} {
			if !strings.Contains(final, want) {
				t.Fatalf("the text lost %q:\n%s", want, final)
			}
		}
	}

	// Two cursors: Monaco reports both insertions in one change event,
	// which must reach the hub in an order that applies one after another.
	run(t, bctx, "two cursors", evalJS(`(() => {
		const m = rubberduck.editor.getModel(), lines = m.getLinesContent();
		const a = lines.indexOf("package main") + 1, b = lines.indexOf("func main() {") + 1;
		rubberduck.editor.setSelections([new monaco.Selection(a, 1, a, 1), new monaco.Selection(b, 1, b, 1)]);
		rubberduck.editor.focus();
		return a > 0 && b > 0;
	})()`))
	wg.Go(func() {
		for i := range 3 {
			other.insertAtTop(fmt.Sprintf("// again %d\n", i))
			time.Sleep(10 * time.Millisecond)
		}
	})
	run(t, bctx, "type with two cursors", chromedp.KeyEvent("QQQ"))
	wg.Wait()
	final = converge(t, bctx, h, other)
	if !strings.Contains(final, "QQQpackage main\n") || !strings.Contains(final, "QQQfunc main() {\n") || !strings.Contains(final, "// again 2\n") {
		t.Fatalf("typing with two cursors:\n%s", final)
	}

	// Ctrl-Z undoes the browser's last step on the hub; bob's lines stay.
	run(t, bctx, "undo", chromedp.KeyEvent("z", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	undone := waitText(t, bctx, h, other, func(s string) bool { return s != final })
	// The hub groups quick typing into one step, so the step may hold
	// several rounds: what goes is the latest typing, nothing of bob's.
	if len(undone) >= len(final) {
		t.Fatalf("undo added text:\nbefore:\n%s\nafter:\n%s", final, undone)
	}
	seen := false // a newer round of typing is still there
	for i := rounds - 1; i >= 0; i-- {
		if !strings.Contains(undone, fmt.Sprintf("// bob %d\n", i)) {
			t.Fatalf("undo took away bob's line %d:\n%s", i, undone)
		}
		has := strings.Contains(undone, fmt.Sprintf("x%d()", i))
		if seen && !has {
			t.Fatalf("undo took away x%d() but kept newer typing:\n%s", i, undone)
		}
		seen = seen || has
	}
	final = undone

	// Ctrl-S writes the shared text to disk.
	run(t, bctx, "save", chromedp.KeyEvent("s", chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	deadline := time.Now().Add(15 * time.Second)
	for {
		b, err := os.ReadFile(filepath.Join(h.ProjectDir, "main.go"))
		if err == nil && string(b) == final {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ctrl-S did not write the file: on disk\n%s\nwant\n%s", b, final)
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The owner has two projects and picks the other one: its files show.
	run(t, bctx, "pick docs", evalJS(`(() => {
		const sel = document.getElementById("project");
		if (sel.hidden || sel.options.length !== 2) return false;
		sel.value = "docs";
		sel.dispatchEvent(new Event("change"));
		return true;
	})()`))
	openFromTree(t, bctx, "guide.md", "# Guide\n")

}

func writeFile(t *testing.T, h *testHub, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.ProjectDir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// openBrowser starts headless Chromium, signs in through the hub's login
// page, opens path from the file tree and waits for the hub to fill the
// buffer with text. The browser ends with the test.
func openBrowser(t *testing.T, h *testHub, path, text string) context.Context {
	t.Helper()
	bctx := newBrowser(t)
	run(t, bctx, "open the login link", chromedp.Navigate(h.login))
	waitJS(t, bctx, "the sign-in button", `document.querySelector("form button") !== null`)
	run(t, bctx, "sign in", chromedp.Click(chromedp.CSS("form button")))
	openFromTree(t, bctx, path, text)
	return bctx
}

// openFromTree waits for the editor to connect, opens path from the file
// tree and waits for the hub to fill the buffer with text.
func openFromTree(t *testing.T, bctx context.Context, path, text string) {
	t.Helper()
	waitJS(t, bctx, "the editor page", `location.pathname === "/" && document.getElementById("editor") !== null`)
	waitJS(t, bctx, "connected", `document.getElementById("status").dataset.state === "connected"`)
	sel := fmt.Sprintf(`#tree li.file[data-path=%q] > span`, path)
	run(t, bctx, "open "+path+" from the tree",
		chromedp.WaitVisible(chromedp.CSS(sel)),
		chromedp.Click(chromedp.CSS(sel)),
	)
	waitJS(t, bctx, "the hub fills the buffer", fmt.Sprintf(`(monaco.editor.getModels()[0]?.getValue() ?? "") === %q`, text))
}

// newBrowser starts headless Chromium, collecting its console; the test
// fails if the page logs an error or warning it does not expect.
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skipf("Chromium is not installed at %s (make deps installs it): %v", chromiumPath, err)
	}
	if _, err := fs.Stat(webui.Dist(), "index.html"); err != nil {
		t.Fatal("the browser editor is not built into hub/webui/dist: run make web (make test does)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1200, 800),
	)
	if os.Geteuid() == 0 {
		opts = append(opts, chromedp.NoSandbox)
	}
	actx, acancel := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(acancel)
	bctx, bcancel := chromedp.NewContext(actx)
	t.Cleanup(bcancel)
	console := &consoleLog{}
	console.listen(t, bctx)
	t.Cleanup(func() {
		if errs := console.errors(); len(errs) > 0 {
			t.Errorf("the page logged errors or warnings:\n%s", strings.Join(errs, "\n"))
		}
	})
	return context.WithValue(bctx, consoleKey{}, console)
}

type consoleKey struct{}

// TestBrowserReconnects stops the hub under an open editor: the page goes
// read-only and says it is reconnecting; when the hub is back it signs in
// again with its session, re-opens the file, and edits flow both ways.
func TestBrowserReconnects(t *testing.T) {
	h := startHub(t)
	const initial = "one\ntwo\n"
	writeFile(t, h, "notes.txt", initial)
	bctx := openBrowser(t, h, "notes.txt", initial)

	// Monaco starts its workers lazily: one starting while the hub is down
	// cannot load its script and runs in the page instead.
	bctx.Value(consoleKey{}).(*consoleLog).expect("importSc", "Could not create web worker")
	h.shutdown()
	waitJS(t, bctx, "reconnecting and read-only",
		`document.getElementById("status").dataset.state === "reconnecting" && rubberduck.editor.getOption(monaco.editor.EditorOption.readOnly)`)
	h.open(t)
	waitJS(t, bctx, "connected again and writable",
		`document.getElementById("status").dataset.state === "connected" && !rubberduck.editor.getOption(monaco.editor.EditorOption.readOnly)`)

	other := dialThin(t, h, h.Token, "notes.txt", initial)
	other.insertAtTop("zero\n")
	run(t, bctx, "type at the end",
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`rubberduck.editor.setPosition({lineNumber: 999, column: 1}); rubberduck.editor.focus(); true`)(ctx, tg)
			return err
		}),
		chromedp.KeyEvent("thr😀e\n"),
	)
	waitTextOf(t, bctx, h, other, "notes.txt", func(s string) bool { return strings.Contains(s, "thr😀e\n") && strings.Contains(s, "zero") })
	// Past a character outside the BMP, positions count UTF-16 units.
	other.insertAt(protocol.Position{Line: 3, Character: 5}, "é")
	got := waitTextOf(t, bctx, h, other, "notes.txt", func(s string) bool { return strings.Contains(s, "é") && strings.Contains(s, "zero") })
	if got != "zero\none\ntwo\nthr😀ée\n" {
		t.Fatalf("after reconnecting: %q", got)
	}
}

// TestBrowserReader signs a reader in (with an API token as the session
// cookie: login links are the owner's): the page says read-only and keeps
// the buffer read-only, and the shared text does not change.
func TestBrowserReader(t *testing.T) {
	h := startHub(t)
	const initial = "read me\n"
	writeFile(t, h, "doc.txt", initial)
	rita := addMember(t, h, "rita", "reader")
	// rita signs in with a link of her own (rubberduck login).
	rc := h.DialWith(t, hubtest.Auth(rita), nil)
	hubtest.Initialize(t, rc, "")
	var link protocol.LoginLinkResult
	lctx, lcancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer lcancel()
	if err := rc.Call(lctx, protocol.MethodLoginLink, nil, &link); err != nil {
		t.Fatal(err)
	}
	bctx := newBrowser(t)
	run(t, bctx, "open rita's login link", chromedp.Navigate(h.URL()+link.Path))
	waitJS(t, bctx, "the sign-in button", `document.querySelector("form button") !== null`)
	run(t, bctx, "sign in", chromedp.Click(chromedp.CSS("form button")))
	openFromTree(t, bctx, "doc.txt", initial)
	// A member sees only their projects: nothing to pick.
	waitJS(t, bctx, "no project picker", `document.getElementById("project").hidden`)
	// A file created on disk shows up in the tree.
	writeFile(t, h, "new.txt", "fresh\n")
	waitJS(t, bctx, "the new file in the tree", `document.querySelector('#tree li.file[data-path="new.txt"]') !== null`)
	waitJS(t, bctx, "the read-only banner",
		`!document.getElementById("banner").hidden && document.getElementById("banner").textContent.includes("read-only") && rubberduck.editor.getOption(monaco.editor.EditorOption.readOnly)`)
	run(t, bctx, "try to type", evalJS(`rubberduck.editor.setPosition({lineNumber: 1, column: 1}); rubberduck.editor.focus(); true`),
		chromedp.KeyEvent("nope"))
	c := h.Connect(t)
	var res protocol.DocReadResult
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.Call(ctx, protocol.MethodDocRead, protocol.DocRef{Project: h.Project, Path: "doc.txt"}, &res); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(bctx, chromedp.Evaluate[string](`monaco.editor.getModels()[0].getValue()`))
	if err != nil || got != initial || res.Text != initial {
		t.Fatalf("a reader changed the text: browser %q (%v), hub %q", got, err, res.Text)
	}
}

// testHub is a hub run as hubtest.Start does, keeping the login link
// `rubberduck serve` prints (hubtest drops it), and restartable on the
// same address so a browser can reconnect to it.
type testHub struct {
	*hubtest.Hub
	cfg     hub.Config
	login   string
	reader  *wsrpc.Client // the owner's connection that reads the shared text
	stopped bool
	stop    func()
}

func startHub(t *testing.T) *testHub {
	t.Helper()
	dir := t.TempDir()
	projDir := filepath.Join(dir, "demo")
	docsDir := filepath.Join(dir, "docs") // a second project, to pick from
	for _, d := range []string{projDir, docsDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(docsDir, "guide.md"), []byte("# Guide\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	th := &testHub{cfg: hub.Config{
		Addr:     "127.0.0.1:0",
		DataDir:  filepath.Join(dir, "data"),
		Projects: []hub.ProjectSpec{{Name: "demo", Path: projDir}, {Name: "docs", Path: docsDir}},
		Version:  "test",
	}}
	th.open(t)
	t.Cleanup(th.shutdown)
	return th
}

func (th *testHub) open(t *testing.T) {
	t.Helper()
	srv, start, err := hub.Open(context.Background(), th.cfg)
	if err != nil {
		t.Fatalf("open hub: %v", err)
	}
	tok, err := os.ReadFile(start.OwnerTokenPath)
	if err != nil {
		t.Fatalf("owner token: %v", err)
	}
	if start.LoginURL == "" {
		t.Fatal("the hub printed no login link")
	}
	var wg conc.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	th.Hub = &hubtest.Hub{Server: srv, Token: strings.TrimSpace(string(tok)), DataDir: th.cfg.DataDir,
		Project: "demo", ProjectDir: th.cfg.Projects[0].Path}
	th.login = start.LoginURL
	th.reader = nil
	th.cfg.Addr = srv.Addr() // a restart listens where the browser reconnects
	th.stopped = false
	th.stop = func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
		wg.Wait()
	}
}

func (th *testHub) shutdown() {
	if !th.stopped {
		th.stopped = true
		th.stop()
	}
}

// addWriter creates a person with write access to the demo project and
// returns their API token.
func addWriter(t *testing.T, h *testHub, name string) string {
	t.Helper()
	return addMember(t, h, name, "writer")
}

// addMember creates a person with role in the demo project and returns
// their API token.
func addMember(t *testing.T, h *testHub, name, role string) string {
	t.Helper()
	c := h.Dial(t)
	hubtest.Initialize(t, c, "")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Call(ctx, "rubberduck/user/add", map[string]any{"name": name}, nil); err != nil {
		t.Fatalf("add %s: %v", name, err)
	}
	if err := c.Call(ctx, "rubberduck/project/grant", map[string]any{"project": h.Project, "user": name, "role": role}, nil); err != nil {
		t.Fatalf("grant %s: %v", name, err)
	}
	var tok struct {
		Token string `json:"token"`
	}
	if err := c.Call(ctx, "rubberduck/token/create", map[string]any{"user": name, "name": "e2e"}, &tok); err != nil {
		t.Fatalf("token for %s: %v", name, err)
	}
	return tok.Token
}

// thinClient is a plain LSP editor (as lsp/e2e's thin editor): it keeps
// its text, applies the hub's versioned edits and reports its own.
type thinClient struct {
	c   *wsrpc.Client
	uri string

	mu      sync.Mutex
	text    string
	version int32
}

func dialThin(t *testing.T, h *testHub, token, path, text string) *thinClient {
	t.Helper()
	te := &thinClient{uri: protocol.DocURI(protocol.DocRef{Project: h.Project, Path: path}), text: text, version: 1}
	te.c = h.DialWith(t, hubtest.Auth(token), wsrpc.HandlerFunc(te.handle))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var ip protocol.InitializeParams
	ip.InitializationOptions = &protocol.InitializationOptions{Project: h.Project, Client: "test"}
	ip.Capabilities.General = &protocol.GeneralClientCapabilities{PositionEncodings: []string{protocol.EncodingUTF16}}
	if err := te.c.Call(ctx, protocol.MethodInitialize, ip, nil); err != nil {
		t.Fatalf("thin client initialize: %v", err)
	}
	_ = te.c.Notify(protocol.MethodInitialized, struct{}{})
	te.mu.Lock()
	defer te.mu.Unlock()
	if err := te.c.Notify(protocol.MethodDidOpen, protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: te.uri, LanguageID: "go", Version: te.version, Text: text}}); err != nil {
		t.Fatal(err)
	}
	return te
}

func (te *thinClient) handle(_ context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
	if m.Method != protocol.MethodApplyEdit {
		return nil, nil
	}
	var p protocol.ApplyWorkspaceEditParams
	if err := json.Unmarshal(m.Params, &p); err != nil {
		return nil, err
	}
	te.mu.Lock()
	defer te.mu.Unlock()
	applied := false
	for _, dc := range p.Edit.DocumentChanges {
		if dc.TextDocument.Version == nil || *dc.TextDocument.Version != te.version {
			continue // stale: the hub sends it again
		}
		var changes []protocol.TextDocumentContentChangeEvent
		for i := len(dc.Edits) - 1; i >= 0; i-- {
			e := dc.Edits[i]
			s, en := u16Offset(te.text, e.Range.Start), u16Offset(te.text, e.Range.End)
			te.text = te.text[:s] + e.NewText + te.text[en:]
			r := e.Range
			changes = append(changes, protocol.TextDocumentContentChangeEvent{Range: &r, Text: e.NewText})
		}
		if len(changes) > 0 {
			te.version++
			_ = te.c.Notify(protocol.MethodDidChange, protocol.DidChangeTextDocumentParams{
				TextDocument:   protocol.VersionedTextDocumentIdentifier{URI: te.uri, Version: te.version},
				ContentChanges: changes,
			})
		}
		applied = true
	}
	return map[string]bool{"applied": applied}, nil
}

func (te *thinClient) insertAtTop(s string) {
	te.mu.Lock()
	defer te.mu.Unlock()
	te.text = s + te.text
	te.version++
	r := protocol.Range{}
	_ = te.c.Notify(protocol.MethodDidChange, protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{URI: te.uri, Version: te.version},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{{Range: &r, Text: s}},
	})
}

func (te *thinClient) insertAt(at protocol.Position, s string) {
	te.mu.Lock()
	defer te.mu.Unlock()
	off := u16Offset(te.text, at)
	te.text = te.text[:off] + s + te.text[off:]
	te.version++
	r := protocol.Range{Start: at, End: at}
	_ = te.c.Notify(protocol.MethodDidChange, protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{URI: te.uri, Version: te.version},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{{Range: &r, Text: s}},
	})
}

func (te *thinClient) snapshot() string {
	te.mu.Lock()
	defer te.mu.Unlock()
	return te.text
}

// u16Offset is the byte offset of an LSP position counted in UTF-16.
func u16Offset(text string, p protocol.Position) int {
	off := 0
	for line := uint32(0); line < p.Line; line++ {
		i := strings.IndexByte(text[off:], '\n')
		if i < 0 {
			return len(text)
		}
		off += i + 1
	}
	units := uint32(0)
	for i, r := range text[off:] {
		if units >= p.Character || r == '\n' {
			return off + i
		}
		units += uint32(len(utf16.Encode([]rune{r})))
	}
	return len(text)
}

// converge waits until the browser, the hub and the thin client hold the
// same text, and returns it.
func converge(t *testing.T, bctx context.Context, h *testHub, other *thinClient) string {
	t.Helper()
	return waitText(t, bctx, h, other, func(string) bool { return true })
}

// waitText polls until all three texts agree and ok accepts them.
func waitText(t *testing.T, bctx context.Context, h *testHub, other *thinClient, ok func(string) bool) string {
	t.Helper()
	return waitTextOf(t, bctx, h, other, "main.go", ok)
}

// waitTextOf polls until the browser, the hub and the thin client agree on
// path and ok accepts the text.
func waitTextOf(t *testing.T, bctx context.Context, h *testHub, other *thinClient, path string, ok func(string) bool) string {
	t.Helper()
	if h.reader == nil {
		h.reader = h.Connect(t)
	}
	c := h.reader
	deadline := time.Now().Add(30 * time.Second)
	var browser, shared, thin string
	for {
		var res protocol.DocReadResult
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := c.Call(ctx, protocol.MethodDocRead, protocol.DocRef{Project: h.Project, Path: path}, &res)
		cancel()
		shared = res.Text
		if err == nil {
			browser, err = chromedp.Run(bctx, chromedp.Evaluate[string](`monaco.editor.getModels()[0].getValue()`))
		}
		thin = other.snapshot()
		if err == nil && browser == shared && thin == shared && ok(shared) {
			return shared
		}
		if time.Now().After(deadline) {
			t.Fatalf("the texts did not converge (err %v):\nbrowser:\n%s\nhub:\n%s\nthin client:\n%s", err, browser, shared, thin)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// evalJS runs a script that must return true.
func evalJS(script string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		ok, err := chromedp.Evaluate[bool](script)(ctx, tg)
		if err == nil && !ok {
			err = fmt.Errorf("script returned false: %s", script)
		}
		return err
	})
}

func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// waitJS polls a JavaScript condition in the page until it holds.
func waitJS(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(() => { try { return !!(`+cond+`) } catch (e) { return false } })()`))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			status, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById("status")?.textContent ?? ""`))
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + "\n" + JSON.stringify({remote: rubberduck.state.remote.size, cur: document.querySelectorAll(".rd-cur").length, sel: document.querySelectorAll(".rd-sel").length, label: [...document.querySelectorAll(".rd-label")].map(e => e.outerHTML), html: document.querySelector(".view-lines")?.innerHTML.slice(0, 600), decos: rubberduck.editor.getModel()?.getAllDecorations().map(d => [d.options.className, d.options.beforeContentClassName])}) + "\n" + document.body.innerText.slice(0, 500)`))
			var errs []string
			if c, ok := ctx.Value(consoleKey{}).(*consoleLog); ok {
				errs = c.errors()
			}
			t.Fatalf("waiting for %s: timed out (err %v, status %q); console errors %q; page:\n%s", what, err, status, errs, page)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// consoleLog collects what the page reports as errors: console.error,
// uncaught exceptions and browser log entries (CSP violations land there).
type consoleLog struct {
	mu    sync.Mutex
	errs  []string
	allow []string // substrings of messages a test expects
}

// expect accepts messages containing any of parts from now on.
func (l *consoleLog) expect(parts ...string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.allow = append(l.allow, parts...)
}

// listen starts the browser (on a blank page) and collects its console
// until ctx ends.
func (l *consoleLog) listen(t *testing.T, ctx context.Context) {
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	msgs := chromedp.Console(ctx)
	go func() { // ends with ctx, which the test cancels
		for m, err := range msgs {
			if err != nil {
				return
			}
			if (m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleException || m.Type == chromedp.ConsoleWarning) && !strings.Contains(m.URL, "favicon.ico") {
				l.add(m.String() + " " + m.URL)
			}
		}
	}()
}

func (l *consoleLog) add(msg string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, a := range l.allow {
		if strings.Contains(msg, a) {
			return
		}
	}
	l.errs = append(l.errs, msg)
}

func (l *consoleLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.errs...)
}

// TestBrowserFileOperations: from the page, a writer renames the open file
// (what was typed and not saved moves with it), creates a file and deletes
// it to the trash; the files on disk and the tree follow. The browser's
// own dialogs are answered by replacing prompt and confirm.
func TestBrowserFileOperations(t *testing.T) {
	h := startHub(t)
	const initial = "alpha\n"
	writeFile(t, h, "a.txt", initial)
	bctx := openBrowser(t, h, "a.txt", initial)
	disk := func(name string) (string, bool) {
		b, err := os.ReadFile(filepath.Join(h.ProjectDir, filepath.FromSlash(name)))
		return string(b), err == nil
	}

	// Unsaved typing, then Rename to dir/b.txt (a new folder).
	run(t, bctx, "type at the end of the first line",
		evalJS(`rubberduck.editor.setPosition({lineNumber: 1, column: 6}); rubberduck.editor.focus(); true`),
		chromedp.KeyEvent(" beta"))
	waitJS(t, bctx, "the typing is in the model", `monaco.editor.getModels()[0]?.getValue() === "alpha beta\n"`)
	if err := os.MkdirAll(filepath.Join(h.ProjectDir, "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	run(t, bctx, "rename", evalJS(`window.prompt = () => "dir/b.txt"; true`), chromedp.Click(chromedp.CSS("#rename-file")))
	waitJS(t, bctx, "the editor shows dir/b.txt",
		`rubberduck.state.doc?.path === "dir/b.txt" && monaco.editor.getModels()[0]?.getValue() === "alpha beta\n"`)
	if got, ok := disk("dir/b.txt"); !ok || got != "alpha beta\n" {
		t.Fatalf("dir/b.txt on disk = %q (exists %v); want the typed text", got, ok)
	}
	if _, ok := disk("a.txt"); ok {
		t.Fatal("a.txt is still on disk after the rename")
	}
	waitJS(t, bctx, "a.txt left the tree", `document.querySelector('#tree li.file[data-path="a.txt"]') === null`)

	// New file: created on disk, shown in the tree (the hub's own change
	// reaches the tree), opened empty.
	run(t, bctx, "new file", evalJS(`window.prompt = () => "c.txt"; true`), chromedp.Click(chromedp.CSS("#new-file")))
	waitJS(t, bctx, "c.txt open and in the tree",
		`rubberduck.state.doc?.path === "c.txt" && document.querySelector('#tree li.file[data-path="c.txt"]') !== null`)
	if got, ok := disk("c.txt"); !ok || got != "" {
		t.Fatalf("c.txt on disk = %q (exists %v); want an empty file", got, ok)
	}

	// Delete: to the trash, gone from disk and the tree, nothing open.
	run(t, bctx, "delete", evalJS(`window.confirm = () => true; true`), chromedp.Click(chromedp.CSS("#delete-file")))
	waitJS(t, bctx, "c.txt gone from the tree and the editor",
		`rubberduck.state.doc === null && document.querySelector('#tree li.file[data-path="c.txt"]') === null`)
	if _, ok := disk("c.txt"); ok {
		t.Fatal("c.txt is still on disk after Delete")
	}
}

// TestBrowserShowsProblemsAndWarnings: the hub's diagnostics (here a
// committed token its secret scan finds) are marked in the editor, and a
// warning from the hub (someone else renaming the open file) stays on the
// page until dismissed.
func TestBrowserShowsProblemsAndWarnings(t *testing.T) {
	h := startHub(t)
	const text = "GITHUB_TOKEN=ghp_R8uTq2LmZx4VbN7cW1yE5aK9sD3fG6hJ0pQw\n" // shaped like a GitHub token, not a real one
	writeFile(t, h, "deploy.env", text)
	bctx := openBrowser(t, h, "deploy.env", text)
	waitJS(t, bctx, "the secret is marked in the editor",
		`monaco.editor.getModelMarkers({}).some(m => String(m.code).startsWith("secret/") && m.startLineNumber === 1)`)

	other := h.Connect(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := other.Call(ctx, protocol.MethodFilesRename, protocol.RenameParams{Project: h.Project, From: "deploy.env", To: "deploy.env.old"}, nil); err != nil {
		t.Fatal(err)
	}
	waitJS(t, bctx, "the rename is announced",
		`!document.getElementById("notice").hidden && document.getElementById("notice").textContent.includes("renamed deploy.env to deploy.env.old")`)
	run(t, bctx, "dismiss", chromedp.Click(chromedp.CSS("#notice")))
	waitJS(t, bctx, "dismissed", `document.getElementById("notice").hidden`)
}
