//go:build linux || darwin || freebsd

package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReadWriteSpec(t *testing.T) {
	w := newWorld(t)
	rec := &recorder{}
	r := openTest(t, w.p1, DefaultPolicy(), Options{Project: "p1", Auditor: rec, Observer: rec})
	ctx := WithActor(context.Background(), "alice")

	f, err := r.Read(ctx, "hello.txt")
	if err != nil {
		t.Fatal(err)
	}
	if f.Content != "hello\n" || f.Encoding != EncodingUTF8 || f.Size != 6 || f.Etag != Etag([]byte("hello\n")) {
		t.Fatalf("read = %+v", f)
	}
	// A write with the current etag succeeds and returns the new etag.
	res, err := r.Write(ctx, WriteRequest{Path: "hello.txt", Content: "v2\n", Etag: f.Etag})
	if err != nil {
		t.Fatal(err)
	}
	if res.Etag != Etag([]byte("v2\n")) {
		t.Fatalf("etag %s", res.Etag)
	}
	// A write with the stale etag is a conflict and changes nothing.
	_, err = r.Write(ctx, WriteRequest{Path: "hello.txt", Content: "lost\n", Etag: f.Etag})
	if CodeOf(err) != Conflict {
		t.Fatalf("stale etag: %v", err)
	}
	if b, _ := os.ReadFile(filepath.Join(w.p1, "hello.txt")); string(b) != "v2\n" {
		t.Fatalf("content %q", b)
	}
	// Binary content round-trips as base64.
	bin := []byte{0, 1, 2, 0xff, 'x'}
	if _, err := r.Write(ctx, WriteRequest{Path: "bin.dat", Data: bin}); err != nil {
		t.Fatal(err)
	}
	bf, err := r.Read(ctx, "bin.dat")
	if err != nil || bf.Encoding != EncodingBase64 || bf.Content != "AAEC/3g=" {
		t.Fatalf("binary read %+v %v", bf, err)
	}
	if _, err := r.Write(ctx, WriteRequest{Path: "b64.txt", Content: "aGk=", Encoding: "base64"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(w.p1, "b64.txt")); string(b) != "hi" {
		t.Fatalf("b64 write %q", b)
	}
	// Mode bits survive an atomic replace.
	must(t, os.Chmod(filepath.Join(w.p1, "hello.txt"), 0o751))
	if _, err := r.Write(ctx, WriteRequest{Path: "hello.txt", Content: "v3"}); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(filepath.Join(w.p1, "hello.txt")); fi.Mode().Perm() != 0o751 {
		t.Fatalf("mode %v", fi.Mode())
	}
	// Create refuses an existing path; Write into a missing directory fails.
	if _, err := r.Create(ctx, WriteRequest{Path: "hello.txt", Content: "x"}); CodeOf(err) != Exists {
		t.Fatalf("create existing: %v", err)
	}
	if _, err := r.Create(ctx, WriteRequest{Path: "new.txt", Content: "x"}); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Write(ctx, WriteRequest{Path: "nodir/x.txt", Content: "x"}); CodeOf(err) != NotFound {
		t.Fatalf("write in missing dir: %v", err)
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(w.p1)
	for _, e := range ents {
		if IsTempName(e.Name()) {
			t.Fatalf("temp file left: %s", e.Name())
		}
	}
	// Hooks and audit saw everything, with the actor.
	if len(rec.wrote) != 5 || rec.wrote[0] != "hello.txt" {
		t.Fatalf("observer wrote %v", rec.wrote)
	}
	last := rec.events[len(rec.events)-1]
	if last.Actor != "alice" || last.Project != "p1" || last.Op != "write" {
		t.Fatalf("event %+v", last)
	}
	var conflict bool
	for _, ev := range rec.events {
		conflict = conflict || ev.Outcome == string(Conflict)
	}
	if !conflict {
		t.Fatal("conflict not audited")
	}
}

func TestPolicySpec(t *testing.T) {
	w := newWorld(t)
	must(t, os.MkdirAll(filepath.Join(w.p1, ".git", "hooks"), 0o755))
	must(t, os.WriteFile(filepath.Join(w.p1, ".git", "config"), []byte("[core]\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(w.p1, ".env"), []byte("TOKEN=x"), 0o644))
	must(t, os.Symlink(".git", filepath.Join(w.p1, "docs")))         // Gogs CVE-2025-8110 shape
	must(t, os.Symlink(".git/config", filepath.Join(w.p1, "cfg")))   // link to a protected file
	must(t, os.Symlink(".env", filepath.Join(w.p1, "innocent.txt"))) // link to a denied file
	pol := DefaultPolicy()
	pol.Deny = []string{".env", "**/*.pem"}
	pol.MaxFileSize = 16
	r := openTest(t, w.p1, pol, Options{})
	ctx := context.Background()

	tests := []struct {
		name string
		do   func() error
		want Code
	}{
		{"read .git is fine", func() error { _, err := r.Read(ctx, ".git/config"); return err }, ""},
		{"write .git/config", func() error { _, err := r.Write(ctx, WriteRequest{Path: ".git/config", Content: "x"}); return err }, Denied},
		{"write hook", func() error {
			_, err := r.Create(ctx, WriteRequest{Path: ".git/hooks/pre-commit", Content: "x"})
			return err
		}, Denied},
		{"write through dir symlink into .git", func() error {
			_, err := r.Create(ctx, WriteRequest{Path: "docs/hooks/post-checkout", Content: "x"})
			return err
		}, Denied},
		{"write through file symlink into .git", func() error { _, err := r.Write(ctx, WriteRequest{Path: "cfg", Content: "x"}); return err }, Denied},
		{"mkdir -p through symlink into .git", func() error { _, err := r.Mkdir(ctx, "docs/a/b", true); return err }, Denied},
		{"rename into .git", func() error { _, err := r.Rename(ctx, "hello.txt", "docs/hooks/pre-push"); return err }, Denied},
		{"delete .git", func() error { _, err := r.Delete(ctx, ".git"); return err }, Denied},
		{"uppercase alias of .git", func() error { _, err := r.Mkdir(ctx, ".GIT", false); return err }, Denied},
		{"fullwidth alias of .git", func() error { _, err := r.Mkdir(ctx, "\uff0egit", false); return err }, Denied},
		{"read denied file", func() error { _, err := r.Read(ctx, ".env"); return err }, Denied},
		{"read denied file through symlink", func() error { _, err := r.Read(ctx, "innocent.txt"); return err }, Denied},
		{"read denied glob", func() error { _, err := r.Read(ctx, "sub/key.pem"); return err }, Denied},
		{"write too large", func() error {
			_, err := r.Write(ctx, WriteRequest{Path: "big.txt", Content: strings.Repeat("x", 17)})
			return err
		}, TooLarge},
		{"read too large", func() error {
			must(t, os.WriteFile(filepath.Join(w.p1, "big2.txt"), make([]byte, 17), 0o644))
			_, err := r.Read(ctx, "big2.txt")
			return err
		}, TooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.do()
			if CodeOf(err) != tt.want {
				t.Fatalf("got %v, want code %q", err, tt.want)
			}
		})
	}
	if b, _ := os.ReadFile(filepath.Join(w.p1, ".git", "config")); string(b) != "[core]\n" {
		t.Fatalf(".git/config changed: %q", b)
	}
	if _, err := os.Lstat(filepath.Join(w.p1, ".git", "hooks", "post-checkout")); err == nil {
		t.Fatal("hook created")
	}
	// Listings hide denied entries.
	l, err := r.List(ctx, ".", ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range l.Entries {
		if e.Name == ".env" {
			t.Fatal(".env listed")
		}
	}
	// Read-only and disabled policies apply at once.
	ro := DefaultPolicy()
	ro.ReadOnly = true
	must(t, r.SetPolicy(ro))
	if _, err := r.Write(ctx, WriteRequest{Path: "x.txt", Content: "x"}); CodeOf(err) != ReadOnly {
		t.Fatalf("read-only: %v", err)
	}
	must(t, r.SetPolicy(Policy{}))
	if _, err := r.Read(ctx, "hello.txt"); CodeOf(err) != Disabled {
		t.Fatalf("disabled: %v", err)
	}
	if err := r.SetPolicy(Policy{Enabled: true, Deny: []string{"[bad"}}); CodeOf(err) != InvalidArgument {
		t.Fatalf("bad pattern accepted: %v", err)
	}
	// An allow list hides and refuses everything else.
	must(t, r.SetPolicy(Policy{Enabled: true, Allow: []string{"sub/**/*.go"}}))
	if _, err := r.Read(ctx, "sub/deep/x.go"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Read(ctx, "hello.txt"); CodeOf(err) != Denied {
		t.Fatalf("allow list: %v", err)
	}
}

func TestSymlinksAndSpecialFiles(t *testing.T) { symlinkSpec(t) }

// The same specification with reads going through os.Root, as on kernels
// without openat2.
func TestSymlinksAndSpecialFilesWithoutOpenat2(t *testing.T) {
	noOpenat2.Store(true)
	defer noOpenat2.Store(false)
	symlinkSpec(t)
}

func symlinkSpec(t *testing.T) {
	w := newWorld(t)
	p := w.p1
	must(t, os.Symlink("hello.txt", filepath.Join(p, "in-link")))
	must(t, os.Symlink("sub", filepath.Join(p, "dir-link")))
	must(t, os.Symlink(w.canary, filepath.Join(p, "abs-out")))
	must(t, os.Symlink("../../canary.txt", filepath.Join(p, "rel-out")))
	must(t, os.Symlink("../p10/secret.txt", filepath.Join(p, "sibling")))
	must(t, os.Symlink("../p10", filepath.Join(p, "sibling-dir")))
	must(t, os.Symlink("nowhere", filepath.Join(p, "dangling")))
	must(t, os.Symlink(filepath.Join(p, "hello.txt"), filepath.Join(p, "abs-in")))
	must(t, os.Symlink("loop2", filepath.Join(p, "loop1")))
	must(t, os.Symlink("loop1", filepath.Join(p, "loop2")))
	must(t, syscall.Mkfifo(filepath.Join(p, "fifo"), 0o644))
	must(t, os.Link(filepath.Join(p, "hello.txt"), filepath.Join(p, "hard")))
	r := openTest(t, p, DefaultPolicy(), Options{})
	ctx := context.Background()

	read := func(path string) (string, Code) {
		f, err := r.Read(ctx, path)
		if err != nil {
			return "", CodeOf(err)
		}
		return f.Content, ""
	}
	for _, tt := range []struct {
		path string
		want Code
	}{
		{"in-link", ""}, {"dir-link/deep/x.go", ""},
		{"abs-out", Denied}, {"rel-out", Denied}, {"sibling", Denied}, {"sibling-dir/secret.txt", Denied},
		{"abs-in", Denied}, {"dangling", NotFound}, {"loop1", Denied}, {"fifo", NotAFile}, {"sub", NotAFile},
	} {
		done := make(chan struct{})
		var got string
		var code Code
		go func() { got, code = read(tt.path); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("read %s blocked", tt.path)
		}
		if code != tt.want || strings.Contains(got, secretText) {
			t.Errorf("read %s: code %q content %q, want %q", tt.path, code, got, tt.want)
		}
	}
	// Writes: through an inside link changes the target; outside links,
	// FIFOs and hard-linked files are refused.
	if _, err := r.Write(ctx, WriteRequest{Path: "dir-link/deep/x.go", Content: "package y\n"}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(p, "sub/deep/x.go")); string(b) != "package y\n" {
		t.Fatalf("write through dir link: %q", b)
	}
	for _, tt := range []struct {
		path string
		want Code
	}{
		{"abs-out", Denied}, {"rel-out", Denied}, {"sibling", Denied}, {"sibling-dir/new.txt", Denied},
		{"fifo", NotAFile}, {"hard", Denied}, {"hello.txt", Denied}, {"sub", NotAFile},
	} {
		if _, err := r.Write(ctx, WriteRequest{Path: tt.path, Content: "pwned"}); CodeOf(err) != tt.want {
			t.Errorf("write %s: %v, want %q", tt.path, err, tt.want)
		}
	}
	if b, _ := os.ReadFile(w.canary); string(b) != secretText {
		t.Fatal("canary changed")
	}
	if _, err := os.Stat(filepath.Join(w.p10, "new.txt")); err == nil {
		t.Fatal("wrote into sibling project")
	}
	// Listing shows links without following them.
	l, err := r.List(ctx, ".", ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	states := map[string]string{}
	for _, e := range l.Entries {
		states[e.Name] = e.Kind + "/" + e.TargetState + "/" + e.Target
	}
	for name, want := range map[string]string{
		"in-link": "symlink/inside/hello.txt", "abs-out": "symlink/outside/", "rel-out": "symlink/outside/../../canary.txt",
		"sibling": "symlink/outside/../p10/secret.txt", "dangling": "symlink/dangling/nowhere", "fifo": "other//", "sub": "dir//",
	} {
		if states[name] != want {
			t.Errorf("list %s = %q, want %q", name, states[name], want)
		}
	}
	// Deleting a symlink removes the link, not the target.
	if _, err := r.Delete(ctx, "rel-out"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(w.canary); err != nil {
		t.Fatal("canary deleted")
	}
}

func TestListPaging(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(w.p1, "many")
	must(t, os.Mkdir(dir, 0o755))
	for i := range 25 {
		must(t, os.WriteFile(filepath.Join(dir, string(rune('a'+i))+".txt"), nil, 0o644))
	}
	must(t, os.WriteFile(filepath.Join(dir, "bad\x01name"), nil, 0o644))
	r := openTest(t, w.p1, DefaultPolicy(), Options{})
	var names []string
	cursor := ""
	pages := 0
	for {
		l, err := r.List(context.Background(), "many", ListOptions{Cursor: cursor, Limit: 10})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, e := range l.Entries {
			names = append(names, e.Name)
		}
		if l.NextCursor == "" {
			break
		}
		cursor = l.NextCursor
	}
	if len(names) != 25 || names[0] != "a.txt" || names[24] != "y.txt" || pages != 3 {
		t.Fatalf("pages %d names %v", pages, names)
	}
	if _, err := r.List(context.Background(), "hello.txt", ListOptions{}); CodeOf(err) != NotADirectory {
		t.Fatalf("list a file: %v", err)
	}
	if _, err := r.List(context.Background(), "many", ListOptions{Cursor: "%%%"}); CodeOf(err) != InvalidArgument {
		t.Fatalf("bad cursor: %v", err)
	}
}

func TestMkdirRenameDeleteTrash(t *testing.T) {
	w := newWorld(t)
	rec := &recorder{}
	r := openTest(t, w.p1, DefaultPolicy(), Options{TrashDir: w.trash, Observer: rec})
	ctx := context.Background()
	if _, err := r.Mkdir(ctx, "a/b/c", false); CodeOf(err) != NotFound {
		t.Fatalf("mkdir without parents: %v", err)
	}
	if _, err := r.Mkdir(ctx, "a/b/c", true); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Mkdir(ctx, "a/b/c", true); err != nil {
		t.Fatalf("mkdir -p twice: %v", err)
	}
	if _, err := r.Mkdir(ctx, "a", false); CodeOf(err) != Exists {
		t.Fatalf("mkdir existing: %v", err)
	}
	if _, err := r.Rename(ctx, "hello.txt", "sub"); CodeOf(err) != Exists {
		t.Fatalf("rename over dir: %v", err)
	}
	if _, err := r.Rename(ctx, "hello.txt", "sub/deep/x.go"); CodeOf(err) != Exists {
		t.Fatalf("rename over file: %v", err)
	}
	if _, err := r.Rename(ctx, "a", "a/b/c/d"); CodeOf(err) != InvalidArgument {
		t.Fatalf("rename into itself: %v", err)
	}
	if _, err := r.Rename(ctx, "hello.txt", "a/b/hello.txt"); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Rename(ctx, "missing", "x"); CodeOf(err) != NotFound {
		t.Fatalf("rename missing: %v", err)
	}
	te, err := r.Delete(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if te.ID == "" || te.Path != "a" || te.Kind != KindDir {
		t.Fatalf("trash entry %+v", te)
	}
	if _, err := os.Stat(filepath.Join(w.p1, "a")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("still there")
	}
	if _, err := os.Stat(filepath.Join(w.trash, te.ID, "item", "b", "hello.txt")); err != nil {
		t.Fatalf("not in trash: %v", err)
	}
	list, err := r.ListTrash(ctx)
	if err != nil || len(list) != 1 || list[0].ID != te.ID {
		t.Fatalf("trash list %v %v", list, err)
	}
	if _, err := r.Mkdir(ctx, "a", false); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Restore(ctx, te.ID, ""); CodeOf(err) != Exists {
		t.Fatalf("restore over existing: %v", err)
	}
	if _, err := r.Restore(ctx, te.ID, "restored/a"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(w.p1, "restored/a/b/hello.txt")); err != nil || string(b) != "hello\n" {
		t.Fatalf("restored %q %v", b, err)
	}
	if _, err := r.Restore(ctx, "../../etc", ""); CodeOf(err) != NotFound {
		t.Fatalf("restore bad id: %v", err)
	}
	te2, err := r.Delete(ctx, "sub/deep/x.go")
	if err != nil {
		t.Fatal(err)
	}
	must(t, r.Purge(ctx, te2.ID))
	if list, _ := r.ListTrash(ctx); len(list) != 0 {
		t.Fatalf("after purge %v", list)
	}
	if _, err := r.Delete(ctx, "."); CodeOf(err) != InvalidArgument {
		t.Fatalf("delete root: %v", err)
	}
	if len(rec.renamed) != 1 || rec.renamed[0] != [2]string{"hello.txt", "a/b/hello.txt"} || len(rec.removed) != 2 {
		t.Fatalf("observer %+v", rec)
	}
	// The trash must be outside the project.
	if _, err := Open(w.p1, DefaultPolicy(), Options{TrashDir: filepath.Join(w.p1, "trash")}); CodeOf(err) != InvalidArgument {
		t.Fatalf("trash inside project: %v", err)
	}
}

func TestErrorsNeverShowServerPaths(t *testing.T) {
	w := newWorld(t)
	must(t, os.Symlink(w.canary, filepath.Join(w.p1, "abs-out")))
	r := openTest(t, w.p1, DefaultPolicy(), Options{TrashDir: w.trash})
	ctx := context.Background()
	errs := []error{}
	add := func(_ any, err error) { errs = append(errs, err) }
	add(r.Read(ctx, "missing.txt"))
	add(r.Read(ctx, "abs-out"))
	add(r.Read(ctx, "sub"))
	add(r.Write(ctx, WriteRequest{Path: "abs-out", Content: "x"}))
	add(r.Write(ctx, WriteRequest{Path: "nodir/x", Content: "x"}))
	add(r.List(ctx, "hello.txt", ListOptions{}))
	add(r.Rename(ctx, "hello.txt", "sub"))
	add(r.Stat(ctx, "../x"))
	add(r.Mkdir(ctx, "hello.txt/x", true))
	for _, err := range errs {
		if err == nil {
			t.Fatal("expected an error")
		}
		if strings.Contains(err.Error(), w.data) {
			t.Errorf("error shows a server path: %v", err)
		}
		if CodeOf(err) == Internal {
			t.Errorf("internal error: %v", err)
		}
	}
}

func TestClosedRoot(t *testing.T) {
	w := newWorld(t)
	r, err := Open(w.p1, DefaultPolicy(), Options{})
	must(t, err)
	must(t, r.Close())
	if _, err := r.Read(context.Background(), "hello.txt"); CodeOf(err) != Unavailable {
		t.Fatalf("closed: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r2 := openTest(t, w.p1, DefaultPolicy(), Options{})
	if _, err := r2.Read(ctx, "hello.txt"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}

// TestTrashOnAnotherFileSystem moves entries to a trash on tmpfs and back:
// renames fail with EXDEV there, so Delete and Restore copy instead.
func TestTrashOnAnotherFileSystem(t *testing.T) {
	w := newWorld(t)
	trash, err := os.MkdirTemp("/dev/shm", "rubberduck-trash-")
	if err != nil {
		t.Skip("no /dev/shm to put the trash on another file system")
	}
	defer os.RemoveAll(trash)
	var a, b syscall.Stat_t
	if syscall.Stat(trash, &a) != nil || syscall.Stat(w.p1, &b) != nil || a.Dev == b.Dev {
		t.Skip("/dev/shm is on the same file system as the test directory")
	}
	must(t, os.Symlink("../../canary.txt", filepath.Join(w.p1, "sub", "out")))
	must(t, syscall.Mkfifo(filepath.Join(w.p1, "sub", "fifo"), 0o644))
	must(t, os.Chmod(filepath.Join(w.p1, "sub", "deep", "x.go"), 0o600))
	r := openTest(t, w.p1, DefaultPolicy(), Options{TrashDir: trash})
	ctx := context.Background()
	te, err := r.Delete(ctx, "sub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(filepath.Join(w.p1, "sub")); err == nil {
		t.Fatal("sub still in the project")
	}
	if b, err := os.ReadFile(filepath.Join(trash, te.ID, "item", "deep", "x.go")); err != nil || string(b) != "package x\n" {
		t.Fatalf("trash copy %q %v", b, err)
	}
	if _, err := r.Restore(ctx, te.ID, ""); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(w.p1, "sub", "deep", "x.go"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("restored file %v %v", fi, err)
	}
	if link, err := os.Readlink(filepath.Join(w.p1, "sub", "out")); err != nil || link != "../../canary.txt" {
		t.Fatalf("restored link %q %v", link, err)
	}
	if b, _ := os.ReadFile(w.canary); string(b) != secretText {
		t.Fatal("canary changed")
	}
	if _, err := os.Lstat(filepath.Join(trash, te.ID)); err == nil {
		t.Fatal("trash entry left after restore")
	}
	ents, _ := os.ReadDir(w.p1)
	for _, e := range ents {
		if IsTempName(e.Name()) {
			t.Fatalf("temp left: %s", e.Name())
		}
	}
	// A file too.
	te, err = r.Delete(ctx, "hello.txt")
	must(t, err)
	if _, err := r.Restore(ctx, te.ID, "again.txt"); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(w.p1, "again.txt")); string(b) != "hello\n" {
		t.Fatalf("restored %q", b)
	}
}

// TestConcurrentSavesWithOneEtag: editors that read the same version and
// save at once must not both win; exactly one save lands, the others get
// Conflict, and the file holds the winner's content whole.
func TestConcurrentSavesWithOneEtag(t *testing.T) {
	w := newWorld(t)
	r := openTest(t, w.p1, DefaultPolicy(), Options{})
	ctx := context.Background()
	for round := range 20 {
		f, err := r.Read(ctx, "hello.txt")
		must(t, err)
		const n = 8
		codes := make(chan Code, n)
		start := make(chan struct{})
		for i := range n {
			go func() {
				<-start
				// Unique per round: an identical save would legitimately
				// keep the etag (it is a content hash).
				content := strings.Repeat(string(rune('a'+i)), 1000-3) + fmt.Sprintf("%03d", round)
				_, err := r.Write(ctx, WriteRequest{Path: "hello.txt", Content: content, Etag: f.Etag})
				codes <- CodeOf(err)
			}()
		}
		close(start)
		wins := 0
		for range n {
			switch c := <-codes; c {
			case "":
				wins++
			case Conflict:
			default:
				t.Fatalf("round %d: unexpected %s", round, c)
			}
		}
		if wins != 1 {
			t.Fatalf("round %d: %d saves won", round, wins)
		}
		b, _ := os.ReadFile(filepath.Join(w.p1, "hello.txt"))
		if len(b) != 1000 || strings.Count(string(b), string(b[:1])) != 997 {
			t.Fatalf("round %d: torn content %q", round, b[:20])
		}
	}
}
