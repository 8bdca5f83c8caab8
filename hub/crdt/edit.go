package crdt

import (
	"fmt"
	"math"
	"slices"
	"time"
	"unicode/utf8"
)

// idSpan is n consecutive characters of one agent.
type idSpan struct {
	a, s uint32
	n    int
}

// Insert inserts text at code point pos on behalf of author (a person's id,
// or "disk" / "ai") and returns the update to send to the other replicas. An
// empty text is a no-op and returns a nil update.
func (d *Doc) Insert(author string, pos int, text string) ([]byte, error) {
	return d.Replace(author, pos, 0, text)
}

// Delete deletes n code points starting at pos on behalf of author and
// returns the update to send to the other replicas. Deleting nothing is a
// no-op and returns a nil update.
func (d *Doc) Delete(author string, pos, n int) ([]byte, error) {
	return d.Replace(author, pos, n, "")
}

// Replace deletes n code points at pos and inserts text there, as one update
// and one undo step: the shape of an editor's didChange and of a trace patch.
func (d *Doc) Replace(author string, pos, n int, text string) ([]byte, error) {
	if pos < 0 || n < 0 || pos > d.vis || n > d.vis-pos {
		return nil, fmt.Errorf("replace %d at %d in text of length %d: %w", n, pos, d.vis, ErrOutOfRange)
	}
	if !utf8.ValidString(text) {
		return nil, ErrInvalidText
	}
	if n == 0 && text == "" {
		return nil, nil
	}
	me := d.agents[d.me]
	ins := utf8.RuneCountInString(text)
	if uint64(me.next)+uint64(ins) > math.MaxUint32 {
		return nil, fmt.Errorf("insert: replica has used all its sequence numbers: %w", ErrOutOfRange)
	}
	now := d.now()
	start := me.next
	d.txDels = d.txDels[:0]
	acts := make([]action, 0, 2)
	if n > 0 {
		acts = append(acts, action{segs: d.deleteVisible(pos, n)})
	}
	if ins > 0 {
		d.insertVisible(pos, []byte(text), ins, d.author(author), now.Unix())
		acts = append(acts, action{dels: []idSpan{{d.me, start, ins}}})
	}
	d.pushUndo(author, now, acts...)
	return d.encodeTx(start, d.txDels), nil
}

// insertVisible inserts text at visible position pos: right after the
// visible character before pos (before any tombstones that follow it), as
// Yjs does.
func (d *Doc) insertVisible(pos int, text []byte, n int, au uint32, t int64) {
	if pos == 0 {
		d.place(0, 0, nil, text, n, au, t)
		return
	}
	bi, ii, off := d.findVis(pos - 1)
	left := d.blocks[bi].items[ii]
	if off+1 < left.n {
		d.split(left, off+1)
		bi, ii = left.blk.idx, indexOf(left.blk, left)
	}
	d.place(bi, ii+1, left, text, n, au, t)
}

// place inserts a new local run before position (bi, ii), whose preceding
// item is left (nil at the document start). Typing forward extends the
// previous run instead of creating an item.
func (d *Doc) place(bi, ii int, left *item, text []byte, n int, au uint32, t int64) *item {
	right := d.at(bi, ii)
	rid := none
	if right != nil {
		rid = id{right.a, right.s}
	}
	me := d.agents[d.me]
	start := me.next
	var it *item
	if left != nil && left.a == d.me && left.s+uint32(left.n) == start && !left.dead() && left.r == rid {
		left.text = append(left.text, text...)
		left.n += n
		d.addVis(left.blk, n)
		it = left
	} else {
		lid := none
		if left != nil {
			lid = left.last()
		}
		it = new(item) // local runs are few (typing extends them) and may be merged away
		*it = item{a: d.me, s: start, n: n, l: lid, r: rid, text: text}
		d.insertAt(bi, ii, it)
		me.push(it)
	}
	me.next += uint32(n)
	me.addAttr(start, au, t, true)
	return it
}

// deleteVisible deletes n visible characters at pos and returns what was
// deleted, in document order, for undo.
func (d *Doc) deleteVisible(pos, n int) []segment {
	var segs []segment
	for n > 0 {
		bi, ii, off := d.findVis(pos)
		it := d.blocks[bi].items[ii]
		if off > 0 {
			it = d.split(it, off)
		}
		if it.n > n {
			d.split(it, n)
		}
		segs = append(segs, segment{at: id{it.a, it.s}, text: it.text})
		n -= it.n
		d.markDeleted(it)
	}
	return segs
}

// deleteSpan deletes whichever characters of span are still visible,
// recording changes when tracking and segments when segs is non-nil.
func (d *Doc) deleteSpan(sp idSpan, segs *[]segment) {
	ag := d.agents[sp.a]
	s, end := sp.s, sp.s+uint32(sp.n)
	for s < end {
		it := ag.get(s)
		if it.dead() {
			s = it.s + uint32(it.n)
			continue
		}
		if it.s < s {
			it = d.split(it, int(s-it.s))
		}
		if it.s+uint32(it.n) > end {
			d.split(it, int(end-it.s))
		}
		if d.track {
			d.addChange(Change{Pos: d.visPos(it), Delete: it.n}, 0)
		}
		if segs != nil {
			*segs = append(*segs, segment{at: id{it.a, it.s}, text: it.text})
		}
		s = it.s + uint32(it.n)
		d.markDeleted(it)
	}
}

// markDeleted turns it into a tombstone and merges it with neighbouring
// tombstones it continues, so deleted runs cost one item, not one per
// backspace. Callers must not use it afterwards (it may be merged away).
func (d *Doc) markDeleted(it *item) {
	it.text = nil
	d.addVis(it.blk, -it.n)
	d.recordDel(it)
	b := it.blk
	i := indexOf(b, it)
	if i+1 < len(b.items) && d.mergeable(it, b.items[i+1]) {
		d.absorb(b, i)
	}
	if i > 0 && d.mergeable(b.items[i-1], it) {
		d.absorb(b, i-1)
	}
}

// mergeable reports whether tombstone r continues tombstone l exactly as if
// they had never been split.
func (d *Doc) mergeable(l, r *item) bool {
	return l.dead() && r.dead() && l.a == r.a && r.s == l.s+uint32(l.n) && r.l == l.last() && r.r == l.r
}

// absorb merges b.items[i+1] into b.items[i].
func (d *Doc) absorb(b *block, i int) {
	l, r := b.items[i], b.items[i+1]
	l.n += r.n
	b.items = slices.Delete(b.items, i+1, i+2)
	ag := d.agents[r.a]
	ci, fi := ag.find(r.s)
	ag.frags[ci] = slices.Delete(ag.frags[ci], fi, fi+1)
	if len(ag.frags[ci]) == 0 {
		ag.frags = slices.Delete(ag.frags, ci, ci+1)
	}
}

func (d *Doc) recordDel(it *item) {
	if k := len(d.txDels) - 1; k >= 0 && d.txDels[k].a == it.a && d.txDels[k].s+uint32(d.txDels[k].n) == it.s {
		d.txDels[k].n += it.n
	} else {
		d.txDels = append(d.txDels, idSpan{it.a, it.s, it.n})
	}
}

// addChange appends c to the changes of the current call, merging it into
// the previous change when it continues it; insN is c's inserted length.
func (d *Doc) addChange(c Change, insN int) {
	if k := len(d.changes) - 1; k >= 0 {
		last := &d.changes[k]
		if c.Pos == last.Pos+d.lastInsN && (c.Delete == 0 || c.Insert == "") {
			last.Delete += c.Delete
			last.Insert += c.Insert
			d.lastInsN += insN
			return
		}
	}
	d.changes = append(d.changes, c)
	d.lastInsN = insN
}

// takeChanges ends change tracking and returns what was collected.
func (d *Doc) takeChanges() []Change {
	d.track = false
	c := d.changes
	d.changes = nil
	return c
}

// attrRun says that the agent's characters from s up to the next run were
// written by author at unix time t (seconds).
type attrRun struct {
	s      uint32
	author uint32
	t      int64
}

// addAttr records attribution for characters starting at s (the agent's
// next sequence number). Local typing coalesces within AttributionQuantum;
// remote runs are stored exactly as their origin sent them.
func (a *agentState) addAttr(s, au uint32, t int64, local bool) {
	if n := len(a.attr); n > 0 {
		l := a.attr[n-1]
		if l.author == au && (l.t == t || local && t >= l.t && t-l.t < AttributionQuantum) {
			return
		}
		if l.s == s { // an earlier run that covers nothing: replace it
			a.attr[n-1] = attrRun{s, au, t}
			return
		}
	}
	a.attr = append(a.attr, attrRun{s, au, t})
}

// attrIndex returns the index of the attribution run covering seq s.
func (a *agentState) attrIndex(s uint32) int {
	lo, hi := 0, len(a.attr)
	for hi-lo > 1 {
		m := (lo + hi) / 2
		if a.attr[m].s <= s {
			lo = m
		} else {
			hi = m
		}
	}
	return lo
}

// Span is a run of the current text written by one author at one time, for
// change attribution in the UI ("who wrote this, when").
type Span struct {
	Pos, Len int // code points
	Author   string
	Time     time.Time // start of the author's typing burst, second precision
}

// Attribution returns the current text as consecutive spans, each with the
// author and time that wrote it; adjacent spans with the same author and
// time are merged.
func (d *Doc) Attribution() []Span {
	var out []Span
	pos := 0
	emit := func(n int, au uint32, t int64) {
		if k := len(out) - 1; k >= 0 && out[k].Author == d.authors[au] && out[k].Time.Unix() == t {
			out[k].Len += n
		} else {
			out = append(out, Span{Pos: pos, Len: n, Author: d.authors[au], Time: time.Unix(t, 0).UTC()})
		}
		pos += n
	}
	for _, b := range d.blocks {
		for _, it := range b.items {
			if it.dead() {
				continue
			}
			ag := d.agents[it.a]
			s, end := it.s, it.s+uint32(it.n)
			for k := ag.attrIndex(s); s < end; k++ {
				runEnd := ag.next
				if k+1 < len(ag.attr) {
					runEnd = ag.attr[k+1].s
				}
				e := min(end, runEnd)
				emit(int(e-s), ag.attr[k].author, ag.attr[k].t)
				s = e
			}
		}
	}
	return out
}
