package sandbox

import (
	"path/filepath"
	"strings"
	"testing"
)

func TestCleanPath(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen+1)
	tests := []struct {
		in   string
		want string // "" means rejected
	}{
		{"", "."},
		{".", "."},
		{"./", "."},
		{"a", "a"},
		{"a/b/c.go", "a/b/c.go"},
		{"a//b", "a/b"},
		{"a/./b/", "a/b"},
		{"a/../b", "b"},
		{"a/..", "."},
		{".gitignore", ".gitignore"},
		{"..a", "..a"},
		{"a..b", "a..b"},
		{"%2e%2e/x", "%2e%2e/x"}, // never decoded: a literal name
		{"ünïcödé/文件.txt", "ünïcödé/文件.txt"},
		{"..", ""},
		{"../x", ""},
		{"a/../../x", ""},
		{"/etc/passwd", ""},
		{"//server/share", ""},
		{"\\\\server\\share", ""},
		{"a\\..\\b", ""},
		{"C:", ""},
		{"c:/windows", ""},
		{"C:foo", ""},
		{"a\x00b", ""},
		{"a\nb", ""},
		{"a\tb", ""},
		{"a\x7fb", ""},
		{"a\u0085b", ""},          // C1 NEL
		{".g\u200cit/config", ""}, // zero-width non-joiner (CVE-2014-9390 class)
		{"evil\u202etxt.exe", ""}, // bidi override
		{"\ufeffa", ""},
		{"a\xffb", ""},             // invalid UTF-8
		{"\xc0\xae\xc0\xae/x", ""}, // overlong "."
		{"\xed\xa0\x80", ""},       // surrogate
		{"a\uffff", ""},
		{"x.", ""},
		{"x ", ""},
		{"x./y", ""},
		{"...", ""},
		{".. /x", ""},
		{long, ""},
		{strings.Repeat("a/", MaxDepth) + "b", ""},
		{strings.Repeat("a", MaxPathLen+1), ""},
	}
	for _, tt := range tests {
		got, err := CleanPath(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("CleanPath(%q) = %q, want rejection", tt.in, got)
			} else if CodeOf(err) != InvalidPath {
				t.Errorf("CleanPath(%q) code %s, want invalid_path", tt.in, CodeOf(err))
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("CleanPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestFoldCatchesGitAliases(t *testing.T) {
	pol, err := compilePolicy(DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{
		".git", ".git/config", ".GIT/hooks/pre-commit", ".Git/config",
		"sub/.git/hooks/x", "\uff0e\uff47\uff49\uff54/config", // fullwidth
		".gi\u0301t/config", // combining acute accent
	} {
		if pol.writeDenied(p, false) == "" {
			t.Errorf("write to %q allowed, want denied", p)
		}
		if pol.readDenied(p, false) != "" {
			t.Errorf("read of %q denied, want allowed", p)
		}
	}
	for _, p := range []string{".gitignore", ".github/workflows/x.yml", "git/x", "a.git"} {
		if why := pol.writeDenied(p, false); why != "" {
			t.Errorf("write to %q denied (%s), want allowed", p, why)
		}
	}
}

// FuzzCleanPath checks the validator's promise: every accepted path, joined
// to a root, stays inside it, and is already in clean form.
func FuzzCleanPath(f *testing.F) {
	for _, s := range []string{"", ".", "a/b", "../x", "a/../../b", "a/./b//c/", "/abs", "C:\\x",
		"\xc0\xae", ".g\u200cit", "x.", "%2e%2e%2f", "..;/x", "a/..", "....//....//x"} {
		f.Add(s)
	}
	for _, s := range loadCorpusLines(f, "testdata/traversal_extra.txt") {
		f.Add(strings.ReplaceAll(s, "{FILE}", "canary"))
	}
	root := filepath.Join(string(filepath.Separator)+"srv", "p1")
	f.Fuzz(func(t *testing.T, p string) {
		got, err := CleanPath(p)
		if err != nil {
			if CodeOf(err) != InvalidPath {
				t.Fatalf("CleanPath(%q): code %s", p, CodeOf(err))
			}
			return
		}
		if !filepath.IsLocal(got) {
			t.Fatalf("CleanPath(%q) = %q is not local", p, got)
		}
		rel, err := filepath.Rel(root, filepath.Join(root, got))
		if err != nil || rel == ".." || strings.HasPrefix(rel, "../") || filepath.IsAbs(rel) {
			t.Fatalf("CleanPath(%q) = %q escapes %s (rel %q)", p, got, root, rel)
		}
		if again, err := CleanPath(got); err != nil || again != got {
			t.Fatalf("CleanPath not idempotent on %q: %q, %v", got, again, err)
		}
		if strings.ContainsAny(got, "\\\x00") {
			t.Fatalf("CleanPath(%q) = %q keeps a forbidden byte", p, got)
		}
	})
}

func TestQuotePath(t *testing.T) {
	for in, want := range map[string]string{
		"src/main.go":    "src/main.go",
		"docs/ünï/文件.md": "docs/ünï/文件.md",
		"a\nb":           `"a\nb"`,
		"x\x1b[2J":       `"x\x1b[2J"`,
		"evil\u202etxt":  `"evil\u202etxt"`,
		"bad\xffutf8":    `"bad\xffutf8"`,
		`say "hi"`:       `"say \"hi\""`,
	} {
		if got := quotePath(in); got != want {
			t.Errorf("quotePath(%q) = %s, want %s", in, got, want)
		}
	}
}
