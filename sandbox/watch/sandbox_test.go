package watch_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/sandbox"
	"github.com/rubberduckhub/rubberduck/sandbox/cache"
	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

// TestWithTheRealSandbox wires the watcher and the cache into sandbox.Open
// the way the hub does, so a change of convention on either side (the
// sandbox's temp file names, when it calls the Observer, how it uses the
// cache) breaks here rather than in production.
func TestWithTheRealSandbox(t *testing.T) {
	if !sandbox.IsTempName(watch.TempPrefix + "123") {
		t.Fatalf("the sandbox no longer names its temp files %q*", watch.TempPrefix)
	}
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{"src/main.go": "package main\n", "old.txt": "x", "gone.txt": "x"})
	w, rec := start(t, dir, testConfig())
	files, err := cache.New(cache.Options{})
	must(t, err)
	root, err := sandbox.Open(dir, sandbox.DefaultPolicy(), sandbox.Options{
		Project:  "p",
		TrashDir: filepath.Join(t.TempDir(), "trash"),
		Observer: w,
		Cache:    files.Project("p"),
	})
	must(t, err)
	defer root.Close()
	ctx := context.Background()

	// The hub's own mutations are not reported back.
	_, err = root.Write(ctx, sandbox.WriteRequest{Path: "src/main.go", Data: []byte("package main // saved\n")})
	must(t, err)
	_, err = root.Create(ctx, sandbox.WriteRequest{Path: "src/new.go", Data: []byte("package main\n")})
	must(t, err)
	_, err = root.Mkdir(ctx, "docs/guide", true)
	must(t, err)
	_, err = root.Rename(ctx, "old.txt", "renamed.txt")
	must(t, err)
	_, err = root.Delete(ctx, "gone.txt")
	must(t, err)
	settle(t, dir, rec)
	for _, e := range rec.events() {
		if !strings.HasPrefix(e.Path, "zz-sentinel") && !e.Hub {
			t.Errorf("the hub's own change was reported as an outside change: %+v", e)
		}
	}

	// Read fills the cache; an outside write right after is both reported
	// and never served stale, whatever the watcher's timing.
	f, err := root.Read(ctx, "src/main.go")
	must(t, err)
	if string(f.Data) != "package main // saved\n" {
		t.Fatalf("read %q", f.Data)
	}
	writeFile(t, dir, "src/main.go", "package main // from git\n")
	f, err = root.Read(ctx, "src/main.go")
	must(t, err)
	if string(f.Data) != "package main // from git\n" {
		t.Fatalf("stale read after an outside write: %q", f.Data)
	}
	eventually(t, 10*time.Second, func() bool {
		return rec.has(watch.Event{Path: "src/main.go", Kind: watch.KindModified})
	}, rec.dump)
	if _, err := os.Stat(filepath.Join(dir, "renamed.txt")); err != nil {
		t.Fatal(err)
	}
}
