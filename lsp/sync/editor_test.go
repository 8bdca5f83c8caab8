package sync_test

import (
	"sort"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// fakeEditor is a scripted editor buffer that behaves like Neovim and VS
// Code where it matters: it counts positions in its own encoding (with its
// own, independent conversion code), keeps CRLF line endings when told to,
// applies a versioned edit only when its version still matches and answers
// applied:true regardless (Neovim), and reports every change it makes as a
// didChange with a new version.
type fakeEditor struct {
	enc   string
	eol   string // "\n" or "\r\n": what the buffer stores
	text  string
	ver   int32
	split bool // apply a multi-edit applyEdit one edit per didChange (Neovim)
	// lines reports every change as a replacement of whole lines, the
	// way line-based editors may (Neovim 0.7 reports a line typed at the
	// start of another as a replacement of that line).
	lines bool
	// truthful answers applied:false to an edit for a version the buffer
	// has left (VS Code, and Neovim with the RubberDuck plugin); Neovim's
	// own handler answers true.
	truthful bool
	// pastEOL counts edits that reached past a final newline they could
	// have stopped before: Neovim keeps that newline as 'eol' and mangles
	// such edits.
	pastEOL int

	out []didChange // didChanges not yet delivered to the Buffer
}

type didChange struct {
	version int32
	changes []protocol.TextDocumentContentChangeEvent
}

func newEditor(enc, eol, text string) *fakeEditor {
	return &fakeEditor{enc: enc, eol: eol, text: strings.ReplaceAll(text, "\n", eol), ver: 1}
}

// normalized is the buffer's text with "\n" line endings.
func (e *fakeEditor) normalized() string { return strings.ReplaceAll(e.text, "\r\n", "\n") }

// units is the length of s in the editor's encoding.
func (e *fakeEditor) units(s string) int {
	switch e.enc {
	case protocol.EncodingUTF8:
		return len(s)
	case protocol.EncodingUTF32:
		return utf8.RuneCountInString(s)
	default:
		return len(utf16.Encode([]rune(s)))
	}
}

// byteOff converts an LSP position into a byte offset of the buffer.
func (e *fakeEditor) byteOff(p protocol.Position) int {
	lines := strings.Split(e.text, e.eol)
	if int(p.Line) >= len(lines) {
		return len(e.text)
	}
	off := 0
	for i := 0; i < int(p.Line); i++ {
		off += len(lines[i]) + len(e.eol)
	}
	line := lines[p.Line]
	n := 0
	for i, r := range line {
		if n >= int(p.Character) {
			return off + i
		}
		n += e.units(string(r))
	}
	return off + len(line)
}

// runeToByte converts a code point offset in the normalised text into a
// byte offset of the buffer (test scripts think in code points).
func (e *fakeEditor) runeToByte(n int) int {
	b := 0
	for i := 0; i < n && b < len(e.text); i++ {
		if strings.HasPrefix(e.text[b:], "\r\n") {
			b += 2
			continue
		}
		_, sz := utf8.DecodeRuneInString(e.text[b:])
		b += sz
	}
	return b
}

// typeAt is the person typing: replace del code points at code point pos
// (of the normalised text) with ins.
func (e *fakeEditor) typeAt(pos, del int, ins string) {
	ins = strings.ReplaceAll(ins, "\n", e.eol)
	from := e.runeToByte(pos)
	to := e.runeToByte(pos + del)
	c := e.change(from, to, ins)
	e.ver++
	e.out = append(e.out, didChange{version: e.ver, changes: []protocol.TextDocumentContentChangeEvent{c}})
}

// change replaces bytes [from, to) of the buffer with text and returns how
// the editor reports it: exactly, or as whole lines when e.lines is set.
func (e *fakeEditor) change(from, to int, text string) protocol.TextDocumentContentChangeEvent {
	before := e.text
	e.text = before[:from] + text + before[to:]
	if !e.lines {
		r := protocol.Range{Start: posIn(before, e.eol, from, e.units), End: posIn(before, e.eol, to, e.units)}
		return protocol.TextDocumentContentChangeEvent{Range: &r, Text: text}
	}
	// Widen to the start of from's line and past the end of to's line.
	ls := strings.LastIndex(before[:from], e.eol)
	if ls < 0 {
		ls = 0
	} else {
		ls += len(e.eol)
	}
	le := len(before)
	if i := strings.Index(before[to:], e.eol); i >= 0 {
		le = to + i + len(e.eol)
	}
	r := protocol.Range{Start: posIn(before, e.eol, ls, e.units), End: posIn(before, e.eol, le, e.units)}
	newEnd := le - to + from + len(text)
	return protocol.TextDocumentContentChangeEvent{Range: &r, Text: e.text[ls:newEnd]}
}

// posIn converts a byte offset of text into an LSP position.
func posIn(text, eol string, b int, units func(string) int) protocol.Position {
	before := text[:b]
	line := strings.Count(before, eol)
	start := strings.LastIndex(before, eol)
	if start < 0 {
		start = 0
	} else {
		start += len(eol)
	}
	return protocol.Position{Line: uint32(line), Character: uint32(units(text[start:b]))}
}

// applyEdit is the editor receiving workspace/applyEdit; it answers
// applied:true whatever happened, as Neovim does.
func (e *fakeEditor) applyEdit(version int32, edits []protocol.TextEdit) bool {
	if version != e.ver {
		return !e.truthful // stale: dropped
	}
	type abs struct {
		from, to int
		text     string
	}
	list := make([]abs, len(edits))
	for i, te := range edits {
		list[i] = abs{e.byteOff(te.Range.Start), e.byteOff(te.Range.End), strings.ReplaceAll(te.NewText, "\n", e.eol)}
	}
	// Apply from the end so earlier offsets stay valid; report in that order.
	sort.Slice(list, func(i, j int) bool { return list[i].from > list[j].from })
	var changes []protocol.TextDocumentContentChangeEvent
	for _, a := range list {
		if strings.HasSuffix(e.text, e.eol) && (a.from == len(e.text) || a.to == len(e.text)) && strings.HasSuffix(a.text, e.eol) {
			e.pastEOL++
		}
		c := e.change(a.from, a.to, a.text)
		if e.split {
			e.ver++
			e.out = append(e.out, didChange{version: e.ver, changes: []protocol.TextDocumentContentChangeEvent{c}})
		} else {
			changes = append(changes, c)
		}
	}
	if !e.split && len(changes) > 0 {
		e.ver++
		e.out = append(e.out, didChange{version: e.ver, changes: changes})
	}
	return true
}

// takeOut removes and returns the oldest undelivered didChange.
func (e *fakeEditor) takeOut() (didChange, bool) {
	if len(e.out) == 0 {
		return didChange{}, false
	}
	d := e.out[0]
	e.out = e.out[1:]
	return d, true
}
