package ai

import (
	"regexp"
	"strings"
)

// Position is a zero-based line and character (in the editor's negotiated
// encoding; the engine only uses lines).
type Position struct {
	Line      int `json:"line"`
	Character int `json:"character"`
}

// Range is a span of a document.
type Range struct {
	Start Position `json:"start"`
	End   Position `json:"end"`
}

// Diagnostic is a problem an editor or language server reported.
type Diagnostic struct {
	Path     string `json:"path"`
	Range    Range  `json:"range"`
	Severity string `json:"severity,omitempty"`
	Message  string `json:"message"`
	Source   string `json:"source,omitempty"`
}

// EditorContext is what the asker's editor knows when they ask: the file,
// selection and cursor, their open documents and the problems shown. Every
// field is optional (the CLI sends none).
type EditorContext struct {
	Path          string       `json:"path,omitempty"`
	Selection     *Range       `json:"selection,omitempty"`
	SelectionText string       `json:"selectionText,omitempty"`
	Cursor        *Position    `json:"cursor,omitempty"`
	OpenDocuments []string     `json:"openDocuments,omitempty"`
	Diagnostics   []Diagnostic `json:"diagnostics,omitempty"`
	Language      string       `json:"language,omitempty"`
}

// Command describes a slash command.
type Command struct {
	Name  string
	Usage string
	Help  string
	// Local commands are answered by the hub without a model.
	Local bool
	// Edits commands ask the model for edit proposals.
	Edits bool
	// Prompt is what the command asks the model, before the person's text.
	Prompt string
}

// Commands are the slash commands, in the order /help lists them.
var Commands = []Command{
	{Name: "help", Usage: "/help", Help: "list commands and mentions", Local: true},
	{Name: "clear", Usage: "/clear", Help: "start a fresh conversation for the AI (history stays readable)", Local: true},
	{Name: "explain", Usage: "/explain [question]", Help: "explain the selection or file",
		Prompt: "Explain what the selected code (or the current file) does, how, and anything surprising about it."},
	{Name: "fix", Usage: "/fix [what is wrong]", Help: "propose a fix for the selection and its problems", Edits: true,
		Prompt: "Find and fix the bug in the selected code (or the current file), using the reported problems if any. Explain the fix briefly, then give the edits."},
	{Name: "test", Usage: "/test", Help: "propose tests for the selection", Edits: true,
		Prompt: "Write unit tests for the selected code (or the current file) in the project's test style. Put them in the conventional test file and give them as edits."},
	{Name: "doc", Usage: "/doc", Help: "propose documentation comments", Edits: true,
		Prompt: "Write documentation comments for the selected code (or the current file) in the language's conventional style, saying why things exist. Give them as edits."},
	{Name: "refactor", Usage: "/refactor [goal]", Help: "propose a refactoring", Edits: true,
		Prompt: "Refactor the selected code (or the current file) to be clearer without changing behaviour. Explain briefly, then give the edits."},
	{Name: "search", Usage: "/search <text>", Help: "search the project's files", Local: true},
	{Name: "model", Usage: "/model [name]", Help: "show or change the project's model", Local: true},
}

// Code-action kinds the editors offer; each maps to a command.
const (
	ActionExplain  = "explain"
	ActionFix      = "fix"
	ActionRefactor = "refactor"
	ActionTest     = "test"
	ActionDocument = "doc"
)

func lookupCommand(name string) (Command, bool) {
	for _, c := range Commands {
		if c.Name == name {
			return c, true
		}
	}
	return Command{}, false
}

func isLocalCommand(name string) bool {
	c, ok := lookupCommand(name)
	return ok && c.Local
}

// parseCommand splits "/fix the loop" into ("fix", "the loop"). Text not
// starting with "/" is no command.
func parseCommand(text string) (name, rest string) {
	t := strings.TrimSpace(text)
	if !strings.HasPrefix(t, "/") || strings.HasPrefix(t, "//") {
		return "", text
	}
	name, rest, _ = strings.Cut(t[1:], " ")
	if i := strings.IndexAny(name, "\n\t"); i >= 0 {
		rest = name[i:] + " " + rest
		name = name[:i]
	}
	return strings.ToLower(name), strings.TrimSpace(rest)
}

// Mention is an @reference in a question.
type Mention struct {
	Kind string // "file", "symbol", "selection", "problems"
	Arg  string
}

var mentionRE = regexp.MustCompile(`(^|[\s(,])@(file:|symbol:)?([A-Za-z0-9_./\-]+)`)

// parseMentions finds @file:path, @path/with.ext, @symbol:Name, @selection
// and @problems in text.
func parseMentions(text string) []Mention {
	var out []Mention
	seen := map[Mention]bool{}
	for _, m := range mentionRE.FindAllStringSubmatch(text, -1) {
		kind, arg := strings.TrimSuffix(m[2], ":"), strings.TrimRight(m[3], ".,;:)")
		switch {
		case kind != "":
		case arg == "selection" || arg == "problems":
			kind, arg = arg, ""
		case strings.ContainsAny(arg, "./"):
			kind = "file"
		default:
			continue // @ann: a person, not a reference
		}
		mm := Mention{Kind: kind, Arg: arg}
		if arg == "" && kind != "selection" && kind != "problems" {
			continue
		}
		if !seen[mm] {
			seen[mm] = true
			out = append(out, mm)
		}
	}
	return out
}

func helpText() string {
	var b strings.Builder
	b.WriteString("Commands:\n")
	for _, c := range Commands {
		b.WriteString("  " + c.Usage + " — " + c.Help + "\n")
	}
	b.WriteString("Mentions: @file:path (or @path/to/file.go), @symbol:Name, @selection, @problems.\n")
	b.WriteString("Answers with edits become proposals that anyone with write access accepts or rejects hunk by hunk.")
	return b.String()
}
