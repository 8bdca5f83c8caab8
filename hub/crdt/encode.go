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
			if !it.del {
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
	size := len(e.body) + 16 + 9*len(e.agents)
	for _, a := range e.authors {
		size += len(e.d.authors[a]) + 2
	}
	out := make([]byte, 0, size)
	out = append(out, wireVersion)
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
		if !open {
			return
		}
		nruns++
		flags := uint64(0)
		if cdel {
			flags |= flagDel
		}
		var tail []byte
		switch {
		case cl == none:
		case cl.a == rg.a && cl.s+1 == cs:
			flags |= flagL1
		case cl.a == rg.a:
			flags |= flagL2
			tail = binary.AppendVarint(tail, int64(cl.s)-int64(cs))
		default:
			flags |= flagL1 | flagL2
			tail = binary.AppendUvarint(tail, e.aref(cl.a))
			tail = binary.AppendUvarint(tail, uint64(cl.s))
		}
		switch {
		case cr == none:
		case cr.a == rg.a:
			flags |= flagR1
			tail = binary.AppendVarint(tail, int64(cr.s)-int64(cs))
		default:
			flags |= flagR2
			tail = binary.AppendUvarint(tail, e.aref(cr.a))
			tail = binary.AppendUvarint(tail, uint64(cr.s))
		}
		runs = binary.AppendUvarint(runs, uint64(cn)<<flagBits|flags)
		runs = append(runs, tail...)
		open = false
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
			if open && cdel == it.del && cr == it.r && l == (id{rg.a, s - 1}) {
				cn += k
			} else {
				flush()
				open, cs, cn, cl, cr, cdel = true, s, k, l, it.r, it.del
			}
			if !it.del {
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

	// attribution covering the same seqs
	attrs := e.attrs[:0]
	nattr := 0
	prevT := int64(0)
	if rg.n > 0 && len(ag.attr) > 0 {
		s := rg.s
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
	a, s   uint32
	n      int
	l, r   id
	del    bool
	text   []byte
	attr   []attrPiece
	attrLo int // index of attr[0] in update.attr
}

type attrPiece struct {
	n      int
	author uint32
	t      int64
}

type update struct {
	agents  []ReplicaID
	authors []string
	runs    []run
	dels    []idSpan
	attr    []attrPiece
}

func decodeUpdate(b []byte) (*update, error) {
	bad := func(what string) (*update, error) {
		return nil, fmt.Errorf("decode update: %s: %w", what, ErrMalformed)
	}
	if len(b) == 0 || b[0] != wireVersion {
		return bad("unknown version")
	}
	r := reader{b: b[1:]}
	u := &update{}
	na := r.count(8)
	u.agents = make([]ReplicaID, na)
	for i := range u.agents {
		u.agents[i] = ReplicaID(r.u64())
	}
	nau := r.count(1)
	u.authors = make([]string, nau)
	for i := range u.authors {
		u.authors[i] = string(r.bytes(r.uv()))
	}
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
		for i := 0; i < nr && !r.bad; i++ {
			h := r.uv()
			n := h >> flagBits
			if n == 0 || s+n > math.MaxUint32 {
				return bad("run length")
			}
			u.runs = append(slices.Grow(u.runs, nr-i), run{a: a, s: uint32(s), n: int(n), l: none, r: none, del: h&flagDel != 0})
			x := &u.runs[len(u.runs)-1]
			switch (h >> 1) & 3 {
			case 1:
				if s == 0 {
					return bad("left origin")
				}
				x.l = id{a, uint32(s - 1)}
			case 2:
				v := int64(s) + r.sv()
				if v < 0 || v > math.MaxUint32 {
					return bad("left origin")
				}
				x.l = id{a, uint32(v)}
			case 3:
				lr := r.uv()
				if lr >= uint64(na) {
					return bad("left origin ref")
				}
				x.l = id{uint32(lr), r.seq()}
			}
			switch (h >> 3) & 3 {
			case 1:
				v := int64(s) + r.sv()
				if v < 0 || v > math.MaxUint32 {
					return bad("right origin")
				}
				x.r = id{a, uint32(v)}
			case 2:
				rr := r.uv()
				if rr >= uint64(na) {
					return bad("right origin ref")
				}
				x.r = id{uint32(rr), r.seq()}
			case 3:
				return bad("right origin kind")
			}
			s += n
		}
		// attribution pieces must cover the group exactly
		nat := r.count(3)
		t := int64(0)
		ri, used := first, 0
		total := uint64(0)
		for i := 0; i < nat && !r.bad; i++ {
			n := r.uv()
			au := r.uv()
			t += r.sv()
			if n == 0 || au >= uint64(nau) || total+n > s-uint64(start) {
				return bad("attribution")
			}
			total += n
			for left := int(n); left > 0; {
				x := &u.runs[ri]
				k := min(left, x.n-used)
				if len(x.attr) == 0 {
					x.attrLo = len(u.attr)
				}
				u.attr = append(u.attr, attrPiece{k, uint32(au), t})
				x.attr = u.attr[x.attrLo:len(u.attr):len(u.attr)]
				left -= k
				if used += k; used == x.n {
					ri, used = ri+1, 0
				}
			}
		}
		if !r.bad && total != s-uint64(start) {
			return bad("attribution coverage")
		}
	}
	content := r.bytes(r.uv())
	if r.bad {
		return bad("truncated")
	}
	if len(content) > 0 {
		content = append([]byte(nil), content...) // the caller may reuse b
	}
	for i := range u.runs {
		x := &u.runs[i]
		x.attr = u.attr[x.attrLo : x.attrLo+len(x.attr) : x.attrLo+len(x.attr)] // u.attr may have moved
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
		x.text = content[:off:off]
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
