package sync

import (
	"time"
	"unicode/utf8"

	"github.com/sergi/go-diff/diffmatchpatch"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
)

// diffTimeout bounds the search for a minimal diff; past it the diff is
// still correct, only less minimal.
const diffTimeout = 200 * time.Millisecond

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
	dmp := diffmatchpatch.New()
	dmp.DiffTimeout = diffTimeout
	diffs := dmp.DiffMainRunes([]rune(a), []rune(b), false)
	var bld builder
	for _, d := range diffs {
		n := utf8.RuneCountInString(d.Text)
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			bld.retain(n)
		case diffmatchpatch.DiffDelete:
			bld.delete(n)
		case diffmatchpatch.DiffInsert:
			bld.insert(d.Text)
		}
	}
	return bld.o
}
