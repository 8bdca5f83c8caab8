//go:build linux

package sandbox

// Linux only: sandbox/cache reads Linux stat fields.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rubberduckhub/rubberduck/sandbox/cache"
)

// countingCache wraps the real content cache to see how Read uses it.
type countingCache struct {
	*cache.Project
	hits, puts int
}

func (c *countingCache) Get(rel string, info os.FileInfo) ([]byte, bool) {
	b, ok := c.Project.Get(rel, info)
	if ok {
		c.hits++
	}
	return b, ok
}

func (c *countingCache) Put(rel string, info os.FileInfo, data []byte) {
	c.puts++
	c.Project.Put(rel, info, data)
}

func TestReadUsesCacheButNeverServesStale(t *testing.T) {
	w := newWorld(t)
	c, err := cache.New(cache.Options{})
	must(t, err)
	cc := &countingCache{Project: c.Project("p1")}
	r := openTest(t, w.p1, DefaultPolicy(), Options{Cache: cc})
	ctx := context.Background()
	if _, err := r.Write(ctx, WriteRequest{Path: "a.txt", Content: "version1"}); err != nil {
		t.Fatal(err)
	}
	f, err := r.Read(ctx, "a.txt")
	if err != nil || f.Content != "version1" || cc.hits != 1 {
		t.Fatalf("read after write: %+v %v hits %d", f, err, cc.hits)
	}
	// Changed behind the hub's back, same size, same inode.
	time.Sleep(10 * time.Millisecond)
	fh, err := os.OpenFile(filepath.Join(w.p1, "a.txt"), os.O_WRONLY, 0)
	must(t, err)
	_, err = fh.WriteAt([]byte("VERSION2"), 0)
	must(t, err)
	must(t, fh.Close())
	f, err = r.Read(ctx, "a.txt")
	if err != nil || f.Content != "VERSION2" {
		t.Fatalf("stale read: %+v %v", f, err)
	}
	// A symlink is cached under the path it resolves to.
	must(t, os.Symlink("a.txt", filepath.Join(w.p1, "link")))
	pol := DefaultPolicy()
	pol.Deny = []string{"*.secret"}
	must(t, r.SetPolicy(pol))
	if f, err = r.Read(ctx, "link"); err != nil || f.Content != "VERSION2" {
		t.Fatalf("read through link: %+v %v", f, err)
	}
}

func TestMetricsAndAudit(t *testing.T) {
	w := newWorld(t)
	reg := prometheus.NewRegistry()
	rec := &recorder{}
	r1 := openTest(t, w.p1, DefaultPolicy(), Options{Registerer: reg, Auditor: rec, Project: "p1"})
	r2 := openTest(t, w.p10, DefaultPolicy(), Options{Registerer: reg, Project: "p10"}) // shares collectors
	ctx := WithActor(context.Background(), "bob")
	r1.Read(ctx, "hello.txt")
	r1.Read(ctx, "../p10/secret.txt")
	r1.Write(ctx, WriteRequest{Path: ".git/hooks/x", Content: "x"})
	r2.Read(ctx, "secret.txt")
	want := `
# HELP rubberduck_sandbox_refusals_total Security refusals: invalid paths, policy denials, escapes, read-only and disabled projects.
# TYPE rubberduck_sandbox_refusals_total counter
rubberduck_sandbox_refusals_total{code="denied",op="write"} 1
rubberduck_sandbox_refusals_total{code="invalid_path",op="read"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "rubberduck_sandbox_refusals_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.ToFloat64(r1.metrics.ops.WithLabelValues("read", "ok")); n != 2 {
		t.Fatalf("ok reads %v", n)
	}
	if len(rec.events) != 3 {
		t.Fatalf("events %+v", rec.events)
	}
	ev := rec.events[1]
	if ev.Actor != "bob" || ev.Op != "read" || ev.Outcome != "invalid_path" || ev.Path != "../p10/secret.txt" {
		t.Fatalf("refusal event %+v", ev)
	}
	if ev := rec.events[2]; ev.Outcome != "denied" || ev.Path != ".git/hooks/x" || ev.Detail == "" {
		t.Fatalf("denial event %+v", ev)
	}
}
