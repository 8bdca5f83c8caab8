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
	MatchWhitespace  MatchMode = "whitespace"  // same indentation, spacing inside or after lines ignored
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
	return indent + strings.Join(strings.Fields(trimmed), "")
}

func normIndentation(l string) string {
	return strings.Join(strings.Fields(l), "")
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

// op is one line of a hunk: ' ' context, '-' removed, '+' added.
type op struct {
	kind byte
	text string // with its "\n", unless it is the file's last line without one
}

// parseOps reads the lines of a one-hunk unified diff.
func parseOps(diff string) []op {
	var ops []op
	inHunk := false
	for _, l := range strings.SplitAfter(diff, "\n") {
		switch {
		case l == "":
		case strings.HasPrefix(l, "@@"):
			inHunk = true
		case !inHunk:
		case strings.HasPrefix(l, "\\"):
			if n := len(ops); n > 0 {
				ops[n-1].text = strings.TrimSuffix(ops[n-1].text, "\n")
			}
		case l[0] == ' ' || l[0] == '-' || l[0] == '+':
			ops = append(ops, op{kind: l[0], text: l[1:]})
		}
	}
	return ops
}

// rebuild produces the replacement for the found lines: context lines are
// kept as they are in the document now (someone may have re-spaced them),
// removed lines go, and each added line takes the indentation change of the
// nearest old line with the same (or the closest enclosing) indentation.
func rebuild(ops []op, found []string) string {
	type pair struct {
		pos      int
		from, to string
	}
	var pairs []pair
	j := 0
	for k, o := range ops {
		if o.kind == '+' {
			continue
		}
		if j < len(found) && strings.TrimSpace(o.text) != "" {
			pairs = append(pairs, pair{k, leadingWS(o.text), leadingWS(found[j])})
		}
		j++
	}
	var b strings.Builder
	j = 0
	for k, o := range ops {
		switch o.kind {
		case ' ', '-':
			if j < len(found) && o.kind == ' ' {
				b.WriteString(found[j])
			}
			j++
		case '+':
			if strings.TrimSpace(o.text) == "" || len(pairs) == 0 {
				b.WriteString(o.text)
				continue
			}
			ind := leadingWS(o.text)
			best := -1
			for i, p := range pairs {
				if !strings.HasPrefix(ind, p.from) {
					continue
				}
				if best < 0 || len(p.from) > len(pairs[best].from) ||
					(len(p.from) == len(pairs[best].from) && absInt(p.pos-k) < absInt(pairs[best].pos-k)) {
					best = i
				}
			}
			if best < 0 {
				best = 0
				for i, p := range pairs {
					if len(p.from) < len(pairs[best].from) {
						best = i
					}
				}
			}
			p := pairs[best]
			b.WriteString(shiftIndent(p.from, p.to, ind) + o.text[len(ind):])
		}
	}
	return b.String()
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// shiftIndent gives indentation n the change that turned from into to.
func shiftIndent(from, to, n string) string {
	switch {
	case from == to:
		return n
	case strings.HasSuffix(to, from) && strings.HasPrefix(n, from):
		return to + n[len(from):]
	case strings.HasSuffix(from, to) && strings.HasPrefix(n, from):
		return to + n[len(from):]
	}
	// Another indentation unit (tabs for spaces): convert by levels.
	fu, tu := unit(from), unit(to)
	lf, lt, ln := levels(from, fu), levels(to, tu), levels(n, fu)
	return strings.Repeat(tu, max(ln-lf+lt, 0))
}

func unit(ind string) string {
	switch {
	case strings.Contains(ind, "\t"):
		return "\t"
	case len(ind)%4 == 0:
		return "    "
	default:
		return "  "
	}
}

func levels(ind, u string) int {
	tabs := strings.Count(ind, "\t")
	spaces := len(ind) - tabs
	if u == "\t" {
		return tabs + spaces/4
	}
	return (tabs*len(u) + spaces) / len(u)
}
