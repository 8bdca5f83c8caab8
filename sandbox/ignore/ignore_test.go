package ignore_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rubberduckhub/rubberduck/sandbox/ignore"
)

// writeTree creates files (path -> content) under a fresh temp dir and
// returns it.
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for rel, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func openRoot(t *testing.T, dir string) *os.Root {
	t.Helper()
	r, err := os.OpenRoot(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

type check struct {
	path    string
	isDir   bool
	ignored bool
}

func TestIgnored(t *testing.T) {
	tests := []struct {
		name   string
		files  map[string]string
		extra  []string
		checks []check
	}{
		{
			name:  "the .git directory is always ignored, at any depth",
			files: map[string]string{"README": ""},
			checks: []check{
				{".git", true, true},
				{".git/HEAD", false, true},
				{"vendor/lib/.git", true, true},
				{"vendor/lib/.git/config", false, true},
				{".gitignore", false, false},
				{".github/workflows/ci.yml", false, false},
				{"", true, false},
				{".", true, false},
			},
		},
		{
			name:  "plain name matches at any depth",
			files: map[string]string{".gitignore": "*.log\ntmp\n"},
			checks: []check{
				{"a.log", false, true},
				{"src/deep/b.log", false, true},
				{"a.logx", false, false},
				{"tmp", true, true},
				{"tmp", false, true},
				{"src/tmp/file.go", false, true},
				{"src/main.go", false, false},
			},
		},
		{
			name:  "negation re-includes a file, later lines win",
			files: map[string]string{".gitignore": "*.log\n!keep.log\n"},
			checks: []check{
				{"a.log", false, true},
				{"keep.log", false, false},
				{"sub/keep.log", false, false},
			},
		},
		{
			name:  "nothing below an ignored directory can be re-included",
			files: map[string]string{".gitignore": "build/\n!build/keep.txt\n"},
			checks: []check{
				{"build", true, true},
				{"build/keep.txt", false, true},
				{"build/out.bin", false, true},
			},
		},
		{
			name:  "dir/* keeps the directory so a negation works inside it",
			files: map[string]string{".gitignore": "build/*\n!build/keep.txt\n"},
			checks: []check{
				{"build", true, false},
				{"build/keep.txt", false, false},
				{"build/out.bin", false, true},
			},
		},
		{
			name:  "directory-only patterns do not match files",
			files: map[string]string{".gitignore": "cache/\n"},
			checks: []check{
				{"cache", true, true},
				{"cache", false, false},
				{"src/cache", true, true},
				{"src/cache/x", false, true},
			},
		},
		{
			name:  "leading slash anchors to the .gitignore's directory",
			files: map[string]string{".gitignore": "/root.txt\n/out/\n"},
			checks: []check{
				{"root.txt", false, true},
				{"sub/root.txt", false, false},
				{"out", true, true},
				{"sub/out", true, false},
			},
		},
		{
			name:  "a slash in the middle anchors too",
			files: map[string]string{".gitignore": "doc/*.html\n"},
			checks: []check{
				{"doc/a.html", false, true},
				{"doc/sub/a.html", false, false},
				{"other/doc/a.html", false, false},
			},
		},
		{
			name:  "double star",
			files: map[string]string{".gitignore": "**/gen\nlogs/**/debug.txt\nassets/**\n"},
			checks: []check{
				{"gen", true, true},
				{"a/b/gen", true, true},
				{"a/b/gen/x.go", false, true},
				{"logs/debug.txt", false, true},
				{"logs/a/b/debug.txt", false, true},
				{"logs/a/b/info.txt", false, false},
				{"assets/img/x.png", false, true},
			},
		},
		{
			name: "nested .gitignore applies below its directory and overrides the root",
			files: map[string]string{
				".gitignore":     "*.tmp\n",
				"pkg/.gitignore": "/local.txt\n!special.tmp\n",
			},
			checks: []check{
				{"local.txt", false, false},
				{"pkg/local.txt", false, true},
				{"pkg/sub/local.txt", false, false},
				{"pkg/special.tmp", false, false},
				{"special.tmp", false, true},
				{"pkg/other.tmp", false, true},
			},
		},
		{
			name:  "extra patterns apply from the root with the lowest priority",
			files: map[string]string{".gitignore": "!node_modules/keep/\n"},
			extra: []string{"node_modules/", "*.pyc"},
			checks: []check{
				{"node_modules", true, true},
				{"web/node_modules/react/index.js", false, true},
				{"x.pyc", false, true},
				{"x.py", false, false},
			},
		},
		{
			name:  "repository .gitignore can re-include what an extra pattern excludes",
			files: map[string]string{".gitignore": "!dist/\n"},
			extra: []string{"dist/"},
			checks: []check{
				{"dist", true, false},
				{"dist/app.js", false, false},
			},
		},
		{
			name:  ".git/info/exclude is honoured",
			files: map[string]string{".git/info/exclude": "secret.env\n"},
			checks: []check{
				{"secret.env", false, true},
				{"a/secret.env", false, true},
			},
		},
		{
			name:  "comments, blank lines, CRLF, escapes and [!] classes",
			files: map[string]string{".gitignore": "# comment\r\n\r\n\\#hash\r\nfile[!0-9].txt\r\n  \r\n"},
			checks: []check{
				{"# comment", false, false},
				{"#hash", false, true},
				{"filea.txt", false, true},
				{"file1.txt", false, false},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			m, err := ignore.New(openRoot(t, dir).FS(), tt.extra)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.LoadTree(); err != nil {
				t.Fatal(err)
			}
			for _, c := range tt.checks {
				if got := m.Ignored(c.path, c.isDir); got != c.ignored {
					t.Errorf("Ignored(%q, dir=%v) = %v, want %v", c.path, c.isDir, got, c.ignored)
				}
			}
		})
	}
}

func TestLoadAndForgetFollowChanges(t *testing.T) {
	dir := writeTree(t, map[string]string{"a/x.gen": ""})
	m, err := ignore.New(openRoot(t, dir).FS(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if m.Ignored("a/x.gen", false) {
		t.Fatal("ignored before any .gitignore exists")
	}

	// A nested .gitignore appears: Load picks it up.
	if err := os.WriteFile(filepath.Join(dir, "a", ".gitignore"), []byte("*.gen\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Load("a"); err != nil {
		t.Fatal(err)
	}
	if !m.Ignored("a/x.gen", false) {
		t.Fatal("not ignored after Load")
	}

	// It is deleted: Load clears it.
	if err := os.Remove(filepath.Join(dir, "a", ".gitignore")); err != nil {
		t.Fatal(err)
	}
	if err := m.Load("a"); err != nil {
		t.Fatal(err)
	}
	if m.Ignored("a/x.gen", false) {
		t.Fatal("still ignored after .gitignore removed")
	}

	// Forget drops a removed directory's patterns.
	if err := os.WriteFile(filepath.Join(dir, "a", ".gitignore"), []byte("*.gen\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Load("a/"); err != nil {
		t.Fatal(err)
	}
	m.Forget("a")
	if m.Ignored("a/x.gen", false) {
		t.Fatal("still ignored after Forget")
	}

	// A directory that becomes ignored takes everything below with it,
	// even though its earlier "not ignored" answer was remembered.
	if m.Ignored("a/deeper/file", false) {
		t.Fatal("ignored before the root rule")
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte("a/\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Load(""); err != nil {
		t.Fatal(err)
	}
	if !m.Ignored("a/deeper/file", false) {
		t.Fatal("not ignored after the root .gitignore changed")
	}

	// Loading a directory that does not exist (or is a file) is not an error.
	if err := m.Load("missing/dir"); err != nil {
		t.Fatal(err)
	}
	if err := m.Load("a/x.gen"); err != nil {
		t.Fatal(err)
	}
}

func TestLoadTreeSkipsIgnoredDirectories(t *testing.T) {
	// A .gitignore inside an ignored directory must not take effect, as in git.
	dir := writeTree(t, map[string]string{
		".gitignore":              "vendor/\n",
		"vendor/.gitignore":       "!*\n",
		"src/.gitignore":          "*.o\n",
		"src/deeper/.gitignore":   "!keep.o\n",
		"src/deeper/keep.o":       "",
		"src/deeper/other.o":      "",
		"node_modules/.gitignore": "",
	})
	m, err := ignore.New(openRoot(t, dir).FS(), []string{"node_modules"})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.LoadTree(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []check{
		{"vendor/a.go", false, true},
		{"src/x.o", false, true},
		{"src/deeper/keep.o", false, false},
		{"src/deeper/other.o", false, true},
	} {
		if got := m.Ignored(c.path, c.isDir); got != c.ignored {
			t.Errorf("Ignored(%q) = %v, want %v", c.path, got, c.ignored)
		}
	}
}

func TestIgnoredEntryAssumesParentsWereChecked(t *testing.T) {
	dir := writeTree(t, map[string]string{".gitignore": "build/\n!build/keep.txt\n"})
	m, err := ignore.New(openRoot(t, dir).FS(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if !m.IgnoredEntry("build", true) {
		t.Error("IgnoredEntry(build) = false")
	}
	// Only the entry itself is matched: the negation applies.
	if m.IgnoredEntry("build/keep.txt", false) {
		t.Error("IgnoredEntry(build/keep.txt) = true")
	}
	if !m.Ignored("build/keep.txt", false) {
		t.Error("Ignored(build/keep.txt) = false")
	}
}

func BenchmarkIgnoredEntry(b *testing.B) {
	dir := b.TempDir()
	gi := "*.log\nnode_modules/\n/dist/\n**/gen/**\n!important.log\nbuild/*\n"
	if err := os.MkdirAll(filepath.Join(dir, "src", "pkg"), 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(gi), 0o644); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "src", ".gitignore"), []byte("*.tmp\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	m, err := ignore.New(r.FS(), []string{"vendor/"})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.LoadTree(); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.IgnoredEntry("src/pkg/module/file.go", false)
	}
}

func BenchmarkIgnored(b *testing.B) {
	dir := b.TempDir()
	gi := "*.log\nnode_modules/\n/dist/\n**/gen/**\n!important.log\nbuild/*\n"
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(gi), 0o644); err != nil {
		b.Fatal(err)
	}
	r, err := os.OpenRoot(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	m, err := ignore.New(r.FS(), []string{"vendor/"})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		m.Ignored("src/pkg/module/sub/file.go", false)
	}
}
