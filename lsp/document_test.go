package lsp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
)

// simEditor behaves like Neovim with the RubberDuck plugin where it
// matters: versions jump (they are changedticks), a versioned edit is
// refused unless the buffer is still at that version, and a multi-edit
// applyEdit is applied from the last edit to the first, one didChange each.
type simEditor struct {
	text    string
	version int32
}

type simMsg struct {
	version int32
	change  protocol.TextDocumentContentChangeEvent
	answer  *simAnswer // an applyEdit answer instead of a didChange
}

type simAnswer struct {
	id      uint64
	applied bool
}

func (e *simEditor) replace(start, end int, text string) simMsg {
	r := &protocol.Range{
		Start: lsync.Position(e.text, start, crdt.UTF16),
		End:   lsync.Position(e.text, end, crdt.UTF16),
	}
	rs := []rune(e.text)
	e.text = string(rs[:start]) + text + string(rs[end:])
	e.version += 3
	return simMsg{version: e.version, change: protocol.TextDocumentContentChangeEvent{Range: r, Text: text}}
}

// applyEdit returns the didChanges and the answer the editor sends.
func (e *simEditor) applyEdit(ed *lsync.Edit) []simMsg {
	if ed.Version != e.version {
		return []simMsg{{answer: &simAnswer{ed.ID, false}}}
	}
	type span struct {
		start, end int
		text       string
	}
	var spans []span
	for _, te := range ed.Edits {
		s, _ := lsync.Offset(e.text, te.Range.Start, crdt.UTF16)
		en, _ := lsync.Offset(e.text, te.Range.End, crdt.UTF16)
		spans = append(spans, span{s, en, te.NewText})
	}
	sort.SliceStable(spans, func(i, j int) bool { return spans[i].start > spans[j].start })
	var out []simMsg
	for _, s := range spans {
		out = append(out, e.replace(s.start, s.end, s.text))
	}
	return append(out, simMsg{answer: &simAnswer{ed.ID, true}})
}

// simWorld is one proxy document between a scripted editor and a hub
// (here: another replica), with every message queued so the seed decides
// the interleaving.
type simWorld struct {
	t        *testing.T
	rng      *rand.Rand
	ed       *simEditor
	d        *document
	other    *crdt.Doc
	toProxy  []simMsg
	toEditor []*lsync.Edit
	toHub    [][]byte
	fromHub  [][]byte
}

func newSimWorld(t *testing.T, seed uint64, initial string) *simWorld {
	t.Helper()
	hub := crdt.New(crdt.NewReplicaID())
	if _, err := hub.Insert("disk", 0, initial); err != nil {
		t.Fatal(err)
	}
	w := &simWorld{t: t, rng: rand.New(rand.NewPCG(seed, 7)), ed: &simEditor{text: initial, version: 1}, other: hub}
	w.d = newDocument("file:///p/a.txt", "a.txt", 1, initial, protocol.EncodingUTF16, "me")
	w.remote(hub.EncodeState())
	w.do(w.d.joinHub())
	return w
}

func (w *simWorld) do(out outcome, err error) {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	w.toHub = append(w.toHub, out.updates...)
	if out.edit != nil {
		w.toEditor = append(w.toEditor, out.edit)
	}
}

func (w *simWorld) remote(u []byte) {
	w.t.Helper()
	e, err := w.d.remote(u)
	w.do(outcome{edit: e}, err)
}

// step delivers one message chosen by the seed; it reports false when
// nothing was left to deliver of the kind chosen.
func (w *simWorld) step() bool {
	switch w.rng.IntN(4) {
	case 0:
		if len(w.toProxy) == 0 {
			return false
		}
		m := w.toProxy[0]
		w.toProxy = w.toProxy[1:]
		if m.answer != nil {
			w.do(outcome{edit: w.d.answered(m.answer.id, m.answer.applied)}, nil)
			return true
		}
		w.do(w.d.didChange(m.version, []protocol.TextDocumentContentChangeEvent{m.change}))
	case 1:
		if len(w.toEditor) == 0 {
			return false
		}
		e := w.toEditor[0]
		w.toEditor = w.toEditor[1:]
		w.toProxy = append(w.toProxy, w.ed.applyEdit(e)...)
	case 2:
		if len(w.toHub) == 0 {
			return false
		}
		if _, err := w.other.Apply(w.toHub[0]); err != nil {
			w.t.Fatal(err)
		}
		w.toHub = w.toHub[1:]
	case 3:
		if len(w.fromHub) == 0 {
			return false
		}
		u := w.fromHub[0]
		w.fromHub = w.fromHub[1:]
		w.remote(u)
	}
	return true
}

func (w *simWorld) busy() bool {
	return len(w.toProxy)+len(w.toEditor)+len(w.toHub)+len(w.fromHub) > 0
}

// settle delivers everything; the editor and both replicas must agree.
func (w *simWorld) settle() {
	w.t.Helper()
	for i := 0; w.busy(); i++ {
		if i > 100000 {
			w.t.Fatal("no quiescence")
		}
		w.step()
	}
	want := w.other.Text()
	if w.ed.text != want || w.d.replica.Text() != want || w.d.editorText() != want {
		w.t.Fatalf("diverged:\neditor  %q\nproxy   %q (thinks the editor has %q)\nother   %q", w.ed.text, w.d.replica.Text(), w.d.editorText(), want)
	}
}

// typeRandom is the person typing somewhere in text (never the final
// newline): code point position, deletion length and insertion.
func typeRandom(rng *rand.Rand, text string, inserts []string) (int, int, string) {
	n := utf8.RuneCountInString(strings.TrimSuffix(text, "\n"))
	pos := rng.IntN(n + 1)
	del := 0
	if rng.IntN(3) == 0 && pos < n {
		del = 1 + rng.IntN(min(3, n-pos))
	}
	ins := inserts[rng.IntN(len(inserts))]
	if del == 0 && ins == "" {
		ins = "x"
	}
	return pos, del, ins
}

// TestDocumentConvergesWithRacingEditor races a scripted editor's typing
// against remote edits, every message delayed and interleaved by the seed,
// and checks that editor, proxy and remote replica end byte-identical.
func TestDocumentConvergesWithRacingEditor(t *testing.T) {
	inserts := []string{"a", "bc", "\n", "é", "😀", "", "x\ny"}
	seeds := uint64(300)
	if s, err := strconv.ParseUint(os.Getenv("RUBBERDUCK_SYNC_SEEDS"), 10, 64); err == nil {
		seeds = s
	}
	for seed := range seeds {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			w := newSimWorld(t, seed, "hello\nworld\n")
			for range 400 {
				switch w.rng.IntN(4) {
				case 0:
					pos, del, ins := typeRandom(w.rng, w.ed.text, inserts)
					w.toProxy = append(w.toProxy, w.ed.replace(pos, pos+del, ins))
				case 1:
					pos, del, ins := typeRandom(w.rng, w.other.Text(), inserts)
					u, err := w.other.Replace("other", pos, del, ins)
					if err != nil {
						t.Fatal(err)
					}
					w.fromHub = append(w.fromHub, u)
				default:
					w.step()
				}
			}
			w.settle()
		})
	}
}

// TestDocumentKeepsEveryEdit races whole-line insertions (unique markers)
// from the editor and from elsewhere: each must end up exactly once, not
// lost and not doubled by an echo taken for typing.
func TestDocumentKeepsEveryEdit(t *testing.T) {
	lineStart := func(text string, k int) int {
		lines := strings.SplitAfter(text, "\n")
		off := 0
		for i := 0; i < k%max(len(lines)-1, 1); i++ {
			off += utf8.RuneCountInString(lines[i])
		}
		return off
	}
	for seed := range uint64(200) {
		w := newSimWorld(t, seed, "a\nb\n")
		var markers []string
		for i := range 300 {
			switch w.rng.IntN(4) {
			case 0:
				m := fmt.Sprintf("<e%d>\n", i)
				markers = append(markers, m)
				off := lineStart(w.ed.text, w.rng.IntN(100))
				w.toProxy = append(w.toProxy, w.ed.replace(off, off, m))
			case 1:
				m := fmt.Sprintf("<o%d>\n", i)
				markers = append(markers, m)
				u, err := w.other.Insert("other", lineStart(w.other.Text(), w.rng.IntN(100)), m)
				if err != nil {
					t.Fatal(err)
				}
				w.fromHub = append(w.fromHub, u)
			default:
				w.step()
			}
		}
		w.settle()
		for _, m := range markers {
			if n := strings.Count(w.other.Text(), m); n != 1 {
				t.Fatalf("seed %d: %q appears %d times", seed, m, n)
			}
		}
	}
}

// TestDocumentJoin: what the editor shows when the hub's state first
// arrives decides the merge.
func TestDocumentJoin(t *testing.T) {
	tests := []struct {
		name     string
		hub      string // the hub's text
		opened   string // the editor's text at didOpen
		typed    string // inserted at 0 before the hub answered ("" = nothing)
		reader   bool
		want     string // everyone's text afterwards
		refused  bool
		hubAfter string // the hub's text once it has the updates
	}{
		{name: "same text", hub: "a\n", opened: "a\n", want: "a\n", hubAfter: "a\n"},
		{name: "typed before the hub answered", hub: "a\n", opened: "a\n", typed: ">", want: ">a\n", hubAfter: ">a\n"},
		{name: "stale file: hub wins", hub: "new\n", opened: "old\n", want: "new\n", hubAfter: "new\n"},
		{name: "stale file and typed: hub wins", hub: "new\n", opened: "old\n", typed: ">", want: "new\n", hubAfter: "new\n"},
		{name: "reader typed: undone", hub: "a\n", opened: "a\n", typed: ">", reader: true, want: "a\n", refused: true, hubAfter: "a\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hub := crdt.New(crdt.NewReplicaID())
			_, _ = hub.Insert("disk", 0, tt.hub)
			ed := &simEditor{text: tt.opened, version: 0}
			d := newDocument("file:///p/a.txt", "a.txt", ed.version, ed.text, protocol.EncodingUTF16, "me")
			if tt.typed != "" {
				m := ed.replace(0, 0, tt.typed)
				if _, err := d.didChange(m.version, []protocol.TextDocumentContentChangeEvent{m.change}); err != nil {
					t.Fatal(err)
				}
			}
			d.setReadOnly(tt.reader)
			if _, err := d.remote(hub.EncodeState()); err != nil {
				t.Fatal(err)
			}
			out, err := d.joinHub()
			if err != nil {
				t.Fatal(err)
			}
			if out.refused != tt.refused {
				t.Errorf("refused = %v, want %v", out.refused, tt.refused)
			}
			for _, u := range out.updates {
				_, _ = hub.Apply(u)
			}
			if out.edit != nil {
				for _, m := range ed.applyEdit(out.edit) {
					if m.answer == nil {
						if _, err := d.didChange(m.version, []protocol.TextDocumentContentChangeEvent{m.change}); err != nil {
							t.Fatal(err)
						}
					}
				}
			}
			if ed.text != tt.want || d.replica.Text() != tt.want || hub.Text() != tt.hubAfter {
				t.Fatalf("editor %q, replica %q, hub %q; want %q (hub %q)", ed.text, d.replica.Text(), hub.Text(), tt.want, tt.hubAfter)
			}
			if !d.buf.InSync() {
				t.Fatal("buffer not in sync")
			}
		})
	}
}

// TestDocumentAdoptsLostHistory: a hub that lost a document's history (and
// loaded the file afresh) is detected by disjoint state vectors; the
// editor's text is re-sent as edits on the new history, not doubled.
func TestDocumentAdoptsLostHistory(t *testing.T) {
	hub1 := crdt.New(crdt.NewReplicaID())
	_, _ = hub1.Insert("disk", 0, "hello\n")
	ed := &simEditor{text: "hello\n", version: 1}
	d := newDocument("file:///p/a.txt", "a.txt", 1, "hello\n", protocol.EncodingUTF16, "me")
	_, _ = d.remote(hub1.EncodeState())
	if _, err := d.joinHub(); err != nil {
		t.Fatal(err)
	}
	m := ed.replace(5, 5, " world")
	if _, err := d.didChange(m.version, []protocol.TextDocumentContentChangeEvent{m.change}); err != nil {
		t.Fatal(err)
	}
	hub2 := crdt.New(crdt.NewReplicaID()) // restarted without its store
	_, _ = hub2.Insert("disk", 0, "hello\n")
	if !disjoint(d.replica.StateVector(), hub2.StateVector()) {
		t.Fatal("fresh hub history not detected")
	}
	if disjoint(d.replica.StateVector(), hub1.StateVector()) {
		t.Fatal("same history reported as lost")
	}
	out, err := d.adoptHistory(hub2.EncodeState())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range out.updates {
		if _, err := hub2.Apply(u); err != nil {
			t.Fatal(err)
		}
	}
	if out.edit != nil {
		t.Fatalf("the editor was sent %+v; its text was already right", out.edit)
	}
	if got := hub2.Text(); got != "hello world\n" || d.replica.Text() != got || d.editorText() != got {
		t.Fatalf("hub %q, replica %q, editor %q; want %q", got, d.replica.Text(), d.editorText(), "hello world\n")
	}
}

// A reader's typing is neither shared nor kept: the editor is put back to
// the shared text, while remote edits keep arriving.
func TestReaderTypingIsUndoneNotShared(t *testing.T) {
	w := newSimWorld(t, 1, "hello\n")
	w.d.setReadOnly(true)
	w.toProxy = append(w.toProxy, w.ed.replace(5, 5, " world"))
	m := w.toProxy[0]
	w.toProxy = nil
	out, err := w.d.didChange(m.version, []protocol.TextDocumentContentChangeEvent{m.change})
	if err != nil || !out.refused || len(out.updates) != 0 || out.edit == nil {
		t.Fatalf("reader's change: %+v, %v; want refused, no updates, an edit back", out, err)
	}
	w.do(out, nil)
	u, _ := w.other.Insert("ann", 0, ">")
	w.fromHub = append(w.fromHub, u)
	w.settle()
	if w.ed.text != ">hello\n" {
		t.Fatalf("reader's editor = %q, want the shared text", w.ed.text)
	}
}

// TestUndoIsPerPerson: undo reverts the person's own last step and leaves
// everyone else's edits; redo brings it back.
func TestUndoIsPerPerson(t *testing.T) {
	w := newSimWorld(t, 3, "one\ntwo\n")
	w.toProxy = append(w.toProxy, w.ed.replace(3, 3, " mine"))
	u, err := w.other.Insert("ann", 0, "ann: ")
	if err != nil {
		t.Fatal(err)
	}
	w.fromHub = append(w.fromHub, u)
	w.settle()
	if got := w.other.Text(); got != "ann: one mine\ntwo\n" {
		t.Fatalf("before undo: %q", got)
	}
	for _, step := range []struct {
		redo bool
		want string
	}{
		{false, "ann: one\ntwo\n"},
		{true, "ann: one mine\ntwo\n"},
		{false, "ann: one\ntwo\n"},
	} {
		w.do(w.d.undo(step.redo))
		w.settle()
		if got := w.ed.text; got != step.want {
			t.Fatalf("after undo (redo=%v): editor %q, want %q", step.redo, got, step.want)
		}
	}
	if _, err := w.d.undo(false); !errors.Is(err, crdt.ErrNothingToUndo) {
		t.Fatalf("undo past the first step: %v, want ErrNothingToUndo", err)
	}
}
