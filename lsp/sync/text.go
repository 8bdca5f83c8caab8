package sync

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// Normalize turns every line ending (CRLF, lone CR) into "\n", the only one
// documents hold. LSP counts "\r\n" as one line break and never addresses a
// position between its two characters, so a buffer with CRLF and its
// normalised text have the same lines and the same positions.
func Normalize(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}

// UnitOf maps a negotiated LSP position encoding to the CRDT's unit of
// counting; UTF-32 counts code points. Anything unknown is UTF-16, LSP's
// default.
func UnitOf(encoding string) crdt.Unit {
	switch encoding {
	case protocol.EncodingUTF8:
		return crdt.UTF8
	case protocol.EncodingUTF32:
		return crdt.CodePoint
	default:
		return crdt.UTF16
	}
}

// Offset converts an LSP position in unit u into a code point offset in
// text (normalised). As LSP specifies, a character past the end of its line
// means the end of the line and a line past the end means the end of the
// text; a position inside a character (half a surrogate pair, the middle
// of a UTF-8 sequence) is an error, since guessing would corrupt text.
func Offset(text string, pos protocol.Position, u crdt.Unit) (int, error) {
	start, cps := 0, 0 // byte and code point offset of the line's start
	for line := uint32(0); line < pos.Line; line++ {
		nl := strings.IndexByte(text[start:], '\n')
		if nl < 0 {
			return utf8.RuneCountInString(text), nil
		}
		cps += utf8.RuneCountInString(text[start : start+nl+1])
		start += nl + 1
	}
	lineText := text[start:]
	if nl := strings.IndexByte(lineText, '\n'); nl >= 0 {
		lineText = lineText[:nl]
	}
	ch := int(pos.Character)
	if ch >= crdt.Count(lineText, u) {
		return cps + utf8.RuneCountInString(lineText), nil
	}
	off, err := crdt.Convert(lineText, ch, u, crdt.CodePoint)
	if err != nil {
		return 0, fmt.Errorf("position %d:%d: %w", pos.Line, pos.Character, err)
	}
	return cps + off, nil
}

// Position converts a code point offset in text (normalised) into an LSP
// position in unit u. An offset past the end is the end of the text.
func Position(text string, off int, u crdt.Unit) protocol.Position {
	return positions(text, []int{off}, u)[0]
}

// positions converts several ascending code point offsets in one pass.
func positions(text string, offs []int, u crdt.Unit) []protocol.Position {
	out := make([]protocol.Position, len(offs))
	var line uint32
	lineStart, b, n := 0, 0, 0 // byte offsets, code points before b
	for k, off := range offs {
		if off > n {
			nb := advance(text, b, off-n)
			seg := text[b:nb]
			if c := strings.Count(seg, "\n"); c > 0 {
				line += uint32(c)
				lineStart = b + strings.LastIndexByte(seg, '\n') + 1
			}
			b, n = nb, off
		}
		out[k] = protocol.Position{Line: line, Character: uint32(crdt.Count(text[lineStart:b], u))}
	}
	return out
}
