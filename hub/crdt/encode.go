package crdt

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"
)

// Update wire format, version 1 (all integers are unsigned LEB128 varints
// unless noted; "zigzag" is a signed varint):
//
//	version byte (1)
//	agents:  count, then 8-byte little-endian ReplicaIDs
//	authors: count, then (length, UTF-8 bytes)
//	groups:  count, then per group:
//	    agent ref, start seq, run count, runs, attribution count, attribution
//	    run:   header = n<<5 | flags, then the origins the flags ask for
//	           flags bit0 tombstone; bits1-2 left origin: 0 none, 1 the
//	           previous seq of the same agent, 2 same agent (zigzag seq delta
//	           from the run start), 3 other agent (ref, seq); bits3-4 right
//	           origin: 0 none, 1 same agent (zigzag delta), 2 other (ref, seq)
//	    attribution: (length, author ref, zigzag time delta in seconds)
//	content: length, then the UTF-8 text of all live runs, concatenated
//	deletes: count, then per agent: ref, range count, (gap, length) ranges
//
// Runs of one group cover consecutive sequence numbers, so ids are implicit.
const wireVersion = 1

// snapVersion marks a whole-document snapshot in document order (see
// encodeSnapshot), which an empty Doc loads without integrating.
const snapVersion = 2

const (
	flagDel = 1 << iota
	flagL1
	flagL2
	flagR1
	flagR2
	flagBits = 5
)

// StateVector says, per replica, how many of its sequence numbers a replica
// has integrated. It is what a reconnecting peer sends so the other side can
// answer with exactly what it misses ([Doc.EncodeSince]).
type StateVector map[ReplicaID]uint64

// StateVector returns this replica's state vector.
func (d *Doc) StateVector() StateVector {
	sv := make(StateVector, len(d.agents))
	for _, a := range d.agents {
		if a.next > 0 {
			sv[a.rid] = uint64(a.next)
		}
	}
	return sv
}

// Encode returns the compact binary form of sv for the wire.
func (sv StateVector) Encode() []byte {
	ids := make([]ReplicaID, 0, len(sv))
	for r := range sv {
		ids = append(ids, r)
	}
	slices.Sort(ids)
	b := binary.AppendUvarint(nil, uint64(len(ids)))
	for _, r := range ids {
		b = binary.LittleEndian.AppendUint64(b, uint64(r))
		b = binary.AppendUvarint(b, sv[r])
	}
	return b
}

// DecodeStateVector parses the bytes of [StateVector.Encode]; malformed
// input returns an error wrapping ErrMalformed.
func DecodeStateVector(b []byte) (StateVector, error) {
	r := reader{b: b}
	n := r.count(9)
	sv := make(StateVector, n)
	for i := 0; i < n && !r.bad; i++ {
		rid := ReplicaID(r.u64())
		sv[rid] = r.uv()
	}
	if r.bad || len(r.b) != 0 {
		return nil, fmt.Errorf("decode state vector: %w", ErrMalformed)
	}
	return sv, nil
}

// EncodeState returns the whole document as one update: the snapshot to
// save, or to send to a replica that has nothing.
func (d *Doc) EncodeState() []byte { return d.EncodeSince(nil) }

// EncodeSince returns an update holding everything this replica has that a
// replica with state vector sv lacks. Deletions are sent as a compact set
// of id ranges (as in Yjs), so the answer is small even for old peers.
func (d *Doc) EncodeSince(sv StateVector) []byte {
	fresh := true
	for _, ag := range d.agents {
		if ag.next > 0 && sv[ag.rid] > 0 {
			fresh = false
		}
	}
	if fresh {
		return d.encodeSnapshot()
	}
	e := newEncoder(d)
	var ranges []idSpan
	var dels []idSpan
	for ai, ag := range d.agents {
		have := uint32(min(sv[ag.rid], uint64(ag.next)))
		if have < ag.next {
			ranges = append(ranges, idSpan{uint32(ai), have, int(ag.next - have)})
		}
		dels = d.appendDeleted(dels, uint32(ai), have)
	}
	return e.encode(ranges, dels)
}

// appendDeleted appends the deleted ranges of agent a below seq limit.
func (d *Doc) appendDeleted(dels []idSpan, a, limit uint32) []idSpan {
	ag := d.agents[a]
	for _, c := range ag.frags {
		for _, it := range c {
			if it.s >= limit {
				return dels
			}
			if !it.dead() {
				continue
			}
			n := min(it.n, int(limit-it.s))
			if k := len(dels) - 1; k >= 0 && dels[k].a == a && dels[k].s+uint32(dels[k].n) == it.s {
				dels[k].n += n
			} else {
				dels = append(dels, idSpan{a, it.s, n})
			}
		}
	}
	return dels
}

// encodeTx encodes a local transaction: our runs from seq start on, plus
// the deletions it made.
func (d *Doc) encodeTx(start uint32, dels []idSpan) []byte {
	e := newEncoder(d)
	var ranges []idSpan
	if n := d.agents[d.me].next; n > start {
		ranges = []idSpan{{d.me, start, int(n - start)}}
	}
	if len(dels) > 1 {
		dels = slices.Clone(dels)
		slices.SortFunc(dels, func(x, y idSpan) int {
			if c := cmp.Compare(x.a, y.a); c != 0 {
				return c
			}
			return cmp.Compare(x.s, y.s)
		})
	}
	return e.encode(ranges, dels)
}

// encoder builds one update. A Doc keeps one and reuses its buffers, since
// a proxy encodes an update per keystroke.
type encoder struct {
	d       *Doc
	agents  []uint32 // doc agent index per ref
	authors []uint32 // doc author index per ref
	refMap  map[uint32]uint64
	body    []byte
	content []byte
	runs    []byte
	attrs   []byte
}

func newEncoder(d *Doc) *encoder {
	e := d.enc
	if e == nil {
		e = &encoder{d: d}
		d.enc = e
	}
	e.agents, e.authors = e.agents[:0], e.authors[:0]
	e.body, e.content = e.body[:0], e.content[:0]
	clear(e.refMap)
	return e
}

// aref returns the update-local ref of doc agent a (a linear scan: updates
// name few agents; big snapshots switch to a map).
func (e *encoder) aref(a uint32) uint64 {
	if len(e.agents) > 16 {
		if e.refMap == nil {
			e.refMap = map[uint32]uint64{}
		}
		if len(e.refMap) == 0 {
			for i, x := range e.agents {
				e.refMap[x] = uint64(i)
			}
		}
		if r, ok := e.refMap[a]; ok {
			return r
		}
		e.refMap[a] = uint64(len(e.agents))
	} else {
		for i, x := range e.agents {
			if x == a {
				return uint64(i)
			}
		}
	}
	e.agents = append(e.agents, a)
	return uint64(len(e.agents) - 1)
}

func (e *encoder) auref(a uint32) uint64 {
	for i, x := range e.authors {
		if x == a {
			return uint64(i)
		}
	}
	e.authors = append(e.authors, a)
	return uint64(len(e.authors) - 1)
}

func (e *encoder) encode(ranges, dels []idSpan) []byte {
	e.body = binary.AppendUvarint(e.body, uint64(len(ranges)))
	for _, rg := range ranges {
		e.group(rg)
	}
	e.body = binary.AppendUvarint(e.body, uint64(len(e.content)))
	e.body = append(e.body, e.content...)
	// deletions, grouped by agent (dels is sorted by agent, then seq)
	groups := 0
	for i := range dels {
		if i == 0 || dels[i].a != dels[i-1].a {
			groups++
		}
	}
	e.body = binary.AppendUvarint(e.body, uint64(groups))
	for i := 0; i < len(dels); {
		j := i
		for j < len(dels) && dels[j].a == dels[i].a {
			j++
		}
		e.body = binary.AppendUvarint(e.body, e.aref(dels[i].a))
		e.body = binary.AppendUvarint(e.body, uint64(j-i))
		end := uint32(0)
		for _, sp := range dels[i:j] {
			e.body = binary.AppendUvarint(e.body, uint64(sp.s-end))
			e.body = binary.AppendUvarint(e.body, uint64(sp.n))
			end = sp.s + uint32(sp.n)
		}
		i = j
	}
	return e.finish(wireVersion)
}

// finish prepends the version and the agent and author tables to the body.
func (e *encoder) finish(version byte) []byte {
	size := len(e.body) + 16 + 9*len(e.agents)
	for _, a := range e.authors {
		size += len(e.d.authors[a]) + 2
	}
	out := make([]byte, 0, size)
	out = append(out, version)
	out = binary.AppendUvarint(out, uint64(len(e.agents)))
	for _, a := range e.agents {
		out = binary.LittleEndian.AppendUint64(out, uint64(e.d.agents[a].rid))
	}
	out = binary.AppendUvarint(out, uint64(len(e.authors)))
	for _, a := range e.authors {
		out = binary.AppendUvarint(out, uint64(len(e.d.authors[a])))
		out = append(out, e.d.authors[a]...)
	}
	return append(out, e.body...)
}

// appendRun appends one run: header, then (in snapshots) agent ref and seq
// delta, then the origins the header's flags announce.
func (e *encoder) appendRun(buf []byte, a, s uint32, n int, l, r id, del, snap bool, seqDelta int64) []byte {
	flags := uint64(0)
	if del {
		flags |= flagDel
	}
	switch {
	case l == none:
	case l.a == a && l.s+1 == s:
		flags |= flagL1
	case l.a == a:
		flags |= flagL2
	default:
		flags |= flagL1 | flagL2
	}
	switch {
	case r == none:
	case r.a == a:
		flags |= flagR1
	default:
		flags |= flagR2
	}
	buf = binary.AppendUvarint(buf, uint64(n)<<flagBits|flags)
	if snap {
		buf = binary.AppendUvarint(buf, e.aref(a))
		buf = binary.AppendVarint(buf, seqDelta)
	}
	switch flags & (flagL1 | flagL2) {
	case flagL2:
		buf = binary.AppendVarint(buf, int64(l.s)-int64(s))
	case flagL1 | flagL2:
		buf = binary.AppendUvarint(buf, e.aref(l.a))
		buf = binary.AppendUvarint(buf, uint64(l.s))
	}
	switch flags & (flagR1 | flagR2) {
	case flagR1:
		buf = binary.AppendVarint(buf, int64(r.s)-int64(s))
	case flagR2:
		buf = binary.AppendUvarint(buf, e.aref(r.a))
		buf = binary.AppendUvarint(buf, uint64(r.s))
	}
	return buf
}

// encodeSnapshot encodes the whole document in document order (version 2):
// adjacent items that continue one another become one run; an empty Doc
// adopts this order directly instead of integrating run by run.
func (d *Doc) encodeSnapshot() []byte {
	e := newEncoder(d)
	last := make([]uint32, len(d.agents))
	runs := e.runs[:0]
	nruns := 0
	var ca, cs uint32
	var cn int
	var cl, cr id
	var cdel, open bool
	flush := func() {
		if open {
			nruns++
			runs = e.appendRun(runs, ca, cs, cn, cl, cr, cdel, true, int64(cs)-int64(last[ca]))
			last[ca] = cs + uint32(cn)
		}
	}
	for _, b := range d.blocks {
		for _, it := range b.items {
			if open && it.a == ca && it.s == cs+uint32(cn) && it.dead() == cdel && it.r == cr && it.l == (id{ca, it.s - 1}) {
				cn += it.n
			} else {
				flush()
				open, ca, cs, cn, cl, cr, cdel = true, it.a, it.s, it.n, it.l, it.r, it.dead()
			}
			e.content = append(e.content, it.text...)
		}
	}
	flush()
	e.body = binary.AppendUvarint(e.body, uint64(nruns))
	e.body = append(e.body, runs...)
	e.runs = runs
	groups := 0
	for _, ag := range d.agents {
		if ag.next > 0 {
			groups++
		}
	}
	e.body = binary.AppendUvarint(e.body, uint64(groups))
	for ai, ag := range d.agents {
		if ag.next > 0 {
			e.body = binary.AppendUvarint(e.body, e.aref(uint32(ai)))
			e.appendAttr(ag, 0, ag.next)
		}
	}
	e.body = binary.AppendUvarint(e.body, uint64(len(e.content)))
	e.body = append(e.body, e.content...)
	e.body = binary.AppendUvarint(e.body, 0) // no separate deletions
	return e.finish(snapVersion)
}

// group encodes the runs of agent rg.a covering seqs [rg.s, rg.s+rg.n),
// merging fragments that are continuations of one another back into one run.
func (e *encoder) group(rg idSpan) {
	d := e.d
	ag := d.agents[rg.a]
	ref := e.aref(rg.a)
	e.body = binary.AppendUvarint(e.body, ref)
	e.body = binary.AppendUvarint(e.body, uint64(rg.s))
	runs := e.runs[:0]
	nruns := 0
	end := rg.s + uint32(rg.n)

	var cs uint32 // current run start
	var cn int
	var cl, cr id
	var cdel, open bool
	flush := func() {
		if open {
			nruns++
			runs = e.appendRun(runs, rg.a, cs, cn, cl, cr, cdel, false, 0)
			open = false
		}
	}
	if rg.n > 0 {
		ci, fi := ag.find(rg.s)
		s := rg.s
		for s < end {
			it := ag.frags[ci][fi]
			off := int(s - it.s)
			k := min(it.n-off, int(end-s))
			l := it.l
			if off > 0 {
				l = id{rg.a, s - 1}
			}
			if open && cdel == it.dead() && cr == it.r && l == (id{rg.a, s - 1}) {
				cn += k
			} else {
				flush()
				open, cs, cn, cl, cr, cdel = true, s, k, l, it.r, it.dead()
			}
			if !it.dead() {
				e.content = append(e.content, it.text[it.byteOff(off):it.byteOff(off+k)]...)
			}
			s += uint32(k)
			if fi++; fi == len(ag.frags[ci]) {
				ci, fi = ci+1, 0
			}
		}
		flush()
	}
	e.body = binary.AppendUvarint(e.body, uint64(nruns))
	e.body = append(e.body, runs...)
	e.runs = runs

	e.appendAttr(ag, rg.s, end)
}

// appendAttr appends the attribution runs of ag covering seqs [s, end).
func (e *encoder) appendAttr(ag *agentState, s, end uint32) {
	attrs := e.attrs[:0]
	nattr := 0
	prevT := int64(0)
	if s < end && len(ag.attr) > 0 {
		for k := ag.attrIndex(s); s < end; k++ {
			runEnd := ag.next
			if k+1 < len(ag.attr) {
				runEnd = ag.attr[k+1].s
			}
			x := min(end, runEnd)
			attrs = binary.AppendUvarint(attrs, uint64(x-s))
			attrs = binary.AppendUvarint(attrs, e.auref(ag.attr[k].author))
			attrs = binary.AppendVarint(attrs, ag.attr[k].t-prevT)
			prevT = ag.attr[k].t
			nattr++
			s = x
		}
	}
	e.body = binary.AppendUvarint(e.body, uint64(nattr))
	e.body = append(e.body, attrs...)
	e.attrs = attrs
}

// reader decodes defensively: any error sets bad and yields zero values, so
// hostile input can never panic or allocate more than its own size.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) uv() uint64 {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) sv() int64 {
	v, n := binary.Varint(r.b)
	if n <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *reader) u64() uint64 {
	if len(r.b) < 8 {
		r.fail()
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *reader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

// count reads an element count, each element taking at least min bytes.
func (r *reader) count(minSize int) int {
	v := r.uv()
	if v > uint64(len(r.b)/minSize) {
		r.fail()
		return 0
	}
	return int(v)
}

// seq reads a sequence number that must fit in 32 bits.
func (r *reader) seq() uint32 {
	v := r.uv()
	if v > math.MaxUint32 {
		r.fail()
		return 0
	}
	return uint32(v)
}

func (r *reader) fail() { r.bad = true; r.b = nil }

// run is a decoded remote run, with origins in update-local agent refs until
// Apply maps them to the document's agents.
type run struct {
	a, s uint32
	n    int
	l, r id
	del  bool
	text []byte
	attr []attrPiece
}

type attrPiece struct {
	n      int
	author uint32
	t      int64
}

// wrun is a decoded run as stored in an update: pointer-free (text and
// attribution are ranges of the update's buffers), so a big snapshot's runs
// cost the garbage collector nothing to scan.
type wrun struct {
	a, s       uint32
	n          int
	l, r       id
	del        bool
	toff, tend uint32 // text: content[toff:tend]
	aoff, aend uint32 // attribution: attr[aoff:aend]
}

// run materialises wire run i with its text and attribution slices.
func (u *update) run(i int) run {
	w := &u.runs[i]
	x := run{a: w.a, s: w.s, n: w.n, l: w.l, r: w.r, del: w.del, attr: u.attr[w.aoff:w.aend:w.aend]}
	if !w.del {
		x.text = u.content[w.toff:w.tend:w.tend]
	}
	return x
}

type update struct {
	agents  []ReplicaID
	authors []string
	runs    []wrun
	content []byte
	attr    []attrPiece
	dels    []idSpan
	// docOrder marks a snapshot whose runs are in document order and cover
	// every replica's seqs from 0 (see readDocOrder).
	docOrder  bool
	byAgent   [][]int32     // docOrder only: run indices per agent ref, in seq order
	agentAttr [][]attrPiece // docOrder only: attribution per agent ref, from seq 0
}

// readRun reads the rest of a run whose header is h, for agent a at seq s.
func readRun(r *reader, h uint64, a uint32, s uint64, na int, x *wrun) string {
	n := h >> flagBits
	if n == 0 || s+n > math.MaxUint32 {
		return "run length"
	}
	x.a, x.s, x.n, x.l, x.r, x.del = a, uint32(s), int(n), none, none, h&flagDel != 0
	switch (h >> 1) & 3 {
	case 1:
		if s == 0 {
			return "left origin"
		}
		x.l = id{a, uint32(s - 1)}
	case 2:
		v := int64(s) + r.sv()
		if v < 0 || v > math.MaxUint32 {
			return "left origin"
		}
		x.l = id{a, uint32(v)}
	case 3:
		lr := r.uv()
		if lr >= uint64(na) {
			return "left origin ref"
		}
		x.l = id{uint32(lr), r.seq()}
	}
	switch (h >> 3) & 3 {
	case 1:
		v := int64(s) + r.sv()
		if v < 0 || v > math.MaxUint32 {
			return "right origin"
		}
		x.r = id{a, uint32(v)}
	case 2:
		rr := r.uv()
		if rr >= uint64(na) {
			return "right origin ref"
		}
		x.r = id{uint32(rr), r.seq()}
	case 3:
		return "right origin kind"
	}
	if r.bad {
		return "truncated run"
	}
	return ""
}

// readAttr reads attribution pieces that must cover exactly the runs
// u.runs[order[0]], u.runs[order[1]], ... (consecutive seqs of one agent).
func (u *update) readAttr(r *reader, order []int32, nau int) string {
	want := uint64(0)
	for _, i := range order {
		want += uint64(u.runs[i].n)
	}
	pieces, msg := readPieces(r, nau, want)
	if msg == "" {
		u.assignPieces(pieces, order)
	}
	return msg
}

// readPieces reads attribution pieces that must cover exactly want seqs.
func readPieces(r *reader, nau int, want uint64) ([]attrPiece, string) {
	nat := r.count(3)
	pieces := make([]attrPiece, 0, nat)
	t := int64(0)
	total := uint64(0)
	for i := 0; i < nat && !r.bad; i++ {
		n := r.uv()
		au := r.uv()
		t += r.sv()
		if n == 0 || au >= uint64(nau) || total+n > want {
			return nil, "attribution"
		}
		total += n
		pieces = append(pieces, attrPiece{int(n), uint32(au), t})
	}
	if r.bad || total != want {
		return nil, "attribution coverage"
	}
	return pieces, ""
}

// assignPieces splits pieces (covering exactly the runs u.runs[order[0]],
// u.runs[order[1]], ... in seq order) at run boundaries and attaches them.
func (u *update) assignPieces(pieces []attrPiece, order []int32) {
	if len(order) == 0 {
		return
	}
	ri, used := 0, 0
	u.runs[order[0]].aoff = uint32(len(u.attr))
	for _, p := range pieces {
		for left := p.n; left > 0; {
			x := &u.runs[order[ri]]
			k := min(left, x.n-used)
			u.attr = append(u.attr, attrPiece{k, p.author, p.t})
			left -= k
			if used += k; used == x.n {
				x.aend = uint32(len(u.attr))
				if ri++; ri < len(order) {
					u.runs[order[ri]].aoff = x.aend
				}
				used = 0
			}
		}
	}
}

// assignAll attaches a snapshot's per-agent attribution to its runs, for
// merging the snapshot run by run.
func (u *update) assignAll() {
	for ref, order := range u.byAgent {
		if len(order) > 0 {
			u.assignPieces(u.agentAttr[ref], order)
		}
	}
}

// readDocOrder reads the runs section of a snapshot (version 2): runs in
// document order, each naming its agent and seq; then one attribution group
// per agent. Every agent's runs must cover its seqs from 0 without gaps or
// overlaps and every origin must name a character of the snapshot, so an
// empty Doc can adopt the sequence as is, without integrating run by run.
func (u *update) readDocOrder(r *reader, na, nau int) string {
	u.docOrder = true
	nr := r.count(2)
	u.runs = make([]wrun, 0, nr)
	last := make([]uint64, na) // end seq of the previous run per agent
	for i := 0; i < nr && !r.bad; i++ {
		h := r.uv()
		ref := r.uv()
		if ref >= uint64(na) {
			return "agent ref"
		}
		s := int64(last[ref]) + r.sv()
		if s < 0 || s > math.MaxUint32 {
			return "run seq"
		}
		u.runs = append(u.runs, wrun{})
		x := &u.runs[len(u.runs)-1]
		if msg := readRun(r, h, uint32(ref), uint64(s), na, x); msg != "" {
			return msg
		}
		last[ref] = uint64(s) + uint64(x.n)
	}
	if r.bad {
		return "truncated runs"
	}
	// seq order per agent: must tile [0, total)
	count := make([]int, na)
	for i := range u.runs {
		count[u.runs[i].a]++
	}
	pairs := make([][]seqIdx, na)
	for a, n := range count {
		pairs[a] = make([]seqIdx, 0, n)
	}
	for i := range u.runs {
		x := &u.runs[i]
		pairs[x.a] = append(pairs[x.a], seqIdx{x.s, int32(i)})
	}
	total := make([]uint64, na)
	u.byAgent = make([][]int32, na)
	for a, ps := range pairs {
		ps = radixSort(ps)
		order := make([]int32, len(ps))
		for k, p := range ps {
			x := &u.runs[p.i]
			if uint64(x.s) != total[a] {
				return "runs do not tile the agent's seqs"
			}
			total[a] += uint64(x.n)
			order[k] = p.i
		}
		u.byAgent[a] = order
	}
	for i := range u.runs {
		x := &u.runs[i]
		if x.l != none && uint64(x.l.s) >= total[x.l.a] || x.r != none && uint64(x.r.s) >= total[x.r.a] {
			return "origin outside the snapshot"
		}
	}
	covered := make([]bool, na)
	u.agentAttr = make([][]attrPiece, na)
	ng := r.count(2)
	for g := 0; g < ng && !r.bad; g++ {
		ref := r.uv()
		if ref >= uint64(na) || covered[ref] {
			return "attribution agent"
		}
		covered[ref] = true
		pieces, msg := readPieces(r, nau, total[ref])
		if msg != "" {
			return msg
		}
		u.agentAttr[ref] = pieces
	}
	for a := range na {
		if total[a] > 0 && !covered[a] {
			return "attribution missing"
		}
	}
	return ""
}

func decodeUpdate(b []byte) (*update, error) {
	bad := func(what string) (*update, error) {
		return nil, fmt.Errorf("decode update: %s: %w", what, ErrMalformed)
	}
	if len(b) == 0 || b[0] != wireVersion && b[0] != snapVersion {
		return bad("unknown version")
	}
	r := reader{b: b[1:]}
	u := &update{}
	na := r.count(8)
	u.agents = make([]ReplicaID, na)
	for i := range u.agents {
		u.agents[i] = ReplicaID(r.u64())
	}
	if na > 1 {
		seen := make(map[ReplicaID]bool, na)
		for _, a := range u.agents {
			if seen[a] {
				return bad("duplicate replica")
			}
			seen[a] = true
		}
	}
	nau := r.count(1)
	u.authors = make([]string, nau)
	for i := range u.authors {
		u.authors[i] = string(r.bytes(r.uv()))
	}
	if b[0] == snapVersion {
		if msg := u.readDocOrder(&r, na, nau); msg != "" {
			return bad(msg)
		}
	} else {
		ng := r.count(4)
		for g := 0; g < ng && !r.bad; g++ {
			ref := r.uv()
			if ref >= uint64(na) {
				return bad("agent ref")
			}
			a := uint32(ref)
			start := r.seq()
			nr := r.count(1)
			s := uint64(start)
			first := len(u.runs)
			u.runs = slices.Grow(u.runs, nr)
			for i := 0; i < nr && !r.bad; i++ {
				h := r.uv()
				u.runs = append(u.runs, wrun{})
				x := &u.runs[len(u.runs)-1]
				if msg := readRun(&r, h, a, s, na, x); msg != "" {
					return bad(msg)
				}
				s += uint64(x.n)
			}
			order := make([]int32, 0, len(u.runs)-first)
			for i := first; i < len(u.runs); i++ {
				order = append(order, int32(i))
			}
			if msg := u.readAttr(&r, order, nau); msg != "" {
				return bad(msg)
			}
		}
	}
	content := r.bytes(r.uv())
	if r.bad {
		return bad("truncated")
	}
	if len(content) > 0 {
		content = append([]byte(nil), content...) // the caller may reuse b
	}
	u.content = content
	pos := 0
	for i := range u.runs {
		x := &u.runs[i]
		if x.del {
			continue
		}
		off := 0
		for k := 0; k < x.n; k++ {
			if off >= len(content) {
				return bad("content too short")
			}
			c := content[off]
			if c < 0x80 {
				off++
				continue
			}
			rn, sz := utf8.DecodeRune(content[off:])
			if rn == utf8.RuneError && sz <= 1 {
				return bad("content not UTF-8")
			}
			off += sz
		}
		x.toff, x.tend = uint32(pos), uint32(pos+off)
		pos += off
		content = content[off:]
	}
	if len(content) != 0 {
		return bad("content too long")
	}
	ndg := r.count(2)
	for g := 0; g < ndg && !r.bad; g++ {
		ref := r.uv()
		if ref >= uint64(na) {
			return bad("delete agent ref")
		}
		nr := r.count(2)
		end := uint64(0)
		for i := 0; i < nr && !r.bad; i++ {
			s := end + r.uv()
			n := r.uv()
			if n == 0 || s+n > math.MaxUint32 {
				return bad("delete range")
			}
			u.dels = append(u.dels, idSpan{uint32(ref), uint32(s), int(n)})
			end = s + n
		}
	}
	if r.bad || len(r.b) != 0 {
		return bad("truncated or trailing bytes")
	}
	return u, nil
}

type seqIdx struct {
	s uint32
	i int32
}

// radixSort sorts by s in O(n) (LSD, 8 bits per pass, skipping bytes that
// are equal everywhere); snapshots hold tens of thousands of runs.
func radixSort(a []seqIdx) []seqIdx {
	if len(a) < 64 {
		slices.SortFunc(a, func(x, y seqIdx) int { return cmp.Compare(x.s, y.s) })
		return a
	}
	buf := make([]seqIdx, len(a))
	for shift := uint(0); shift < 32; shift += 8 {
		var cnt [257]int
		for _, p := range a {
			cnt[(p.s>>shift)&0xff+1]++
		}
		if cnt[(a[0].s>>shift)&0xff+1] == len(a) {
			continue
		}
		for i := 1; i < 257; i++ {
			cnt[i] += cnt[i-1]
		}
		for _, p := range a {
			k := (p.s >> shift) & 0xff
			buf[cnt[k]] = p
			cnt[k]++
		}
		a, buf = buf, a
	}
	return a
}
