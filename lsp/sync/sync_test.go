package sync_test

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"unicode/utf8"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
)

var encodings = []string{protocol.EncodingUTF8, protocol.EncodingUTF16, protocol.EncodingUTF32}

// world is one editor, its Buffer and replica, and a remote replica, with
// the messages between them held in queues so a test decides the order in
// which they arrive.
type world struct {
	t      *testing.T
	ed     *fakeEditor
	buf    *lsync.Buffer
	local  *crdt.Doc
	remote *crdt.Doc

	toEditor []*lsync.Edit // applyEdits not yet received by the editor
	toRemote [][]byte      // updates from the local replica in transit
	toLocal  [][]byte      // updates from the remote replica in transit
	results  []result      // applyEdit answers in transit
	settling []uint64      // edits answered applied, for EditSettled once quiet
}

type result struct {
	id      uint64
	applied bool
}

func newWorld(t *testing.T, enc, eol, initial string) *world {
	t.Helper()
	local := crdt.New(crdt.NewReplicaID())
	remote := crdt.New(crdt.NewReplicaID())
	if initial != "" {
		u, err := remote.Insert("seed", 0, initial)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := local.Apply(u); err != nil {
			t.Fatal(err)
		}
	}
	w := &world{t: t, ed: newEditor(enc, eol, initial), local: local, remote: remote}
	w.buf = lsync.New(local, "me", enc)
	w.sendEdit(w.buf.Open(w.ed.ver, w.ed.text))
	return w
}

func (w *world) sendEdit(e *lsync.Edit) {
	if e != nil {
		w.toEditor = append(w.toEditor, e)
	}
}

// remoteEdit is someone else typing on the remote replica.
func (w *world) remoteEdit(pos, del int, ins string) {
	w.t.Helper()
	u, err := w.remote.Replace("them", pos, del, ins)
	if err != nil {
		w.t.Fatal(err)
	}
	if u != nil {
		w.toLocal = append(w.toLocal, u)
	}
}

// deliverLocal hands the oldest remote update to the local replica.
func (w *world) deliverLocal() bool {
	if len(w.toLocal) == 0 {
		return false
	}
	u := w.toLocal[0]
	w.toLocal = w.toLocal[1:]
	ch, err := w.local.Apply(u)
	if err != nil {
		w.t.Fatal(err)
	}
	w.sendEdit(w.buf.RemoteApplied(ch))
	return true
}

func (w *world) deliverRemote() bool {
	if len(w.toRemote) == 0 {
		return false
	}
	u := w.toRemote[0]
	w.toRemote = w.toRemote[1:]
	if _, err := w.remote.Apply(u); err != nil {
		w.t.Fatal(err)
	}
	return true
}

// deliverEdit hands the oldest applyEdit to the editor.
func (w *world) deliverEdit() bool {
	if len(w.toEditor) == 0 {
		return false
	}
	e := w.toEditor[0]
	w.toEditor = w.toEditor[1:]
	applied := w.ed.applyEdit(e.Version, e.Edits)
	w.results = append(w.results, result{e.ID, applied})
	return true
}

func (w *world) deliverResult() bool {
	if len(w.results) == 0 {
		return false
	}
	r := w.results[0]
	w.results = w.results[1:]
	w.buf.EditResult(r.id, r.applied)
	if r.applied {
		w.settling = append(w.settling, r.id)
	}
	return true
}

// settleEdits calls EditSettled for the answered edits, as owners do
// SettleDelay after the answer; only when the editor's didChanges have all
// been delivered, which the delay stands for.
func (w *world) settleEdits() bool {
	if len(w.ed.out) > 0 || len(w.settling) == 0 {
		return false
	}
	for _, id := range w.settling {
		w.sendEdit(w.buf.EditSettled(id))
	}
	w.settling = w.settling[:0]
	return true
}

// deliverChange hands the oldest didChange to the Buffer.
func (w *world) deliverChange() (lsync.Result, bool) {
	w.t.Helper()
	d, ok := w.ed.takeOut()
	if !ok {
		return lsync.Result{}, false
	}
	res, err := w.buf.EditorChanged(d.version, d.changes)
	if err != nil {
		w.t.Fatalf("EditorChanged: %v", err)
	}
	w.toRemote = append(w.toRemote, res.Updates...)
	w.sendEdit(res.Edit)
	return res, true
}

// settle delivers everything until nothing moves.
func (w *world) settle() {
	w.t.Helper()
	for i := 0; ; i++ {
		if i > 10000 {
			w.t.Fatal("no quiescence after 10000 rounds")
		}
		_, moved := w.deliverChange()
		moved = w.deliverEdit() || moved
		moved = w.deliverResult() || moved
		moved = w.deliverLocal() || moved
		moved = w.deliverRemote() || moved
		if !moved {
			if w.settleEdits() {
				continue
			}
			if e := w.buf.Flush(); e != nil {
				w.sendEdit(e)
				continue
			}
			return
		}
	}
}

func (w *world) checkConverged() {
	w.t.Helper()
	want := w.remote.Text()
	if got := w.local.Text(); got != want {
		w.t.Fatalf("replicas diverged:\nlocal  %q\nremote %q", got, want)
	}
	if got := w.ed.normalized(); got != want {
		w.t.Fatalf("editor diverged:\neditor %q\ndoc    %q", got, want)
	}
	if !w.buf.InSync() {
		w.t.Fatal("buffer not in sync after quiescence")
	}
}

func TestEchoIsNotAppliedTwice(t *testing.T) {
	for _, enc := range encodings {
		t.Run(enc, func(t *testing.T) {
			w := newWorld(t, enc, "\n", "hello world\n")
			w.remoteEdit(5, 0, ",")
			w.deliverLocal()
			if len(w.toEditor) != 1 {
				t.Fatalf("want one applyEdit, got %d", len(w.toEditor))
			}
			w.deliverEdit()
			res, ok := w.deliverChange()
			if !ok {
				t.Fatal("editor reported no didChange for the applied edit")
			}
			if len(res.Updates) != 0 || len(res.Changes) != 0 {
				t.Fatalf("echo of our own edit produced document changes: %+v", res.Changes)
			}
			w.settle()
			w.checkConverged()
			if got := w.local.Text(); got != "hello, world\n" {
				t.Fatalf("text = %q", got)
			}
		})
	}
}

func TestStaleEditIsDetectedAndResent(t *testing.T) {
	for _, enc := range encodings {
		for _, split := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/split=%v", enc, split), func(t *testing.T) {
				w := newWorld(t, enc, "\n", "ab\ncd\n")
				w.ed.split = split
				// Someone inserts at two places; the edit goes out at v1.
				w.remoteEdit(0, 0, "X")
				w.remoteEdit(5, 0, "Y") // "Xab\ncYd\n"
				w.deliverLocal()
				w.deliverLocal()
				if len(w.toEditor) != 1 {
					t.Fatalf("want one applyEdit in flight, got %d", len(w.toEditor))
				}
				// Meanwhile the person types: the edit is now stale.
				w.ed.typeAt(1, 0, "1") // editor: "a1b\ncd\n"
				w.deliverEdit()        // dropped, yet answered applied:true
				if w.results[0].applied != true {
					t.Fatal("fake editor must answer applied:true")
				}
				if got := w.ed.normalized(); got != "a1b\ncd\n" {
					t.Fatalf("stale edit was applied: %q", got)
				}
				w.deliverResult()
				w.deliverChange() // the typing: detected as racing, edit re-sent
				if len(w.toEditor) != 1 {
					t.Fatalf("stale edit not re-sent: %d edits queued", len(w.toEditor))
				}
				w.settle()
				w.checkConverged()
				if got := w.local.Text(); got != "Xa1b\ncYd\n" {
					t.Fatalf("text = %q", got)
				}
			})
		}
	}
}

func TestTypingBeforeAndAfterEchoInOneDidChange(t *testing.T) {
	// A debounced editor may report our applied edit and later typing in
	// one didChange; the echo part must be recognised, the rest applied.
	w := newWorld(t, protocol.EncodingUTF16, "\n", "abc")
	w.remoteEdit(3, 0, "!")
	w.deliverLocal()
	w.deliverEdit()
	w.ed.typeAt(0, 0, ">")
	d1, _ := w.ed.takeOut()
	d2, _ := w.ed.takeOut()
	merged := append(append([]protocol.TextDocumentContentChangeEvent{}, d1.changes...), d2.changes...)
	res, err := w.buf.EditorChanged(d2.version, merged)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Changes) != 1 || res.Changes[0].Insert != ">" {
		t.Fatalf("changes = %+v, want only the typed '>'", res.Changes)
	}
	w.toRemote = append(w.toRemote, res.Updates...)
	w.settle()
	w.checkConverged()
	if got := w.local.Text(); got != ">abc!" {
		t.Fatalf("text = %q", got)
	}
}

func TestReadOnlyBufferRevertsTyping(t *testing.T) {
	for _, enc := range encodings {
		t.Run(enc, func(t *testing.T) {
			w := newWorld(t, enc, "\n", "keep 🦆 me\n")
			w.buf.SetReadOnly(true)
			w.ed.typeAt(5, 2, "duck")
			res, _ := w.deliverChange()
			if !res.Refused || len(res.Updates) != 0 {
				t.Fatalf("read-only change not refused: %+v", res)
			}
			if res.Edit == nil {
				t.Fatal("no revert sent")
			}
			w.settle()
			w.checkConverged()
			if got := w.ed.normalized(); got != "keep 🦆 me\n" {
				t.Fatalf("editor = %q", got)
			}
		})
	}
}

func TestOpenRewritesEditorToDocument(t *testing.T) {
	doc := crdt.New(crdt.NewReplicaID())
	if _, err := doc.Insert("x", 0, "line one\nline two\n"); err != nil {
		t.Fatal(err)
	}
	ed := newEditor(protocol.EncodingUTF16, "\r\n", "line one\nline 2\n")
	b := lsync.New(doc, "me", protocol.EncodingUTF16)
	e := b.Open(ed.ver, ed.text)
	if e == nil {
		t.Fatal("no edit to bring the editor to the document")
	}
	ed.applyEdit(e.Version, e.Edits)
	d, _ := ed.takeOut()
	res, err := b.EditorChanged(d.version, d.changes)
	if err != nil || len(res.Updates) != 0 {
		t.Fatalf("echo applied: %v %+v", err, res)
	}
	if ed.normalized() != doc.Text() || !b.InSync() {
		t.Fatalf("editor %q, doc %q", ed.normalized(), doc.Text())
	}
}

func TestFullTextChange(t *testing.T) {
	doc := crdt.New(crdt.NewReplicaID())
	b := lsync.New(doc, "me", protocol.EncodingUTF16)
	b.Open(1, "")
	res, err := b.EditorChanged(2, []protocol.TextDocumentContentChangeEvent{{Text: "a\r\nb"}})
	if err != nil {
		t.Fatal(err)
	}
	if doc.Text() != "a\nb" || len(res.Updates) != 1 {
		t.Fatalf("doc %q, %d updates", doc.Text(), len(res.Updates))
	}
	if _, err := b.EditorChanged(3, []protocol.TextDocumentContentChangeEvent{{Text: "a\nxb"}}); err != nil {
		t.Fatal(err)
	}
	if doc.Text() != "a\nxb" {
		t.Fatalf("doc %q", doc.Text())
	}
}

// unicodeCorpus holds text where code points, UTF-16 units and bytes all
// disagree: emoji (surrogate pairs), a ZWJ family, flags, skin tones, CJK,
// combining marks, and text after them.
var unicodeCorpus = []string{
	"plain ascii",
	"🦆 duck",
	"👩‍👩‍👧‍👦 family",
	"🇩🇪🇯🇵 flags",
	"👍🏽 tone",
	"中文字符 和 日本語",
	"é vs e\u0301 combining",
	"Z̤͔ͧ̑̓ä͖̭̈̇lͮ̒ͫǫ̗͕",
	"mixed 🦆中\u0301x𝄞y",
}

// TestUnicodePositions edits after every character of every corpus line,
// from the editor and from the remote, in every encoding, on LF and CRLF
// buffers, and requires exact results.
func TestUnicodePositions(t *testing.T) {
	for _, enc := range encodings {
		for _, eol := range []string{"\n", "\r\n"} {
			t.Run(fmt.Sprintf("%s/eol=%q", enc, eol), func(t *testing.T) {
				for _, line := range unicodeCorpus {
					text := "first\n" + line + "\nlast"
					n := utf8.RuneCountInString(text)
					for pos := 0; pos <= n; pos++ {
						runes := []rune(text)
						// Editor types at pos.
						w := newWorld(t, enc, eol, text)
						w.ed.typeAt(pos, 0, "†")
						w.settle()
						want := string(runes[:pos]) + "†" + string(runes[pos:])
						if got := w.remote.Text(); got != want {
							t.Fatalf("editor insert at %d of %q: got %q want %q", pos, text, got, want)
						}
						w.checkConverged()
						// Remote deletes the character at pos; the editor sees it.
						if pos < n {
							w2 := newWorld(t, enc, eol, text)
							w2.remoteEdit(pos, 1, "ü")
							w2.settle()
							want := string(runes[:pos]) + "ü" + string(runes[pos+1:])
							if got := w2.ed.normalized(); got != want {
								t.Fatalf("remote replace at %d of %q: editor %q want %q", pos, text, got, want)
							}
							w2.checkConverged()
						}
					}
				}
			})
		}
	}
}

func TestSurrogateHalfIsRejected(t *testing.T) {
	doc := crdt.New(crdt.NewReplicaID())
	b := lsync.New(doc, "me", protocol.EncodingUTF16)
	b.Open(1, "")
	if _, err := b.EditorChanged(2, []protocol.TextDocumentContentChangeEvent{{Text: "🦆"}}); err != nil {
		t.Fatal(err)
	}
	r := protocol.Range{Start: protocol.Position{Character: 1}, End: protocol.Position{Character: 1}}
	if _, err := b.EditorChanged(3, []protocol.TextDocumentContentChangeEvent{{Range: &r, Text: "x"}}); err == nil {
		t.Fatal("a position inside a surrogate pair was accepted")
	}
	if doc.Text() != "🦆" {
		t.Fatalf("doc changed: %q", doc.Text())
	}
}

// TestRandomConcurrentEditing is the property: an editor typing while
// remote edits arrive, with every message delayed and reordered only as
// real transports allow, always converges to the replicas' text.
func TestRandomConcurrentEditing(t *testing.T) {
	seeds := 300
	if s := os.Getenv("RUBBERDUCK_SYNC_SEEDS"); s != "" {
		seeds, _ = strconv.Atoi(s)
	}
	if testing.Short() {
		seeds = 40
	}
	alphabet := []string{"a", "b", "\n", "é", "🦆", "中", "e\u0301", "👩‍👧", " "}
	for seed := range seeds {
		enc := encodings[seed%3]
		eol := "\n"
		if seed%4 == 1 {
			eol = "\r\n"
		}
		split := seed%2 == 0
		lines := seed%5 < 2
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(uint64(seed), 7))
			w := newWorld(t, enc, eol, "start\n")
			w.ed.split = split
			w.ed.lines = lines
			w.ed.truthful = seed%3 == 2
			randText := func() string {
				s := ""
				for range 1 + rng.IntN(3) {
					s += alphabet[rng.IntN(len(alphabet))]
				}
				return s
			}
			for range 200 {
				switch rng.IntN(9) {
				case 0, 1:
					n := utf8.RuneCountInString(w.ed.normalized())
					pos := rng.IntN(n + 1)
					del := 0
					if pos < n && rng.IntN(3) == 0 {
						del = 1 + rng.IntN(min(3, n-pos))
					}
					w.ed.typeAt(pos, del, randText())
				case 2:
					n := w.remote.Len()
					pos := rng.IntN(n + 1)
					del := 0
					if pos < n && rng.IntN(3) == 0 {
						del = 1 + rng.IntN(min(3, n-pos))
					}
					w.remoteEdit(pos, del, randText())
				case 3:
					w.deliverChange()
				case 4:
					w.deliverEdit()
				case 5:
					w.deliverResult()
				case 6:
					w.deliverLocal()
				case 7:
					w.deliverRemote()
				case 8:
					if e := w.buf.Flush(); e != nil {
						w.sendEdit(e)
					}
					w.settleEdits()
				}
			}
			w.settle()
			w.checkConverged()
			if w.ed.pastEOL > 0 {
				t.Errorf("%d applyEdits reached past a final newline they could have kept", w.ed.pastEOL)
			}
		})
	}
}

// TestResyncAfterUndecodableChange: after a change that cannot be decoded
// the editor's whole buffer is replaced with the Doc's text, typing in that
// instant is dropped rather than applied at a wrong place, and editing
// works again afterwards, whether the editor echoes the replacement as the
// whole text or as trimmed line ranges (Neovim; its answer decides then).
func TestResyncAfterUndecodableChange(t *testing.T) {
	for _, lines := range []bool{false, true} {
		t.Run(fmt.Sprintf("lines=%v", lines), func(t *testing.T) {
			w := newWorld(t, protocol.EncodingUTF16, "\n", "🦆 abc\n")
			w.ed.truthful = true
			w.ed.lines = lines
			// A buggy editor addresses half a surrogate pair.
			r := protocol.Range{Start: protocol.Position{Character: 1}, End: protocol.Position{Character: 1}}
			if _, err := w.buf.EditorChanged(2, []protocol.TextDocumentContentChangeEvent{{Range: &r, Text: "x"}}); err == nil {
				t.Fatal("undecodable change accepted")
			}
			w.ed.text = "\U0001F986x abc\n" // what the buggy editor now holds
			w.ed.ver = 2
			w.sendEdit(w.buf.Resync())
			w.remoteEdit(0, 0, "R")
			w.deliverLocal()
			w.ed.typeAt(0, 0, "lost") // typed during the resync: dropped, replacement re-sent
			w.settle()
			w.checkConverged()
			if got := w.local.Text(); got != "R🦆 abc\n" {
				t.Fatalf("text = %q", got)
			}
			// After the resync, typing works again.
			w.ed.typeAt(0, 0, ">")
			w.settle()
			w.checkConverged()
			if got := w.remote.Text(); got != ">R🦆 abc\n" {
				t.Fatalf("text = %q", got)
			}
		})
	}
}

// TestLineEditsAreAlignedToLines: a whole line inserted or deleted enters
// the document as that line, not as the equivalent edit an editor reported
// by common prefix, so it stays its author's text (for undo and for
// concurrent edits).
func TestLineEditsAreAlignedToLines(t *testing.T) {
	tests := []struct {
		name    string
		initial string
		change  protocol.TextDocumentContentChangeEvent
		want    []crdt.Change // what the Doc records
	}{
		{
			name:    "line inserted above a similar one",
			initial: "// a\nx\n",
			change:  change(0, 3, 0, 3, "b\n// "),
			want:    []crdt.Change{{Pos: 0, Insert: "// b\n"}},
		},
		{
			name:    "line deleted below a similar one",
			initial: "// a\n// b\nx\n",
			change:  change(0, 3, 1, 3, ""),
			want:    []crdt.Change{{Pos: 0, Delete: 5}},
		},
		{
			name:    "typing inside a line is left alone",
			initial: "abab\n",
			change:  change(0, 2, 0, 2, "ab"),
			want:    []crdt.Change{{Pos: 2, Insert: "ab"}},
		},
		{
			name:    "no line-aligned equivalent: as reported",
			initial: "ab\n",
			change:  change(0, 1, 0, 1, "x\ny"),
			want:    []crdt.Change{{Pos: 1, Insert: "x\ny"}},
		},
		{
			name:    "multi-byte text around the line",
			initial: "🦆 a\n🦆 b\n",
			change:  change(1, 3, 1, 3, "c\n🦆 "),
			want:    []crdt.Change{{Pos: 4, Insert: "🦆 c\n"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := crdt.New(crdt.NewReplicaID())
			if _, err := doc.Insert("seed", 0, tt.initial); err != nil {
				t.Fatal(err)
			}
			b := lsync.New(doc, "me", protocol.EncodingUTF16)
			b.Open(1, tt.initial)
			res, err := b.EditorChanged(2, []protocol.TextDocumentContentChangeEvent{tt.change})
			if err != nil {
				t.Fatal(err)
			}
			if fmt.Sprint(res.Changes) != fmt.Sprint(tt.want) {
				t.Fatalf("changes %+v, want %+v", res.Changes, tt.want)
			}
		})
	}
}

func change(sl, sc, el, ec uint32, text string) protocol.TextDocumentContentChangeEvent {
	return protocol.TextDocumentContentChangeEvent{
		Range: &protocol.Range{Start: protocol.Position{Line: sl, Character: sc}, End: protocol.Position{Line: el, Character: ec}},
		Text:  text,
	}
}
