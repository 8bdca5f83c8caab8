package presence_test

import (
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/presence"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// inbox is a member's connection that records what it is sent.
type inbox struct {
	mu   sync.Mutex
	msgs []protocol.Message
}

func (i *inbox) Notify(method string, params any) error {
	m, err := protocol.NewNotification(method, params)
	if err != nil {
		return err
	}
	i.mu.Lock()
	i.msgs = append(i.msgs, *m)
	i.mu.Unlock()
	return nil
}

func (i *inbox) NotifyRaw(frame []byte) error {
	var m protocol.Message
	if err := json.Unmarshal(frame, &m); err != nil {
		return err
	}
	i.mu.Lock()
	i.msgs = append(i.msgs, m)
	i.mu.Unlock()
	return nil
}

func (i *inbox) take() []protocol.Message {
	i.mu.Lock()
	defer i.mu.Unlock()
	out := i.msgs
	i.msgs = nil
	return out
}

func (i *inbox) cursors(t *testing.T) []protocol.CursorParams {
	t.Helper()
	var out []protocol.CursorParams
	for _, m := range i.take() {
		if m.Method == protocol.MethodCursor {
			var p protocol.CursorParams
			if err := json.Unmarshal(m.Params, &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p)
		}
	}
	return out
}

func events(t *testing.T, i *inbox) []string {
	t.Helper()
	var out []string
	for _, m := range i.take() {
		if m.Method == protocol.MethodPresence {
			var p protocol.PresenceParams
			if err := json.Unmarshal(m.Params, &p); err != nil {
				t.Fatal(err)
			}
			out = append(out, p.Event+":"+p.Person.Name)
		}
	}
	return out
}

func person(name string) protocol.Person {
	return protocol.Person{ID: "id-" + name, Name: name, Color: presence.ColorOf("id-" + name), Session: name}
}

func TestColourIsStablePerPerson(t *testing.T) {
	for _, id := range []string{"usr_a", "usr_b", "", "usr_ünï"} {
		c := presence.ColorOf(id)
		if c != presence.ColorOf(id) || len(c) != 7 || c[0] != '#' {
			t.Fatalf("colour of %q = %q", id, c)
		}
	}
}

func TestJoinLeaveFocus(t *testing.T) {
	tr := presence.New(presence.Options{})
	defer tr.Close()
	a, b := &inbox{}, &inbox{}
	tr.Join("p", presence.Member{Conn: a, Person: person("ann"), Encoding: protocol.EncodingUTF16})
	tr.Focus(a, protocol.FocusParams{DocRef: protocol.DocRef{Project: "p", Path: "x.go"}, Viewport: &protocol.Viewport{Start: 10, End: 50}})
	tr.Join("p", presence.Member{Conn: b, Person: person("bob"), Encoding: protocol.EncodingUTF8})
	if got := events(t, a); len(got) != 1 || got[0] != "join:bob" {
		t.Fatalf("ann saw %v", got)
	}
	// The newcomer learns who is there and where they look (follow mode).
	if got := events(t, b); len(got) != 2 || got[0] != "join:ann" || got[1] != "focus:ann" {
		t.Fatalf("bob saw %v", got)
	}
	tr.Leave("p", b)
	if got := events(t, a); len(got) != 1 || got[0] != "leave:bob" {
		t.Fatalf("ann saw %v", got)
	}
}

func TestCursorsAreConvertedPerReceiver(t *testing.T) {
	ref := protocol.DocRef{Project: "p", Path: "u.txt"}
	text := "line\n🦆中e\u0301x\n"
	tr := presence.New(presence.Options{Text: func(r protocol.DocRef) (string, bool) { return text, r == ref }})
	defer tr.Close()
	in := map[string]*inbox{}
	for _, enc := range []string{protocol.EncodingUTF8, protocol.EncodingUTF16, protocol.EncodingUTF32} {
		in[enc] = &inbox{}
		tr.Join("p", presence.Member{Conn: in[enc], Person: person(enc), Encoding: enc})
	}
	// Before the "x" on line 1: 🦆 中 e ◌́ = 4+3+1+2 bytes, 2+1+1+1 UTF-16
	// units, 4 code points.
	want := map[string]uint32{protocol.EncodingUTF8: 10, protocol.EncodingUTF16: 5, protocol.EncodingUTF32: 4}
	for from, fromIn := range in {
		for _, i := range in {
			i.take()
		}
		pos := protocol.Position{Line: 1, Character: want[from]}
		tr.Cursor(fromIn, protocol.CursorParams{DocRef: ref, Selections: []protocol.Selection{{Anchor: pos, Head: pos}}})
		for to, toIn := range in {
			got := toIn.cursors(t)
			if to == from {
				if len(got) != 0 {
					t.Fatalf("%s got its own cursor back", from)
				}
				continue
			}
			if len(got) != 1 || got[0].Selections[0].Head != (protocol.Position{Line: 1, Character: want[to]}) || got[0].Person.Name != from {
				t.Fatalf("%s -> %s: %+v", from, to, got)
			}
		}
	}
}

func TestStaleCursorsExpire(t *testing.T) {
	tr := presence.New(presence.Options{CursorTTL: 50 * time.Millisecond})
	defer tr.Close()
	a, b := &inbox{}, &inbox{}
	tr.Join("p", presence.Member{Conn: a, Person: person("ann")})
	tr.Join("p", presence.Member{Conn: b, Person: person("bob")})
	ref := protocol.DocRef{Project: "p", Path: "x"}
	tr.Cursor(a, protocol.CursorParams{DocRef: ref, Selections: []protocol.Selection{{}}})
	b.take()
	deadline := time.Now().Add(5 * time.Second)
	for {
		if cs := b.cursors(t); len(cs) == 1 && len(cs[0].Selections) == 0 {
			return // cleared
		}
		if time.Now().After(deadline) {
			t.Fatal("stale cursor not cleared")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestCatchUpIsBounded(t *testing.T) {
	tr := presence.New(presence.Options{})
	defer tr.Close()
	for i := range 3 * presence.MaxCatchUp {
		tr.Join("p", presence.Member{Conn: &inbox{}, Person: person(string(rune('a' + i%26)))})
	}
	late := &inbox{}
	tr.Join("p", presence.Member{Conn: late, Person: person("late")})
	if n := len(late.take()); n > presence.MaxCatchUp {
		t.Fatalf("newcomer sent %d catch-up messages", n)
	}
}
