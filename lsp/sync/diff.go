package sync

import (
	"unicode/utf8"

	udiff "github.com/aymanbagabas/go-udiff"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
)

// Diff returns the changes that turn text a into text b, as sequential
// code point changes (the shape Doc.Apply returns): small edits for small
// differences, so an outside change to a file (a formatter, git checkout)
// becomes edits that leave everyone's cursors and concurrent typing alone.
func Diff(a, b string) []crdt.Change {
	return changesOf(diffOp(a, b))
}

// Rebase returns the changes that carry the difference between base and
// next over to current, a text that also descends from base: a file changed
// on disk (base -> next) while people edited the open document (base ->
// current). Their edits stay; the disk's edits land where they belong.
func Rebase(base, current, next string) []crdt.Change {
	if base == current {
		return Diff(current, next)
	}
	ours, _ := transform(diffOp(base, next), diffOp(base, current))
	return changesOf(ours)
}

// changesOf lists o's edits as sequential changes.
func changesOf(o op) []crdt.Change {
	var out []crdt.Change
	shift := 0
	for _, e := range o.edits() {
		out = append(out, crdt.Change{Pos: e.pos + shift, Delete: e.del, Insert: e.ins})
		shift += utf8.RuneCountInString(e.ins) - e.del
	}
	return out
}

// diffOp is Diff as an op on a.
func diffOp(a, b string) op {
	if a == b {
		return identity(utf8.RuneCountInString(a))
	}
	e := trimEdit(a, b)
	if e.del == 0 || e.ins == "" {
		// A pure insertion or deletion: nothing to search.
		return replaceOp(utf8.RuneCountInString(a), e.pos, e.del, e.ins)
	}
	var bld builder
	prev := 0 // byte offset in a
	for _, d := range udiff.Strings(a, b) {
		bld.retain(utf8.RuneCountInString(a[prev:d.Start]))
		bld.insert(d.New)
		bld.delete(utf8.RuneCountInString(a[d.Start:d.End]))
		prev = d.End
	}
	bld.retain(utf8.RuneCountInString(a[prev:]))
	return bld.o
}
