package sandbox

import (
	"fmt"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
)

// DefaultMaxFileSize is the size limit used when Policy.MaxFileSize is 0.
const DefaultMaxFileSize = 10 << 20

// gitWriteDeny protects every repository's metadata (hooks, config) from
// writes through the hub: writing .git/hooks/* or .git/config is remote
// code execution the next time someone runs git. See docs/security.md.
var gitWriteDeny = []string{"**/.git"}

// Policy is a project's sandbox settings. The project registry stores it as
// JSON next to the project; SetPolicy applies a change immediately, to every
// later operation.
//
// The zero value denies all file access (fail closed): a project created
// without an explicit policy should store DefaultPolicy().
//
// Patterns are doublestar globs ("**/*.pem", "secrets", "build/**") matched
// against project-relative paths. A pattern that matches a directory covers
// everything below it. Deny and WriteDeny are also matched against a folded
// form of the path (case, Unicode compatibility forms and combining marks
// removed) so that ".GIT" or "．git" cannot slip past them.
type Policy struct {
	// Enabled switches file access on. When false every operation fails
	// with Disabled.
	Enabled bool `json:"enabled"`
	// ReadOnly refuses every mutation with ReadOnly.
	ReadOnly bool `json:"readOnly,omitempty"`
	// MaxFileSize bounds reads, writes and searched files, in bytes.
	// 0 means DefaultMaxFileSize.
	MaxFileSize int64 `json:"maxFileSize,omitempty"`
	// Allow, when not empty, restricts access to files matching one of the
	// patterns. Directories stay navigable; files outside the allow list
	// are hidden from listings and searches and refused otherwise.
	Allow []string `json:"allow,omitempty"`
	// Deny hides and refuses matching paths for reads and writes.
	Deny []string `json:"deny,omitempty"`
	// WriteDeny refuses writes (write, create, mkdir, rename, delete,
	// restore) to matching paths; reads stay allowed.
	WriteDeny []string `json:"writeDeny,omitempty"`
	// AllowGitWrites lifts the built-in write protection of ".git"
	// directories ("**/.git"). Only for projects whose users are trusted
	// with git hooks, i.e. with code execution as the hub's user.
	AllowGitWrites bool `json:"allowGitWrites,omitempty"`
}

// DefaultPolicy is what a new project gets: enabled, writable, 10 MiB files,
// .git write-protected.
func DefaultPolicy() Policy {
	return Policy{Enabled: true, MaxFileSize: DefaultMaxFileSize}
}

// Validate reports the first malformed pattern or limit, so the registry can
// reject a bad policy when it is stored rather than when it is used.
func (p Policy) Validate() error {
	if p.MaxFileSize < 0 {
		return newErr(InvalidArgument, "policy", "", "maxFileSize must not be negative")
	}
	for _, list := range [][]string{p.Allow, p.Deny, p.WriteDeny} {
		for _, pat := range list {
			if pat == "" || !doublestar.ValidatePattern(pat) || strings.HasPrefix(pat, "/") || strings.Contains(pat, "\\") {
				return newErr(InvalidArgument, "policy", "", fmt.Sprintf("bad pattern %q", pat))
			}
		}
	}
	return nil
}

// compiledPolicy is a Policy ready for matching.
type compiledPolicy struct {
	Policy
	maxSize   int64
	allow     []string
	deny      []patternPair
	writeDeny []patternPair
}

type patternPair struct{ raw, folded string }

func compilePolicy(p Policy) (*compiledPolicy, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	c := &compiledPolicy{Policy: p, maxSize: p.MaxFileSize, allow: p.Allow}
	if c.maxSize == 0 {
		c.maxSize = DefaultMaxFileSize
	}
	pair := func(list []string) []patternPair {
		out := make([]patternPair, 0, len(list))
		for _, s := range list {
			out = append(out, patternPair{raw: s, folded: fold(s)})
		}
		return out
	}
	c.deny = pair(p.Deny)
	wd := p.WriteDeny
	if !p.AllowGitWrites {
		wd = append(append([]string(nil), gitWriteDeny...), wd...)
	}
	c.writeDeny = pair(wd)
	return c, nil
}

// hasReadPatterns reports whether reads must resolve symlinks to check the
// policy on the real target.
func (c *compiledPolicy) hasReadPatterns() bool { return len(c.deny) > 0 || len(c.allow) > 0 }

// matchAny reports whether rel or one of its parent directories matches a
// pattern (raw against raw, folded against folded).
func matchAny(pats []patternPair, rel string) bool {
	if len(pats) == 0 || rel == "." {
		return false
	}
	f := fold(rel)
	for _, p := range pats {
		if matchSelfOrParent(p.raw, rel) || (f != rel || p.folded != p.raw) && matchSelfOrParent(p.folded, f) {
			return true
		}
	}
	return false
}

func matchSelfOrParent(pattern, rel string) bool {
	if doublestar.MatchUnvalidated(pattern, rel) {
		return true
	}
	for i := len(rel) - 1; i > 0; i-- {
		if rel[i] == '/' && doublestar.MatchUnvalidated(pattern, rel[:i]) {
			return true
		}
	}
	return false
}

// readDenied reports why rel may not be read, or "".
func (c *compiledPolicy) readDenied(rel string, isDir bool) string {
	if matchAny(c.deny, rel) {
		return "denied by the project's policy"
	}
	if !isDir && len(c.allow) > 0 && rel != "." {
		for _, a := range c.allow {
			if matchSelfOrParent(a, rel) {
				return ""
			}
		}
		return "not in the project's allow list"
	}
	return ""
}

// writeDenied reports why rel may not be changed, or "".
func (c *compiledPolicy) writeDenied(rel string, isDir bool) string {
	if why := c.readDenied(rel, isDir); why != "" {
		return why
	}
	if matchAny(c.writeDeny, rel) {
		return "write-protected by the project's policy"
	}
	return ""
}
