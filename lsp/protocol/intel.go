package protocol

// Code intelligence requests for the browser's context panel and the CLI
// (docs/intel.md). Positions and ranges are in the session's negotiated
// position encoding, like every LSP position; paths are project-relative.
const (
	MethodIntelOutline      = "rubberduck/intel/outline"
	MethodIntelMetrics      = "rubberduck/intel/metrics"
	MethodIntelDefinition   = "rubberduck/intel/definition"
	MethodIntelReferences   = "rubberduck/intel/references"
	MethodIntelCalls        = "rubberduck/intel/calls"
	MethodIntelDependencies = "rubberduck/intel/dependencies"
	MethodIntelSymbols      = "rubberduck/intel/symbols"
	MethodIntelRepoMap      = "rubberduck/intel/repoMap"
	MethodIntelStatus       = "rubberduck/intel/status"
)

// IntelRange is an LSP range (Start inclusive, End exclusive). It is its
// own type so this file does not depend on the editor-sync types.
type IntelRange struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// IntelParams name a file, and a position in it for the requests that
// need one.
type IntelParams struct {
	Project  string    `json:"project"`
	Path     string    `json:"path"`
	Position *Position `json:"position,omitempty"`
}

// IntelMetrics measure one function.
type IntelMetrics struct {
	// Complexity is McCabe's cyclomatic complexity.
	Complexity int `json:"complexity"`
	// Nesting is the deepest nesting of control structures.
	Nesting int `json:"nesting"`
	// Lines is the function's length, signature included.
	Lines int `json:"lines"`
}

// IntelSymbol is one definition.
type IntelSymbol struct {
	Name           string        `json:"name"`
	Kind           string        `json:"kind"`
	Container      string        `json:"container,omitempty"`
	Path           string        `json:"path"`
	Range          IntelRange    `json:"range"`
	SelectionRange IntelRange    `json:"selectionRange"`
	Signature      string        `json:"signature,omitempty"`
	Metrics        *IntelMetrics `json:"metrics,omitempty"`
	Children       []IntelSymbol `json:"children,omitempty"`
}

// IntelOutlineResult is a file's symbols as a tree.
type IntelOutlineResult struct {
	Path    string        `json:"path"`
	Symbols []IntelSymbol `json:"symbols"`
}

// IntelFunction is one function's metrics, with the hub's warning when a
// threshold is crossed.
type IntelFunction struct {
	Name      string     `json:"name"`
	Container string     `json:"container,omitempty"`
	Kind      string     `json:"kind"`
	Range     IntelRange `json:"range"`
	IntelMetrics
	Warning string `json:"warning,omitempty"`
}

// IntelMetricsResult lists a file's functions.
type IntelMetricsResult struct {
	Path      string          `json:"path"`
	Functions []IntelFunction `json:"functions"`
}

// IntelLocation is a range in a project file.
type IntelLocation struct {
	Path  string     `json:"path"`
	Range IntelRange `json:"range"`
}

// IntelReferencesParams ask for the references of what is at a position.
type IntelReferencesParams struct {
	IntelParams
	IncludeDeclaration bool `json:"includeDeclaration,omitempty"`
}

// IntelLocationsResult answers definition and references requests.
// Source says who answered: "index" (the hub's tree-sitter index) or a
// language server's name.
type IntelLocationsResult struct {
	Locations []IntelLocation `json:"locations"`
	Source    string          `json:"source"`
}

// IntelCallsParams ask for the callers ("incoming") or callees
// ("outgoing") of the function at a position.
type IntelCallsParams struct {
	IntelParams
	Direction string `json:"direction"`
}

// IntelCall is one caller or callee with the ranges of the calls.
type IntelCall struct {
	IntelSymbol
	Calls []IntelRange `json:"calls"`
}

// IntelCallsResult answers IntelCallsParams.
type IntelCallsResult struct {
	Calls []IntelCall `json:"calls"`
}

// IntelDependency is one import edge; To is a project path unless
// External.
type IntelDependency struct {
	From     string `json:"from"`
	To       string `json:"to"`
	Spec     string `json:"spec"`
	External bool   `json:"external,omitempty"`
	Line     uint32 `json:"line"`
}

// IntelDependenciesParams ask for the import graph of the project, or of
// one file or directory (Path).
type IntelDependenciesParams struct {
	Project string `json:"project"`
	Path    string `json:"path,omitempty"`
}

// IntelDependenciesResult answers IntelDependenciesParams.
type IntelDependenciesResult struct {
	Edges []IntelDependency `json:"edges"`
}

// IntelSymbolsParams search the project's symbols by name.
type IntelSymbolsParams struct {
	Project string `json:"project"`
	Query   string `json:"query"`
	Limit   int    `json:"limit,omitempty"`
}

// IntelSymbolsResult answers IntelSymbolsParams, best matches first.
type IntelSymbolsResult struct {
	Symbols []IntelSymbol `json:"symbols"`
}

// IntelRepoMapParams ask for the ranked repository map the AI sees.
type IntelRepoMapParams struct {
	Project   string `json:"project"`
	MaxTokens int    `json:"maxTokens,omitempty"`
	// Focus lists files to rank around (default: the documents open on
	// the hub).
	Focus []string `json:"focus,omitempty"`
}

// IntelRepoMapResult is the map as the AI gets it, plus its symbols.
type IntelRepoMapResult struct {
	Text    string              `json:"text"`
	Symbols []IntelRankedSymbol `json:"symbols"`
}

// IntelRankedSymbol is a symbol with its rank in the repository map.
type IntelRankedSymbol struct {
	Name      string  `json:"name"`
	Kind      string  `json:"kind"`
	Container string  `json:"container,omitempty"`
	Path      string  `json:"path"`
	Line      uint32  `json:"line"`
	Signature string  `json:"signature"`
	Rank      float64 `json:"rank"`
}

// IntelStatusResult says what answers for a project.
type IntelStatusResult struct {
	Files   int      `json:"files"`
	Symbols int      `json:"symbols"`
	Servers []string `json:"servers"`
}
