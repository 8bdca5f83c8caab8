package project

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

// layout builds a directory tree for the validation table:
//
//	base/data            the hub's data dir
//	base/srv/p1          an existing project
//	base/srv/p10         a sibling whose name shares a prefix
//	base/srv/file        a regular file
//	base/link-p1 -> srv/p1, base/link-p1sub -> srv/p1/sub
func layout(t *testing.T) (base string, m *Manager) {
	t.Helper()
	base, err := filepath.EvalSymlinks(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"data/sub", "srv/p1/sub", "srv/p10", "srv/free/inner", "other"} {
		if err := os.MkdirAll(filepath.Join(base, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(base, "srv/file"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	must(t, os.Symlink(filepath.Join(base, "srv/p1"), filepath.Join(base, "link-p1")))
	must(t, os.Symlink(filepath.Join(base, "srv/p1/sub"), filepath.Join(base, "link-p1sub")))
	must(t, os.Symlink(filepath.Join(base, "srv/free"), filepath.Join(base, "link-free")))
	must(t, os.Symlink(filepath.Join(base, "data"), filepath.Join(base, "link-data")))
	m = NewManager(store.NewMemory(), filepath.Join(base, "data"))
	if _, err := m.Create(context.Background(), Spec{Name: "p1", Root: filepath.Join(base, "srv/p1")}); err != nil {
		t.Fatal(err)
	}
	return base, m
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func TestCreateValidatesRoot(t *testing.T) {
	tests := []struct {
		name    string
		root    string // relative to base unless absolute
		wantErr error
	}{
		{"sibling with shared prefix is not overlap", "srv/p10", nil},
		{"unrelated directory", "other", nil},
		{"symlink to a free directory", "link-free", nil},
		{"missing root", "srv/nope", ErrInvalid},
		{"root is a file", "srv/file", ErrInvalid},
		{"filesystem root", "/", ErrInvalid},
		{"system directory", "/etc", ErrInvalid},
		{"inside proc", "/proc/self", ErrInvalid},
		{"relative path", "relative/path", ErrInvalid},
		{"data dir itself", "data", ErrInvalid},
		{"inside data dir", "data/sub", ErrInvalid},
		{"containing data dir", ".", ErrInvalid},
		{"data dir through a symlink", "link-data", ErrInvalid},
		{"same as another project", "srv/p1", ErrInvalid},
		{"inside another project", "srv/p1/sub", ErrInvalid},
		{"containing another project", "srv", ErrInvalid},
		{"symlink to another project", "link-p1", ErrInvalid},
		{"symlink into another project", "link-p1sub", ErrInvalid},
		{"dot-dot escaping back into another project", "other/../srv/p1/sub", ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, m := layout(t)
			root := tt.root
			if !filepath.IsAbs(root) && root != "relative/path" {
				root = filepath.Join(base, root)
			}
			p, err := m.Create(context.Background(), Spec{Name: "np", Root: root})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Create(%s) error = %v, want %v", tt.root, err, tt.wantErr)
			}
			if err == nil {
				want, _ := filepath.EvalSymlinks(root)
				if p.Root != want {
					t.Errorf("stored root = %q, want resolved %q", p.Root, want)
				}
			}
		})
	}
}

func TestCreateValidatesNameAndSandbox(t *testing.T) {
	neg := int64(-1)
	tests := []struct {
		name    string
		spec    func(root string) Spec
		wantErr error
	}{
		{"ok", func(r string) Spec { return Spec{Name: "web-app_2", Root: r} }, nil},
		{"duplicate name", func(r string) Spec { return Spec{Name: "p1", Root: r} }, ErrExists},
		{"uppercase", func(r string) Spec { return Spec{Name: "Web", Root: r} }, ErrInvalid},
		{"slash", func(r string) Spec { return Spec{Name: "a/b", Root: r} }, ErrInvalid},
		{"dots", func(r string) Spec { return Spec{Name: "..", Root: r} }, ErrInvalid},
		{"empty", func(r string) Spec { return Spec{Name: "", Root: r} }, ErrInvalid},
		{"pattern escaping root", func(r string) Spec {
			return Spec{Name: "x", Root: r, Sandbox: &sandbox.Policy{Allow: []string{"../etc/*"}}}
		}, ErrInvalid},
		{"absolute pattern", func(r string) Spec { return Spec{Name: "x", Root: r, Sandbox: &sandbox.Policy{Deny: []string{"/etc"}}} }, ErrInvalid},
		{"negative size", func(r string) Spec { return Spec{Name: "x", Root: r, Sandbox: &sandbox.Policy{MaxFileSize: neg}} }, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, m := layout(t)
			_, err := m.Create(context.Background(), tt.spec(filepath.Join(base, "other")))
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestDefaultPolicy(t *testing.T) {
	base, m := layout(t)
	ctx := context.Background()
	p, err := m.Create(ctx, Spec{Name: "a", Root: filepath.Join(base, "other")})
	must(t, err)
	if !p.Sandbox.Enabled || p.Sandbox.ReadOnly || p.Sandbox.AllowGitWrites {
		t.Errorf("default sandbox = %+v, want enabled, writable, .git protected", p.Sandbox)
	}
	p, err = m.Update(ctx, "a", Patch{Sandbox: &sandbox.Policy{Enabled: true, ReadOnly: true, WriteDeny: []string{"**/*.lock"}}})
	must(t, err)
	got, err := m.Get(ctx, "a")
	must(t, err)
	if !got.Sandbox.ReadOnly || len(got.Sandbox.WriteDeny) != 1 || got.Sandbox.AllowGitWrites {
		t.Errorf("stored sandbox = %+v", got.Sandbox)
	}
	if _, err := m.Update(ctx, "a", Patch{Sandbox: &sandbox.Policy{Deny: []string{"[unclosed"}}}); !errors.Is(err, ErrInvalid) {
		t.Errorf("malformed glob accepted: %v", err)
	}
}

func TestLifecycle(t *testing.T) {
	base, m := layout(t)
	ctx := context.Background()
	var removed []string
	m.OnRemove(func(_ context.Context, p Project) { removed = append(removed, p.Name) })

	a, err := m.Create(ctx, Spec{Name: "a", Root: filepath.Join(base, "other")})
	must(t, err)
	got, err := m.Get(ctx, "a")
	must(t, err)
	if got.ID != a.ID || got.Root != a.Root {
		t.Errorf("Get = %+v, want %+v", got, a)
	}
	list, err := m.List(ctx)
	must(t, err)
	if len(list) != 2 || list[0].Name != "a" || list[1].Name != "p1" {
		t.Errorf("List = %v", list)
	}

	// Moving a project's root is validated like a create, without counting
	// the project's own old root as an overlap.
	inner := filepath.Join(base, "other", "inner")
	must(t, os.Mkdir(inner, 0o755))
	_, err = m.Update(ctx, "a", Patch{Root: &inner})
	must(t, err)
	into := filepath.Join(base, "srv/p1/sub")
	if _, err := m.Update(ctx, "a", Patch{Root: &into}); !errors.Is(err, ErrInvalid) {
		t.Errorf("update into another project: %v", err)
	}
	if _, err := m.Update(ctx, "nope", Patch{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}

	_, err = m.Remove(ctx, "a")
	must(t, err)
	if _, err := m.Get(ctx, "a"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after remove: %v", err)
	}
	if len(removed) != 1 || removed[0] != "a" {
		t.Errorf("remove hook saw %v", removed)
	}
	// The name can be reused, and gets a fresh ID.
	b, err := m.Create(ctx, Spec{Name: "a", Root: filepath.Join(base, "other")})
	must(t, err)
	if b.ID == a.ID {
		t.Error("re-created project reused the old ID")
	}
}

func TestWithin(t *testing.T) {
	tests := []struct {
		dir, path string
		want      bool
	}{
		{"/srv/p1", "/srv/p1", true},
		{"/srv/p1", "/srv/p1/a", true},
		{"/srv/p1", "/srv/p10", false},
		{"/srv/p1", "/srv", false},
		{"/srv/p1", "/srv/p1/..x", true},
		{"/", "/srv", true},
	}
	for _, tt := range tests {
		if got := within(tt.dir, tt.path); got != tt.want {
			t.Errorf("within(%q, %q) = %v, want %v", tt.dir, tt.path, got, tt.want)
		}
	}
}

// Concurrent creates of overlapping roots: exactly one wins.
func TestConcurrentOverlappingCreates(t *testing.T) {
	base, m := layout(t)
	roots := []string{"other", "other/a", "other/a/b", "other/a/b/c"}
	for _, r := range roots[1:] {
		must(t, os.MkdirAll(filepath.Join(base, r), 0o755))
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for i, r := range roots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := m.Create(context.Background(), Spec{Name: fmt.Sprintf("c%d", i), Root: filepath.Join(base, r)})
			if err == nil {
				mu.Lock()
				wins++
				mu.Unlock()
			} else if !errors.Is(err, ErrInvalid) {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins != 1 {
		t.Errorf("%d overlapping projects created, want 1", wins)
	}
}
