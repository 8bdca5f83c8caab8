package crdt

import (
	"fmt"
	"unicode/utf8"
)

// Unit is a way of counting offsets in text. The CRDT counts code points;
// editors count UTF-16 code units (VS Code, LSP default) or UTF-8 bytes
// (Neovim, Go strings), so the editor edge converts with [Convert].
type Unit int

// The units an offset can be expressed in.
const (
	CodePoint Unit = iota // Unicode code points (what Doc positions count)
	UTF8                  // bytes of UTF-8
	UTF16                 // UTF-16 code units (a code point above U+FFFF counts 2)
)

// Convert translates offset off, counted in unit from within s, into unit
// to. An offset past the end of s, or one that falls inside a character
// (the middle of a UTF-8 sequence or of a surrogate pair), is an error: the
// edge should never invent a position.
func Convert(s string, off int, from, to Unit) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("convert offset %d: %w", off, ErrOutOfRange)
	}
	if from == to {
		if from == UTF8 && off > len(s) || from != UTF8 && off > countUnits(s, from) {
			return 0, fmt.Errorf("convert offset %d: %w", off, ErrOutOfRange)
		}
		return off, nil
	}
	var b, u16, cp int // offsets of the current character in each unit
	for b < len(s) {
		var cur int
		switch from {
		case UTF8:
			cur = b
		case UTF16:
			cur = u16
		default:
			cur = cp
		}
		if cur == off {
			break
		}
		if cur > off {
			return 0, fmt.Errorf("convert offset %d: inside a character: %w", off, ErrOutOfRange)
		}
		r, sz := utf8.DecodeRuneInString(s[b:])
		b += sz
		cp++
		u16++
		if r > 0xFFFF {
			u16++
		}
	}
	var cur int
	switch from {
	case UTF8:
		cur = b
	case UTF16:
		cur = u16
	default:
		cur = cp
	}
	if cur != off {
		return 0, fmt.Errorf("convert offset %d: %w", off, ErrOutOfRange)
	}
	switch to {
	case UTF8:
		return b, nil
	case UTF16:
		return u16, nil
	default:
		return cp, nil
	}
}

// Count returns the length of s in unit u.
func Count(s string, u Unit) int { return countUnits(s, u) }

func countUnits(s string, u Unit) int {
	switch u {
	case UTF8:
		return len(s)
	case CodePoint:
		return utf8.RuneCountInString(s)
	}
	n := 0
	for _, r := range s {
		n++
		if r > 0xFFFF {
			n++
		}
	}
	return n
}
