package lsp

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// unitOf maps a negotiated LSP position encoding to the crdt package's unit.
func unitOf(encoding string) crdt.Unit {
	switch encoding {
	case protocol.EncodingUTF8:
		return crdt.UTF8
	case protocol.EncodingUTF32:
		return crdt.CodePoint
	}
	return crdt.UTF16
}

// byteOffset turns an LSP position (line, character in unit u) into a byte
// offset of text. A character past the end of its line clamps to the line's
// end, as LSP asks of servers; a line past the end clamps to the end of text.
func byteOffset(text string, line, character uint32, u crdt.Unit) (int, error) {
	start := 0
	for i := uint32(0); i < line; i++ {
		nl := strings.IndexByte(text[start:], '\n')
		if nl < 0 {
			return len(text), nil
		}
		start += nl + 1
	}
	end := strings.IndexByte(text[start:], '\n')
	if end < 0 {
		end = len(text)
	} else {
		end += start
	}
	lineText := text[start:end]
	if int(character) >= crdt.Count(lineText, u) {
		return end, nil
	}
	off, err := crdt.Convert(lineText, int(character), u, crdt.UTF8)
	if err != nil {
		return 0, fmt.Errorf("position %d:%d: %w", line, character, err)
	}
	return start + off, nil
}

// position turns a byte offset of text into an LSP position in unit u.
func position(text string, off int, u crdt.Unit) protocol.Position {
	before := text[:off]
	line := strings.Count(before, "\n")
	lineStart := strings.LastIndexByte(before, '\n') + 1
	return protocol.Position{Line: uint32(line), Character: uint32(crdt.Count(before[lineStart:], u))}
}

// commonEnds returns the lengths in bytes of the longest common prefix and
// suffix of a and b (not overlapping, and never splitting a UTF-8 sequence),
// so that replacing a[p:len(a)-s] with b[p:len(b)-s] turns a into b.
func commonEnds(a, b string) (p, s int) {
	n := min(len(a), len(b))
	for p < n && a[p] == b[p] {
		p++
	}
	for p > 0 && p < len(a) && !utf8.RuneStart(a[p]) {
		p--
	}
	for s < n-p && a[len(a)-1-s] == b[len(b)-1-s] {
		s++
	}
	for s > 0 && len(a)-s < len(a) && !utf8.RuneStart(a[len(a)-s]) {
		s--
	}
	return p, s
}

// normalizeEOL turns \r\n and lone \r into \n: the wire carries \n only.
func normalizeEOL(s string) string {
	if !strings.Contains(s, "\r") {
		return s
	}
	s = strings.ReplaceAll(s, "\r\n", "\n")
	return strings.ReplaceAll(s, "\r", "\n")
}
