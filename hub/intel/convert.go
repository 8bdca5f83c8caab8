package intel

import (
	"bytes"
	"context"
	"unicode/utf8"

	"github.com/rubberduckhub/rubberduck/hub/intel/index"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// Position encodings (LSP 3.17 positionEncoding).
const (
	UTF8  = "utf-8"
	UTF16 = "utf-16"
	UTF32 = "utf-32"
)

// lines splits a text into lines for column conversion.
type lines struct {
	starts []int
	src    []byte
}

func newLines(src []byte) *lines {
	l := &lines{src: src, starts: []int{0}}
	for i, c := range src {
		if c == '\n' {
			l.starts = append(l.starts, i+1)
		}
	}
	return l
}

func (l *lines) line(n uint32) []byte {
	if int(n) >= len(l.starts) {
		return nil
	}
	start := l.starts[n]
	end := len(l.src)
	if int(n)+1 < len(l.starts) {
		end = l.starts[n+1] - 1
	}
	return bytes.TrimSuffix(l.src[start:end], []byte{'\r'})
}

// toByte converts a column in enc to a byte column on line.
func toByte(line []byte, char uint32, enc string) uint32 {
	if enc == UTF8 {
		return min(char, uint32(len(line)))
	}
	var units uint32
	for i := 0; i < len(line); {
		if units >= char {
			return uint32(i)
		}
		r, size := utf8.DecodeRune(line[i:])
		if enc == UTF16 && r >= 0x10000 {
			units += 2
		} else {
			units++
		}
		i += size
	}
	return uint32(len(line))
}

// fromByte converts a byte column on line into a column in enc.
func fromByte(line []byte, col uint32, enc string) uint32 {
	if enc == UTF8 {
		return col
	}
	if int(col) > len(line) {
		col = uint32(len(line))
	}
	var units uint32
	for i := 0; i < int(col); {
		r, size := utf8.DecodeRune(line[i:])
		if enc == UTF16 && r >= 0x10000 {
			units += 2
		} else {
			units++
		}
		i += size
	}
	return units
}

// converter turns index spans (byte columns) into client ranges, reading
// a file's text only when it has non-ASCII characters.
type converter struct {
	ctx   context.Context
	ix    *index.Index
	enc   string
	cache map[string]*lines
}

func newConverter(ctx context.Context, ix *index.Index, enc string) *converter {
	if enc == "" {
		enc = UTF16
	}
	return &converter{ctx: ctx, ix: ix, enc: enc, cache: map[string]*lines{}}
}

func (c *converter) linesOf(path string) *lines {
	if c.enc == UTF8 {
		return nil
	}
	if l, ok := c.cache[path]; ok {
		return l
	}
	var l *lines
	if f := c.ix.File(path); f == nil || !f.ASCII {
		if src, err := c.ix.Text(c.ctx, path); err == nil && !isASCII(src) {
			l = newLines(src)
		}
	}
	c.cache[path] = l
	return l
}

func isASCII(b []byte) bool {
	for _, c := range b {
		if c >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

func (c *converter) pos(path string, p index.Pos) protocol.Position {
	col := p.Col
	if l := c.linesOf(path); l != nil {
		col = fromByte(l.line(p.Line), p.Col, c.enc)
	}
	return protocol.Position{Line: p.Line, Character: col}
}

func (c *converter) rng(path string, s index.Span) protocol.IntelRange {
	return protocol.IntelRange{Start: c.pos(path, s.Start), End: c.pos(path, s.End)}
}

// in converts a client position into the index's byte column.
func (c *converter) in(path string, p protocol.Position) index.Pos {
	col := p.Character
	if l := c.linesOf(path); l != nil {
		col = toByte(l.line(p.Line), p.Character, c.enc)
	}
	return index.Pos{Line: p.Line, Col: col}
}

func (c *converter) symbol(path string, s index.Symbol) protocol.IntelSymbol {
	out := protocol.IntelSymbol{
		Name: s.Name, Kind: string(s.Kind), Container: s.Container, Path: path,
		Range: c.rng(path, s.Span), SelectionRange: c.rng(path, s.Sel), Signature: s.Sig,
	}
	if s.Metrics != nil {
		out.Metrics = &protocol.IntelMetrics{Complexity: s.Metrics.Complexity, Nesting: s.Metrics.Nesting, Lines: s.Metrics.Lines}
	}
	return out
}

func (c *converter) outline(path string, items []*index.OutlineItem) []protocol.IntelSymbol {
	out := make([]protocol.IntelSymbol, 0, len(items))
	for _, it := range items {
		s := c.symbol(path, it.Symbol)
		s.Children = c.outline(path, it.Children)
		out = append(out, s)
	}
	return out
}

func (c *converter) locations(ls []index.Location) []protocol.IntelLocation {
	out := make([]protocol.IntelLocation, 0, len(ls))
	for _, l := range ls {
		out = append(out, protocol.IntelLocation{Path: l.Path, Range: c.rng(l.Path, l.Span)})
	}
	return out
}
