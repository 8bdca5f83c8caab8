package watch_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fsnotify/fsnotify"

	"github.com/rubberduckhub/rubberduck/sandbox"
	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

// The watcher and the Manager's forwarder are what sandbox.Open accepts.
var (
	_ sandbox.Observer = (*watch.Watcher)(nil)
	_ sandbox.Observer = (*watch.Observer)(nil)
)

func TestChangesAreCategorised(t *testing.T) {
	type ev = watch.Event
	tests := []struct {
		name    string
		files   map[string]string
		dirs    []string
		act     func(t *testing.T, dir string)
		want    []ev
		notWant []ev
	}{
		{
			name: "create a file",
			act:  func(t *testing.T, dir string) { writeFile(t, dir, "a.txt", "hello") },
			want: []ev{{Path: "a.txt", Kind: watch.KindCreated}},
			notWant: []ev{
				{Path: "a.txt", Kind: watch.KindModified},
			},
		},
		{
			name:  "modify a file",
			files: map[string]string{"a.txt": "one"},
			act:   func(t *testing.T, dir string) { writeFile(t, dir, "a.txt", "two, longer") },
			want:  []ev{{Path: "a.txt", Kind: watch.KindModified}},
		},
		{
			name:  "delete a file",
			files: map[string]string{"a.txt": "one"},
			act:   func(t *testing.T, dir string) { must(t, os.Remove(filepath.Join(dir, "a.txt"))) },
			want:  []ev{{Path: "a.txt", Kind: watch.KindDeleted}},
		},
		{
			name:  "rename a file",
			files: map[string]string{"a.txt": "one"},
			act: func(t *testing.T, dir string) {
				must(t, os.Rename(filepath.Join(dir, "a.txt"), filepath.Join(dir, "b.txt")))
			},
			want: []ev{{Path: "b.txt", Kind: watch.KindRenamed, OldPath: "a.txt"}},
			notWant: []ev{
				{Path: "a.txt", Kind: watch.KindDeleted},
				{Path: "b.txt", Kind: watch.KindCreated},
			},
		},
		{
			name:  "rename a directory is one event",
			files: map[string]string{"d/x.txt": "x", "d/e/y.txt": "y"},
			act: func(t *testing.T, dir string) {
				must(t, os.Rename(filepath.Join(dir, "d"), filepath.Join(dir, "f")))
			},
			want: []ev{{Path: "f", Kind: watch.KindRenamed, OldPath: "d", Dir: true}},
			notWant: []ev{
				{Path: "f/x.txt", Kind: watch.KindRenamed, OldPath: "d/x.txt"},
				{Path: "f/x.txt", Kind: watch.KindCreated},
				{Path: "d/x.txt", Kind: watch.KindDeleted},
			},
		},
		{
			name:  "delete a directory is one event",
			files: map[string]string{"d/x.txt": "x", "d/e/y.txt": "y"},
			act:   func(t *testing.T, dir string) { must(t, os.RemoveAll(filepath.Join(dir, "d"))) },
			want:  []ev{{Path: "d", Kind: watch.KindDeleted, Dir: true}},
			notWant: []ev{
				{Path: "d/x.txt", Kind: watch.KindDeleted},
				{Path: "d/e", Kind: watch.KindDeleted, Dir: true},
			},
		},
		{
			name:  "delete then re-create is modified",
			files: map[string]string{"a.txt": "one"},
			act: func(t *testing.T, dir string) {
				must(t, os.Remove(filepath.Join(dir, "a.txt")))
				writeFile(t, dir, "a.txt", "two")
			},
			want: []ev{{Path: "a.txt", Kind: watch.KindModified}},
			notWant: []ev{
				{Path: "a.txt", Kind: watch.KindDeleted},
				{Path: "a.txt", Kind: watch.KindCreated},
			},
		},
		{
			name:  "another tool's atomic save is modified and its temp file is silent",
			files: map[string]string{"a.txt": "one"},
			act: func(t *testing.T, dir string) {
				writeFile(t, dir, "a.txt.tmp~", "two")
				must(t, os.Rename(filepath.Join(dir, "a.txt.tmp~"), filepath.Join(dir, "a.txt")))
			},
			want: []ev{{Path: "a.txt", Kind: watch.KindModified}},
			notWant: []ev{
				{Path: "a.txt.tmp~", Kind: watch.KindCreated},
				{Path: "a.txt", Kind: watch.KindRenamed, OldPath: "a.txt.tmp~"},
			},
		},
		{
			name:  "a file replaced by a directory",
			files: map[string]string{"a": "file"},
			act: func(t *testing.T, dir string) {
				must(t, os.Remove(filepath.Join(dir, "a")))
				writeFile(t, dir, "a/inner.txt", "x")
			},
			want: []ev{
				{Path: "a", Kind: watch.KindDeleted},
				{Path: "a", Kind: watch.KindCreated, Dir: true},
				{Path: "a/inner.txt", Kind: watch.KindCreated},
			},
		},
		{
			name: "nested folders created at once, files inside immediately",
			act: func(t *testing.T, dir string) {
				must(t, os.MkdirAll(filepath.Join(dir, "a", "b", "c"), 0o755))
				writeFile(t, dir, "a/f1", "1")
				writeFile(t, dir, "a/b/f2", "2")
				writeFile(t, dir, "a/b/c/f3", "3")
			},
			want: []ev{
				{Path: "a", Kind: watch.KindCreated, Dir: true},
				{Path: "a/b", Kind: watch.KindCreated, Dir: true},
				{Path: "a/b/c", Kind: watch.KindCreated, Dir: true},
				{Path: "a/f1", Kind: watch.KindCreated},
				{Path: "a/b/f2", Kind: watch.KindCreated},
				{Path: "a/b/c/f3", Kind: watch.KindCreated},
			},
		},
		{
			name:  "a chmod alone is not a change",
			files: map[string]string{"a.sh": "echo"},
			act:   func(t *testing.T, dir string) { must(t, os.Chmod(filepath.Join(dir, "a.sh"), 0o755)) },
			notWant: []ev{
				{Path: "a.sh", Kind: watch.KindModified},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mkTree(t, dir, tt.files, tt.dirs...)
			_, rec := start(t, dir, testConfig())
			tt.act(t, dir)
			for _, want := range tt.want {
				eventually(t, 10*time.Second, func() bool { return rec.has(want) },
					func() string { return fmt.Sprintf("want %+v, got:\n%s", want, rec.dump()) })
			}
			settle(t, dir, rec)
			for _, nw := range tt.notWant {
				if rec.has(nw) {
					t.Errorf("unexpected %+v in:\n%s", nw, rec.dump())
				}
			}
			checkSeq(t, rec)
		})
	}
}

// checkSeq verifies batches are numbered 1, 2, 3, ... without gaps.
func checkSeq(t *testing.T, rec *recorder) {
	t.Helper()
	for i, b := range rec.all() {
		if b.Seq != uint64(i+1) {
			t.Fatalf("batch %d has seq %d:\n%s", i, b.Seq, rec.dump())
		}
		if b.Project != "p" {
			t.Fatalf("batch project = %q", b.Project)
		}
	}
}

func TestRenamedDirectoryKeepsBeingWatched(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{"d/e/y.txt": "y"})
	w, rec := start(t, dir, testConfig())
	must(t, os.Rename(filepath.Join(dir, "d"), filepath.Join(dir, "f")))
	eventually(t, 10*time.Second, func() bool {
		return rec.has(watch.Event{Path: "f", Kind: watch.KindRenamed, OldPath: "d", Dir: true})
	}, rec.dump)
	writeFile(t, dir, "f/e/y.txt", "changed")
	eventually(t, 10*time.Second, func() bool {
		return rec.has(watch.Event{Path: "f/e/y.txt", Kind: watch.KindModified})
	}, rec.dump)
	settle(t, dir, rec)
	for _, e := range rec.events() {
		if strings.HasPrefix(e.Path, "d/") {
			t.Errorf("event under the old name: %+v", e)
		}
	}
	if got := w.Watches(); got != 3 { // root, f, f/e
		t.Errorf("Watches() = %d, want 3", got)
	}
}

func TestIgnoredPathsAreSilentAndUnwatched(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{
		".gitignore":     "*.log\nbuild/\n",
		"sub/.gitignore": "secret.txt\n",
		".git/HEAD":      "ref: refs/heads/main\n",
		"sub/keep.go":    "package sub",
	})
	cfg := testConfig()
	cfg.Ignore = []string{"node_modules/"}
	w, rec := start(t, dir, cfg)
	if got := w.Watches(); got != 2 { // root and sub; never .git
		t.Errorf("Watches() = %d, want 2", got)
	}
	writeFile(t, dir, "a.log", "x")
	writeFile(t, dir, "sub/deep/b.log", "x")
	writeFile(t, dir, "build/out/bin", "x")
	writeFile(t, dir, "node_modules/react/index.js", "x")
	writeFile(t, dir, "sub/secret.txt", "x")
	writeFile(t, dir, ".git/HEAD", "ref: refs/heads/other\n")
	writeFile(t, dir, ".git/objects/ab/cdef", "x")
	writeFile(t, dir, "sub/deep/ok.txt", "x")
	settle(t, dir, rec)
	for _, e := range rec.events() {
		switch {
		case e.Path == "sub/deep" || e.Path == "sub/deep/ok.txt" || strings.HasPrefix(e.Path, "zz-sentinel"):
		default:
			t.Errorf("unexpected event %+v", e)
		}
	}
	if !rec.has(watch.Event{Path: "sub/deep/ok.txt", Kind: watch.KindCreated}) {
		t.Errorf("sub/deep/ok.txt not reported:\n%s", rec.dump())
	}
	if got := w.Watches(); got != 3 { // root, sub, sub/deep
		t.Errorf("Watches() = %d, want 3", got)
	}
}

func TestGitignoreChangesTakeEffect(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{
		".gitignore":    "build/\n",
		"build/out.bin": "x",
		"x.tmp":         "x",
	})
	w, rec := start(t, dir, testConfig())
	writeFile(t, dir, ".gitignore", "*.tmp\n")
	eventually(t, 10*time.Second, func() bool {
		return rec.has(watch.Event{Path: "build", Kind: watch.KindCreated, Dir: true}) &&
			rec.has(watch.Event{Path: "build/out.bin", Kind: watch.KindCreated}) &&
			rec.has(watch.Event{Path: "x.tmp", Kind: watch.KindDeleted})
	}, rec.dump)
	// The newly visible directory is watched.
	writeFile(t, dir, "build/new.bin", "y")
	eventually(t, 10*time.Second, func() bool {
		return rec.has(watch.Event{Path: "build/new.bin", Kind: watch.KindCreated})
	}, rec.dump)
	if got := w.Watches(); got != 2 {
		t.Errorf("Watches() = %d, want 2", got)
	}
}

func TestSymlinkToOutsideIsNotFollowed(t *testing.T) {
	dir := t.TempDir()
	outside := t.TempDir()
	mkTree(t, outside, map[string]string{"sub/file.txt": "secret"})
	must(t, os.Symlink(outside, filepath.Join(dir, "link")))
	w, rec := start(t, dir, testConfig())
	if got := w.Watches(); got != 1 {
		t.Fatalf("Watches() = %d, want 1 (the root only)", got)
	}
	writeFile(t, outside, "new.txt", "x")
	writeFile(t, outside, "sub/file.txt", "changed")
	must(t, os.Symlink(filepath.Join(outside, "sub"), filepath.Join(dir, "link2")))
	settle(t, dir, rec)
	for _, e := range rec.events() {
		if strings.HasPrefix(e.Path, "link/") || strings.HasPrefix(e.Path, "link2/") {
			t.Errorf("event through a symlink: %+v", e)
		}
	}
	if !rec.has(watch.Event{Path: "link2", Kind: watch.KindCreated}) {
		t.Errorf("the new symlink itself is a created entry:\n%s", rec.dump())
	}
	if got := w.Watches(); got != 1 {
		t.Errorf("Watches() = %d after a new symlink, want 1", got)
	}
}

func TestBurstIsFullyDeliveredOrResynced(t *testing.T) {
	n := 30000
	if testing.Short() {
		n = 3000
	}
	const dirs = 100
	dir := t.TempDir()
	cfg := testConfig()
	_, rec := start(t, dir, cfg)
	want := make(map[string]bool, n)
	for d := range dirs {
		sub := fmt.Sprintf("d%03d", d)
		must(t, os.Mkdir(filepath.Join(dir, sub), 0o755))
		for i := range n / dirs {
			rel := fmt.Sprintf("%s/f%05d.txt", sub, i)
			must(t, os.WriteFile(filepath.Join(dir, sub, fmt.Sprintf("f%05d.txt", i)), []byte(rel), 0o644))
			want[rel] = true
		}
	}
	seen := func() int {
		got := make(map[string]bool)
		for _, e := range rec.events() {
			if (e.Kind == watch.KindCreated || e.Kind == watch.KindModified) && want[e.Path] {
				got[e.Path] = true
			}
		}
		return len(got)
	}
	eventually(t, 90*time.Second, func() bool { return seen() == n },
		func() string { return fmt.Sprintf("%d of %d files reported", seen(), n) })
	resyncs := 0
	for _, b := range rec.all() {
		if b.Resync {
			resyncs++
		}
	}
	for _, e := range rec.events() {
		if e.Kind == watch.KindDeleted {
			t.Errorf("unexpected %+v", e)
		}
	}
	checkSeq(t, rec)
	t.Logf("%d files in %d batches (%d resync)", n, len(rec.all()), resyncs)
}

func TestRealQueueOverflowIsResynced(t *testing.T) {
	if testing.Short() {
		t.Skip("creates more files than the kernel's inotify queue holds")
	}
	queued := 16384
	if b, err := os.ReadFile("/proc/sys/fs/inotify/max_queued_events"); err == nil {
		fmt.Sscan(string(b), &queued)
	}
	if queued > 100_000 {
		t.Skipf("max_queued_events is %d; too many files to overflow it here", queued)
	}
	dir := t.TempDir()
	cfg := testConfig()
	cfg.EventBuffer = 64
	release := make(chan struct{})
	var once sync.Once
	unblock := func() { once.Do(func() { close(release) }) }
	t.Cleanup(unblock)
	rec := &recorder{}
	blocked := make(chan struct{})
	var first sync.Once
	cfg.Deliver = func(b watch.Batch) {
		rec.deliver(b)
		first.Do(func() { close(blocked); <-release }) // the watcher stalls here
	}
	w, err := watch.New("p", dir, cfg)
	must(t, err)
	must(t, w.Start(context.Background()))
	t.Cleanup(func() { w.Close() })
	writeFile(t, dir, "first", "x")
	<-blocked
	n := queued + 2000
	for i := range n {
		must(t, os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%06d", i)), nil, 0o644))
	}
	unblock()
	covered := func() int {
		got := make(map[string]bool)
		for _, e := range rec.events() {
			if strings.HasPrefix(e.Path, "f0") {
				got[e.Path] = true
			}
		}
		return len(got)
	}
	eventually(t, 60*time.Second, func() bool { return covered() == n },
		func() string { return fmt.Sprintf("%d of %d covered", covered(), n) })
	resync := false
	for _, b := range rec.all() {
		resync = resync || b.Resync
	}
	if !resync {
		t.Errorf("the queue overflowed but no resync batch was sent")
	}
	checkSeq(t, rec)
}

func TestCheckoutArrivesAsFewModifiedBatches(t *testing.T) {
	const n = 1000
	dir := t.TempDir()
	files := make(map[string]string, n)
	for i := range n {
		files[fmt.Sprintf("pkg%02d/file%04d.go", i%10, i)] = "package old\n"
	}
	mkTree(t, dir, files)
	_, rec := start(t, dir, testConfig())
	// What git checkout does per file: unlink, then create with new content.
	for rel := range files {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		must(t, os.Remove(p))
		must(t, os.WriteFile(p, []byte("package new // longer\n"), 0o644))
	}
	modified := func() int {
		c := 0
		for _, e := range rec.events() {
			if e.Kind == watch.KindModified {
				c++
			}
		}
		return c
	}
	eventually(t, 30*time.Second, func() bool { return modified() >= n },
		func() string { return fmt.Sprintf("%d modified of %d", modified(), n) })
	settle(t, dir, rec)
	for _, e := range rec.events() {
		if _, ok := files[e.Path]; ok && e.Kind != watch.KindModified {
			t.Errorf("churn: %+v", e)
		}
	}
	if got := len(rec.all()); got > 12 {
		t.Errorf("%d batches, want a few", got)
	}
	t.Logf("%d files arrived in %d batches", n, len(rec.all())-1)
}

func TestRestartAfterFailureResyncs(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{"old.txt": "x"})
	cfg := testConfig()
	cfg.BackoffMin = 300 * time.Millisecond
	cfg.BackoffMax = time.Second
	w, rec := start(t, dir, cfg)
	w.InjectFailure(errors.New("boom"))
	eventually(t, 5*time.Second, func() bool { return w.Health().State == "restarting" },
		func() string { return fmt.Sprintf("%+v", w.Health()) })
	// Changes while the watcher is down come back as a resync batch.
	writeFile(t, dir, "while-down.txt", "x")
	must(t, os.Remove(filepath.Join(dir, "old.txt")))
	eventually(t, 10*time.Second, func() bool {
		for _, b := range rec.all() {
			if b.Resync && slices.Contains(b.Events, watch.Event{Path: "while-down.txt", Kind: watch.KindCreated}) &&
				slices.Contains(b.Events, watch.Event{Path: "old.txt", Kind: watch.KindDeleted}) {
				return true
			}
		}
		return false
	}, rec.dump)
	h := w.Health()
	if !h.Healthy || h.State != "watching" || h.Restarts != 1 || !strings.Contains(h.LastError, "boom") {
		t.Errorf("Health() = %+v", h)
	}
	writeFile(t, dir, "after.txt", "x")
	eventually(t, 10*time.Second, func() bool {
		return rec.has(watch.Event{Path: "after.txt", Kind: watch.KindCreated})
	}, rec.dump)
	checkSeq(t, rec)
}

func TestOverflowTriggersResyncBatch(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{"a.txt": "x"})
	w, rec := start(t, dir, testConfig())
	writeFile(t, dir, "b.txt", "x")
	w.InjectFailure(fsnotify.ErrEventOverflow)
	eventually(t, 10*time.Second, func() bool {
		for _, b := range rec.all() {
			if b.Resync && slices.Contains(b.Events, watch.Event{Path: "b.txt", Kind: watch.KindCreated}) {
				return true
			}
		}
		return false
	}, rec.dump)
	if h := w.Health(); h.Restarts != 0 || h.Rescans != 1 || !h.Healthy {
		t.Errorf("Health() = %+v", h)
	}
}

func TestStartFailsForMissingDirectory(t *testing.T) {
	w, err := watch.New("p", filepath.Join(t.TempDir(), "missing"), testConfig())
	if err != nil {
		t.Fatal(err)
	}
	err = w.Start(context.Background())
	if err == nil {
		t.Fatal("Start succeeded")
	}
	if strings.Contains(err.Error(), t.TempDir()) {
		t.Errorf("error leaks the absolute path: %v", err)
	}
	w.Close()
}

// writeAtomic writes like the sandbox: a temp file in the same directory,
// renamed over the target.
func writeAtomic(t *testing.T, dir, rel, content string) os.FileInfo {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	tmp := filepath.Join(filepath.Dir(p), ".rubberduck-tmp-123")
	must(t, os.WriteFile(tmp, []byte(content), 0o644))
	must(t, os.Rename(tmp, p))
	fi, err := os.Lstat(p)
	must(t, err)
	return fi
}

func TestOwnWritesAreNotReportedBack(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{"mine.txt": "v1", "gone.txt": "x", "from.txt": "x"})
	w, rec := start(t, dir, testConfig())

	w.Wrote("mine.txt", writeAtomic(t, dir, "mine.txt", "v2 from the hub"))
	w.Wrote("new.txt", writeAtomic(t, dir, "new.txt", "new from the hub"))
	must(t, os.Mkdir(filepath.Join(dir, "newdir"), 0o755))
	fi, err := os.Lstat(filepath.Join(dir, "newdir"))
	must(t, err)
	w.Wrote("newdir", fi)
	w.Wrote("newdir/inner.txt", writeAtomic(t, dir, "newdir/inner.txt", "inner"))
	must(t, os.Remove(filepath.Join(dir, "gone.txt")))
	w.Removed("gone.txt")
	must(t, os.Rename(filepath.Join(dir, "from.txt"), filepath.Join(dir, "to.txt")))
	w.Renamed("from.txt", "to.txt")
	settle(t, dir, rec)
	for _, e := range rec.events() {
		if !strings.HasPrefix(e.Path, "zz-sentinel") && !e.Hub {
			t.Errorf("own change reported as an outside change: %+v", e)
		}
	}

	// An outside write right after the hub's own is still reported.
	w.Wrote("mine.txt", writeAtomic(t, dir, "mine.txt", "v3 from the hub"))
	writeFile(t, dir, "mine.txt", "v4 from another tool, longer")
	eventually(t, 10*time.Second, func() bool {
		return rec.has(watch.Event{Path: "mine.txt", Kind: watch.KindModified})
	}, rec.dump)
}

func TestOwnAtomicWriteIsRecognisedBeforeWroteArrives(t *testing.T) {
	// The sandbox fsyncs the directory after its rename and only then calls
	// Wrote, which on a slow disk is after the quiet window.
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{"slow.txt": "v1"})
	w, rec := start(t, dir, testConfig())
	fi := writeAtomic(t, dir, "slow.txt", "v2 from the hub")
	settle(t, dir, rec)
	w.Wrote("slow.txt", fi)
	for _, e := range rec.events() {
		if e.Path == "slow.txt" && !e.Hub {
			t.Errorf("own write reported as an outside change: %+v", e)
		}
	}
	// Another tool writing afterwards is reported.
	writeFile(t, dir, "slow.txt", "v3 from another tool")
	eventually(t, 10*time.Second, func() bool {
		return rec.has(watch.Event{Path: "slow.txt", Kind: watch.KindModified})
	}, rec.dump)
}

// fakeDocs is an OpenDocuments that records what it is handed.
type fakeDocs struct {
	open map[string]bool
	mu   sync.Mutex
	got  map[string][]string
}

func (f *fakeDocs) IsOpen(rel string) bool { return f.open[rel] }

func (f *fakeDocs) DiskChanged(_ context.Context, rel string, content []byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got[rel] = append(f.got[rel], string(content))
}

func (f *fakeDocs) contents(rel string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.got[rel])
}

func TestDiskChangesToOpenDocumentsBecomeEdits(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{"open.go": "v1", "closed.go": "v1"})
	docs := &fakeDocs{open: map[string]bool{"open.go": true}, got: map[string][]string{}}
	cfg := testConfig()
	cfg.Docs = docs
	w, rec := start(t, dir, cfg)

	writeFile(t, dir, "closed.go", "v2")
	writeFile(t, dir, "open.go", "v2 from disk")
	eventually(t, 10*time.Second, func() bool { return slices.Contains(docs.contents("open.go"), "v2 from disk") },
		func() string { return fmt.Sprintf("got %q", docs.contents("open.go")) })

	// The hub saving the document itself is not an outside change.
	w.Wrote("open.go", writeAtomic(t, dir, "open.go", "v3 saved by the hub"))
	settle(t, dir, rec)
	writeFile(t, dir, "open.go", "v4 from git")
	eventually(t, 10*time.Second, func() bool { return slices.Contains(docs.contents("open.go"), "v4 from git") },
		func() string { return fmt.Sprintf("got %q", docs.contents("open.go")) })
	if got := docs.contents("open.go"); slices.Contains(got, "v3 saved by the hub") {
		t.Errorf("own save handed to the document layer: %q", got)
	}
	if got := docs.contents("closed.go"); len(got) != 0 {
		t.Errorf("closed document handed over: %q", got)
	}
}

// panickyDocs panics once in IsOpen (on the watcher's goroutine) and once
// in DiskChanged (on the docs worker).
type panickyDocs struct {
	mu         sync.Mutex
	openPanics int
	diskPanics int
	got        []string
}

func (p *panickyDocs) IsOpen(rel string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.openPanics == 0 {
		p.openPanics++
		panic("IsOpen bug")
	}
	return true
}

func (p *panickyDocs) DiskChanged(_ context.Context, rel string, _ []byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.diskPanics == 0 {
		p.diskPanics++
		panic("DiskChanged bug")
	}
	p.got = append(p.got, rel)
}

func TestPanicsInHooksDoNotStopWatching(t *testing.T) {
	dir := t.TempDir()
	docs := &panickyDocs{}
	cfg := testConfig()
	cfg.Docs = docs
	w, rec := start(t, dir, cfg)
	writeFile(t, dir, "a.txt", "1") // IsOpen panics: the loop restarts
	eventually(t, 10*time.Second, func() bool { return w.Health().Restarts == 1 && w.Health().Healthy },
		func() string { return fmt.Sprintf("%+v", w.Health()) })
	writeFile(t, dir, "b.txt", "1") // DiskChanged panics: contained
	writeFile(t, dir, "c.txt", "1")
	eventually(t, 10*time.Second, func() bool {
		docs.mu.Lock()
		defer docs.mu.Unlock()
		return slices.Contains(docs.got, "c.txt")
	}, rec.dump)
	if !strings.Contains(w.Health().LastError, "IsOpen bug") {
		t.Errorf("health = %+v", w.Health())
	}
}

func TestBatchWireForm(t *testing.T) {
	tests := []struct {
		name string
		b    watch.Batch
		want string
	}{
		{"plain", watch.Batch{Project: "p", Seq: 7, Events: []watch.Event{{Path: "src/a.go", Kind: watch.KindModified}}},
			`{"project":"p","seq":7,"events":[{"path":"src/a.go","kind":"modified"}]}`},
		{"rename of a directory in a resync", watch.Batch{Project: "p", Seq: 8, Resync: true, Events: []watch.Event{{Path: "b", Kind: watch.KindRenamed, OldPath: "a", Dir: true}}},
			`{"project":"p","seq":8,"resync":true,"events":[{"path":"b","kind":"renamed","oldPath":"a","dir":true}]}`},
		{"re-list marker", watch.Batch{Project: "p", Seq: 9, Resync: true, Events: []watch.Event{}},
			`{"project":"p","seq":9,"resync":true,"events":[]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.b)
			must(t, err)
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestOutOfWatchesDegradesAndRescans(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{"a/x": "1", "b/y": "2", "c/z": "3"})
	cfg := testConfig()
	cfg.DegradedRescan = 200 * time.Millisecond
	watch.WithMaxWatches(&cfg, 2) // the root and one directory
	w, rec := start(t, dir, cfg)
	if h := w.Health(); h.State != "degraded" || h.Healthy || h.Watches != 2 || !strings.Contains(h.LastError, "max_user_watches") {
		t.Fatalf("health = %+v", h)
	}
	// Changes in every directory arrive, the unwatched ones by rescans.
	writeFile(t, dir, "a/x", "changed a")
	writeFile(t, dir, "b/y", "changed b")
	writeFile(t, dir, "c/z", "changed c")
	for _, p := range []string{"a/x", "b/y", "c/z"} {
		eventually(t, 10*time.Second, func() bool { return rec.has(watch.Event{Path: p, Kind: watch.KindModified}) }, rec.dump)
	}
	checkSeq(t, rec)
}
