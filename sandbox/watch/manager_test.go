package watch_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

func newManager(t *testing.T, opts watch.ManagerOptions) (*watch.Manager, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	opts.Registerer = reg
	if opts.Config.BackoffMin == 0 {
		opts.Config = testConfig()
	}
	m, err := watch.NewManager(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m, reg
}

func acquire(t *testing.T, m *watch.Manager, name, dir string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Acquire(ctx, watch.Project{Name: name, Dir: dir}); err != nil {
		t.Fatal(err)
	}
}

func running(m *watch.Manager) []string {
	var out []string
	for _, h := range m.Health().Watchers {
		if h.State != "evicted" {
			out = append(out, h.Project)
		}
	}
	return out
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			var sum float64
			for _, m := range mf.GetMetric() {
				switch {
				case m.GetGauge() != nil:
					sum += m.GetGauge().GetValue()
				case m.GetCounter() != nil:
					sum += m.GetCounter().GetValue()
				}
			}
			return sum
		}
	}
	t.Fatalf("metric %s not registered", name)
	return 0
}

func TestManagerIdleStopAndContinuousSeq(t *testing.T) {
	dir := t.TempDir()
	m, reg := newManager(t, watch.ManagerOptions{IdleTimeout: 100 * time.Millisecond})
	rec := &recorder{}
	unsub := m.Subscribe("p", rec.deliver)
	defer unsub()

	acquire(t, m, "p", dir)
	acquire(t, m, "p", dir) // a second client shares the watcher
	if got := gauge(t, reg, "rubberduck_watch_active_watchers"); got != 1 {
		t.Fatalf("active watchers = %v", got)
	}
	writeFile(t, dir, "one.txt", "1")
	eventually(t, 10*time.Second, func() bool { return rec.has(watch.Event{Path: "one.txt", Kind: watch.KindCreated}) }, rec.dump)

	m.Release("p")
	time.Sleep(300 * time.Millisecond) // beyond the idle timeout, one user is left
	if got := running(m); !slices.Equal(got, []string{"p"}) {
		t.Fatalf("running = %v while a client remains", got)
	}
	m.Release("p")
	eventually(t, 10*time.Second, func() bool { return len(running(m)) == 0 },
		func() string { return fmt.Sprintf("still running: %v", running(m)) })
	if got := gauge(t, reg, "rubberduck_watch_active_watchers"); got != 0 {
		t.Errorf("active watchers = %v after idle stop", got)
	}

	acquire(t, m, "p", dir)
	writeFile(t, dir, "two.txt", "2")
	eventually(t, 10*time.Second, func() bool { return rec.has(watch.Event{Path: "two.txt", Kind: watch.KindCreated}) }, rec.dump)
	checkSeq(t, rec)
	m.Release("p")
}

func TestManagerEvictsLeastRecentlyUsed(t *testing.T) {
	dirs := map[string]string{"a": t.TempDir(), "b": t.TempDir(), "c": t.TempDir()}
	m, reg := newManager(t, watch.ManagerOptions{MaxWatchers: 2, IdleTimeout: time.Hour})
	recA := &recorder{}
	defer m.Subscribe("a", recA.deliver)()

	acquire(t, m, "a", dirs["a"])
	time.Sleep(5 * time.Millisecond)
	acquire(t, m, "b", dirs["b"])
	time.Sleep(5 * time.Millisecond)
	// All slots in use: the least recently used (a) goes, and its clients
	// are told to re-list.
	acquire(t, m, "c", dirs["c"])
	if got := running(m); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("running = %v, want [b c]", got)
	}
	h := m.Health()
	if h.Watchers[0].Project != "a" || h.Watchers[0].State != "evicted" {
		t.Errorf("health = %+v", h.Watchers)
	}
	if got := gauge(t, reg, "rubberduck_watch_unhealthy_watchers"); got != 1 {
		t.Errorf("unhealthy = %v, want 1 (a, evicted in use)", got)
	}
	eventually(t, 5*time.Second, func() bool {
		b := recA.all()
		return len(b) == 1 && b[0].Resync && b[0].Events != nil && len(b[0].Events) == 0
	}, recA.dump)

	// An idle watcher is evicted before an in-use one, even if it was used
	// more recently.
	time.Sleep(5 * time.Millisecond)
	m.Release("b")
	acquire(t, m, "a", dirs["a"])
	if got := running(m); !slices.Equal(got, []string{"a", "c"}) {
		t.Fatalf("running = %v, want [a c]", got)
	}
	if got := gauge(t, reg, "rubberduck_watch_evictions_total"); got != 2 {
		t.Errorf("evictions = %v, want 2", got)
	}
	if got := gauge(t, reg, "rubberduck_watch_active_watchers"); got != 2 {
		t.Errorf("active = %v, want 2", got)
	}
	// a's watcher works again after re-acquire.
	writeFile(t, dirs["a"], "x.txt", "x")
	eventually(t, 10*time.Second, func() bool { return recA.has(watch.Event{Path: "x.txt", Kind: watch.KindCreated}) }, recA.dump)
	checkSeqFor(t, recA, "a")
}

func checkSeqFor(t *testing.T, rec *recorder, project string) {
	t.Helper()
	for i, b := range rec.all() {
		if b.Seq != uint64(i+1) || b.Project != project {
			t.Fatalf("batch %d = seq %d project %q:\n%s", i, b.Seq, b.Project, rec.dump())
		}
	}
}

func TestSlowSubscriberGetsResyncMarkerAndDoesNotBlockOthers(t *testing.T) {
	m, _ := newManager(t, watch.ManagerOptions{SubscriberQueue: 2})
	release := make(chan struct{})
	var releaseOnce sync.Once
	unblock := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(unblock) // Close waits for a callback in progress
	var slowMu sync.Mutex
	var slow []watch.Batch
	first := true
	unsubSlow := m.Subscribe("p", func(b watch.Batch) {
		if first {
			first = false
			<-release
		}
		slowMu.Lock()
		slow = append(slow, b)
		slowMu.Unlock()
	})
	defer unsubSlow()
	fast := &recorder{}
	defer m.Subscribe("p", fast.deliver)()

	for i := range 10 {
		m.DeliverForTest("p", watch.Batch{Events: []watch.Event{{Path: fmt.Sprintf("f%d", i), Kind: watch.KindCreated}}})
		// The fast subscriber keeps up while the slow one is stuck.
		eventually(t, 5*time.Second, func() bool { return len(fast.all()) == i+1 }, fast.dump)
	}
	unblock()
	eventually(t, 5*time.Second, func() bool {
		slowMu.Lock()
		defer slowMu.Unlock()
		return len(slow) == 4
	}, func() string { return fmt.Sprintf("%+v", slow) })
	slowMu.Lock()
	defer slowMu.Unlock()
	var seqs []uint64
	for _, b := range slow[:3] {
		seqs = append(seqs, b.Seq)
	}
	// Batch 1 was being handled, 2 and 3 were queued, 4..10 were dropped.
	if !slices.Equal(seqs, []uint64{1, 2, 3}) {
		t.Errorf("seqs = %v", seqs)
	}
	if mk := slow[3]; !mk.Resync || mk.Seq != 10 || len(mk.Events) != 0 || mk.Project != "p" {
		t.Errorf("marker = %+v", mk)
	}
	checkSeq(t, fast)
}

func TestManagerObserverForwardsToCurrentWatcher(t *testing.T) {
	dir := t.TempDir()
	m, _ := newManager(t, watch.ManagerOptions{})
	obs := m.Observer("p") // handed to sandbox.Open before any client joins
	obs.Wrote("ignored-without-watcher", nil)
	rec := &recorder{}
	defer m.Subscribe("p", rec.deliver)()
	acquire(t, m, "p", dir)
	obs.Wrote("mine.txt", writeAtomic(t, dir, "mine.txt", "from the hub"))
	settle(t, dir, rec)
	for _, e := range rec.events() {
		if e.Path == "mine.txt" && !e.Hub {
			t.Errorf("own write reported as an outside change: %+v", e)
		}
	}
	m.Release("p")
}

type invalidations struct {
	mu   sync.Mutex
	seen []string
}

func (i *invalidations) Invalidate(project, rel string) {
	i.mu.Lock()
	defer i.mu.Unlock()
	i.seen = append(i.seen, project+":"+rel)
}

func (i *invalidations) has(s string) bool {
	i.mu.Lock()
	defer i.mu.Unlock()
	return slices.Contains(i.seen, s)
}

func TestManagerInvalidatesCacheAndWarnsOnInotifyBudget(t *testing.T) {
	dir := t.TempDir()
	mkTree(t, dir, map[string]string{"a/x": "1", "b/y": "2", "c/z": "3", "old": "o"})
	limits := t.TempDir()
	must(t, os.WriteFile(filepath.Join(limits, "max_user_watches"), []byte("5\n"), 0o644))
	must(t, os.WriteFile(filepath.Join(limits, "max_user_instances"), []byte("128\n"), 0o644))
	var logs bytes.Buffer
	var logMu sync.Mutex
	inv := &invalidations{}
	m, reg := newManager(t, watch.ManagerOptions{
		InotifyDir: limits,
		Cache:      inv,
		Logger:     slog.New(slog.NewTextHandler(&lockedWriter{w: &logs, mu: &logMu}, nil)),
	})
	acquire(t, m, "p", dir) // 4 watches of 5: 80%
	logMu.Lock()
	got := logs.String()
	logMu.Unlock()
	if !strings.Contains(got, "max_user_watches") || !strings.Contains(got, "level=WARN") {
		t.Errorf("no budget warning in logs:\n%s", got)
	}
	h := m.Health()
	if h.WatchesUsed != 4 || h.WatchesLimit != 5 || h.InstancesUsed != 1 || h.InstancesLimit != 128 || !h.Healthy {
		t.Errorf("health = %+v", h)
	}
	if got := gauge(t, reg, "rubberduck_watch_inotify_watches"); got != 4 {
		t.Errorf("watches gauge = %v", got)
	}
	if got := testutil.ToFloat64(prometheusGaugeFunc(t, reg, "rubberduck_watch_inotify_watches_limit")); got != 5 {
		t.Errorf("limit gauge = %v", got)
	}

	must(t, os.Rename(filepath.Join(dir, "old"), filepath.Join(dir, "new")))
	eventually(t, 10*time.Second, func() bool { return inv.has("p:old") && inv.has("p:new") },
		func() string { return fmt.Sprintf("%v", inv.seen) })
	m.Release("p")
}

// prometheusGaugeFunc finds a collector's value by name through Gather.
func prometheusGaugeFunc(t *testing.T, reg *prometheus.Registry, name string) prometheus.Collector {
	t.Helper()
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 { return gauge(t, reg, name) })
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestAcquireFailsForMissingDirectory(t *testing.T) {
	m, _ := newManager(t, watch.ManagerOptions{})
	err := m.Acquire(context.Background(), watch.Project{Name: "p", Dir: filepath.Join(t.TempDir(), "nope")})
	if err == nil {
		t.Fatal("Acquire succeeded")
	}
	if got := running(m); len(got) != 0 {
		t.Errorf("running = %v", got)
	}
	m.Release("p") // harmless
}
