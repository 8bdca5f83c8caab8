package index

import (
	"bytes"
	"regexp"
	"strings"
	"sync"
	"unicode/utf8"
	"unique"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// Pos is a zero-based line and a byte column within that line (UTF-8).
// Conversion to the client's position encoding happens at the edge.
type Pos struct {
	Line uint32 `json:"line"`
	Col  uint32 `json:"col"`
}

// Less orders positions in a file.
func (p Pos) Less(q Pos) bool { return p.Line < q.Line || p.Line == q.Line && p.Col < q.Col }

// Span is a half-open range between two positions.
type Span struct {
	Start Pos `json:"start"`
	End   Pos `json:"end"`
}

// Contains reports whether p lies within the span (end inclusive, so a
// cursor right after an identifier still finds it).
func (s Span) Contains(p Pos) bool { return !p.Less(s.Start) && !s.End.Less(p) }

// Metrics measure one function, for the context panel and the hub's own
// complexity warnings.
type Metrics struct {
	// Complexity is McCabe's cyclomatic complexity: 1 + decision points.
	Complexity int `json:"complexity"`
	// Nesting is the deepest nesting of control structures in the body.
	Nesting int `json:"nesting"`
	// Lines is the function's length in lines, signature included.
	Lines int `json:"lines"`
}

// Symbol is one definition in a file.
type Symbol struct {
	Name      string   `json:"name"`
	Kind      Kind     `json:"kind"`
	Container string   `json:"container,omitempty"`
	Span      Span     `json:"range"`
	Sel       Span     `json:"selectionRange"`
	Sig       string   `json:"signature,omitempty"` // first line, trimmed
	Metrics   *Metrics `json:"metrics,omitempty"`
	Parent    int32    `json:"-"` // index of the enclosing symbol, -1 at top level
}

// Ref is a use of a name that is not resolved within its file's local
// scopes: a reference to a workspace-level definition. It holds no
// pointers (the name is an id), so the garbage collector never scans the
// millions of references of a large tree.
type Ref struct {
	ID   NameID
	At   Pos
	Len  uint16
	Call bool  // the name is called
	Encl int32 // index of the enclosing callable symbol, -1 if none
}

// Local is a definition or use of a local (a parameter or a variable in a
// function). Locals are only kept for open documents and computed on
// demand for closed files, which keeps the workspace index small.
type Local struct {
	At    Pos
	Len   uint16
	IsDef bool  // the defining occurrence
	Def   int32 // identifies the local within its file
}

// Import is one import, use or link to another module or file, as written.
type Import struct {
	Spec string `json:"spec"`
	At   Pos    `json:"at"`
}

// File is what the index knows about one file.
type File struct {
	Path    string
	Lang    Lang
	ASCII   bool // every column is the same in every encoding
	Lines   int
	Symbols []Symbol
	Refs    []Ref
	Imports []Import
	// Locals is filled only when extracted with locals (open documents,
	// position queries).
	Locals []Local
}

type frame struct {
	sym       int32
	decisions int
	nest      int
	maxNest   int
}

type parent struct {
	idx  int32 // -1 for a container without a symbol (a Rust impl block)
	name string
}

type walker struct {
	s      *spec
	src    []byte
	f      *File
	locals bool

	scopes    []map[string]int32
	funcDepth int
	frames    []frame
	parents   []parent // enclosing symbols
	nextDef   int32
	encl      []int32 // enclosing callables
	skip      map[uint]bool
	bound     map[uint]int32
	callee    map[uint]bool
	member    map[uint]bool
	cursor    *sitter.TreeCursor
}

func intern(s string) string { return unique.Make(s).Value() }

// NameID identifies a name process-wide.
type NameID uint32

// nameTable gives every distinct name an id; names are never dropped (a
// project has a bounded vocabulary).
var names = struct {
	mu   sync.RWMutex
	ids  map[string]NameID
	strs []string
}{ids: map[string]NameID{}}

func nameID(s string) NameID {
	names.mu.RLock()
	id, ok := names.ids[s]
	names.mu.RUnlock()
	if ok {
		return id
	}
	names.mu.Lock()
	defer names.mu.Unlock()
	if id, ok := names.ids[s]; ok {
		return id
	}
	s = intern(s)
	id = NameID(len(names.strs))
	names.strs = append(names.strs, s)
	names.ids[s] = id
	return id
}

// lookupID returns the id of a name, if it was ever seen.
func lookupID(s string) (NameID, bool) {
	names.mu.RLock()
	defer names.mu.RUnlock()
	id, ok := names.ids[s]
	return id, ok
}

// String returns the name.
func (id NameID) String() string {
	names.mu.RLock()
	defer names.mu.RUnlock()
	if int(id) < len(names.strs) {
		return names.strs[id]
	}
	return ""
}

// Name returns the referenced name.
func (r Ref) Name() string { return r.ID.String() }

// Extract reads a parsed file. With locals, it also records every local
// definition and use (for scope-aware definitions and references).
func extract(s *spec, p string, src []byte, tree *sitter.Tree, locals bool) *File {
	f := &File{Path: p, Lang: s.lang, ASCII: isASCII(src), Lines: bytes.Count(src, []byte{'\n'}) + 1}
	if s.lang == Markdown {
		extractMarkdown(s, src, tree, f)
		return f
	}
	w := &walker{
		s: s, src: src, f: f, locals: locals,
		scopes: []map[string]int32{{}},
		skip:   map[uint]bool{}, bound: map[uint]int32{}, callee: map[uint]bool{}, member: map[uint]bool{},
	}
	root := tree.RootNode()
	w.cursor = root.Walk()
	defer w.cursor.Close()
	k, r := s.role(root)
	w.visit(root, k, r, false)
	return f
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func pos(p sitter.Point) Pos { return Pos{Line: uint32(p.Row), Col: uint32(p.Column)} }

func span(n *sitter.Node) Span { return Span{Start: pos(n.StartPosition()), End: pos(n.EndPosition())} }

func (w *walker) parentIdx() int32 {
	if len(w.parents) == 0 {
		return -1
	}
	return w.parents[len(w.parents)-1].idx
}

func (w *walker) top(st []int32) int32 {
	if len(st) == 0 {
		return -1
	}
	return st[len(st)-1]
}

// visit reads n, of kind k, with the walker's cursor on n; it leaves the
// cursor on n. One cursor walks the whole tree: every cgo call counts.
func (w *walker) visit(n *sitter.Node, k string, r role, elseIf bool) {
	s := w.s
	var pushedParent, pushedEncl, pushedFrame, pushedScope, nested bool
	funcNode := r&roleFunc != 0

	if r&roleDef == 0 {
		// not a definition
	} else if rule := s.defs[k]; !(rule.topOnly && w.funcDepth > 0) {
		if rule.noSymbol {
			// A container without a symbol of its own (Rust impl): its
			// children take its type as their container.
			w.parents = append(w.parents, parent{idx: w.parentIdx(), name: intern(rule.nameOf(s, n, w.src))})
			pushedParent = true
		} else if idx := w.define(n, rule); idx >= 0 {
			if rule.container {
				w.parents = append(w.parents, parent{idx: idx, name: w.f.Symbols[idx].Name})
				pushedParent = true
			}
			if w.f.Symbols[idx].Kind.Callable() && funcNode {
				w.encl = append(w.encl, idx)
				w.frames = append(w.frames, frame{sym: idx})
				pushedEncl, pushedFrame = true, true
			}
		}
	}
	if funcNode {
		w.funcDepth++
		w.scopes = append(w.scopes, map[string]int32{})
		pushedScope = true
	} else if r&roleScope != 0 {
		w.scopes = append(w.scopes, map[string]int32{})
		pushedScope = true
	}
	if r&roleBinder != 0 {
		w.bind(n, s.binders[k])
	}
	if len(w.frames) > 0 {
		fr := &w.frames[len(w.frames)-1]
		if r&roleDecision != 0 {
			fr.decisions++
		}
		if r&roleNesting != 0 && !elseIf {
			fr.nest++
			nested = true
			if fr.nest > fr.maxNest {
				fr.maxNest = fr.nest
			}
		}
	}
	if r&roleCall != 0 {
		if c := n.ChildByFieldName(s.callKinds[k]); c != nil {
			if nm := w.calleeName(c); nm != nil {
				w.callee[nm.StartByte()] = true
			}
		}
	}
	if r&roleImport != 0 {
		w.addImports(n, s.imports[k])
	}
	if r&roleMember != 0 {
		if c := n.ChildByFieldName(s.members[k]); c != nil {
			w.member[c.StartByte()] = true
		}
	}
	if r&roleRef != 0 {
		w.ref(n, k)
	}

	c := w.cursor
	if c.GotoFirstChild() {
		for {
			ch := c.Node()
			ck, cr := s.role(ch)
			// "else if" continues a chain: it does not nest deeper.
			chainIf := cr&roleNesting != 0 && (s.altField != 0 && ck == k && c.FieldId() == s.altField || k == "else_clause")
			w.visit(ch, ck, cr, chainIf || (elseIf && k == "else_clause"))
			if !c.GotoNextSibling() {
				break
			}
		}
		c.GotoParent()
	}

	if nested {
		w.frames[len(w.frames)-1].nest--
	}
	if pushedScope {
		w.scopes = w.scopes[:len(w.scopes)-1]
	}
	if funcNode {
		w.funcDepth--
	}
	if pushedFrame {
		fr := w.frames[len(w.frames)-1]
		w.frames = w.frames[:len(w.frames)-1]
		sym := &w.f.Symbols[fr.sym]
		sym.Metrics = &Metrics{
			Complexity: 1 + fr.decisions,
			Nesting:    fr.maxNest,
			Lines:      int(sym.Span.End.Line-sym.Span.Start.Line) + 1,
		}
	}
	if pushedEncl {
		w.encl = w.encl[:len(w.encl)-1]
	}
	if pushedParent {
		w.parents = w.parents[:len(w.parents)-1]
	}
}

// define adds the symbols a definition node declares and returns the index
// of the last one, or -1.
func (w *walker) define(n *sitter.Node, rule defRule) int32 {
	s := w.s
	var names []sitter.Node
	if rule.nameField != "" {
		c := n.Walk()
		names = n.ChildrenByFieldName(rule.nameField, c)
		c.Close()
	}
	idx := int32(-1)
	for i := range names {
		nm := &names[i]
		nk := s.kind(nm)
		if !s.refKinds[nk] && !s.identKinds[nk] && nk != "string" && nk != "private_property_identifier" {
			continue // a pattern, a tuple, an attribute: not a simple name
		}
		name := nm.Utf8Text(w.src)
		if nk == "string" {
			name = strings.Trim(name, "\"'`")
		}
		if name == "" || name == "_" {
			continue
		}
		kind := rule.kind
		if rule.kindOf != nil {
			kind = rule.kindOf(s, n, w.src)
		}
		parent, container := int32(-1), ""
		if len(w.parents) > 0 {
			p := w.parents[len(w.parents)-1]
			parent, container = p.idx, p.name
			pk := KindStruct // a symbol-less container is an impl block
			if p.idx >= 0 {
				pk = w.f.Symbols[p.idx].Kind
			}
			if kind == KindFunction && pk != KindFunction && pk != KindMethod && pk != KindModule {
				kind = KindMethod
			}
		}
		if k := s.kind(n); k == "method_declaration" {
			container = goReceiver(n, w.src)
		}
		w.skip[nm.StartByte()] = true
		w.f.Symbols = append(w.f.Symbols, Symbol{
			Name: intern(name), Kind: kind, Container: container,
			Span: span(n), Sel: span(nm), Sig: signature(w.src, nm), Parent: parent,
		})
		idx = int32(len(w.f.Symbols) - 1)
	}
	return idx
}

func goReceiver(n *sitter.Node, src []byte) string {
	r := n.ChildByFieldName("receiver")
	if r == nil {
		return ""
	}
	t := strings.Trim(r.Utf8Text(src), "()")
	fs := strings.Fields(t)
	if len(fs) == 0 {
		return ""
	}
	t = strings.TrimLeft(fs[len(fs)-1], "*")
	if i := strings.IndexByte(t, '['); i >= 0 {
		t = t[:i]
	}
	return intern(t)
}

// signature is the source line that names a symbol, trimmed: what a
// reader (or a model) needs to recognise it.
func signature(src []byte, name *sitter.Node) string {
	start := name.StartByte()
	b := src[bytes.LastIndexByte(src[:start], '\n')+1:]
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	b = bytes.TrimSpace(b)
	b = bytes.TrimSuffix(b, []byte("{"))
	b = bytes.TrimSpace(b)
	if len(b) > 160 {
		b = b[:160]
		for len(b) > 0 && !utf8.Valid(b) {
			b = b[:len(b)-1]
		}
	}
	return string(b)
}

// bind records the identifiers under n's field as local definitions of the
// innermost scope; outside functions it only keeps them from counting as
// references (parameters of function types, for instance).
func (w *walker) bind(n *sitter.Node, field string) {
	var roots []sitter.Node
	if field == "" {
		roots = []sitter.Node{*n}
	} else {
		c := n.Walk()
		roots = n.ChildrenByFieldName(field, c)
		c.Close()
	}
	for i := range roots {
		w.collectIdents(&roots[i], 0)
	}
}

func (w *walker) collectIdents(n *sitter.Node, depth int) {
	s := w.s
	k := s.kind(n)
	if s.identKinds[k] {
		start := n.StartByte()
		if w.skip[start] {
			return
		}
		if w.funcDepth == 0 {
			w.skip[start] = true
			return
		}
		name := intern(n.Utf8Text(w.src))
		scope := w.scopes[len(w.scopes)-1]
		if id, ok := scope[name]; ok {
			w.bound[start] = id // assignment to an existing local
			return
		}
		id := w.nextDef
		w.nextDef++
		scope[name] = id
		w.bound[start] = -id - 2 // a defining occurrence
		return
	}
	switch k {
	// Values and types inside a binding are uses, not definitions.
	case "default_parameter", "typed_default_parameter", "assignment_pattern", "keyword_argument":
		if c := n.ChildByFieldName("name"); c != nil {
			w.collectIdents(c, depth+1)
		} else if c := n.ChildByFieldName("left"); c != nil {
			w.collectIdents(c, depth+1)
		}
		return
	case "required_parameter", "optional_parameter":
		if c := n.ChildByFieldName("pattern"); c != nil {
			w.collectIdents(c, depth+1)
		}
		return
	case "parameter":
		if c := n.ChildByFieldName("pattern"); c != nil {
			w.collectIdents(c, depth+1)
			return
		}
	case "typed_parameter":
		if c := n.NamedChild(0); c != nil {
			w.collectIdents(c, depth+1)
		}
		return
	case "pair_pattern":
		if c := n.ChildByFieldName("value"); c != nil {
			w.collectIdents(c, depth+1)
		}
		return
	case "attribute", "subscript", "member_expression", "call", "call_expression", "type_annotation",
		"field_expression", "scoped_identifier", "arrow_function", "function_expression", "lambda":
		return
	}
	if depth > 12 {
		return
	}
	cnt := n.NamedChildCount()
	for i := uint(0); i < cnt; i++ {
		if c := n.NamedChild(i); c != nil {
			w.collectIdents(c, depth+1)
		}
	}
}

func (w *walker) calleeName(c *sitter.Node) *sitter.Node {
	s := w.s
	for range 4 {
		k := s.kind(c)
		if s.refKinds[k] {
			return c
		}
		var next *sitter.Node
		for _, f := range []string{"field", "property", "attribute", "name", "function", "macro"} {
			if x := c.ChildByFieldName(f); x != nil {
				next = x
				break
			}
		}
		if next == nil {
			return nil
		}
		c = next
	}
	return nil
}

func (w *walker) ref(n *sitter.Node, k string) {
	start := n.StartByte()
	if w.skip[start] {
		return
	}
	at := pos(n.StartPosition())
	end := n.EndByte()
	ln := end - start
	if ln > 0xffff {
		return
	}
	if id, ok := w.bound[start]; ok {
		if w.locals {
			def, isDef := id, false
			if id <= -2 {
				def, isDef = -id-2, true
			}
			w.f.Locals = append(w.f.Locals, Local{At: at, Len: uint16(ln), Def: def, IsDef: isDef})
		}
		return
	}
	if end > uint(len(w.src)) {
		return
	}
	name := string(w.src[start:end])
	if name == "_" {
		return
	}
	if !w.member[start] && (k == "identifier" || k == "shorthand_property_identifier") {
		for i := len(w.scopes) - 1; i > 0; i-- {
			if id, ok := w.scopes[i][name]; ok {
				if w.locals {
					w.f.Locals = append(w.f.Locals, Local{At: at, Len: uint16(ln), Def: id})
				}
				return
			}
		}
	}
	w.f.Refs = append(w.f.Refs, Ref{ID: nameID(name), At: at, Len: uint16(ln), Call: w.callee[start], Encl: w.top(w.encl)})
}

func (w *walker) addImports(n *sitter.Node, field string) {
	c := n.Walk()
	specs := n.ChildrenByFieldName(field, c)
	c.Close()
	for i := range specs {
		sp := &specs[i]
		if w.s.kind(sp) == "aliased_import" {
			if x := sp.ChildByFieldName("name"); x != nil {
				sp = x
			}
		}
		text := strings.Trim(sp.Utf8Text(w.src), "\"'`")
		if text == "" {
			continue
		}
		w.f.Imports = append(w.f.Imports, Import{Spec: text, At: pos(sp.StartPosition())})
		// The module path is not a reference to a symbol.
		w.markSkip(sp)
	}
}

func (w *walker) markSkip(n *sitter.Node) {
	if w.s.refKinds[w.s.kind(n)] {
		w.skip[n.StartByte()] = true
	}
	cnt := n.NamedChildCount()
	for i := uint(0); i < cnt; i++ {
		if c := n.NamedChild(i); c != nil {
			w.markSkip(c)
		}
	}
}

var mdLink = regexp.MustCompile(`\]\(([^)\s]+)`)

// extractMarkdown reads headings as symbols (nested by level) and relative
// links as imports.
func extractMarkdown(s *spec, src []byte, tree *sitter.Tree, f *File) {
	type open struct {
		level int
		idx   int32
	}
	var stack []open
	var walk func(n *sitter.Node)
	walk = func(n *sitter.Node) {
		k := s.kind(n)
		if k == "atx_heading" || k == "setext_heading" {
			level, title := mdHeading(s, n, src)
			for len(stack) > 0 && stack[len(stack)-1].level >= level {
				stack = stack[:len(stack)-1]
			}
			parent, container := int32(-1), ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1].idx
				container = f.Symbols[parent].Name
			}
			sp := span(n)
			if sp.End.Col == 0 && sp.End.Line > sp.Start.Line {
				sp.End = Pos{Line: sp.End.Line - 1, Col: uint32(len(lineAt(src, int(sp.End.Line-1))))}
			}
			f.Symbols = append(f.Symbols, Symbol{Name: intern(title), Kind: KindHeading, Container: container,
				Span: sp, Sel: sp, Sig: strings.Repeat("#", level) + " " + title, Parent: parent})
			stack = append(stack, open{level, int32(len(f.Symbols) - 1)})
			return
		}
		cnt := n.NamedChildCount()
		for i := uint(0); i < cnt; i++ {
			if c := n.NamedChild(i); c != nil {
				walk(c)
			}
		}
	}
	walk(tree.RootNode())
	for _, m := range mdLink.FindAllSubmatchIndex(src, -1) {
		target := string(src[m[2]:m[3]])
		if strings.Contains(target, "://") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "mailto:") {
			continue
		}
		line := bytes.Count(src[:m[2]], []byte{'\n'})
		col := m[2] - (bytes.LastIndexByte(src[:m[2]], '\n') + 1)
		f.Imports = append(f.Imports, Import{Spec: target, At: Pos{Line: uint32(line), Col: uint32(col)}})
	}
}

func lineAt(src []byte, line int) []byte {
	for i := 0; i < line; i++ {
		j := bytes.IndexByte(src, '\n')
		if j < 0 {
			return nil
		}
		src = src[j+1:]
	}
	if j := bytes.IndexByte(src, '\n'); j >= 0 {
		return src[:j]
	}
	return src
}

func mdHeading(s *spec, n *sitter.Node, src []byte) (int, string) {
	level := 1
	cnt := n.ChildCount()
	for i := uint(0); i < cnt; i++ {
		c := n.Child(i)
		if c == nil {
			continue
		}
		k := s.kind(c)
		if strings.HasPrefix(k, "atx_h") && strings.HasSuffix(k, "_marker") && len(k) > 5 {
			level = int(k[5] - '0')
		}
		if k == "setext_h2_underline" {
			level = 2
		}
	}
	title := ""
	if c := n.ChildByFieldName("heading_content"); c != nil {
		title = c.Utf8Text(src)
	} else {
		text := n.Utf8Text(src)
		if i := strings.IndexByte(text, '\n'); i >= 0 && s.kind(n) == "setext_heading" {
			text = text[:i]
		}
		title = strings.TrimLeft(text, "#")
	}
	return level, strings.TrimSpace(strings.TrimRight(strings.TrimSpace(title), "#"))
}
