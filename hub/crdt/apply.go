package crdt

import (
	"cmp"
	"slices"
)

// Apply merges an update from another replica (or a snapshot) into this one
// and returns the text changes it caused, in order, each relative to the
// text after the previous one. Updates may arrive in any order and any
// number of times: what is already known is skipped, and runs whose causal
// dependencies are missing wait inside the Doc until those arrive (the
// changes they cause are returned by the Apply call that completes them).
// Malformed bytes return an error wrapping ErrMalformed and leave the
// document unchanged.
func (d *Doc) Apply(update []byte) ([]Change, error) {
	return d.apply(update, true)
}

func (d *Doc) apply(update []byte, wantChanges bool) ([]Change, error) {
	u, err := decodeUpdate(update)
	if err != nil {
		return nil, err
	}
	pristine := d.pristine()
	if u.docOrder && !pristine {
		u.assignAll()
	}
	amap := make([]uint32, len(u.agents))
	for i, rid := range u.agents {
		amap[i] = d.agent(rid)
	}
	aumap := make([]uint32, len(u.authors))
	for i, name := range u.authors {
		aumap[i] = d.author(name)
	}
	for i := range u.runs {
		x := &u.runs[i]
		x.a = amap[x.a]
		if x.l != none {
			x.l.a = amap[x.l.a]
		}
		if x.r != none {
			x.r.a = amap[x.r.a]
		}
	}
	for i := range u.attr {
		u.attr[i].author = aumap[u.attr[i].author]
	}
	for i := range u.dels {
		u.dels[i].a = amap[u.dels[i].a]
	}

	if u.docOrder {
		if pristine {
			d.adopt(u, aumap)
			if d.vis > 0 && wantChanges {
				return []Change{{Insert: d.Text()}}, nil
			}
			return nil, nil
		}
		// merge a snapshot into existing state: integrate in seq order
		slices.SortStableFunc(u.runs, func(x, y wrun) int {
			if c := cmp.Compare(x.a, y.a); c != 0 {
				return c
			}
			return cmp.Compare(x.s, y.s)
		})
	}
	// Into an empty text, the changes are simply the final text: skip
	// per-run position bookkeeping (this makes Load and first sync cheap).
	empty := d.vis == 0
	d.track = !empty
	d.txDels = d.txDels[:0]
	progress := false
	for i := range u.runs {
		x := u.run(i)
		if d.tryIntegrate(&x) {
			progress = true
		} else {
			w := x
			d.pending = append(d.pending, &w)
		}
	}
	if progress && len(d.pending) > 0 {
		d.retryPending()
	}
	if len(u.dels) > 0 || progress && len(d.pendingDel) > 0 {
		d.applyDeletes(append(u.dels, d.pendingDel...))
	}
	d.txDels = d.txDels[:0]
	changes := d.takeChanges()
	if empty && d.vis > 0 && wantChanges {
		changes = []Change{{Insert: d.Text()}}
	}
	return changes, nil
}

// pristine reports whether nothing was ever integrated or received.
func (d *Doc) pristine() bool {
	return len(d.blocks) == 1 && len(d.blocks[0].items) == 0 && len(d.pending) == 0 && len(d.pendingDel) == 0
}

// adopt loads a validated document-order snapshot into a pristine Doc:
// items are laid out in the given order and indexed, with no integration.
func (d *Doc) adopt(u *update, aumap []uint32) {
	slab := make([]item, len(u.runs))
	const fill = maxBlock * 3 / 4 // leave room to grow without splitting at once
	d.blocks = d.blocks[:0]
	var b *block
	for i := range u.runs {
		x := &u.runs[i]
		it := &slab[i]
		*it = item{a: x.a, s: x.s, n: x.n, l: x.l, r: x.r}
		if !x.del {
			it.text = u.content[x.toff:x.tend:x.tend]
		}
		if b == nil || len(b.items) == fill {
			b = &block{items: make([]*item, 0, maxBlock+1), idx: len(d.blocks)}
			d.blocks = append(d.blocks, b)
		}
		b.items = append(b.items, it)
		it.blk = b
		if !it.dead() {
			b.vis += it.n
			d.vis += it.n
		}
	}
	if len(d.blocks) == 0 {
		d.blocks = append(d.blocks, &block{items: make([]*item, 0, 8)})
	}
	d.cur = cursor{}
	// per-agent index and attribution, in seq order
	for _, o := range u.byAgent {
		if len(o) == 0 {
			continue
		}
		ag := d.agents[slab[o[0]].a]
		f := make([]*item, len(o))
		for k, i := range o {
			f[k] = &slab[i]
		}
		for len(f) > 0 {
			k := min(len(f), maxChunk/2)
			ag.frags = append(ag.frags, f[:k:k])
			f = f[k:]
		}
		last := ag.frags[len(ag.frags)-1]
		ag.next = last[len(last)-1].s + uint32(last[len(last)-1].n)
	}
	for ref, pieces := range u.agentAttr {
		if len(u.byAgent[ref]) == 0 {
			continue
		}
		ag := d.agents[slab[u.byAgent[ref][0]].a]
		s := uint32(0)
		for _, p := range pieces {
			ag.addAttr(s, aumap[p.author], p.t, false)
			s += uint32(p.n)
		}
	}
}

// PendingLen reports how many received runs and deletions still wait for
// causal dependencies; non-zero for long means a peer is missing updates
// and should be asked for EncodeSince(StateVector()).
func (d *Doc) PendingLen() int { return len(d.pending) + len(d.pendingDel) }

func (d *Doc) retryPending() {
	// In seq order a chain of waiting runs resolves in one pass.
	slices.SortStableFunc(d.pending, func(x, y *run) int {
		if c := cmp.Compare(x.a, y.a); c != 0 {
			return c
		}
		return cmp.Compare(x.s, y.s)
	})
	for {
		progress := false
		keep := d.pending[:0]
		for _, x := range d.pending {
			if d.tryIntegrate(x) {
				progress = true
			} else {
				keep = append(keep, x)
			}
		}
		clear(d.pending[len(keep):])
		d.pending = keep
		if !progress || len(keep) == 0 {
			return
		}
	}
}

// applyDeletes deletes the present part of each span and keeps the rest
// pending until the characters arrive.
func (d *Doc) applyDeletes(dels []idSpan) {
	var keep []idSpan
	for _, sp := range dels {
		have := d.agents[sp.a].next
		if sp.s >= have {
			keep = append(keep, sp)
			continue
		}
		if end := sp.s + uint32(sp.n); end > have {
			keep = append(keep, idSpan{sp.a, have, int(end - have)})
			sp.n = int(have - sp.s)
		}
		d.deleteSpan(sp, nil)
	}
	d.pendingDel = keep
}

// tryIntegrate integrates x if its dependencies are present (trimming what
// is already known) and reports whether x is done with.
func (d *Doc) tryIntegrate(x *run) bool {
	ag := d.agents[x.a]
	if uint64(x.s)+uint64(x.n) <= uint64(ag.next) { // duplicate
		if x.del {
			d.deleteSpan(idSpan{x.a, x.s, x.n}, nil)
		}
		return true
	}
	if x.s > ag.next {
		return false
	}
	if off := int(ag.next - x.s); off > 0 {
		if x.del {
			d.deleteSpan(idSpan{x.a, x.s, off}, nil)
		} else {
			x.text = x.text[runeByteOffset(x.text, off):]
		}
		x.s, x.n, x.l = ag.next, x.n-off, id{x.a, ag.next - 1}
		for off > 0 {
			if x.attr[0].n <= off {
				off -= x.attr[0].n
				x.attr = x.attr[1:]
			} else {
				x.attr[0].n -= off
				off = 0
			}
		}
	}
	if !d.has(x.l) || !d.has(x.r) {
		return false
	}
	d.integrate(x)
	return true
}

// integrate places x with the YjsMod rule (= FugueMax): scan the items
// between x's origins and stop at the first one x must precede.
func (d *Doc) integrate(x *run) {
	it := d.newItem()
	*it = item{a: x.a, s: x.s, n: x.n, l: x.l, r: x.r, text: x.text}
	if x.del {
		it.text = nil
	}
	var left, right *item
	if x.l != none {
		left = d.itemAt(x.l)
		if k := int(x.l.s-left.s) + 1; k < left.n {
			d.split(left, k)
		}
	}
	if x.r != none {
		right = d.itemAt(x.r)
		if x.r.s > right.s {
			right = d.split(right, int(x.r.s-right.s))
		}
	}
	bi, ii := 0, 0
	if left != nil {
		bi, ii = left.blk.idx, indexOf(left.blk, left)+1
	}
	if ii == len(d.blocks[bi].items) && bi+1 < len(d.blocks) {
		bi, ii = bi+1, 0
	}
	dbi, dii := bi, ii
	scanning := false
	rid := d.agents[x.a].rid
	for {
		if !scanning {
			dbi, dii = bi, ii
		}
		if ii == len(d.blocks[bi].items) {
			break // end of document
		}
		o := d.blocks[bi].items[ii]
		if o == right {
			break
		}
		if c := d.cmpLeft(o.l, x.l); c < 0 {
			break
		} else if c == 0 {
			switch d.cmpRight(o.r, x.r) {
			case -1:
				scanning = true
			case 0:
				if rid < d.agents[o.a].rid {
					goto place
				}
				scanning = false
			default:
				scanning = false
			}
		}
		if ii++; ii == len(d.blocks[bi].items) && bi+1 < len(d.blocks) {
			bi, ii = bi+1, 0
		}
	}
place:
	d.insertAt(dbi, dii, it)
	ag := d.agents[x.a]
	ag.push(it)
	s := ag.next
	ag.next += uint32(x.n)
	for _, p := range x.attr {
		ag.addAttr(s, p.author, p.t, false)
		s += uint32(p.n)
	}
	if !it.dead() && d.track {
		d.addChange(Change{Pos: d.visPos(it), Insert: string(it.text)}, it.n)
	}
}
