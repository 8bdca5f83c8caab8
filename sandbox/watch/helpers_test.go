package watch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// recorder collects delivered batches.
type recorder struct {
	mu      sync.Mutex
	batches []watch.Batch
}

func (r *recorder) deliver(b watch.Batch) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.batches = append(r.batches, b)
}

func (r *recorder) all() []watch.Batch {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.batches)
}

func (r *recorder) events() []watch.Event {
	var out []watch.Event
	for _, b := range r.all() {
		out = append(out, b.Events...)
	}
	return out
}

func (r *recorder) has(want watch.Event) bool {
	return slices.Contains(r.events(), want)
}

func (r *recorder) dump() string {
	var sb strings.Builder
	for _, b := range r.all() {
		fmt.Fprintf(&sb, "batch seq=%d resync=%v n=%d\n", b.Seq, b.Resync, len(b.Events))
		for i, e := range b.Events {
			if i == 40 {
				fmt.Fprintf(&sb, "  ...\n")
				break
			}
			fmt.Fprintf(&sb, "  %+v\n", e)
		}
	}
	return sb.String()
}

// eventually polls cond for up to timeout; tests never assert on timing
// beyond such generous waits.
func eventually(t *testing.T, timeout time.Duration, cond func() bool, what func() string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v: %s", timeout, what())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testConfig is the default config with failures restarting quickly.
func testConfig() watch.Config {
	return watch.Config{BackoffMin: 50 * time.Millisecond, BackoffMax: 200 * time.Millisecond}
}

func start(t *testing.T, dir string, cfg watch.Config) (*watch.Watcher, *recorder) {
	t.Helper()
	rec := &recorder{}
	cfg.Deliver = rec.deliver
	w, err := watch.New("p", dir, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w, rec
}

func writeFile(t testing.TB, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func mkTree(t testing.TB, dir string, files map[string]string, dirs ...string) {
	t.Helper()
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for rel, c := range files {
		writeFile(t, dir, rel, c)
	}
}

// settle writes a sentinel file and waits for its event, so every change
// made before it has been delivered.
func settle(t *testing.T, dir string, rec *recorder) {
	t.Helper()
	name := fmt.Sprintf("zz-sentinel-%d", time.Now().UnixNano())
	writeFile(t, dir, name, "x")
	eventually(t, 10*time.Second, func() bool {
		return rec.has(watch.Event{Path: name, Kind: watch.KindCreated})
	}, func() string { return "sentinel not seen:\n" + rec.dump() })
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
