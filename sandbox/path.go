package sandbox

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Limits on path strings. Linux allows 255-byte names and 4096-byte paths;
// deeper trees than MaxDepth are refused to bound the work one request can
// cause.
const (
	MaxPathLen = 4096
	MaxNameLen = 255
	MaxDepth   = 128
)

// CleanPath validates a project-relative, slash-separated path from a client
// and returns its clean form ("." for the project root). It never touches the
// disk. It is deliberately strict: what it accepts can be shown, logged and
// compared without surprises, and what it refuses has no legitimate use in a
// project tree that clients share across operating systems:
//
//   - the empty string means the root; "." and "./" too;
//   - NUL, C0/C1 control characters, DEL, and Unicode format characters
//     (zero-width joiners, bidi overrides, BOM) are refused, because they
//     forge names in logs and UIs and some file systems ignore them;
//   - backslashes, absolute paths, drive letters ("C:") and UNC forms are
//     refused, so a Windows-style path can never mean something else;
//   - invalid UTF-8 (including overlong encodings and surrogates) is refused;
//   - names that end in a space or a dot are refused: Windows and SMB
//     strip them, so "x." would alias "x";
//   - ".." is resolved lexically; anything that climbs above the root is
//     refused;
//   - paths over MaxPathLen bytes, names over MaxNameLen bytes and paths
//     deeper than MaxDepth are refused.
//
// Percent-encoding is not decoded: "%2e%2e" is a literal file name. Decoding
// belongs to the transport, exactly once.
//
// CleanPath is a filter that gives clear errors; containment is enforced by
// os.Root and the no-follow walk, whatever CleanPath lets through.
func CleanPath(p string) (string, error) {
	const op = "validate"
	if len(p) > MaxPathLen {
		return "", newErr(InvalidPath, op, "", "path too long")
	}
	if p == "" || p == "." {
		return ".", nil
	}
	if p[0] == '/' {
		return "", newErr(InvalidPath, op, "", "absolute paths are not allowed")
	}
	if len(p) >= 2 && p[1] == ':' && isASCIILetter(p[0]) {
		return "", newErr(InvalidPath, op, "", "drive letters are not allowed")
	}
	needClean := false
	nameStart := 0
	depth := 1
	for i := 0; i < len(p); {
		c := p[i]
		if c < utf8.RuneSelf {
			switch {
			case c < 0x20 || c == 0x7f:
				return "", newErr(InvalidPath, op, "", "control characters are not allowed")
			case c == '\\':
				return "", newErr(InvalidPath, op, "", "backslashes are not allowed")
			case c == '/':
				if err := checkName(p[nameStart:i], &needClean); err != nil {
					return "", err
				}
				nameStart = i + 1
				depth++
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(p[i:])
		if r == utf8.RuneError && size <= 1 {
			return "", newErr(InvalidPath, op, "", "invalid UTF-8")
		}
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || isNoncharacter(r) {
			return "", newErr(InvalidPath, op, "", "control or invisible characters are not allowed")
		}
		i += size
	}
	if err := checkName(p[nameStart:], &needClean); err != nil {
		return "", err
	}
	if depth > MaxDepth {
		return "", newErr(InvalidPath, op, "", "path too deep")
	}
	if !needClean {
		return p, nil
	}
	c := path.Clean(p)
	if c == ".." || strings.HasPrefix(c, "../") || c[0] == '/' {
		return "", newErr(InvalidPath, op, "", "path leads outside the project")
	}
	return c, nil
}

// checkName validates one component; "", "." and ".." ask for path.Clean.
func checkName(name string, needClean *bool) error {
	switch name {
	case "", ".", "..":
		*needClean = true
		return nil
	}
	if len(name) > MaxNameLen {
		return newErr(InvalidPath, "validate", "", "name too long")
	}
	if last := name[len(name)-1]; last == ' ' || last == '.' {
		return newErr(InvalidPath, "validate", "", "names may not end in a space or a dot")
	}
	return nil
}

func isASCIILetter(c byte) bool { return c|0x20 >= 'a' && c|0x20 <= 'z' }

func isNoncharacter(r rune) bool {
	return (r >= 0xFDD0 && r <= 0xFDEF) || r&0xFFFE == 0xFFFE
}

// fold maps a clean path to the key used for deny and write-deny matching:
// compatibility-normalised (fullwidth "．ｇｉｔ" becomes ".git"), combining
// marks dropped, lower-cased. It catches names that a case-insensitive or
// normalising file system (macOS, Windows, SMB) treats as the same file, so
// ".GIT/config" or ".Git/hooks" cannot dodge the .git write protection.
// Folding only ever adds matches to deny lists; it is never used to allow.
func fold(p string) string {
	ascii := true
	upper := false
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
		if c >= 'A' && c <= 'Z' {
			upper = true
		}
	}
	if ascii {
		if !upper {
			return p
		}
		return strings.ToLower(p)
	}
	d := norm.NFKD.String(p)
	var b strings.Builder
	b.Grow(len(d))
	for _, r := range d {
		if unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r) {
			continue
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
