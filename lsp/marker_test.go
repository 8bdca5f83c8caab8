package lsp

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
)

// TestDocumentKeepsEveryEdit races unique insertions from the editor and
// a remote replica and checks each ends up exactly once everywhere.
func TestDocumentKeepsEveryEdit(t *testing.T) {
	for seed := range uint64(200) {
		rng := rand.New(rand.NewPCG(seed, 3))
		initial := "a\nb\n"
		hub := crdt.New(crdt.NewReplicaID())
		_, _ = hub.Insert("disk", 0, initial)
		other := crdt.New(crdt.NewReplicaID())
		_, _ = other.Apply(hub.EncodeState())
		ed := &simEditor{text: initial, version: 1}
		d := newDocument("file:///p/a.txt", "a.txt", 1, initial, crdt.UTF16, "me")
		_ = d.remote(hub.EncodeState())
		_, _ = d.joinHub()
		var toProxy []simMsg
		var toEditor []*pendingEdit
		var toHub, fromHub [][]byte
		var markers []string
		lineStart := func(text string, k int) int {
			lines := strings.SplitAfter(text, "\n")
			n := len(lines) - 1
			r := k % max(n, 1)
			off := 0
			for i := 0; i < r; i++ {
				off += len(lines[i])
			}
			return off
		}
		flush := func() {
			if pe := d.nextEdit(); pe != nil {
				toEditor = append(toEditor, pe)
			}
		}
		for i := 0; i < 300 || len(toProxy)+len(toEditor)+len(toHub)+len(fromHub) > 0; i++ {
			busy := i < 300
			switch k := rng.IntN(6); {
			case k == 0 && busy:
				m := fmt.Sprintf("<e%d>\n", i)
				markers = append(markers, m)
				off := lineStart(ed.text, rng.IntN(100))
				toProxy = append(toProxy, ed.change(off, off, m))
			case k == 1 && busy:
				m := fmt.Sprintf("<o%d>\n", i)
				markers = append(markers, m)
				off := lineStart(other.Text(), rng.IntN(100))
				u, _ := other.Insert("other", len([]rune(other.Text()[:off])), m)
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
				pe := toEditor[0]
				toEditor = toEditor[1:]
				if pe.base == ed.version {
					// the edit as computed when sent: against the text at pe.base
					pre, suf := editEnds(ed.text, pe.expected)
					toProxy = append(toProxy, ed.change(pre, len(ed.text)-suf, pe.expected[pre:len(pe.expected)-suf]))
				}
				seq := pe.seq
				toProxy = append(toProxy, simMsg{answer: &seq})
			case k == 4 && len(toHub) > 0:
				_, _ = other.Apply(toHub[0])
				toHub = toHub[1:]
			case k == 5 && len(fromHub) > 0:
				_ = d.remote(fromHub[0])
				fromHub = fromHub[1:]
				flush()
			}
		}
		final := other.Text()
		if ed.text != final || d.replica.Text() != final {
			t.Fatalf("seed %d diverged", seed)
		}
		for _, m := range markers {
			if n := strings.Count(final, m); n != 1 {
				t.Fatalf("seed %d: %q appears %d times", seed, m, n)
			}
		}
	}
}
