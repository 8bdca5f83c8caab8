package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// thinClient is an editor speaking LSP straight to the hub, like the
// browser: it applies a versioned applyEdit only at its current version
// (answering applied:true regardless, like Neovim) and reports every change
// of its buffer with didChange.
type thinClient struct {
	t   testing.TB
	c   *wsrpc.Client
	uri string
	enc string

	// onEdit, when set, is called for every applyEdit (benchmarks).
	onEdit func()

	mu       sync.Mutex
	text     string
	ver      int32
	dropped  int // stale applyEdits dropped (the race the hub must repair)
	messages []string
	cursors  chan protocol.CursorParams
	presence chan protocol.PresenceParams
}

// initialize runs initialize offering enc, optionally joining project.
func initialize(t testing.TB, c *wsrpc.Client, project, enc string) {
	t.Helper()
	var p protocol.InitializeParams
	p.InitializationOptions = &protocol.InitializationOptions{Project: project, Client: "test"}
	if enc != "" {
		p.Capabilities.General = &protocol.GeneralClientCapabilities{PositionEncodings: []string{enc}}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Call(ctx, protocol.MethodInitialize, p, nil); err != nil {
		t.Fatalf("initialize: %v", err)
	}
	if err := c.Notify(protocol.MethodInitialized, struct{}{}); err != nil {
		t.Fatal(err)
	}
}

func newThin(t testing.TB, h *hubtest.Hub, token, enc string) *thinClient {
	t.Helper()
	tc := &thinClient{t: t, enc: enc, cursors: make(chan protocol.CursorParams, 1024), presence: make(chan protocol.PresenceParams, 1024)}
	tc.c = h.DialWith(t, hubtest.Auth(token), wsrpc.HandlerFunc(tc.handle))
	initialize(t, tc.c, h.Project, enc)
	return tc
}

func (tc *thinClient) handle(_ context.Context, conn *wsrpc.Conn, m *protocol.Message) (any, error) {
	switch m.Method {
	case protocol.MethodApplyEdit:
		var p protocol.ApplyWorkspaceEditParams
		if err := json.Unmarshal(m.Params, &p); err != nil {
			return nil, err
		}
		if tc.onEdit != nil {
			tc.onEdit()
		}
		tc.mu.Lock()
		defer tc.mu.Unlock()
		for _, de := range p.Edit.DocumentChanges {
			if de.TextDocument.URI != tc.uri || de.TextDocument.Version == nil || *de.TextDocument.Version != tc.ver {
				tc.dropped++
				continue // stale: dropped, yet answered applied:true
			}
			tc.applyLocked(conn, de.Edits)
		}
		return protocol.ApplyWorkspaceEditResult{Applied: true}, nil
	case protocol.MethodShowMessage:
		var p protocol.ShowMessageParams
		_ = json.Unmarshal(m.Params, &p)
		tc.mu.Lock()
		tc.messages = append(tc.messages, p.Message)
		tc.mu.Unlock()
	case protocol.MethodCursor:
		var p protocol.CursorParams
		_ = json.Unmarshal(m.Params, &p)
		select {
		case tc.cursors <- p:
		default:
		}
	case protocol.MethodPresence:
		var p protocol.PresenceParams
		_ = json.Unmarshal(m.Params, &p)
		select {
		case tc.presence <- p:
		default:
		}
	}
	return nil, nil
}

// applyLocked applies non-overlapping edits from the end, reporting them
// in that order as one didChange.
func (tc *thinClient) applyLocked(conn *wsrpc.Conn, edits []protocol.TextEdit) {
	u := lsync.UnitOf(tc.enc)
	type abs struct {
		from, to int
		text     string
	}
	list := make([]abs, 0, len(edits))
	for _, e := range edits {
		from, err1 := lsync.Offset(tc.text, e.Range.Start, u)
		to, err2 := lsync.Offset(tc.text, e.Range.End, u)
		if err1 != nil || err2 != nil {
			tc.t.Errorf("bad edit range %+v", e.Range)
			return
		}
		list = append(list, abs{from, to, e.NewText})
	}
	sort.Slice(list, func(i, j int) bool { return list[i].from > list[j].from })
	var changes []protocol.TextDocumentContentChangeEvent
	for _, a := range list {
		r := protocol.Range{Start: lsync.Position(tc.text, a.from, u), End: lsync.Position(tc.text, a.to, u)}
		rs := []rune(tc.text)
		tc.text = string(rs[:a.from]) + a.text + string(rs[a.to:])
		changes = append(changes, protocol.TextDocumentContentChangeEvent{Range: &r, Text: a.text})
	}
	tc.ver++
	_ = conn.Notify(protocol.MethodDidChange, protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{URI: tc.uri, Version: tc.ver},
		ContentChanges: changes,
	})
}

// open opens path with the given buffer text (the hub's text wins).
func (tc *thinClient) open(project, path, text string) {
	tc.t.Helper()
	tc.mu.Lock()
	defer tc.mu.Unlock()
	tc.uri = protocol.DocURI(protocol.DocRef{Project: project, Path: path})
	tc.text, tc.ver = text, 1
	if err := tc.c.Notify(protocol.MethodDidOpen, protocol.DidOpenTextDocumentParams{TextDocument: protocol.TextDocumentItem{
		URI: tc.uri, LanguageID: "text", Version: 1, Text: text,
	}}); err != nil {
		tc.t.Fatal(err)
	}
}

// typeAt replaces del code points at pos with ins, as the person typing.
func (tc *thinClient) typeAt(pos, del int, ins string) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	u := lsync.UnitOf(tc.enc)
	n := utf8.RuneCountInString(tc.text)
	pos = min(pos, n)
	del = min(del, n-pos)
	r := protocol.Range{Start: lsync.Position(tc.text, pos, u), End: lsync.Position(tc.text, pos+del, u)}
	rs := []rune(tc.text)
	tc.text = string(rs[:pos]) + ins + string(rs[pos+del:])
	tc.ver++
	_ = tc.c.Notify(protocol.MethodDidChange, protocol.DidChangeTextDocumentParams{
		TextDocument:   protocol.VersionedTextDocumentIdentifier{URI: tc.uri, Version: tc.ver},
		ContentChanges: []protocol.TextDocumentContentChangeEvent{{Range: &r, Text: ins}},
	})
}

func (tc *thinClient) Text() string {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	return tc.text
}

func (tc *thinClient) len() int { return utf8.RuneCountInString(tc.Text()) }

// replicaClient holds a CRDT replica and exchanges updates, like the proxy.
type replicaClient struct {
	t   testing.TB
	c   *wsrpc.Client
	ref protocol.DocRef
	// onUpdate, when set, is called for every update received (benchmarks).
	onUpdate func()

	mu  sync.Mutex
	doc *crdt.Doc
}

func newReplica(t testing.TB, h *hubtest.Hub, token string) *replicaClient {
	t.Helper()
	rc := &replicaClient{t: t, doc: crdt.New(crdt.NewReplicaID())}
	rc.c = h.DialWith(t, hubtest.Auth(token), wsrpc.HandlerFunc(rc.handle))
	initialize(t, rc.c, h.Project, "")
	return rc
}

func (rc *replicaClient) handle(_ context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
	if m.Method != protocol.MethodDocUpdate {
		return nil, nil
	}
	var p protocol.DocUpdateParams
	if err := json.Unmarshal(m.Params, &p); err != nil {
		return nil, err
	}
	if rc.onUpdate != nil {
		rc.onUpdate()
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if p.DocRef == rc.ref {
		if _, err := rc.doc.Apply(p.Update); err != nil {
			rc.t.Errorf("apply hub update: %v", err)
		}
	}
	return nil, nil
}

// sync subscribes to ref and exchanges what each side lacks.
func (rc *replicaClient) sync(ref protocol.DocRef) protocol.DocSyncResult {
	rc.t.Helper()
	rc.mu.Lock()
	rc.ref = ref
	sv := rc.doc.StateVector().Encode()
	rc.mu.Unlock()
	var res protocol.DocSyncResult
	if err := rc.c.Call(context.Background(), protocol.MethodDocSync, protocol.DocSyncParams{DocRef: ref, StateVector: sv}, &res); err != nil {
		rc.t.Fatalf("doc/sync: %v", err)
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if _, err := rc.doc.Apply(res.Update); err != nil {
		rc.t.Fatal(err)
	}
	hubSV, err := crdt.DecodeStateVector(res.StateVector)
	if err != nil {
		rc.t.Fatal(err)
	}
	if u := rc.doc.EncodeSince(hubSV); len(u) > 0 {
		_ = rc.c.Notify(protocol.MethodDocUpdate, protocol.DocUpdateParams{DocRef: ref, Update: u})
	}
	return res
}

func (rc *replicaClient) edit(pos, del int, ins string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	n := rc.doc.Len()
	pos = min(pos, n)
	del = min(del, n-pos)
	u, err := rc.doc.Replace("replica", pos, del, ins)
	if err != nil {
		rc.t.Error(err)
		return
	}
	if u != nil {
		_ = rc.c.Notify(protocol.MethodDocUpdate, protocol.DocUpdateParams{DocRef: rc.ref, Update: u})
	}
}

func (rc *replicaClient) Text() string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.doc.Text()
}

func (rc *replicaClient) len() int { return utf8.RuneCountInString(rc.Text()) }

func readDoc(t testing.TB, c *wsrpc.Client, ref protocol.DocRef) string {
	t.Helper()
	var res protocol.DocReadResult
	if err := c.Call(context.Background(), protocol.MethodDocRead, ref, &res); err != nil {
		t.Fatalf("doc/read: %v", err)
	}
	return res.Text
}

type texter interface{ Text() string }

// waitConverged waits until every client holds the hub's text.
func waitConverged(t testing.TB, reader *wsrpc.Client, ref protocol.DocRef, clients ...texter) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		want := readDoc(t, reader, ref)
		same := true
		for _, c := range clients {
			if c.Text() != want {
				same = false
			}
		}
		if same {
			return want
		}
		if time.Now().After(deadline) {
			var got []string
			for _, c := range clients {
				got = append(got, fmt.Sprintf("%q", c.Text()))
			}
			t.Fatalf("no convergence:\nhub %q\nclients %s", want, strings.Join(got, "\n        "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writeProjectFile(t testing.TB, h *hubtest.Hub, path, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(h.ProjectDir, path), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

var alphabet = []string{"a", "b", "\n", "é", "🦆", "中", "e\u0301", " ", "👩‍👧"}

func randText(rng *rand.Rand) string {
	s := ""
	for range 1 + rng.IntN(3) {
		s += alphabet[rng.IntN(len(alphabet))]
	}
	return s
}

// TestConcurrentEditsConverge: thin clients in UTF-8 and UTF-16 and a
// replica client type at random at the same time; every editor and the hub
// end with byte-identical text, for many seeds.
func TestConcurrentEditsConverge(t *testing.T) {
	h := hubtest.Start(t)
	seeds, edits := 12, 60
	if testing.Short() {
		seeds, edits = 4, 30
	}
	owner := h.Connect(t)
	for seed := range seeds {
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			path := fmt.Sprintf("conv%d.txt", seed)
			writeProjectFile(t, h, path, "hello\nworld\n")
			ref := protocol.DocRef{Project: h.Project, Path: path}
			a := newThin(t, h, h.Token, protocol.EncodingUTF8)
			b := newThin(t, h, h.Token, protocol.EncodingUTF16)
			c := newThin(t, h, h.Token, protocol.EncodingUTF32)
			r := newReplica(t, h, h.Token)
			r2 := newReplica(t, h, h.Token)
			a.open(h.Project, path, "")
			b.open(h.Project, path, "hello\nworld\n")
			c.open(h.Project, path, "stale buffer")
			r.sync(ref)
			r2.sync(ref)
			waitConverged(t, owner, ref, a, b, c, r, r2)

			var wg sync.WaitGroup
			for i, c := range []interface {
				len() int
			}{a, b, c, r, r2} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
					for range edits {
						n := c.len()
						pos := rng.IntN(n + 1)
						del := 0
						if pos < n && rng.IntN(3) == 0 {
							del = 1 + rng.IntN(min(3, n-pos))
						}
						switch cl := c.(type) {
						case *thinClient:
							cl.typeAt(pos, del, randText(rng))
						case *replicaClient:
							cl.edit(pos, del, randText(rng))
						}
						time.Sleep(time.Duration(rng.IntN(3)) * time.Millisecond)
					}
				}()
			}
			wg.Wait()
			waitConverged(t, owner, ref, a, b, c, r, r2)
			stale := 0
			for _, tc := range []*thinClient{a, b, c} {
				tc.mu.Lock()
				stale += tc.dropped
				tc.mu.Unlock()
			}
			t.Logf("stale applyEdits dropped and repaired: %d", stale)
		})
	}
}

func TestAcknowledgedEditsSurviveRestart(t *testing.T) {
	h := hubtest.Start(t)
	writeProjectFile(t, h, "keep.txt", "base\n")
	ref := protocol.DocRef{Project: h.Project, Path: "keep.txt"}
	r := newReplica(t, h, h.Token)
	r.sync(ref)
	tc := newThin(t, h, h.Token, protocol.EncodingUTF16)
	tc.open(h.Project, "keep.txt", "base\n")
	for i := range 50 {
		r.edit(r.len(), 0, fmt.Sprint(i%10))
		tc.typeAt(0, 0, "🦆")
	}
	owner := h.Connect(t)
	want := waitConverged(t, owner, ref, r, tc)

	h2 := h.Restart(t)
	if got := readDoc(t, h2.Connect(t), ref); got != want {
		t.Fatalf("after restart:\ngot  %q\nwant %q", got, want)
	}
	// The file on disk was never saved: the document, not the disk, holds the edits.
	if b, _ := os.ReadFile(filepath.Join(h.ProjectDir, "keep.txt")); string(b) != "base\n" {
		t.Fatalf("disk changed without a save: %q", b)
	}
	// A replica that kept its state catches up with nothing lost either way.
	r2 := newReplica(t, h2, h2.Token)
	r2.sync(ref)
	if r2.Text() != want {
		t.Fatalf("replica after restart: %q", r2.Text())
	}
}

func TestReaderIsRefusedAndReverted(t *testing.T) {
	h := hubtest.Start(t)
	owner := h.Connect(t)
	tok := addPerson(t, owner, "rita", "reader")
	writeProjectFile(t, h, "ro.txt", "read me 🦆\n")
	ref := protocol.DocRef{Project: h.Project, Path: "ro.txt"}

	tc := newThin(t, h, tok, protocol.EncodingUTF16)
	tc.open(h.Project, "ro.txt", "read me 🦆\n")
	waitConverged(t, owner, ref, tc)
	tc.typeAt(0, 4, "EDIT")
	waitConverged(t, owner, ref, tc)
	if got := tc.Text(); got != "read me 🦆\n" {
		t.Fatalf("reader's buffer not reverted: %q", got)
	}
	tc.mu.Lock()
	msgs := strings.Join(tc.messages, "|")
	tc.mu.Unlock()
	if !strings.Contains(msgs, "read-only") {
		t.Fatalf("reader not told: %q", msgs)
	}

	// A reader's replica may sync but its updates are refused.
	r := newReplica(t, h, tok)
	res := r.sync(ref)
	if res.Role != "reader" {
		t.Fatalf("role = %q", res.Role)
	}
	r.edit(0, 0, "sneaky ")
	if err := r.c.Call(context.Background(), protocol.MethodPing, nil, nil); err != nil {
		t.Fatal(err)
	}
	if got := readDoc(t, owner, ref); got != "read me 🦆\n" {
		t.Fatalf("reader's update applied: %q", got)
	}
	// Saving needs write access.
	err := r.c.Call(context.Background(), protocol.MethodDocSave, ref, nil)
	if e, ok := protocol.AsError(err); !ok || e.Code != protocol.CodeForbidden {
		t.Fatalf("reader save: %v", err)
	}
}

func TestSaveWritesTheFile(t *testing.T) {
	h := hubtest.Start(t)
	owner := h.Connect(t)
	writeProjectFile(t, h, "dos.txt", "one\r\ntwo\r\n")
	ref := protocol.DocRef{Project: h.Project, Path: "dos.txt"}
	tc := newThin(t, h, h.Token, protocol.EncodingUTF16)
	tc.open(h.Project, "dos.txt", "")
	waitConverged(t, owner, ref, tc)
	if tc.Text() != "one\ntwo\n" {
		t.Fatalf("line endings not normalised: %q", tc.Text())
	}
	tc.typeAt(4, 0, "2 ")
	waitConverged(t, owner, ref, tc)
	if err := owner.Call(context.Background(), protocol.MethodDocSave, ref, nil); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(h.ProjectDir, "dos.txt"))
	if err != nil || string(b) != "one\r\n2 two\r\n" {
		t.Fatalf("saved %q, %v (CRLF must be kept)", b, err)
	}
	// No temporary file is left behind and the hub's own write does not
	// come back as an outside edit.
	ents, _ := os.ReadDir(h.ProjectDir)
	if len(ents) != 1 {
		t.Fatalf("project dir holds %d entries", len(ents))
	}
	time.Sleep(300 * time.Millisecond)
	if got := readDoc(t, owner, ref); got != "one\n2 two\n" {
		t.Fatalf("document changed after save: %q", got)
	}
}

func TestOutsideDiskChangeBecomesAnEdit(t *testing.T) {
	h := hubtest.Start(t)
	owner := h.Connect(t)
	writeProjectFile(t, h, "ext.go", "package main\n\nfunc main() {}\n")
	ref := protocol.DocRef{Project: h.Project, Path: "ext.go"}
	tc := newThin(t, h, h.Token, protocol.EncodingUTF8)
	tc.open(h.Project, "ext.go", "")
	r := newReplica(t, h, h.Token)
	r.sync(ref)
	waitConverged(t, owner, ref, tc, r)
	// Unsaved typing at the end, then a formatter rewrites the top on disk.
	tc.typeAt(tc.len(), 0, "// mine\n")
	waitConverged(t, owner, ref, tc, r)
	writeProjectFile(t, h, "ext.go", "// Package main.\npackage main\n\nfunc main() {}\n")
	deadline := time.Now().Add(10 * time.Second)
	want := "// Package main.\npackage main\n\nfunc main() {}\n// mine\n"
	for readDoc(t, owner, ref) != want {
		if time.Now().After(deadline) {
			t.Fatalf("disk change not applied: %q", readDoc(t, owner, ref))
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitConverged(t, owner, ref, tc, r)
}

// TestPresence: joins, leaves, focus and cursors between people whose
// editors count positions differently.
func TestPresence(t *testing.T) {
	h := hubtest.Start(t)
	owner := h.Connect(t)
	writeProjectFile(t, h, "p.txt", "🦆🦆 x\n")
	ref := protocol.DocRef{Project: h.Project, Path: "p.txt"}
	a := newThin(t, h, h.Token, protocol.EncodingUTF8)
	a.open(h.Project, "p.txt", "")
	waitConverged(t, owner, ref, a)

	tok := addPerson(t, owner, "bob", "writer")
	b := newThin(t, h, tok, protocol.EncodingUTF16)
	ev := nextPresence(t, a, "join", "bob")
	if ev.Person.Name != "bob" || ev.Person.Color == "" {
		t.Fatalf("join event %+v", ev)
	}
	// a's cursor after the two ducks and the space: 9 bytes in UTF-8.
	sel := protocol.Selection{Anchor: protocol.Position{Character: 9}, Head: protocol.Position{Character: 9}}
	if err := a.c.Notify(protocol.MethodCursor, protocol.CursorParams{DocRef: ref, Selections: []protocol.Selection{sel}}); err != nil {
		t.Fatal(err)
	}
	cur := nextCursor(t, b)
	if cur.Person == nil || cur.Person.Name != "owner" || len(cur.Selections) != 1 || cur.Selections[0].Head.Character != 5 {
		t.Fatalf("cursor in UTF-16 = %+v, want character 5", cur)
	}
	// Follow mode: b sees where a looks.
	_ = a.c.Notify(protocol.MethodFocus, protocol.FocusParams{DocRef: ref, Viewport: &protocol.Viewport{Start: 0, End: 40}})
	if f := nextPresence(t, b, "focus", "owner"); f.Path != "p.txt" || f.Viewport == nil || f.Viewport.End != 40 {
		t.Fatalf("focus %+v", f)
	}
	// b's cursor reaches a in UTF-8.
	sel16 := protocol.Selection{Anchor: protocol.Position{Character: 2}, Head: protocol.Position{Character: 4}}
	_ = b.c.Notify(protocol.MethodCursor, protocol.CursorParams{DocRef: ref, Selections: []protocol.Selection{sel16}})
	if c := nextCursor(t, a); c.Selections[0].Anchor.Character != 4 || c.Selections[0].Head.Character != 8 {
		t.Fatalf("cursor in UTF-8 = %+v", c.Selections)
	}
	// b disconnects: a is told at once.
	_ = b.c.Close()
	if ev := nextPresence(t, a, "leave", "bob"); ev.Person.Name != "bob" {
		t.Fatalf("leave %+v", ev)
	}
}

func nextPresence(t *testing.T, c *thinClient, event, name string) protocol.PresenceParams {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case p := <-c.presence:
			if p.Event == event && p.Person.Name == name {
				return p
			}
		case <-timeout:
			t.Fatalf("no %s event", event)
		}
	}
}

func nextCursor(t *testing.T, c *thinClient) protocol.CursorParams {
	t.Helper()
	select {
	case p := <-c.cursors:
		return p
	case <-time.After(5 * time.Second):
		t.Fatal("no cursor")
	}
	return protocol.CursorParams{}
}

// TestAtomicOutsideSaveBecomesAnEdit: tools that save by writing a new file
// and renaming it over the old one (sed -i, many editors, formatters) reach
// open documents like an in-place write does.
func TestAtomicOutsideSaveBecomesAnEdit(t *testing.T) {
	for _, tmpDir := range []string{"inside", "outside"} {
		t.Run(tmpDir, func(t *testing.T) {
			h := hubtest.Start(t)
			owner := h.Connect(t)
			writeProjectFile(t, h, "ext.go", "package main\n")
			ref := protocol.DocRef{Project: h.Project, Path: "ext.go"}
			tc := newThin(t, h, h.Token, protocol.EncodingUTF8)
			tc.open(h.Project, "ext.go", "")
			waitConverged(t, owner, ref, tc)
			dir := h.ProjectDir
			if tmpDir == "outside" {
				dir = filepath.Dir(h.ProjectDir)
			}
			tmp := filepath.Join(dir, ".ext.go.tmp")
			if err := os.WriteFile(tmp, []byte("// saved\npackage main\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, filepath.Join(h.ProjectDir, "ext.go")); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(10 * time.Second)
			for readDoc(t, owner, ref) != "// saved\npackage main\n" {
				if time.Now().After(deadline) {
					t.Fatalf("atomic save not applied: %q", readDoc(t, owner, ref))
				}
				time.Sleep(50 * time.Millisecond)
			}
			waitConverged(t, owner, ref, tc)
		})
	}
}

// TestThinClientUndoIsPerPerson: rubberduck/doc/undo takes back the
// caller's own last step, not the edit someone else made after it, in
// every buffer; redo brings it back; past the first step it says so.
func TestThinClientUndoIsPerPerson(t *testing.T) {
	h := hubtest.Start(t)
	owner := h.Connect(t)
	writeProjectFile(t, h, "u.txt", "one\n")
	ref := protocol.DocRef{Project: h.Project, Path: "u.txt"}
	ann := newThin(t, h, h.Token, protocol.EncodingUTF16)
	ann.open(h.Project, "u.txt", "")
	bob := newThin(t, h, addPerson(t, owner, "bob", "writer"), protocol.EncodingUTF8)
	bob.open(h.Project, "u.txt", "")
	waitConverged(t, owner, ref, ann, bob)

	ann.typeAt(0, 0, "ann ")
	waitConverged(t, owner, ref, ann, bob)
	bob.typeAt(bob.len()-1, 0, " bob")
	if got := waitConverged(t, owner, ref, ann, bob); got != "ann one bob\n" {
		t.Fatalf("before undo: %q", got)
	}
	steps := []struct {
		redo bool
		done bool
		want string
	}{
		{false, true, "one bob\n"},
		{false, false, "one bob\n"}, // nothing more of ann's
		{true, true, "ann one bob\n"},
	}
	for _, st := range steps {
		var res protocol.UndoResult
		if err := ann.c.Call(ctx(t), protocol.MethodDocUndo, protocol.DocUndoParams{DocRef: ref, Redo: st.redo}, &res); err != nil {
			t.Fatal(err)
		}
		if res.Done != st.done {
			t.Fatalf("undo (redo=%v): done = %v, want %v", st.redo, res.Done, st.done)
		}
		if got := waitConverged(t, owner, ref, ann, bob); got != st.want {
			t.Fatalf("after undo (redo=%v): %q, want %q", st.redo, got, st.want)
		}
	}
}

// TestBinaryFilesAreNotDocuments: a file that is not text (invalid UTF-8,
// or NUL bytes as in images and object files) is refused with a clear
// error instead of being opened and mangled.
func TestBinaryFilesAreNotDocuments(t *testing.T) {
	h := hubtest.Start(t)
	owner := h.Connect(t)
	tests := []struct{ name, content string }{
		{"pixel.gif", "GIF89a\x01\x00\x01\x00\x00\x00\x00;"}, // valid UTF-8, but NULs
		{"latin1.txt", "caf\xe9\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			writeProjectFile(t, h, tt.name, tt.content)
			err := owner.Call(ctx(t), protocol.MethodDocRead, protocol.DocRef{Project: h.Project, Path: tt.name}, nil)
			e, ok := protocol.AsError(err)
			if !ok || !strings.Contains(e.Message, "text") {
				t.Fatalf("doc/read of %s: %v; want an error saying it is not text", tt.name, err)
			}
		})
	}
}

// TestRenamedOrDeletedOpenFileIsAnnounced: when someone renames or deletes
// a file others have open, those others are told, since their buffer keeps
// editing a document that no longer belongs to that file.
func TestRenamedOrDeletedOpenFileIsAnnounced(t *testing.T) {
	h := hubtest.Start(t)
	owner := h.Connect(t)
	writeProjectFile(t, h, "a.txt", "a\n")
	writeProjectFile(t, h, "c.txt", "c\n")
	bob := newThin(t, h, addPerson(t, owner, "bob", "writer"), protocol.EncodingUTF16)
	bob.open(h.Project, "a.txt", "")
	waitConverged(t, owner, protocol.DocRef{Project: h.Project, Path: "a.txt"}, bob)
	tests := []struct {
		name   string
		call   func() error
		path   string
		expect string
	}{
		{"rename", func() error {
			return owner.Call(ctx(t), protocol.MethodFilesRename, protocol.RenameParams{Project: h.Project, From: "a.txt", To: "b.txt"}, nil)
		}, "a.txt", "owner renamed a.txt to b.txt"},
		{"delete", func() error {
			return owner.Call(ctx(t), protocol.MethodFilesDelete, protocol.FileParams{Project: h.Project, Path: "c.txt"}, nil)
		}, "c.txt", "owner deleted c.txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.path != "a.txt" {
				bob.open(h.Project, tt.path, "")
				waitConverged(t, owner, protocol.DocRef{Project: h.Project, Path: tt.path}, bob)
			}
			if err := tt.call(); err != nil {
				t.Fatal(err)
			}
			deadline := time.Now().Add(5 * time.Second)
			for {
				bob.mu.Lock()
				msgs := strings.Join(bob.messages, "|")
				bob.mu.Unlock()
				if strings.Contains(msgs, tt.expect) {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("bob was told %q; want %q", msgs, tt.expect)
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
}
