package sandbox

import (
	"bytes"
	"encoding/binary"
	"math/bits"
	"regexp/syntax"
	"unicode/utf8"
)

// literalOf returns the plain text a regular expression matches when it is
// nothing but a literal, and whether it is case-folded. Search uses it to
// replace the regexp engine with byte scans, which is what makes literal
// searches (the common case) as fast as ripgrep's.
func literalOf(expr string, ignoreCase bool) (lit string, fold bool, ok bool) {
	flags := syntax.Perl
	if ignoreCase {
		flags |= syntax.FoldCase
	}
	re, err := syntax.Parse(expr, flags)
	if err != nil {
		return "", false, false
	}
	re = re.Simplify()
	if re.Op != syntax.OpLiteral {
		return "", false, false
	}
	fold = re.Flags&syntax.FoldCase != 0
	lit = string(re.Rune)
	if fold {
		// Only ASCII letters fold to ASCII alone; Unicode folding ("K"
		// and the Kelvin sign) stays with the regexp engine.
		for i := 0; i < len(lit); i++ {
			if lit[i] >= utf8.RuneSelf {
				return "", false, false
			}
		}
		lit = string(lowerASCII([]byte(lit)))
	}
	return lit, fold, lit != ""
}

func lowerASCII(b []byte) []byte {
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return b
}

// commonBytes lists bytes from most to least frequent in typical source
// code and prose (case-folded), to pick the rarest byte of a needle.
const commonBytes = " etaoinsrlcdu\n\tpmhfg.(),_=;\"bywv:k/x-{}'>0<1[]*j2q#z+&!$"

// foldFinder finds an ASCII needle case-insensitively. Like ripgrep, it
// scans (with the vectorised bytes.IndexByte) for the needle's rarest byte
// in both cases and verifies candidates, instead of lowering the text or
// running the regexp engine.
type foldFinder struct {
	needle []byte // lower case
	k      int    // offset of the rare byte in needle
	lo, up byte
	// common is set when even the rarest byte is frequent: one combined
	// pass (indexFoldByte) then beats two vectorised IndexByte streams
	// that stop at every hit.
	common bool
}

func newFoldFinder(lowerNeedle []byte) *foldFinder {
	f := &foldFinder{needle: lowerNeedle}
	best := -1
	for i, c := range lowerNeedle {
		rank := bytes.IndexByte([]byte(commonBytes), c)
		if rank < 0 {
			rank = len(commonBytes) // not listed: rare
		}
		if rank > best {
			best, f.k = rank, i
		}
	}
	f.common = best < 14
	f.lo = lowerNeedle[f.k]
	f.up = f.lo
	if f.lo >= 'a' && f.lo <= 'z' {
		f.up = f.lo - ('a' - 'A')
	}
	return f
}

// index returns the first match at or after start, or -1.
func (f *foldFinder) index(data []byte, start int) int {
	n := len(f.needle)
	nextLo, nextUp := -2, -2 // -2: not searched yet, -1: none left
	for p := start + f.k; p < len(data); {
		var c int
		switch {
		case f.up == f.lo:
			c = indexFrom(data, p, f.lo)
		case f.common:
			c = indexFoldByte(data, p, f.lo)
		default:
			if nextLo != -1 && nextLo < p {
				nextLo = indexFrom(data, p, f.lo)
			}
			if nextUp != -1 && nextUp < p {
				nextUp = indexFrom(data, p, f.up)
			}
			c = nextLo
			if nextUp >= 0 && (c < 0 || nextUp < c) {
				c = nextUp
			}
		}
		if c < 0 {
			return -1
		}
		if s := c - f.k; s+n <= len(data) && equalFoldASCII(data[s:s+n], f.needle) {
			return s
		}
		p = c + 1
	}
	return -1
}

func indexFrom(data []byte, from int, c byte) int {
	i := bytes.IndexByte(data[from:], c)
	if i < 0 {
		return -1
	}
	return from + i
}

// indexFoldByte finds the first byte at or after from that equals the
// lower-case ASCII letter lo in either case: b|0x20 == lo holds for exactly
// lo and its upper-case form, so one pass finds both (what memchr2 does in
// ripgrep), eight bytes at a time.
func indexFoldByte(data []byte, from int, lo byte) int {
	const (
		ones = 0x0101010101010101
		high = 0x8080808080808080
	)
	pat := uint64(lo) * ones
	i := from
	for ; i+8 <= len(data); i += 8 {
		x := (binary.LittleEndian.Uint64(data[i:]) | 0x2020202020202020) ^ pat
		// The lowest set high bit marks the first zero byte exactly.
		if z := (x - ones) &^ x & high; z != 0 {
			return i + bits.TrailingZeros64(z)/8
		}
	}
	for ; i < len(data); i++ {
		if data[i]|0x20 == lo {
			return i
		}
	}
	return -1
}

func equalFoldASCII(s, lower []byte) bool {
	for i, c := range s {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// requiredLiteral returns a literal every match of re must contain (the
// longest literal factor of a top-level concatenation), so that Search can
// skip to the lines that contain it before running the regexp engine, as
// ripgrep does. ok is false when there is none worth using.
func requiredLiteral(expr string, ignoreCase bool) (lit []byte, fold bool, ok bool) {
	flags := syntax.Perl
	if ignoreCase {
		flags |= syntax.FoldCase
	}
	re, err := syntax.Parse(expr, flags)
	if err != nil {
		return nil, false, false
	}
	re = re.Simplify()
	for re.Op == syntax.OpCapture && len(re.Sub) == 1 {
		re = re.Sub[0]
	}
	var best *syntax.Regexp
	consider := func(r *syntax.Regexp) {
		if r.Op == syntax.OpLiteral && (best == nil || len(r.Rune) > len(best.Rune)) {
			best = r
		}
	}
	switch re.Op {
	case syntax.OpLiteral:
		consider(re)
	case syntax.OpConcat:
		for _, sub := range re.Sub {
			consider(sub)
		}
	}
	if best == nil || len(best.Rune) < 2 {
		return nil, false, false
	}
	s := string(best.Rune)
	fold = best.Flags&syntax.FoldCase != 0
	if fold {
		for i := 0; i < len(s); i++ {
			if s[i] >= utf8.RuneSelf {
				return nil, false, false
			}
		}
		return lowerASCII([]byte(s)), true, true
	}
	return []byte(s), false, true
}
