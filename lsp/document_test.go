package lsp

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	lsp "go.lsp.dev/protocol"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// simEditor behaves like Neovim where it matters: it applies a versioned
// edit only while its buffer is still at that version, answers applied:true
// regardless, and reports every change (its own and applied ones) as a
// didChange with a new version.
type simEditor struct {
	text    string
	version int32
}

type simMsg struct {
	version int32
	change  contentChange
	answer  *uint64 // an applyEdit answer instead of a didChange
}

func (e *simEditor) change(start, end int, text string) simMsg {
	r := &lsp.Range{
		Start: toLSP(position(e.text, start, crdt.UTF16)),
		End:   toLSP(position(e.text, end, crdt.UTF16)),
	}
	e.text = e.text[:start] + text + e.text[end:]
	e.version += 3 // Neovim's versions are changedticks: they jump
	return simMsg{version: e.version, change: contentChange{Range: r, Text: text}}
}

// TestDocumentConvergesWithRacingEditor races a scripted editor's typing
// against remote edits and checks that editor, proxy and remote replica end
// byte-identical, for many seeds.
func TestDocumentConvergesWithRacingEditor(t *testing.T) {
	for seed := range uint64(300) {
		t.Run(fmt.Sprint(seed), func(t *testing.T) { runSim(t, seed) })
	}
}

func runSim(t *testing.T, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	initial := "hello\nworld\n"
	hub := crdt.New(crdt.NewReplicaID())
	if _, err := hub.Insert("disk", 0, initial); err != nil {
		t.Fatal(err)
	}
	other := crdt.New(crdt.NewReplicaID())
	if _, err := other.Apply(hub.EncodeState()); err != nil {
		t.Fatal(err)
	}
	ed := &simEditor{text: initial, version: 1}
	d := newDocument("file:///p/a.txt", "a.txt", ed.version, ed.text, crdt.UTF16, "me")
	if err := d.remote(hub.EncodeState()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.joinHub(); err != nil {
		t.Fatal(err)
	}

	var toProxy []simMsg        // editor -> proxy, in order
	var toEditor []*pendingEdit // proxy -> editor applyEdits, in order
	var edits []lsp.TextEdit
	var toHub, fromHub [][]byte // proxy <-> other replica (through "hub")

	flush := func() {
		if pe := d.nextEdit(); pe != nil {
			toEditor = append(toEditor, pe)
			edits = append(edits, d.textEdit(pe))
		}
	}
	randomEdit := func(text string) (int, int, string) {
		runes := []rune(strings.TrimSuffix(text, "\n"))
		pos := rng.IntN(len(runes) + 1)
		del := 0
		if rng.IntN(3) == 0 && pos < len(runes) {
			del = 1 + rng.IntN(min(3, len(runes)-pos))
		}
		ins := []string{"a", "bc", "\n", "é", "😀", ""}[rng.IntN(6)]
		if del == 0 && ins == "" {
			ins = "x"
		}
		return pos, del, ins
	}
	steps := 400
	for i := 0; i < steps || len(toProxy)+len(toEditor)+len(toHub)+len(fromHub) > 0; i++ {
		busy := i < steps
		switch k := rng.IntN(6); {
		case k == 0 && busy: // the user types
			pos, del, ins := randomEdit(ed.text)
			rs := []rune(ed.text)
			start := len(string(rs[:pos]))
			end := len(string(rs[:pos+del]))
			toProxy = append(toProxy, ed.change(start, end, ins))
		case k == 1 && busy: // someone else types
			pos, del, ins := randomEdit(other.Text())
			u, err := other.Replace("other", pos, del, ins)
			if err != nil {
				t.Fatal(err)
			}
			fromHub = append(fromHub, u)
		case k == 2 && len(toProxy) > 0:
			m := toProxy[0]
			toProxy = toProxy[1:]
			if m.answer != nil {
				d.answered(*m.answer, true)
			} else {
				ups, err := d.didChange(m.version, []contentChange{m.change})
				if err != nil {
					t.Fatal(err)
				}
				toHub = append(toHub, ups...)
			}
			flush()
		case k == 3 && len(toEditor) > 0:
			pe, te := toEditor[0], edits[0]
			toEditor, edits = toEditor[1:], edits[1:]
			if pe.base == ed.version {
				start, _ := byteOffset(ed.text, te.Range.Start.Line, te.Range.Start.Character, crdt.UTF16)
				end, _ := byteOffset(ed.text, te.Range.End.Line, te.Range.End.Character, crdt.UTF16)
				toProxy = append(toProxy, ed.change(start, end, te.NewText))
			}
			seq := pe.seq
			toProxy = append(toProxy, simMsg{answer: &seq})
		case k == 4 && len(toHub) > 0:
			if _, err := other.Apply(toHub[0]); err != nil {
				t.Fatal(err)
			}
			toHub = toHub[1:]
		case k == 5 && len(fromHub) > 0:
			if err := d.remote(fromHub[0]); err != nil {
				t.Fatal(err)
			}
			fromHub = fromHub[1:]
			flush()
		}
	}
	if ed.text != other.Text() || d.replica.Text() != other.Text() {
		t.Fatalf("diverged:\neditor %q\nproxy  %q\nother  %q", ed.text, d.replica.Text(), other.Text())
	}
}

func toLSP(p protocol.Position) lsp.Position {
	return lsp.Position{Line: p.Line, Character: p.Character}
}

// TestDocumentAdoptsLostHistory: a hub that lost a document's history (and
// loaded the file afresh) is detected by disjoint state vectors; the
// editor's text is re-sent as edits on the new history, not doubled.
func TestDocumentAdoptsLostHistory(t *testing.T) {
	hub1 := crdt.New(crdt.NewReplicaID())
	_, _ = hub1.Insert("disk", 0, "hello\n")
	d := newDocument("file:///p/a.txt", "a.txt", 1, "hello\n", crdt.UTF16, "me")
	_ = d.remote(hub1.EncodeState())
	_, _ = d.joinHub()
	r := lsp.Range{Start: lsp.Position{Line: 0, Character: 5}, End: lsp.Position{Line: 0, Character: 5}}
	if _, err := d.didChange(2, []contentChange{{Range: &r, Text: " world"}}); err != nil {
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
	ups, err := d.adoptHistory(hub2.EncodeState())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range ups {
		if _, err := hub2.Apply(u); err != nil {
			t.Fatal(err)
		}
	}
	if got := hub2.Text(); got != "hello world\n" || d.replica.Text() != got || d.text != got {
		t.Fatalf("hub %q, replica %q, editor %q; want %q", got, d.replica.Text(), d.text, "hello world\n")
	}
}

// A reader's typing is neither shared nor kept: the editor is put back to
// the shared text, while remote edits keep arriving.
func TestReaderTypingIsUndoneNotShared(t *testing.T) {
	hub := crdt.New(crdt.NewReplicaID())
	_, _ = hub.Insert("disk", 0, "hello\n")
	d := newDocument("file:///p/a.txt", "a.txt", 1, "hello\n", crdt.UTF16, "rita")
	if err := d.remote(hub.EncodeState()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.joinHub(); err != nil {
		t.Fatal(err)
	}
	d.readOnly = true
	r := lsp.Range{Start: lsp.Position{Line: 0, Character: 5}, End: lsp.Position{Line: 0, Character: 5}}
	ups, err := d.didChange(2, []contentChange{{Range: &r, Text: " world"}})
	if !errors.Is(err, errReadOnly) || len(ups) != 0 {
		t.Fatalf("reader's change: %d updates, err %v; want none and errReadOnly", len(ups), err)
	}
	if d.replica.Text() != "hello\n" {
		t.Fatalf("replica = %q: the reader's change got in", d.replica.Text())
	}
	edit := d.nextEdit()
	if edit == nil || edit.expected != "hello\n" {
		t.Fatalf("no edit back to the shared text: %+v", edit)
	}
	// The editor applies the revert; the echo settles it.
	rr := edit.edits[0].Range
	if _, err := d.didChange(3, []contentChange{{Range: &rr, Text: edit.edits[0].NewText}}); err != nil {
		t.Fatalf("echo of the revert: %v", err)
	}
	if d.text != "hello\n" || d.nextEdit() != nil {
		t.Fatalf("editor %q, still pending an edit", d.text)
	}
	// Others' edits still reach the reader.
	u, _ := hub.Insert("ann", 0, ">")
	if err := d.remote(u); err != nil {
		t.Fatal(err)
	}
	if e := d.nextEdit(); e == nil || e.expected != ">hello\n" {
		t.Fatalf("remote edit not shown to the reader: %+v", e)
	}
}
