package audit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

var t0 = time.Date(2026, 11, 20, 23, 0, 0, 0, time.UTC)

func newLog(t *testing.T, opts Options) (*Log, store.Store) {
	t.Helper()
	st := store.NewMemory()
	l, err := New(st, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, st
}

// seed records entries an hour apart across day boundaries, alternating
// projects and actors.
func seed(t *testing.T, l *Log) {
	t.Helper()
	ctx := WithRequestID(context.Background(), "req-1")
	for i := range 48 {
		proj := []string{"alpha", "beta"}[i%2]
		actor := []string{"usr_a", "usr_b", "usr_c"}[i%3]
		if err := l.Record(ctx, Entry{
			Time: t0.Add(time.Duration(i) * time.Hour), Actor: actor, Action: "file.write",
			Project: proj, Target: fmt.Sprintf("f%d.go", i),
		}); err != nil {
			t.Fatal(err)
		}
	}
	if err := l.Record(ctx, Entry{Time: t0, Actor: "usr_a", Action: "user.add", Target: "usr_z"}); err != nil {
		t.Fatal(err)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
}

func TestQuery(t *testing.T) {
	l, _ := newLog(t, Options{Now: func() time.Time { return t0.Add(72 * time.Hour) }})
	seed(t, l)
	tests := []struct {
		name      string
		f         Filter
		want      int
		firstPath string
	}{
		{"everything", Filter{}, 49, "f0.go"},
		{"one project", Filter{Project: "alpha"}, 24, "f0.go"},
		{"project since", Filter{Project: "beta", Since: t0.Add(10 * time.Hour)}, 19, "f11.go"},
		{"since across a day boundary", Filter{Since: t0.Add(30 * time.Hour)}, 18, "f30.go"},
		{"window", Filter{Since: t0.Add(2 * time.Hour), Until: t0.Add(6 * time.Hour)}, 4, "f2.go"},
		{"actor", Filter{Project: "alpha", Actor: "usr_a"}, 8, "f0.go"},
		{"limit", Filter{Project: "alpha", Limit: 3}, 3, "f0.go"},
		{"unknown project", Filter{Project: "gamma"}, 0, ""},
		{"hostile project name", Filter{Project: "../t"}, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := l.Query(context.Background(), tt.f)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d entries, want %d", len(got), tt.want)
			}
			if len(got) > 0 && got[0].Target != tt.firstPath {
				t.Errorf("first = %q, want %q", got[0].Target, tt.firstPath)
			}
			for i := 1; i < len(got); i++ {
				if got[i].Time.Before(got[i-1].Time) {
					t.Fatalf("not time ordered at %d", i)
				}
			}
			for _, e := range got {
				if e.RequestID != "req-1" || e.Outcome != OutcomeOK {
					t.Fatalf("entry lost its request id or outcome: %+v", e)
				}
			}
		})
	}
}

func TestPrune(t *testing.T) {
	l, st := newLog(t, Options{})
	seed(t, l)
	n, err := l.Prune(context.Background(), t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if n != 25 { // 24 file writes in the first day plus the user.add
		t.Errorf("pruned %d, want 25", n)
	}
	for _, f := range []Filter{{}, {Project: "alpha"}, {Project: "beta"}} {
		got, _ := l.Query(context.Background(), f)
		for _, e := range got {
			if e.Time.Before(t0.Add(24 * time.Hour)) {
				t.Errorf("%+v survived pruning", e)
			}
		}
	}
	// The per-project index went with the time index: nothing is left behind.
	count := 0
	_ = st.Scan(context.Background(), []byte("audit/"), func(_, _ []byte) (bool, error) { count++; return true, nil })
	if count != 48 { // 24 remaining entries, each under two keys
		t.Errorf("%d keys left, want 48", count)
	}
}

func TestCloseFlushesAndRefuses(t *testing.T) {
	reg := prometheus.NewRegistry()
	l, _ := newLog(t, Options{QueueSize: 8, BatchSize: 3, Registerer: reg})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				_ = l.Record(context.Background(), Entry{Actor: "u", Action: "file.read", Project: "p", Target: fmt.Sprint(g, i)})
			}
		}()
	}
	wg.Wait()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := l.Query(context.Background(), Filter{Project: "p", Limit: 10000})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 200 {
		t.Errorf("after Close %d entries are stored, want 200", len(got))
	}
	if v := testutil.ToFloat64(l.recorded); v != 200 {
		t.Errorf("rubberduck_audit_records_total = %v", v)
	}
	if err := l.Record(context.Background(), Entry{Action: "x"}); !errors.Is(err, ErrClosed) {
		t.Errorf("Record after Close: %v", err)
	}
	if err := l.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// blockingStore holds every batch until released, to fill the queue.
type blockingStore struct {
	store.Store
	release chan struct{}
}

func (b *blockingStore) Batch(ctx context.Context, fn func(store.Batch) error) error {
	<-b.release
	return b.Store.Batch(ctx, fn)
}

func TestFullQueueWaitsThenDrops(t *testing.T) {
	bs := &blockingStore{Store: store.NewMemory(), release: make(chan struct{})}
	l, err := New(bs, Options{QueueSize: 2, BatchSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	// One entry is taken by the (blocked) writer, two fill the queue.
	for range 3 {
		if err := l.Record(ctx, Entry{Action: "a"}); err != nil {
			t.Fatal(err)
		}
	}
	// Wait until the writer holds the first entry, so the queue is full.
	for len(l.queue) != 2 {
		time.Sleep(time.Millisecond)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := l.Record(short, Entry{Action: "a"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Record on a full queue = %v, want deadline exceeded", err)
	}
	if v := testutil.ToFloat64(l.dropped); v != 1 {
		t.Errorf("dropped = %v, want 1", v)
	}
	close(bs.release)
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := l.Query(ctx, Filter{})
	if len(got) != 3 {
		t.Errorf("stored %d, want 3", len(got))
	}
}

func TestSandboxAuditor(t *testing.T) {
	l, _ := newLog(t, Options{})
	var a sandbox.Auditor = l.Sandbox()
	ctx := WithRequestID(context.Background(), "r7")
	for _, ev := range []sandbox.Event{
		{Project: "p", Actor: "usr_a", Op: "write", Path: "main.go", Outcome: "ok", Bytes: 12},
		{Project: "p", Actor: "usr_a", Op: "write", Path: ".git/config", Outcome: string(sandbox.Denied), Detail: "write-protected"},
		{Project: "p", Actor: "usr_a", Op: "rename", Path: "a", To: "b", Outcome: string(sandbox.Conflict)},
	} {
		a.Record(ctx, ev)
	}
	if err := l.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := l.Query(ctx, Filter{Project: "p"})
	if err != nil || len(got) != 3 {
		t.Fatalf("Query = %+v, %v", got, err)
	}
	want := []struct{ action, outcome, detail, to string }{
		{"file.write", OutcomeOK, "", ""},
		{"file.write", OutcomeDenied, "denied: write-protected", ""},
		{"file.rename", OutcomeError, "conflict", "b"},
	}
	for i, w := range want {
		g := got[i]
		if g.Action != w.action || g.Outcome != w.outcome || g.Detail != w.detail || g.To != w.to || g.RequestID != "r7" || g.Time.IsZero() {
			t.Errorf("entry %d = %+v, want %+v", i, g, w)
		}
	}
}

// BenchmarkRecord measures what a file operation pays to be audited,
// including the writer's batched store writes (flushed at the end).
func BenchmarkRecord(b *testing.B) {
	l, err := New(store.NewMemory(), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	ctx := context.Background()
	e := Entry{Actor: "usr_a", Action: "file.write", Project: "p", Target: "src/main.go"}
	b.ReportAllocs()
	for b.Loop() {
		if err := l.Record(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	if err := l.Flush(ctx); err != nil {
		b.Fatal(err)
	}
}

func TestRetentionRunsInBackground(t *testing.T) {
	now := t0.Add(48 * time.Hour)
	l, _ := newLog(t, Options{Retention: 24 * time.Hour, PruneEvery: 5 * time.Millisecond, Now: func() time.Time { return now }})
	seed(t, l) // entries from t0 to t0+47h
	ctx := context.Background()
	for {
		got, err := l.Query(ctx, Filter{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) > 0 && !got[0].Time.Before(now.Add(-24*time.Hour)) {
			if len(got) != 24 {
				t.Errorf("%d entries kept, want the last 24 hours", len(got))
			}
			return
		}
		time.Sleep(5 * time.Millisecond) // the test's own timeout bounds this loop
	}
}
