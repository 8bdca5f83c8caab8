package crdt

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// op is one step of a table-driven scenario.
type op struct {
	kind   string // ins, del, undo, redo
	author string
	pos, n int
	text   string
}

func ins(author string, pos int, text string) op {
	return op{kind: "ins", author: author, pos: pos, text: text}
}
func del(author string, pos, n int) op { return op{kind: "del", author: author, pos: pos, n: n} }
func undo(author string) op            { return op{kind: "undo", author: author} }
func redo(author string) op            { return op{kind: "redo", author: author} }

func run1(t *testing.T, d *Doc, o op) ([]byte, error) {
	t.Helper()
	switch o.kind {
	case "ins":
		return d.Insert(o.author, o.pos, o.text)
	case "del":
		return d.Delete(o.author, o.pos, o.n)
	case "undo":
		u, _, err := d.Undo(o.author)
		return u, err
	case "redo":
		u, _, err := d.Redo(o.author)
		return u, err
	}
	t.Fatalf("unknown op %q", o.kind)
	return nil, nil
}

func TestLocalEdits(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
		want string
	}{
		{"typing forward", []op{ins("a", 0, "h"), ins("a", 1, "e"), ins("a", 2, "y")}, "hey"},
		{"insert in the middle of a run", []op{ins("a", 0, "held"), ins("a", 2, "llo wor")}, "hello world"},
		{"insert at start", []op{ins("a", 0, "world"), ins("a", 0, "hello ")}, "hello world"},
		{"backspacing", []op{ins("a", 0, "abcd"), del("a", 3, 1), del("a", 2, 1), del("a", 1, 1)}, "a"},
		{"delete across runs", []op{ins("a", 0, "abc"), ins("b", 3, "def"), ins("a", 6, "ghi"), del("a", 2, 5)}, "abhi"},
		{"retype after delete", []op{ins("a", 0, "helo"), del("a", 3, 1), ins("a", 3, "lo")}, "hello"},
		{"code points, not bytes", []op{ins("a", 0, "😀é€"), ins("a", 1, "x"), del("a", 3, 1)}, "😀xé"},
		{"delete everything then type", []op{ins("a", 0, "abc"), del("a", 0, 3), ins("a", 0, "z")}, "z"},
		{"empty insert is a no-op", []op{ins("a", 0, "ab"), ins("a", 1, "")}, "ab"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(1)
			for _, o := range tc.ops {
				if _, err := run1(t, d, o); err != nil {
					t.Fatalf("%+v: %v", o, err)
				}
			}
			if d.Text() != tc.want || d.Len() != Count(tc.want, CodePoint) {
				t.Fatalf("text %q (len %d), want %q", d.Text(), d.Len(), tc.want)
			}
			// a replica fed the state agrees
			r := New(2)
			if _, err := r.Apply(d.EncodeState()); err != nil || r.Text() != tc.want {
				t.Fatalf("replica text %q, err %v", r.Text(), err)
			}
		})
	}
}

func TestLocalEditErrors(t *testing.T) {
	tests := []struct {
		name string
		op   op
		err  error
	}{
		{"insert past end", ins("a", 4, "x"), ErrOutOfRange},
		{"insert before start", ins("a", -1, "x"), ErrOutOfRange},
		{"delete past end", del("a", 2, 2), ErrOutOfRange},
		{"negative delete", del("a", 0, -1), ErrOutOfRange},
		{"invalid UTF-8", ins("a", 0, "\xff"), ErrInvalidText},
		{"nothing to undo", undo("zed"), ErrNothingToUndo},
		{"nothing to redo", redo("a"), ErrNothingToUndo},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(1)
			d.Insert("a", 0, "abc")
			state := d.EncodeState()
			if _, err := run1(t, d, tc.op); !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if d.Text() != "abc" || string(d.EncodeState()) != string(state) {
				t.Fatalf("failed edit changed the document")
			}
		})
	}
}

// TestNoInterleaving checks the property that made us choose YjsMod
// (FugueMax): two people typing at the same place concurrently, forward or
// backward (each letter before the previous one), get their words one after
// the other, never letter-interleaved.
func TestNoInterleaving(t *testing.T) {
	type typer func(d *Doc, author, word string) [][]byte
	forward := func(d *Doc, author, word string) [][]byte {
		var out [][]byte
		for i, c := range []rune(word) {
			u, _ := d.Insert(author, 1+i, string(c))
			out = append(out, u)
		}
		return out
	}
	backward := func(d *Doc, author, word string) [][]byte {
		var out [][]byte
		rs := []rune(word)
		for i := len(rs) - 1; i >= 0; i-- {
			u, _ := d.Insert(author, 1, string(rs[i]))
			out = append(out, u)
		}
		return out
	}
	tests := []struct {
		name   string
		ta, tb typer
	}{
		{"both forward", forward, forward},
		{"both backward", backward, backward},
		{"forward and backward", forward, backward},
	}
	for _, tc := range tests {
		for _, ids := range [][2]ReplicaID{{1, 2}, {2, 1}, {0xffffffffffff, 7}} {
			base := New(ids[0])
			u0, _ := base.Insert("x", 0, "[]")
			a, b := New(ids[0]), New(ids[1])
			a.Apply(u0)
			b.Apply(u0)
			ua := tc.ta(a, "a", "alice")
			ub := tc.tb(b, "b", "bob")
			for _, u := range ub {
				a.Apply(u)
			}
			for _, u := range ua {
				b.Apply(u)
			}
			if a.Text() != b.Text() {
				t.Fatalf("%s: diverged: %q vs %q", tc.name, a.Text(), b.Text())
			}
			if got := a.Text(); got != "[alicebob]" && got != "[bobalice]" {
				t.Fatalf("%s: interleaved: %q", tc.name, got)
			}
		}
	}
}

func TestApplyReturnsChanges(t *testing.T) {
	a, b := New(1), New(2)
	var ups [][]byte
	step := func(u []byte, err error) {
		if err != nil {
			t.Fatal(err)
		}
		ups = append(ups, u)
	}
	step(a.Insert("a", 0, "hello world"))
	step(a.Insert("a", 5, ","))
	step(a.Delete("a", 7, 5))
	step(a.Insert("a", 7, "there"))
	want := [][]Change{
		{{Pos: 0, Insert: "hello world"}},
		{{Pos: 5, Insert: ","}},
		{{Pos: 7, Delete: 5}},
		{{Pos: 7, Insert: "there"}},
	}
	for i, u := range ups {
		cs, err := b.Apply(u)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != len(want[i]) || cs[0] != want[i][0] {
			t.Fatalf("update %d: changes %+v, want %+v", i, cs, want[i])
		}
	}
	// duplicates cause no changes
	for _, u := range ups {
		if cs, _ := b.Apply(u); len(cs) != 0 {
			t.Fatalf("duplicate caused %+v", cs)
		}
	}
	if b.Text() != "hello, there" {
		t.Fatalf("text %q", b.Text())
	}
}

func TestOutOfOrderDelivery(t *testing.T) {
	a := New(1)
	var ups [][]byte
	for i, w := range []string{"one ", "two ", "three "} {
		u, _ := a.Insert("a", a.Len(), w)
		ups = append(ups, u)
		if i == 1 {
			u, _ = a.Delete("a", 0, 4)
			ups = append(ups, u)
		}
	}
	b := New(2)
	for i := len(ups) - 1; i >= 0; i-- {
		b.Apply(ups[i])
		if i > 0 && b.PendingLen() == 0 {
			t.Fatalf("update %d applied before its dependencies", i)
		}
	}
	if b.Text() != a.Text() || b.PendingLen() != 0 {
		t.Fatalf("text %q pending %d, want %q", b.Text(), b.PendingLen(), a.Text())
	}
}

func TestStateVectorSync(t *testing.T) {
	a, b := New(1), New(2)
	u, _ := a.Insert("a", 0, "shared ")
	b.Apply(u)
	a.Insert("a", 7, "alpha ")
	a.Delete("a", 0, 1)
	b.Insert("b", 0, "beta ")

	sv, err := DecodeStateVector(b.StateVector().Encode())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Apply(a.EncodeSince(sv)); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Apply(b.EncodeSince(a.StateVector())); err != nil {
		t.Fatal(err)
	}
	if a.Text() != b.Text() {
		t.Fatalf("%q vs %q", a.Text(), b.Text())
	}
	// nothing new: the answer is small and changes nothing
	since := a.EncodeSince(b.StateVector())
	if cs, err := b.Apply(since); err != nil || len(cs) != 0 {
		t.Fatalf("up-to-date sync changed %+v (%v)", cs, err)
	}
	if len(since) >= len(a.EncodeState()) {
		t.Fatalf("EncodeSince an equal state (%d bytes) is not smaller than the whole state", len(since))
	}
}

func TestUndoRedo(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
		want string
	}{
		{"undo own insert", []op{ins("ann", 0, "hello"), undo("ann")}, ""},
		{"undo leaves others' text", []op{ins("ann", 0, "hello"), ins("bob", 5, " world"), undo("ann")}, " world"},
		{"undo own delete restores in place", []op{ins("bob", 0, "abcdef"), del("ann", 2, 2), ins("bob", 0, ">"), undo("ann")}, ">abcdef"},
		{"redo", []op{ins("ann", 0, "abc"), del("ann", 1, 1), undo("ann"), redo("ann")}, "ac"},
		{"undo twice", []op{ins("ann", 0, "abc"), del("ann", 0, 1), undo("ann"), undo("ann")}, ""},
		{"undo redo undo", []op{ins("ann", 0, "abc"), undo("ann"), redo("ann"), undo("ann")}, ""},
		{"new edit clears redo", []op{ins("ann", 0, "a"), undo("ann"), ins("ann", 0, "b"), redo("ann")}, "b"},
		{"undo insert others partly deleted", []op{ins("ann", 0, "abc"), del("bob", 1, 1), undo("ann")}, ""},
		{"bob's undo ignores ann", []op{ins("ann", 0, "ann"), ins("bob", 3, "bob"), undo("bob"), undo("bob")}, "ann"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := New(1, WithUndoGroup(0), WithClock(fixedClock()))
			other := New(2)
			for _, o := range tc.ops {
				u, err := run1(t, d, o)
				if err != nil && !errors.Is(err, ErrNothingToUndo) {
					t.Fatalf("%+v: %v", o, err)
				}
				if u != nil {
					if _, err := other.Apply(u); err != nil {
						t.Fatal(err)
					}
				}
			}
			if d.Text() != tc.want {
				t.Fatalf("text %q, want %q", d.Text(), tc.want)
			}
			if other.Text() != tc.want {
				t.Fatalf("replica text %q, want %q", other.Text(), tc.want)
			}
		})
	}
}

// TestUndoWhileOthersEdit: ann's undo runs on her replica while bob keeps
// typing on his; both converge and bob's text survives.
func TestUndoWhileOthersEdit(t *testing.T) {
	a := New(1, WithUndoGroup(0), WithClock(fixedClock()))
	b := New(2, WithUndoGroup(0), WithClock(fixedClock()))
	sync := func() {
		b.Apply(a.EncodeSince(b.StateVector()))
		a.Apply(b.EncodeSince(a.StateVector()))
	}
	a.Insert("ann", 0, "The quick fox.")
	sync()
	a.Delete("ann", 4, 6) // "The fox."
	b.Insert("bob", 14, " It jumps.")
	u, cs, err := a.Undo("ann")
	if err != nil || u == nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || cs[0] != (Change{Pos: 4, Insert: "quick "}) {
		t.Fatalf("undo changes %+v", cs)
	}
	b.Insert("bob", 0, "> ")
	sync()
	if a.Text() != "> The quick fox. It jumps." || b.Text() != a.Text() {
		t.Fatalf("a %q b %q", a.Text(), b.Text())
	}
}

func TestUndoGrouping(t *testing.T) {
	now := time.Unix(1000, 0)
	clock := func() time.Time { return now }
	d := New(1, WithClock(clock)) // default 500ms window
	for i, c := range "hello" {
		d.Insert("ann", i, string(c))
		now = now.Add(100 * time.Millisecond)
	}
	now = now.Add(time.Second)
	d.Insert("ann", 5, " world")
	d.Undo("ann")
	if d.Text() != "hello" {
		t.Fatalf("first undo should remove the last burst, got %q", d.Text())
	}
	d.Undo("ann")
	if d.Text() != "" {
		t.Fatalf("second undo should remove the typed word, got %q", d.Text())
	}
}

func TestAttribution(t *testing.T) {
	base := time.Unix(1_700_000_000, 0).UTC()
	now := base
	d := New(1, WithClock(func() time.Time { return now }))
	d.Insert("ann", 0, "hello world")
	now = base.Add(10 * time.Minute)
	d.Insert("ai", 5, ", dear")
	d.Delete("ann", 0, 1)
	remote := New(2)
	remote.Apply(d.EncodeState())
	want := []Span{
		{Pos: 0, Len: 4, Author: "ann", Time: base},
		{Pos: 4, Len: 6, Author: "ai", Time: base.Add(10 * time.Minute)},
		{Pos: 10, Len: 6, Author: "ann", Time: base},
	}
	for name, doc := range map[string]*Doc{"local": d, "remote": remote} {
		got := doc.Attribution()
		if len(got) != len(want) {
			t.Fatalf("%s: spans %+v", name, got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: span %d = %+v, want %+v", name, i, got[i], want[i])
			}
		}
	}
}

func TestConvert(t *testing.T) {
	s := "aé😀b" // bytes 1+2+4+1, utf16 1+1+2+1, code points 4
	tests := []struct {
		off      int
		from, to Unit
		want     int
		bad      bool
	}{
		{0, CodePoint, UTF8, 0, false},
		{2, CodePoint, UTF8, 3, false},
		{3, CodePoint, UTF8, 7, false},
		{4, CodePoint, UTF8, 8, false},
		{3, CodePoint, UTF16, 4, false},
		{4, UTF16, CodePoint, 3, false},
		{3, UTF16, UTF8, 0, true}, // inside the surrogate pair
		{7, UTF8, UTF16, 4, false},
		{2, UTF8, CodePoint, 0, true}, // inside é
		{5, CodePoint, UTF8, 0, true},
		{9, UTF8, UTF8, 0, true},
		{5, UTF16, UTF16, 5, false},
		{-1, UTF8, UTF16, 0, true},
	}
	for _, tc := range tests {
		got, err := Convert(s, tc.off, tc.from, tc.to)
		if (err != nil) != tc.bad || !tc.bad && got != tc.want {
			t.Errorf("Convert(%d, %v->%v) = %d, %v; want %d (error %v)", tc.off, tc.from, tc.to, got, err, tc.want, tc.bad)
		}
	}
	if Count(s, UTF16) != 5 || Count(s, UTF8) != 8 || Count(s, CodePoint) != 4 {
		t.Error("Count")
	}
}

// TestMalformedUpdates: every truncation and many corruptions of real
// updates are rejected (or accepted consistently) without changing the doc.
func TestMalformedUpdates(t *testing.T) {
	for _, u := range sampleUpdates() {
		for cut := 0; cut < len(u); cut++ {
			d := New(9)
			d.Insert("x", 0, "keep")
			before := d.EncodeState()
			if _, err := d.Apply(u[:cut]); err == nil {
				t.Fatalf("truncated update (%d of %d bytes) accepted", cut, len(u))
			} else if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			if string(d.EncodeState()) != string(before) {
				t.Fatal("rejected update changed the doc")
			}
		}
	}
	if _, err := New(1).Apply(nil); !errors.Is(err, ErrMalformed) {
		t.Fatal("empty update accepted")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	d := synthDoc(5000, 42)
	snap := d.EncodeState()
	l, err := Load(5, snap)
	if err != nil {
		t.Fatal(err)
	}
	if l.Text() != d.Text() || attrString(l) != attrString(d) {
		t.Fatal("snapshot lost text or attribution")
	}
	// the loaded replica keeps editing and merging with the original
	u1, _ := l.Insert("x", 10, "LOADED")
	u2, _ := d.Insert("y", 10, "ORIGINAL")
	d.Apply(u1)
	l.Apply(u2)
	if l.Text() != d.Text() || !strings.Contains(l.Text(), "LOADED") {
		t.Fatal("loaded replica diverged")
	}
}
