package crdt

import (
	"slices"
	"unicode/utf8"
)

// id names one character: the replica that inserted it (internal agent
// index) and that replica's sequence number for it.
type id struct{ a, s uint32 }

// none is the absent origin (document start for a left origin, end for a
// right origin).
var none = id{^uint32(0), 0}

// item is a run of characters inserted by one replica with consecutive
// sequence numbers, where each character's left origin is the previous
// character of the run and all share the run's right origin. Splitting an
// item therefore never changes the meaning of any character.
type item struct {
	a, s uint32 // id of the first character
	n    int    // length in code points
	l, r id     // origins of the first character
	text []byte // UTF-8 content; nil exactly when deleted (tombstone)
	blk  *block
}

// dead reports whether the item is a tombstone. Live items always hold
// text (n >= 1), so no separate flag is needed: 64 bytes per item.
func (it *item) dead() bool { return it.text == nil }

func (it *item) last() id { return id{it.a, it.s + uint32(it.n) - 1} }

// byteOff returns the byte offset of code point k within it.text.
func (it *item) byteOff(k int) int {
	if len(it.text) == it.n {
		return k
	}
	return runeByteOffset(it.text, k)
}

func runeByteOffset(b []byte, k int) int {
	off := 0
	for ; k > 0; k-- {
		if b[off] < utf8.RuneSelf {
			off++
		} else {
			_, sz := utf8.DecodeRune(b[off:])
			off += sz
		}
	}
	return off
}

// block is a leaf of the two-level sequence: a bounded slice of items in
// document order (tombstones included) with its visible length cached.
type block struct {
	items []*item
	vis   int
	idx   int // position in Doc.blocks
}

const maxBlock = 64

// cursor caches the visible prefix length before blocks[bi], so lookups near
// the previous edit (the common case for typing) cost O(distance).
type cursor struct{ bi, vis int }

// agentState is everything known about one replica: how many of its
// sequence numbers we hold (the state vector entry), an index from sequence
// number to item fragment, and its attribution runs.
type agentState struct {
	rid  ReplicaID
	next uint32
	// frags holds the item fragments of this agent in sequence order, in
	// chunks of at most maxChunk, so a split costs O(maxChunk), not O(n).
	frags [][]*item
	attr  []attrRun
}

const maxChunk = 128

// find returns the chunk and index of the fragment containing seq s < next.
func (a *agentState) find(s uint32) (int, int) {
	ci := len(a.frags) - 1
	if a.frags[ci][0].s > s {
		lo, hi := 0, ci // answer in [lo, hi)
		for hi-lo > 1 {
			m := (lo + hi) / 2
			if a.frags[m][0].s <= s {
				lo = m
			} else {
				hi = m
			}
		}
		ci = lo
	}
	c := a.frags[ci]
	fi := len(c) - 1
	if c[fi].s > s {
		lo, hi := 0, fi
		for hi-lo > 1 {
			m := (lo + hi) / 2
			if c[m].s <= s {
				lo = m
			} else {
				hi = m
			}
		}
		fi = lo
	}
	return ci, fi
}

func (a *agentState) get(s uint32) *item {
	ci, fi := a.find(s)
	return a.frags[ci][fi]
}

func (a *agentState) push(it *item) {
	if n := len(a.frags); n == 0 || len(a.frags[n-1]) >= maxChunk {
		a.frags = append(a.frags, make([]*item, 0, 16))
	}
	n := len(a.frags) - 1
	a.frags[n] = append(a.frags[n], it)
}

func (a *agentState) insertAfter(prev, r *item) {
	ci, fi := a.find(prev.s)
	c := slices.Insert(a.frags[ci], fi+1, r)
	if len(c) > maxChunk {
		h := len(c) / 2
		nc := append(make([]*item, 0, maxChunk), c[h:]...)
		clear(c[h:])
		a.frags[ci] = c[:h]
		a.frags = slices.Insert(a.frags, ci+1, nc)
		return
	}
	a.frags[ci] = c
}

// itemAt returns the fragment holding character x (which must exist).
func (d *Doc) itemAt(x id) *item { return d.agents[x.a].get(x.s) }

// has reports whether character x has been integrated.
func (d *Doc) has(x id) bool {
	return x == none || (int(x.a) < len(d.agents) && x.s < d.agents[x.a].next)
}

func indexOf(b *block, it *item) int {
	for i, x := range b.items {
		if x == it {
			return i
		}
	}
	panic("crdt: item not in its block")
}

// addVis keeps the block, document and cursor visible counts in step.
func (d *Doc) addVis(b *block, dv int) {
	b.vis += dv
	d.vis += dv
	if b.idx < d.cur.bi {
		d.cur.vis += dv
	}
}

// seekBlock moves the cursor to block bi and returns the visible length
// before it.
func (d *Doc) seekBlock(bi int) int {
	c := &d.cur
	for c.bi < bi {
		c.vis += d.blocks[c.bi].vis
		c.bi++
	}
	for c.bi > bi {
		c.bi--
		c.vis -= d.blocks[c.bi].vis
	}
	return c.vis
}

// findVis locates visible character p (0 <= p < d.vis): block, index within
// it and offset within the item.
func (d *Doc) findVis(p int) (int, int, int) {
	c := &d.cur
	for p < c.vis {
		c.bi--
		c.vis -= d.blocks[c.bi].vis
	}
	for p >= c.vis+d.blocks[c.bi].vis {
		c.vis += d.blocks[c.bi].vis
		c.bi++
	}
	rem := p - c.vis
	for i, it := range d.blocks[c.bi].items {
		if !it.dead() {
			if rem < it.n {
				return c.bi, i, rem
			}
			rem -= it.n
		}
	}
	panic("crdt: visible count out of step")
}

// visPos returns the visible position of the first character of it (or of
// where it would be, for a tombstone).
func (d *Doc) visPos(it *item) int {
	b := it.blk
	p := d.seekBlock(b.idx)
	for _, x := range b.items {
		if x == it {
			return p
		}
		if !x.dead() {
			p += x.n
		}
	}
	panic("crdt: item not in its block")
}

// insertAt puts it before position ii of block bi.
func (d *Doc) insertAt(bi, ii int, it *item) {
	b := d.blocks[bi]
	b.items = slices.Insert(b.items, ii, it)
	it.blk = b
	if !it.dead() {
		d.addVis(b, it.n)
	}
	if len(b.items) > maxBlock {
		d.splitBlock(bi)
	}
}

func (d *Doc) splitBlock(bi int) {
	b := d.blocks[bi]
	h := len(b.items) / 2
	nb := &block{items: append(make([]*item, 0, maxBlock+1), b.items[h:]...)}
	clear(b.items[h:])
	b.items = b.items[:h]
	for _, it := range nb.items {
		it.blk = nb
		if !it.dead() {
			nb.vis += it.n
		}
	}
	b.vis -= nb.vis
	d.blocks = slices.Insert(d.blocks, bi+1, nb)
	for i := bi + 1; i < len(d.blocks); i++ {
		d.blocks[i].idx = i
	}
	if bi < d.cur.bi {
		d.cur.bi++
	}
}

// split cuts it after k code points (0 < k < it.n) and returns the right
// part, which is placed right after it in both the sequence and the index.
func (d *Doc) split(it *item, k int) *item {
	r := new(item) // not from the slab: split halves of tombstones are often merged away again
	*r = item{a: it.a, s: it.s + uint32(k), n: it.n - k, l: id{it.a, it.s + uint32(k) - 1}, r: it.r}
	if !it.dead() {
		bo := it.byteOff(k)
		r.text = it.text[bo:]
		it.text = it.text[:bo:bo]
	}
	it.n = k
	b := it.blk
	ii := indexOf(b, it)
	b.items = slices.Insert(b.items, ii+1, r)
	r.blk = b
	d.agents[it.a].insertAfter(it, r)
	if len(b.items) > maxBlock {
		d.splitBlock(b.idx)
	}
	return r
}

// next returns the item after position (bi, ii) in document order, or nil.
func (d *Doc) at(bi, ii int) *item {
	if ii < len(d.blocks[bi].items) {
		return d.blocks[bi].items[ii]
	}
	if bi+1 < len(d.blocks) {
		return d.blocks[bi+1].items[0]
	}
	return nil
}

// order returns a key that sorts characters in document order.
func (d *Doc) order(x id) (int, int, uint32) {
	it := d.itemAt(x)
	return it.blk.idx, indexOf(it.blk, it), x.s
}

// cmpLeft compares two left origins in document order (none is before
// everything).
func (d *Doc) cmpLeft(x, y id) int {
	if x == y {
		return 0
	}
	if x == none {
		return -1
	}
	if y == none {
		return 1
	}
	return d.cmpIDs(x, y)
}

// cmpRight compares two right origins in document order (none is after
// everything).
func (d *Doc) cmpRight(x, y id) int {
	if x == y {
		return 0
	}
	if x == none {
		return 1
	}
	if y == none {
		return -1
	}
	return d.cmpIDs(x, y)
}

func (d *Doc) cmpIDs(x, y id) int {
	xb, xi, xs := d.order(x)
	yb, yi, ys := d.order(y)
	switch {
	case xb != yb:
		return cmpInt(xb, yb)
	case xi != yi:
		return cmpInt(xi, yi)
	default:
		return cmpInt(int(xs), int(ys))
	}
}

func cmpInt(a, b int) int {
	if a < b {
		return -1
	}
	if a > b {
		return 1
	}
	return 0
}

// newItem allocates items from a slab, which cuts allocations (and GC work)
// when loading a snapshot or replaying history; items are never freed
// individually anyway.
func (d *Doc) newItem() *item {
	if len(d.slab) == 0 {
		d.slab = make([]item, 32)
	}
	it := &d.slab[0]
	d.slab = d.slab[1:]
	return it
}
