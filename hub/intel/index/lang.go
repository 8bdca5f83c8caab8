package index

import (
	"path"
	"strings"
	"sync"
	"unsafe"

	markdown "github.com/tree-sitter-grammars/tree-sitter-markdown/bindings/go"
	sitter "github.com/tree-sitter/go-tree-sitter"
	golang "github.com/tree-sitter/tree-sitter-go/bindings/go"
	javascript "github.com/tree-sitter/tree-sitter-javascript/bindings/go"
	python "github.com/tree-sitter/tree-sitter-python/bindings/go"
	rust "github.com/tree-sitter/tree-sitter-rust/bindings/go"
	typescript "github.com/tree-sitter/tree-sitter-typescript/bindings/go"
)

// Lang names a language the index understands. The values are LSP
// languageIds, so they can be passed to language servers unchanged.
type Lang string

// Languages the index parses.
const (
	Go         Lang = "go"
	Python     Lang = "python"
	JavaScript Lang = "javascript"
	TypeScript Lang = "typescript"
	TSX        Lang = "typescriptreact"
	Rust       Lang = "rust"
	Markdown   Lang = "markdown"
)

// LangOf picks the language of a file from its name; "" means the index
// does not parse it.
func LangOf(p string) Lang {
	switch strings.ToLower(path.Ext(p)) {
	case ".go":
		return Go
	case ".py", ".pyi":
		return Python
	case ".js", ".mjs", ".cjs", ".jsx":
		return JavaScript
	case ".ts", ".mts", ".cts":
		return TypeScript
	case ".tsx":
		return TSX
	case ".rs":
		return Rust
	case ".md", ".markdown":
		return Markdown
	}
	return ""
}

// Kind is what a symbol is. The names follow LSP's SymbolKind so the hub
// can map them one to one.
type Kind string

// Symbol kinds.
const (
	KindFunction  Kind = "function"
	KindMethod    Kind = "method"
	KindClass     Kind = "class"
	KindStruct    Kind = "struct"
	KindInterface Kind = "interface"
	KindType      Kind = "type"
	KindEnum      Kind = "enum"
	KindVariable  Kind = "variable"
	KindConstant  Kind = "constant"
	KindField     Kind = "field"
	KindModule    Kind = "module"
	KindHeading   Kind = "heading"
)

// Callable reports whether symbols of this kind have bodies that call
// others, carry metrics and appear in call hierarchies.
func (k Kind) Callable() bool { return k == KindFunction || k == KindMethod }

// defRule turns one node kind into a symbol.
type defRule struct {
	kind      Kind
	nameField string // field holding the name ("" means: first identifier child)
	// container: the symbol encloses its children (class, impl, struct).
	container bool
	// topOnly: only outside function bodies (elsewhere it is a local).
	topOnly bool
	// kindOf refines the kind from the node (e.g. Go type_spec → struct).
	kindOf func(s *spec, n *sitter.Node, src []byte) Kind
	// nameOf overrides how the name is found (Rust impl blocks).
	nameOf func(s *spec, n *sitter.Node, src []byte) string
	// symbol: false for nodes that only contain (impl blocks).
	noSymbol bool
}

// spec is everything the extractor knows about one grammar.
type spec struct {
	lang  Lang
	ts    *sitter.Language
	kinds []string // kind id -> name
	// altField is the id of the "alternative" field (else branches), 0 if
	// the grammar has none.
	altField uint16
	// roles has, per kind id, which of the tables below mention the kind:
	// one array index per node instead of ten map lookups.
	roles []role

	defs      map[string]defRule
	refKinds  map[string]bool   // identifier-like kinds that are references
	callKinds map[string]string // call node kind -> callee field
	decision  map[string]bool   // +1 cyclomatic complexity
	nesting   map[string]bool   // +1 nesting depth
	funcKinds map[string]bool   // function-like nodes (scopes with parameters)
	scopes    map[string]bool   // block scopes
	// binders: node kind -> field whose identifiers are local definitions
	// when inside a function ("" means every identifier under the node).
	binders map[string]string
	// imports: node kind -> field holding the imported module.
	imports map[string]string
	// identKinds are the kinds a binder's identifiers may have.
	identKinds map[string]bool
	// members: node kind -> field naming a member (Python's obj.attr):
	// that identifier never resolves to a local.
	members map[string]string
}

func set(xs ...string) map[string]bool {
	m := make(map[string]bool, len(xs))
	for _, x := range xs {
		m[x] = true
	}
	return m
}

var (
	specsOnce sync.Once
	specs     map[Lang]*spec
)

func specFor(l Lang) *spec {
	specsOnce.Do(initSpecs)
	return specs[l]
}

func newSpec(l Lang, ptr unsafe.Pointer) *spec {
	ts := sitter.NewLanguage(ptr)
	n := ts.NodeKindCount()
	kinds := make([]string, n)
	for i := uint32(0); i < n; i++ {
		kinds[i] = ts.NodeKindForId(uint16(i))
	}
	return &spec{lang: l, ts: ts, kinds: kinds, altField: ts.FieldIdForName("alternative")}
}

type role uint16

const (
	roleDef role = 1 << iota
	roleFunc
	roleScope
	roleBinder
	roleDecision
	roleNesting
	roleCall
	roleImport
	roleMember
	roleRef
)

func (s *spec) computeRoles() {
	s.roles = make([]role, len(s.kinds))
	for id, k := range s.kinds {
		var r role
		if _, ok := s.defs[k]; ok {
			r |= roleDef
		}
		if s.funcKinds[k] {
			r |= roleFunc
		}
		if s.scopes[k] {
			r |= roleScope
		}
		if _, ok := s.binders[k]; ok {
			r |= roleBinder
		}
		if s.decision[k] {
			r |= roleDecision
		}
		if s.nesting[k] {
			r |= roleNesting
		}
		if _, ok := s.callKinds[k]; ok {
			r |= roleCall
		}
		if _, ok := s.imports[k]; ok {
			r |= roleImport
		}
		if _, ok := s.members[k]; ok {
			r |= roleMember
		}
		if s.refKinds[k] {
			r |= roleRef
		}
		s.roles[id] = r
	}
}

func (s *spec) role(n *sitter.Node) (string, role) {
	id := n.KindId()
	if int(id) < len(s.kinds) {
		return s.kinds[id], s.roles[id]
	}
	return n.Kind(), 0
}

func (s *spec) kind(n *sitter.Node) string {
	id := n.KindId()
	if int(id) < len(s.kinds) {
		return s.kinds[id]
	}
	return n.Kind()
}

func initSpecs() {
	specs = map[Lang]*spec{}

	g := newSpec(Go, golang.Language())
	g.defs = map[string]defRule{
		"function_declaration": {kind: KindFunction, nameField: "name"},
		"method_declaration":   {kind: KindMethod, nameField: "name"},
		"type_spec":            {kind: KindType, nameField: "name", container: true, kindOf: goTypeKind},
		"type_alias":           {kind: KindType, nameField: "name"},
		"const_spec":           {kind: KindConstant, nameField: "name", topOnly: true},
		"var_spec":             {kind: KindVariable, nameField: "name", topOnly: true},
		"field_declaration":    {kind: KindField, nameField: "name"},
		"method_elem":          {kind: KindMethod, nameField: "name"},
	}
	g.refKinds = set("identifier", "type_identifier", "field_identifier")
	g.identKinds = set("identifier")
	g.callKinds = map[string]string{"call_expression": "function"}
	g.decision = set("if_statement", "for_statement", "expression_case", "type_case", "communication_case", "&&", "||")
	g.nesting = set("if_statement", "for_statement", "expression_switch_statement", "type_switch_statement", "select_statement")
	g.funcKinds = set("function_declaration", "method_declaration", "func_literal")
	g.scopes = set("block", "if_statement", "for_statement", "expression_switch_statement", "type_switch_statement",
		"expression_case", "type_case", "communication_case", "default_case", "select_statement")
	g.binders = map[string]string{
		"short_var_declaration": "left", "var_spec": "name", "const_spec": "name",
		"parameter_declaration": "name", "variadic_parameter_declaration": "name", "range_clause": "left",
		"receive_statement": "left",
	}
	g.imports = map[string]string{"import_spec": "path"}
	specs[Go] = g

	py := newSpec(Python, python.Language())
	py.defs = map[string]defRule{
		"function_definition": {kind: KindFunction, nameField: "name"},
		"class_definition":    {kind: KindClass, nameField: "name", container: true},
		"assignment":          {kind: KindVariable, nameField: "left", topOnly: true},
	}
	py.refKinds = set("identifier")
	py.identKinds = set("identifier")
	py.callKinds = map[string]string{"call": "function"}
	py.decision = set("if_statement", "elif_clause", "for_statement", "while_statement", "except_clause",
		"conditional_expression", "case_clause", "if_clause", "and", "or")
	py.nesting = set("if_statement", "for_statement", "while_statement", "try_statement", "with_statement", "match_statement")
	py.funcKinds = set("function_definition", "lambda")
	py.scopes = set()
	py.binders = map[string]string{
		"parameters": "", "lambda_parameters": "", "assignment": "left", "augmented_assignment": "left",
		"for_statement": "left", "for_in_clause": "left", "as_pattern_target": "", "named_expression": "name",
	}
	py.members = map[string]string{"attribute": "attribute", "keyword_argument": "name"}
	py.imports = map[string]string{"import_statement": "name", "import_from_statement": "module_name"}
	specs[Python] = py

	for _, l := range []Lang{JavaScript, TypeScript, TSX} {
		var s *spec
		switch l {
		case JavaScript:
			s = newSpec(l, javascript.Language())
		case TypeScript:
			s = newSpec(l, typescript.LanguageTypescript())
		default:
			s = newSpec(l, typescript.LanguageTSX())
		}
		s.defs = map[string]defRule{
			"function_declaration":           {kind: KindFunction, nameField: "name"},
			"generator_function_declaration": {kind: KindFunction, nameField: "name"},
			"class_declaration":              {kind: KindClass, nameField: "name", container: true},
			"abstract_class_declaration":     {kind: KindClass, nameField: "name", container: true},
			"class":                          {kind: KindClass, nameField: "name", container: true},
			"method_definition":              {kind: KindMethod, nameField: "name"},
			"method_signature":               {kind: KindMethod, nameField: "name"},
			"abstract_method_signature":      {kind: KindMethod, nameField: "name"},
			"field_definition":               {kind: KindField, nameField: "property"},
			"public_field_definition":        {kind: KindField, nameField: "name"},
			"property_signature":             {kind: KindField, nameField: "name"},
			"interface_declaration":          {kind: KindInterface, nameField: "name", container: true},
			"type_alias_declaration":         {kind: KindType, nameField: "name"},
			"enum_declaration":               {kind: KindEnum, nameField: "name"},
			"variable_declarator":            {kind: KindVariable, nameField: "name", topOnly: true, kindOf: jsVarKind},
			"module":                         {kind: KindModule, nameField: "name", container: true},
			"internal_module":                {kind: KindModule, nameField: "name", container: true},
		}
		s.refKinds = set("identifier", "property_identifier", "type_identifier", "shorthand_property_identifier")
		s.identKinds = set("identifier", "shorthand_property_identifier_pattern")
		s.callKinds = map[string]string{"call_expression": "function", "new_expression": "constructor"}
		s.decision = set("if_statement", "for_statement", "for_in_statement", "while_statement", "do_statement",
			"switch_case", "catch_clause", "ternary_expression", "&&", "||", "??")
		s.nesting = set("if_statement", "for_statement", "for_in_statement", "while_statement", "do_statement",
			"switch_statement", "try_statement")
		s.funcKinds = set("function_declaration", "generator_function_declaration", "function_expression",
			"function", "arrow_function", "method_definition", "generator_function")
		s.scopes = set("statement_block", "for_statement", "for_in_statement", "catch_clause", "switch_body")
		s.binders = map[string]string{
			"variable_declarator": "name", "formal_parameters": "", "catch_clause": "parameter",
			"for_in_statement": "left",
		}
		s.imports = map[string]string{"import_statement": "source", "export_statement": "source"}
		specs[l] = s
	}

	r := newSpec(Rust, rust.Language())
	r.defs = map[string]defRule{
		"function_item":           {kind: KindFunction, nameField: "name"},
		"function_signature_item": {kind: KindFunction, nameField: "name"},
		"struct_item":             {kind: KindStruct, nameField: "name", container: true},
		"enum_item":               {kind: KindEnum, nameField: "name", container: true},
		"union_item":              {kind: KindStruct, nameField: "name", container: true},
		"trait_item":              {kind: KindInterface, nameField: "name", container: true},
		"type_item":               {kind: KindType, nameField: "name"},
		"const_item":              {kind: KindConstant, nameField: "name"},
		"static_item":             {kind: KindVariable, nameField: "name"},
		"mod_item":                {kind: KindModule, nameField: "name", container: true},
		"macro_definition":        {kind: KindFunction, nameField: "name"},
		"field_declaration":       {kind: KindField, nameField: "name"},
		"enum_variant":            {kind: KindConstant, nameField: "name"},
		"impl_item":               {container: true, noSymbol: true, nameOf: rustImplName},
	}
	r.refKinds = set("identifier", "type_identifier", "field_identifier")
	r.identKinds = set("identifier")
	r.callKinds = map[string]string{"call_expression": "function", "macro_invocation": "macro"}
	r.decision = set("if_expression", "while_expression", "for_expression", "match_arm", "&&", "||")
	r.nesting = set("if_expression", "while_expression", "for_expression", "loop_expression", "match_expression")
	r.funcKinds = set("function_item", "closure_expression")
	r.scopes = set("block", "for_expression", "match_arm", "if_expression", "while_expression")
	r.binders = map[string]string{
		"let_declaration": "pattern", "parameter": "pattern", "closure_parameters": "",
		"for_expression": "pattern", "match_pattern": "", "let_condition": "pattern",
	}
	r.imports = map[string]string{"use_declaration": "argument", "extern_crate_declaration": "name"}
	specs[Rust] = r

	md := newSpec(Markdown, markdown.Language())
	specs[Markdown] = md
	for _, sp := range specs {
		sp.computeRoles()
	}
}

func goTypeKind(s *spec, n *sitter.Node, _ []byte) Kind {
	if t := n.ChildByFieldName("type"); t != nil {
		switch s.kind(t) {
		case "struct_type":
			return KindStruct
		case "interface_type":
			return KindInterface
		}
	}
	return KindType
}

func jsVarKind(s *spec, n *sitter.Node, _ []byte) Kind {
	if v := n.ChildByFieldName("value"); v != nil {
		switch s.kind(v) {
		case "arrow_function", "function_expression", "function", "generator_function":
			return KindFunction
		case "class":
			return KindClass
		}
	}
	return KindVariable
}

func rustImplName(s *spec, n *sitter.Node, src []byte) string {
	t := n.ChildByFieldName("type")
	for t != nil && s.kind(t) == "generic_type" {
		t = t.ChildByFieldName("type")
	}
	if t == nil {
		return ""
	}
	return t.Utf8Text(src)
}
