package crdt

import (
	"time"
	"unicode/utf8"
)

// maxUndo (up to twice as many, trimmed in batches) bounds each author's undo history so a long session cannot hold
// unbounded deleted text in memory.
const maxUndo = 1000

// segment is text that was deleted starting at tombstone at; undoing the
// deletion re-inserts the text right before that tombstone.
type segment struct {
	at   id
	text []byte
}

// action is one reversible step: delete characters (undo of an insert) or
// restore deleted text (undo of a delete).
type action struct {
	dels []idSpan
	segs []segment
}

type undoEntry struct {
	acts []action
	t    time.Time
}

type undoState struct{ undo, redo []undoEntry }

// pushUndo records the inverse of a local edit by author, grouping it with
// the previous step when it came within the undo group window.
func (d *Doc) pushUndo(author string, t time.Time, acts ...action) {
	st := d.undo[author]
	if st == nil {
		st = &undoState{}
		d.undo[author] = st
	}
	st.redo = st.redo[:0]
	if k := len(st.undo) - 1; k >= 0 && d.undoGroup > 0 {
		if dt := t.Sub(st.undo[k].t); dt >= 0 && dt < d.undoGroup {
			st.undo[k].acts = append(st.undo[k].acts, acts...)
			st.undo[k].t = t
			return
		}
	}
	if len(st.undo) >= 2*maxUndo { // trim in batches: O(1) amortised
		st.undo = append(st.undo[:0], st.undo[len(st.undo)-maxUndo:]...)
		clear(st.undo[maxUndo:cap(st.undo)])
	}
	st.undo = append(st.undo, undoEntry{acts: acts, t: t})
}

// Undo reverts author's most recent undo step (only characters that author
// inserted or deleted; everyone else's edits stay) and returns the update to
// broadcast plus the text changes for the local editor. Edits by others made
// meanwhile are kept: inserted text that others already deleted stays
// deleted, and restored text goes back where it was relative to its
// neighbours. A step that would change nothing (others have since deleted
// all the text it inserted) is passed over for the one before it, so every
// Undo that succeeds changes the text, as the person expects.
func (d *Doc) Undo(author string) ([]byte, []Change, error) {
	return d.undoVisible(author, false)
}

// Redo re-applies the step author most recently undid. Any new local edit by
// that author clears the redo stack, as in every editor.
func (d *Doc) Redo(author string) ([]byte, []Change, error) {
	return d.undoVisible(author, true)
}

// undoVisible runs undo (or redo) steps until one changes the text or none
// is left.
func (d *Doc) undoVisible(author string, redo bool) ([]byte, []Change, error) {
	for {
		u, changes, err := d.undoRedo(author, redo)
		if err != nil || u != nil || len(changes) > 0 {
			return u, changes, err
		}
	}
}

func (d *Doc) undoRedo(author string, redo bool) ([]byte, []Change, error) {
	st := d.undo[author]
	if st == nil {
		return nil, nil, ErrNothingToUndo
	}
	from, to := &st.undo, &st.redo
	if redo {
		from, to = to, from
	}
	if len(*from) == 0 {
		return nil, nil, ErrNothingToUndo
	}
	e := (*from)[len(*from)-1]
	*from = (*from)[:len(*from)-1]

	now := d.now()
	au := d.author(author)
	start := d.agents[d.me].next
	d.txDels = d.txDels[:0]
	d.track = true
	inv := undoEntry{t: now}
	for i := len(e.acts) - 1; i >= 0; i-- {
		act := e.acts[i]
		var back action
		for _, sp := range act.dels {
			d.deleteFollowing(sp, &back.segs)
		}
		for _, sg := range act.segs {
			if n := d.restore(sg, au, now.Unix()); n > 0 {
				to := d.agents[d.me].next - uint32(n)
				back.dels = append(back.dels, idSpan{d.me, to, n})
				d.linkRedone(redoLink{from: idSpan{sg.at.a, sg.at.s, n}, to: to})
			}
		}
		inv.acts = append(inv.acts, back)
	}
	*to = append(*to, inv)
	changes := d.takeChanges()
	return d.encodeTx(start, d.txDels), changes, nil
}

// restore re-inserts sg.text right before its tombstone and returns the
// number of code points inserted.
func (d *Doc) restore(sg segment, au uint32, t int64) int {
	if len(sg.text) == 0 {
		return 0
	}
	it := d.itemAt(sg.at)
	if it.s < sg.at.s {
		it = d.split(it, int(sg.at.s-it.s))
	}
	bi, ii := it.blk.idx, indexOf(it.blk, it)
	var left *item
	switch {
	case ii > 0:
		left = d.blocks[bi].items[ii-1]
	case bi > 0:
		pb := d.blocks[bi-1]
		left = pb.items[len(pb.items)-1]
	}
	n := utf8.RuneCount(sg.text)
	text := append([]byte(nil), sg.text...)
	placed := d.place(bi, ii, left, text, n, au, t)
	if d.track {
		d.addChange(Change{Pos: d.visPos(placed) + placed.n - n, Insert: string(sg.text)}, n)
	}
	return n
}

// redoLink says that the characters of from were deleted and later restored
// by an undo as our characters starting at seq to. Undo entries name the
// original characters; following the links makes "undo the insert" also
// remove a copy that an intermediate undo restored (as Yjs's redone
// pointers do).
type redoLink struct {
	from idSpan
	to   uint32
}

// maxLinks bounds the redo links kept (older undo history may then leave a
// restored copy behind, which only affects very old undo steps).
const maxLinks = 4096

func (d *Doc) linkRedone(l redoLink) {
	if len(d.redone) >= 2*maxLinks {
		d.redone = append(d.redone[:0], d.redone[len(d.redone)-maxLinks:]...)
	}
	d.redone = append(d.redone, l)
}

// deleteFollowing deletes span and, transitively, every restored copy of
// its characters.
func (d *Doc) deleteFollowing(span idSpan, segs *[]segment) {
	work := []idSpan{span}
	for steps := 0; len(work) > 0 && steps < 1<<16; steps++ {
		sp := work[len(work)-1]
		work = work[:len(work)-1]
		d.deleteSpan(sp, segs)
		end := sp.s + uint32(sp.n)
		for _, l := range d.redone {
			f := l.from
			fe := f.s + uint32(f.n)
			if f.a != sp.a || fe <= sp.s || f.s >= end {
				continue
			}
			lo, hi := max(f.s, sp.s), min(fe, end)
			work = append(work, idSpan{d.me, l.to + (lo - f.s), int(hi - lo)})
		}
	}
}

// DropUndo forgets author's undo and redo history, releasing the deleted
// text it holds (the only copies of deleted text a Doc keeps). The hub calls
// it when an author leaves a document.
func (d *Doc) DropUndo(author string) { delete(d.undo, author) }
