package propose

import (
	"strings"
)

// MatchMode says how leniently a hunk's original lines were found in the
// current document.
type MatchMode string

// The match modes, from strictest to most lenient. Aider found that such
// tolerant matching cut failed edits roughly ninefold.
const (
	MatchExact       MatchMode = "exact"
	MatchWhitespace  MatchMode = "whitespace"  // same indentation, other spacing inside or after lines
	MatchIndentation MatchMode = "indentation" // the block moved to another indentation level
)

// span is a located block: lines [first, end) of the current text, the byte
// range they cover and how they were found.
type span struct {
	first, end  int
	start, stop int // byte offsets
	mode        MatchMode
	indentFrom  string // the old block's indentation, for re-indenting (indentation mode)
	indentTo    string // the found block's indentation
}

// splitLines splits text into lines that keep their "\n".
func splitLines(s string) []string {
	if s == "" {
		return nil
	}
	lines := strings.SplitAfter(s, "\n")
	if lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	return lines
}

func normWhitespace(l string) string {
	l = strings.TrimRight(l, "\r\n")
	trimmed := strings.TrimLeft(l, " \t")
	indent := l[:len(l)-len(trimmed)]
	return indent + strings.Join(strings.Fields(trimmed), " ")
}

func normIndentation(l string) string {
	return strings.Join(strings.Fields(l), " ")
}

func leadingWS(l string) string {
	return l[:len(l)-len(strings.TrimLeft(l, " \t"))]
}

// locate finds the old lines in text, trying each mode in turn and, within
// a mode, taking the occurrence nearest to hint (a 0-based line number).
// ok is false when the block no longer appears at all.
func locate(text string, old []string, hint int) (span, bool) {
	lines := splitLines(text)
	if len(old) == 0 {
		at := min(max(hint, 0), len(lines))
		off := 0
		for _, l := range lines[:at] {
			off += len(l)
		}
		return span{first: at, end: at, start: off, stop: off, mode: MatchExact}, true
	}
	modes := []struct {
		mode MatchMode
		norm func(string) string
	}{
		{MatchExact, func(s string) string { return strings.TrimRight(s, "\r\n") }},
		{MatchWhitespace, normWhitespace},
		{MatchIndentation, normIndentation},
	}
	for _, m := range modes {
		want := make([]string, len(old))
		for i, l := range old {
			want[i] = m.norm(l)
		}
		best, bestDist := -1, 0
		for i := 0; i+len(old) <= len(lines); i++ {
			okAll := true
			for j := range old {
				if m.norm(lines[i+j]) != want[j] {
					okAll = false
					break
				}
			}
			if !okAll {
				continue
			}
			d := i - hint
			if d < 0 {
				d = -d
			}
			if best < 0 || d < bestDist {
				best, bestDist = i, d
			}
		}
		if best < 0 {
			continue
		}
		sp := span{first: best, end: best + len(old), mode: m.mode}
		for _, l := range lines[:best] {
			sp.start += len(l)
		}
		sp.stop = sp.start
		for _, l := range lines[best : best+len(old)] {
			sp.stop += len(l)
		}
		if m.mode == MatchIndentation {
			for j, l := range old {
				if strings.TrimSpace(l) != "" {
					sp.indentFrom = leadingWS(l)
					sp.indentTo = leadingWS(lines[best+j])
					break
				}
			}
		}
		return sp, true
	}
	return span{}, false
}

// reindent moves every line of block from one indentation to another, so
// a hunk found at a different nesting level lands at that level.
func reindent(block []string, from, to string) []string {
	if from == to {
		return block
	}
	out := make([]string, len(block))
	for i, l := range block {
		switch {
		case strings.TrimSpace(l) == "":
			out[i] = l
		case strings.HasPrefix(l, from):
			out[i] = to + l[len(from):]
		default:
			out[i] = l
		}
	}
	return out
}
