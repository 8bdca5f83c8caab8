package index

import (
	"bytes"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// unit is what one top-level node of a file contributes: the pieces of an
// open document that an edit elsewhere leaves alone. Indices inside frag
// (Symbol.Parent, Ref.Encl, Local.Def) count from the unit's start.
type unit struct {
	start, end uint   // bytes
	line       uint32 // first line
	kind       uint16
	defs       int32 // local definitions numbered in the unit
	frag       *File
}

// extractUnits reads a file one top-level node at a time (top-level nodes
// share no walker state: locals live in functions, containers nest below
// the top). It returns nil units when the grammar's root itself has a
// role, for the caller to extract the whole file instead.
func extractUnits(s *spec, p string, src []byte, tree *sitter.Tree, reuse func(n *sitter.Node) *unit) (*File, []unit) {
	root := tree.RootNode()
	if _, r := s.role(root); r != 0 || s.lang == Markdown {
		return extract(s, p, src, tree, true), nil
	}
	var units []unit
	c := root.Walk()
	defer c.Close()
	if c.GotoFirstChild() {
		for {
			n := c.Node()
			var u *unit
			if reuse != nil {
				u = reuse(n)
			}
			if u == nil {
				u = extractUnit(s, p, src, n)
			}
			units = append(units, *u)
			if !c.GotoNextSibling() {
				break
			}
		}
	}
	return assemble(s, p, src, units), units
}

func extractUnit(s *spec, p string, src []byte, n *sitter.Node) *unit {
	f := &File{Path: p, Lang: s.lang}
	w := &walker{
		s: s, src: src, f: f, locals: true,
		scopes: []map[string]int32{{}},
		skip:   map[uint]bool{}, bound: map[uint]int32{}, callee: map[uint]bool{}, member: map[uint]bool{},
	}
	w.cursor = n.Walk()
	defer w.cursor.Close()
	k, r := s.role(n)
	w.visit(n, k, r, false)
	return &unit{start: n.StartByte(), end: n.EndByte(), line: uint32(n.StartPosition().Row),
		kind: n.KindId(), defs: w.nextDef, frag: f}
}

// assemble joins units into one file, renumbering as a single walk would.
func assemble(s *spec, p string, src []byte, units []unit) *File {
	f := &File{Path: p, Lang: s.lang, ASCII: isASCII(src), Lines: bytes.Count(src, []byte{'\n'}) + 1}
	var syms, defs int32
	for _, u := range units {
		for _, sym := range u.frag.Symbols {
			if sym.Parent >= 0 {
				sym.Parent += syms
			}
			f.Symbols = append(f.Symbols, sym)
		}
		for _, r := range u.frag.Refs {
			if r.Encl >= 0 {
				r.Encl += syms
			}
			f.Refs = append(f.Refs, r)
		}
		for _, l := range u.frag.Locals {
			l.Def += defs
			f.Locals = append(f.Locals, l)
		}
		f.Imports = append(f.Imports, u.frag.Imports...)
		syms += int32(len(u.frag.Symbols))
		defs += u.defs
	}
	return f
}

// shifted moves a unit that an edit before it pushed down by lines lines
// and bytes bytes (its own lines are untouched, so columns stay).
func (u unit) shifted(bytes int, lines int32) *unit {
	mv := func(p Pos) Pos { p.Line = uint32(int32(p.Line) + lines); return p }
	sp := func(s Span) Span { return Span{Start: mv(s.Start), End: mv(s.End)} }
	f := &File{Path: u.frag.Path, Lang: u.frag.Lang}
	f.Symbols = make([]Symbol, len(u.frag.Symbols))
	for i, s := range u.frag.Symbols {
		s.Span, s.Sel = sp(s.Span), sp(s.Sel)
		f.Symbols[i] = s
	}
	f.Refs = make([]Ref, len(u.frag.Refs))
	for i, r := range u.frag.Refs {
		r.At = mv(r.At)
		f.Refs[i] = r
	}
	f.Locals = make([]Local, len(u.frag.Locals))
	for i, l := range u.frag.Locals {
		l.At = mv(l.At)
		f.Locals[i] = l
	}
	f.Imports = make([]Import, len(u.frag.Imports))
	for i, im := range u.frag.Imports {
		im.At = mv(im.At)
		f.Imports[i] = im
	}
	return &unit{start: uint(int(u.start) + bytes), end: uint(int(u.end) + bytes), line: uint32(int32(u.line) + lines),
		kind: u.kind, defs: u.defs, frag: f}
}
