package propose

import (
	"strings"

	udiff "github.com/aymanbagabas/go-udiff"
)

// Replacement is one search/replace edit the model wrote in its answer.
type Replacement struct {
	Path    string
	Search  string
	Replace string
}

// FormatInstructions tells a model how to write edits that ParseReplacements
// understands. Search/replace blocks keep answers short on large files, and
// tolerant matching makes up for models that get spacing wrong.
const FormatInstructions = "To change a file, write one block per change, exactly like this:\n\n" +
	"path/to/file.ext\n<<<<<<< SEARCH\nthe exact existing lines\n=======\nthe new lines\n>>>>>>> REPLACE\n\n" +
	"The SEARCH part must copy existing lines of the file, including enough of them to be unique. " +
	"To create a file, leave SEARCH empty."

// ParseReplacements extracts search/replace blocks from a model's answer.
// The path is the last non-empty line before a block, with markdown
// decoration (backticks, fence language, bold) removed; blocks without a
// path are attributed to defaultPath.
func ParseReplacements(answer, defaultPath string) []Replacement {
	lines := strings.SplitAfter(answer, "\n")
	var out []Replacement
	lastPath := defaultPath
	for i := 0; i < len(lines); i++ {
		l := strings.TrimRight(lines[i], "\r\n")
		if strings.TrimSpace(l) != "<<<<<<< SEARCH" {
			if p := pathLike(l); p != "" {
				lastPath = p
			}
			continue
		}
		var search, replace strings.Builder
		j := i + 1
		for ; j < len(lines) && strings.TrimSpace(strings.TrimRight(lines[j], "\r\n")) != "======="; j++ {
			search.WriteString(lines[j])
		}
		k := j + 1
		for ; k < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[k]), ">>>>>>> REPLACE"); k++ {
			replace.WriteString(lines[k])
		}
		if j >= len(lines) || k >= len(lines) {
			break // an unterminated block: the model was cut off
		}
		out = append(out, Replacement{Path: lastPath, Search: search.String(), Replace: replace.String()})
		i = k
	}
	return out
}

// pathLike returns l as a file path when it looks like one on its own line.
func pathLike(l string) string {
	s := strings.TrimSpace(l)
	s = strings.TrimPrefix(s, "```")
	if f := strings.Fields(s); len(f) == 2 && !strings.ContainsAny(f[0], "./") {
		s = f[1] // "```go path/to/file.go"
	}
	s = strings.Trim(s, "`*: ")
	s = strings.TrimPrefix(s, "path=")
	if s == "" || strings.ContainsAny(s, " \t<>|\"'") || len(s) > 300 {
		return ""
	}
	if !strings.Contains(s, ".") && !strings.Contains(s, "/") {
		return ""
	}
	if strings.HasSuffix(s, ".") { // the end of a sentence
		return ""
	}
	return s
}

// ApplyReplacement applies one search/replace to text with tolerant
// matching; ok is false when the search lines are not found. An empty
// search appends to the text (a new file, or an addition at the end).
func ApplyReplacement(text string, r Replacement) (string, MatchMode, bool) {
	if strings.TrimSpace(r.Search) == "" {
		if text != "" && !strings.HasSuffix(text, "\n") {
			text += "\n"
		}
		return text + r.Replace, MatchExact, true
	}
	sp, ok := locate(text, splitLines(r.Search), 0)
	if !ok {
		return text, "", false
	}
	nt := rebuild(opsBetween(r.Search, r.Replace), splitLines(text[sp.start:sp.stop]))
	return text[:sp.start] + nt + text[sp.stop:], sp.mode, true
}

// opsBetween is the line-by-line difference between two blocks, every line
// included.
func opsBetween(a, b string) []op {
	if !strings.HasSuffix(a, "\n") {
		a += "\n"
	}
	if !strings.HasSuffix(b, "\n") {
		b += "\n"
	}
	edits := udiff.Lines(a, b)
	ud, err := udiff.ToUnifiedDiff("a", "b", a, edits, len(a)+len(b))
	if err != nil || len(ud.Hunks) == 0 {
		var ops []op
		for _, l := range splitLines(a) {
			ops = append(ops, op{kind: ' ', text: l})
		}
		return ops
	}
	return parseOps(ud.String())
}
