package sync_test

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
)

// applyChanges runs sequential code point changes on text.
func applyChanges(text string, changes []crdt.Change) string {
	r := []rune(text)
	for _, c := range changes {
		r = append(r[:c.Pos:c.Pos], append([]rune(c.Insert), r[c.Pos+c.Delete:]...)...)
	}
	return string(r)
}

// randomText mixes ASCII, multi-byte characters and newlines.
func randomText(rng *rand.Rand, n int) string {
	alphabet := []rune("ab \n\té中🦆")
	r := make([]rune, n)
	for i := range r {
		r[i] = alphabet[rng.IntN(len(alphabet))]
	}
	return string(r)
}

// mutate makes a few random edits to s.
func mutate(rng *rand.Rand, s string) string {
	r := []rune(s)
	for range 1 + rng.IntN(4) {
		pos := rng.IntN(len(r) + 1)
		del := 0
		if pos < len(r) {
			del = rng.IntN(min(5, len(r)-pos) + 1)
		}
		ins := []rune(randomText(rng, rng.IntN(4)))
		r = append(r[:pos:pos], append(ins, r[pos+del:]...)...)
	}
	return string(r)
}

// TestDiffTurnsAIntoB: Diff's changes, applied in order, turn a into b.
func TestDiffTurnsAIntoB(t *testing.T) {
	tests := []struct{ a, b string }{
		{"", ""},
		{"", "new"},
		{"old", ""},
		{"same\n", "same\n"},
		{"héllo wörld\n", "hello world\n"},
		{"🦆🦆\n", "🦆x🦆\n"},
		{"a\nb\nc\n", "a\nB\nc\nd\n"},
	}
	for _, tt := range tests {
		if got := applyChanges(tt.a, lsync.Diff(tt.a, tt.b)); got != tt.b {
			t.Errorf("Diff(%q, %q) applied gives %q", tt.a, tt.b, got)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 500 {
		a := randomText(rng, rng.IntN(200))
		b := mutate(rng, a)
		if got := applyChanges(a, lsync.Diff(a, b)); got != b {
			t.Fatalf("case %d: Diff(%q, %q) applied gives %q", i, a, b, got)
		}
	}
}

// TestRebaseKeepsBothSides: a disk change (base -> next) carried over to a
// document people edited meanwhile (base -> current) keeps their edits and
// lands the disk's where they belong, when the two touch different lines.
func TestRebaseKeepsBothSides(t *testing.T) {
	tests := []struct{ base, current, next, want string }{
		{"a\nb\nc\n", "a\nb\nc\n", "a\nB\nc\n", "a\nB\nc\n"},
		{"a\nb\nc\n", "a!\nb\nc\n", "a\nb\nC\n", "a!\nb\nC\n"},
		{"package main\n\nfunc main() {}\n", "package main\n\nfunc main() {}\n// mine\n", "// Package main.\npackage main\n\nfunc main() {}\n",
			"// Package main.\npackage main\n\nfunc main() {}\n// mine\n"},
		{"x 🦆 y\nz\n", "x 🦆 y\nz!\n", "x 🦆🦆 y\nz\n", "x 🦆🦆 y\nz!\n"},
	}
	for i, tt := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if got := applyChanges(tt.current, lsync.Rebase(tt.base, tt.current, tt.next)); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}
