package lsp_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp"
)

// TestMirrorCopiesAndFollows copies a project from a real hub, then changes,
// creates and deletes files on the hub's disk and expects the copy to follow.
func TestMirrorCopiesAndFollows(t *testing.T) {
	h := hubtest.Start(t)
	write := func(rel, s string) {
		p := filepath.Join(h.ProjectDir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("main.go", "package main\n")
	write("pkg/util/util.go", "package util\n")
	write("bin.dat", "\x00\x01\xff")

	dst := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan int, 1)
	var wg conc.WaitGroup
	wg.Go(func() {
		err := lsp.Mirror(ctx, lsp.MirrorConfig{HubURL: h.LSPURL(), Project: h.Project, Token: h.Token, Dir: dst,
			Ready: func(n int) { ready <- n }})
		if err != nil {
			t.Errorf("mirror: %v", err)
		}
	})
	defer func() { cancel(); wg.Wait() }()
	select {
	case n := <-ready:
		if n != 3 {
			t.Errorf("copied %d files, want 3", n)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("mirror not ready")
	}
	for rel, want := range map[string]string{"main.go": "package main\n", "pkg/util/util.go": "package util\n", "bin.dat": "\x00\x01\xff"} {
		got, err := os.ReadFile(filepath.Join(dst, rel))
		if err != nil || string(got) != want {
			t.Errorf("%s = %q, %v; want %q", rel, got, err, want)
		}
	}

	write("main.go", "package main\n\nfunc main() {}\n")
	write("new.txt", "fresh\n")
	if err := os.Remove(filepath.Join(h.ProjectDir, "bin.dat")); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		m, _ := os.ReadFile(filepath.Join(dst, "main.go"))
		n, _ := os.ReadFile(filepath.Join(dst, "new.txt"))
		_, errBin := os.Stat(filepath.Join(dst, "bin.dat"))
		if string(m) == "package main\n\nfunc main() {}\n" && string(n) == "fresh\n" && os.IsNotExist(errBin) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("copy did not follow: main.go=%q new.txt=%q bin.dat err=%v", m, n, errBin)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
