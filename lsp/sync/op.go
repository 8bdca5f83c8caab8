package sync

import (
	"encoding/binary"
	"strings"
	"unicode/utf8"
)

// op is an operational-transformation text operation in the ot.js shape: a
// sequence of retain / insert / delete components that walks its base text
// from start to end, counting code points. It is how the editor edge keeps
// track of what the editor still has to receive (the CRDT side already has
// it) and moves the editor's own edits across that gap.
type op []comp

// comp is one component: kind retain or delete n code points, or insert s
// (n = its length in code points).
type comp struct {
	kind kind
	n    int
	s    string
}

type kind uint8

const (
	retain kind = iota + 1
	insert
	del
)

// targetLen is the length of the text after the op.
func (o op) targetLen() int {
	n := 0
	for _, c := range o {
		if c.kind != del {
			n += c.n
		}
	}
	return n
}

// noop reports whether the op changes nothing.
func (o op) noop() bool {
	for _, c := range o {
		if c.kind != retain {
			return false
		}
	}
	return true
}

// builder appends components, merging neighbours of the same kind and
// keeping inserts before deletes at one position, so equal operations have
// equal representations.
type builder struct{ o op }

func (b *builder) retain(n int) {
	if n <= 0 {
		return
	}
	if l := len(b.o); l > 0 && b.o[l-1].kind == retain {
		b.o[l-1].n += n
		return
	}
	b.o = append(b.o, comp{kind: retain, n: n})
}

func (b *builder) insert(s string) {
	if s == "" {
		return
	}
	n := utf8.RuneCountInString(s)
	l := len(b.o)
	switch {
	case l > 0 && b.o[l-1].kind == insert:
		b.o[l-1].s += s
		b.o[l-1].n += n
	case l > 0 && b.o[l-1].kind == del:
		// Canonical order: insert before delete.
		if l > 1 && b.o[l-2].kind == insert {
			b.o[l-2].s += s
			b.o[l-2].n += n
			return
		}
		d := b.o[l-1]
		b.o[l-1] = comp{kind: insert, n: n, s: s}
		b.o = append(b.o, d)
	default:
		b.o = append(b.o, comp{kind: insert, n: n, s: s})
	}
}

func (b *builder) delete(n int) {
	if n <= 0 {
		return
	}
	if l := len(b.o); l > 0 && b.o[l-1].kind == del {
		b.o[l-1].n += n
		return
	}
	b.o = append(b.o, comp{kind: del, n: n})
}

// identity is the op that keeps a text of n code points as it is.
func identity(n int) op {
	var b builder
	b.retain(n)
	return b.o
}

// replaceOp deletes del code points at pos and inserts s, in a text of
// length n.
func replaceOp(n, pos, dl int, s string) op {
	var b builder
	b.retain(pos)
	b.insert(s)
	b.delete(dl)
	b.retain(n - pos - dl)
	return b.o
}

// apply runs o on text, which must be as long (in code points) as the
// text o was built against.
func (o op) apply(text string) string {
	var sb strings.Builder
	sb.Grow(len(text))
	i := 0 // byte offset in text
	for k, c := range o {
		switch c.kind {
		case retain:
			if k == len(o)-1 {
				// The final retain keeps the rest: no need to count it.
				sb.WriteString(text[i:])
				return sb.String()
			}
			j := advance(text, i, c.n)
			sb.WriteString(text[i:j])
			i = j
		case insert:
			sb.WriteString(c.s)
		case del:
			i = advance(text, i, c.n)
		}
	}
	sb.WriteString(text[i:])
	return sb.String()
}

// invert returns the op that undoes o on the text o produced from base.
func (o op) invert(base string) op {
	var b builder
	i := 0
	for _, c := range o {
		switch c.kind {
		case retain:
			b.retain(c.n)
			i = advance(base, i, c.n)
		case insert:
			b.delete(c.n)
		case del:
			j := advance(base, i, c.n)
			b.insert(base[i:j])
			i = j
		}
	}
	return b.o
}

// advance returns the byte offset n code points after byte offset i.
func advance(s string, i, n int) int {
	// ASCII runs, eight bytes at a time: the common case in source code.
	for n >= 8 && i+8 <= len(s) && binary.LittleEndian.Uint64([]byte(s[i:i+8]))&0x8080808080808080 == 0 {
		i += 8
		n -= 8
	}
	for ; n > 0 && i < len(s); n-- {
		if s[i] < utf8.RuneSelf {
			i++
			continue
		}
		_, sz := utf8.DecodeRuneInString(s[i:])
		i += sz
	}
	return i
}

// prefixRunes returns the first n code points of s and the rest.
func prefixRunes(s string, n int) (string, string) {
	i := advance(s, 0, n)
	return s[:i], s[i:]
}

// compose returns the op equal to a followed by b (b's base is a's target).
func compose(a, b op) op {
	var out builder
	ai, bi := 0, 0
	var ca, cb comp
	next := func(o op, i *int) comp {
		if *i < len(o) {
			c := o[*i]
			*i++
			return c
		}
		return comp{}
	}
	ca, cb = next(a, &ai), next(b, &bi)
	for ca.kind != 0 || cb.kind != 0 {
		switch {
		case ca.kind == del:
			out.delete(ca.n)
			ca = next(a, &ai)
		case cb.kind == insert:
			out.insert(cb.s)
			cb = next(b, &bi)
		case ca.kind == 0 || cb.kind == 0:
			// Lengths disagree; callers guarantee they do not.
			panic("sync: compose of ops with mismatched lengths")
		case ca.kind == retain && cb.kind == retain:
			n := min(ca.n, cb.n)
			out.retain(n)
			ca.n -= n
			cb.n -= n
		case ca.kind == insert && cb.kind == del:
			n := min(ca.n, cb.n)
			_, rest := prefixRunes(ca.s, n)
			ca.s = rest
			ca.n -= n
			cb.n -= n
		case ca.kind == insert && cb.kind == retain:
			n := min(ca.n, cb.n)
			head, rest := prefixRunes(ca.s, n)
			out.insert(head)
			ca.s = rest
			ca.n -= n
			cb.n -= n
		case ca.kind == retain && cb.kind == del:
			n := min(ca.n, cb.n)
			out.delete(n)
			ca.n -= n
			cb.n -= n
		}
		if ca.kind != 0 && ca.n == 0 {
			ca = next(a, &ai)
		}
		if cb.kind != 0 && cb.n == 0 {
			cb = next(b, &bi)
		}
	}
	return out.o
}

// transform takes two ops on the same base text, a (the editor's) and b
// (what the editor has not received yet), and returns a' (a rebased onto
// b's result) and b' (b rebased onto a's result), so that a then b' equals
// b then a'. When both insert at one position, a's text goes first: the
// typist's caret stays after what they typed.
func transform(a, b op) (op, op) {
	var ap, bp builder
	ai, bi := 0, 0
	next := func(o op, i *int) comp {
		if *i < len(o) {
			c := o[*i]
			*i++
			return c
		}
		return comp{}
	}
	ca, cb := next(a, &ai), next(b, &bi)
	for ca.kind != 0 || cb.kind != 0 {
		switch {
		case ca.kind == insert:
			ap.insert(ca.s)
			bp.retain(ca.n)
			ca = next(a, &ai)
			continue
		case cb.kind == insert:
			ap.retain(cb.n)
			bp.insert(cb.s)
			cb = next(b, &bi)
			continue
		case ca.kind == 0 || cb.kind == 0:
			panic("sync: transform of ops with mismatched lengths")
		}
		n := min(ca.n, cb.n)
		switch {
		case ca.kind == retain && cb.kind == retain:
			ap.retain(n)
			bp.retain(n)
		case ca.kind == del && cb.kind == del:
			// Both deleted the same text: nothing left to do on either side.
		case ca.kind == del && cb.kind == retain:
			ap.delete(n)
		case ca.kind == retain && cb.kind == del:
			bp.delete(n)
		}
		ca.n -= n
		cb.n -= n
		if ca.n == 0 {
			ca = next(a, &ai)
		}
		if cb.n == 0 {
			cb = next(b, &bi)
		}
	}
	return ap.o, bp.o
}

// edit is one contiguous replacement in a base text, in code points.
type edit struct {
	pos, del int
	ins      string
}

// edits lists o's changes as non-overlapping replacements, each relative to
// o's base text (the shape of LSP's TextEdit list), in ascending order.
func (o op) edits() []edit {
	var out []edit
	pos := 0
	var cur *edit
	for _, c := range o {
		switch c.kind {
		case retain:
			pos += c.n
			cur = nil
		case insert:
			if cur == nil {
				out = append(out, edit{pos: pos})
				cur = &out[len(out)-1]
			}
			cur.ins += c.s
		case del:
			if cur == nil {
				out = append(out, edit{pos: pos})
				cur = &out[len(out)-1]
			}
			cur.del += c.n
			pos += c.n
		}
	}
	return out
}

// fromEdits builds an op from non-overlapping replacements in ascending
// order on a base text of n code points.
func fromEdits(n int, es []edit) op {
	var b builder
	pos := 0
	for _, e := range es {
		b.retain(e.pos - pos)
		b.insert(e.ins)
		b.delete(e.del)
		pos = e.pos + e.del
	}
	b.retain(n - pos)
	return b.o
}
