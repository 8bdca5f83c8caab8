package cache_test

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/rubberduckhub/rubberduck/sandbox"
	"github.com/rubberduckhub/rubberduck/sandbox/cache"
	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

var (
	_ sandbox.ContentCache = (*cache.Project)(nil)
	_ watch.Invalidator    = (*cache.Cache)(nil)
)

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// read does what the sandbox's Read does: open, fstat the open file, ask
// the cache, else read and Put.
func read(t *testing.T, p *cache.Project, dir, rel string) (data []byte, hit bool) {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, rel))
	must(t, err)
	defer f.Close()
	fi, err := f.Stat()
	must(t, err)
	if data, ok := p.Get(rel, fi); ok {
		return data, true
	}
	data, err = io.ReadAll(f)
	must(t, err)
	p.Put(rel, fi, data)
	return data, false
}

func stat(t *testing.T, dir, rel string) fs.FileInfo {
	t.Helper()
	fi, err := os.Stat(filepath.Join(dir, rel))
	must(t, err)
	return fi
}

func TestNeverStaleAfterOutsideWrite(t *testing.T) {
	tests := []struct {
		name  string
		write func(t *testing.T, path string)
	}{
		{"rewritten in place with another size", func(t *testing.T, p string) {
			must(t, os.WriteFile(p, []byte("a longer version"), 0o644))
		}},
		{"rewritten in place with the same size and the old mtime restored", func(t *testing.T, p string) {
			fi, err := os.Stat(p)
			must(t, err)
			must(t, os.WriteFile(p, []byte("VERSION 1"), 0o644))
			must(t, os.Chtimes(p, fi.ModTime(), fi.ModTime()))
		}},
		{"replaced atomically by another tool", func(t *testing.T, p string) {
			must(t, os.WriteFile(p+".tmp", []byte("version 2"), 0o644))
			must(t, os.Rename(p+".tmp", p))
		}},
		{"deleted and re-created", func(t *testing.T, p string) {
			must(t, os.Remove(p))
			must(t, os.WriteFile(p, []byte("version 3"), 0o644))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			must(t, os.WriteFile(filepath.Join(dir, "f.txt"), []byte("version 1"), 0o644))
			c, err := cache.New(cache.Options{})
			must(t, err)
			p := c.Project("p")
			if _, hit := read(t, p, dir, "f.txt"); hit {
				t.Fatal("hit on first read")
			}
			if got, hit := read(t, p, dir, "f.txt"); !hit || string(got) != "version 1" {
				t.Fatalf("second read = %q hit=%v", got, hit)
			}
			tt.write(t, filepath.Join(dir, "f.txt"))
			want, err := os.ReadFile(filepath.Join(dir, "f.txt"))
			must(t, err)
			got, hit := read(t, p, dir, "f.txt")
			if hit || !bytes.Equal(got, want) {
				t.Fatalf("after the outside write: %q hit=%v, want %q from disk", got, hit, want)
			}
		})
	}
}

func TestNeverStaleUnderRepeatedSameSizeWrites(t *testing.T) {
	// Same size, written back to back (often inside one mtime tick): the
	// content served must always be what is on disk at the time of the stat.
	dir := t.TempDir()
	path := filepath.Join(dir, "f.txt")
	c, err := cache.New(cache.Options{})
	must(t, err)
	p := c.Project("p")
	for i := range 300 {
		want := fmt.Sprintf("content %04d", i)
		must(t, os.WriteFile(path, []byte(want), 0o644))
		for range 2 {
			got, _ := read(t, p, dir, "f.txt")
			if string(got) != want {
				t.Fatalf("iteration %d: served %q, disk has %q", i, got, want)
			}
		}
	}
}

func TestBoundsAndLRU(t *testing.T) {
	dir := t.TempDir()
	files := map[string]int{"a": 40, "b": 40, "c": 40, "big": 200}
	for name, n := range files {
		must(t, os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte("x"), n), 0o644))
	}
	reg := prometheus.NewRegistry()
	c, err := cache.New(cache.Options{MaxBytes: 1000, ProjectMaxBytes: 100, MaxEntryBytes: 150, Registerer: reg})
	must(t, err)
	p := c.Project("p")
	read(t, p, dir, "a")
	read(t, p, dir, "b")
	read(t, p, dir, "a") // a is now more recent than b
	read(t, p, dir, "c") // 120 > 100: b goes
	if _, hit := read(t, p, dir, "a"); !hit {
		t.Error("a was evicted, but b was least recently used")
	}
	if got := c.Stats(); got.Bytes != 80 || got.Entries != 2 {
		t.Errorf("stats = %+v", got)
	}
	read(t, p, dir, "big")
	if _, hit := read(t, p, dir, "big"); hit {
		t.Error("an entry over MaxEntryBytes was stored")
	}
	if got := testutil.ToFloat64(evictions(t, reg, "size")); got != 1 {
		t.Errorf("size evictions = %v", got)
	}
	if got := gatherValue(t, reg, "rubberduck_cache_bytes"); got != 80 {
		t.Errorf("bytes gauge = %v", got)
	}
	if got := gatherValue(t, reg, "rubberduck_cache_hits_total"); got != 2 {
		t.Errorf("hits = %v", got)
	}
}

func TestWholeCacheBoundEvictsFromLargestPartition(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"1", "2", "3", "4"} {
		must(t, os.WriteFile(filepath.Join(dir, name), bytes.Repeat([]byte("x"), 30), 0o644))
	}
	c, err := cache.New(cache.Options{MaxBytes: 100, ProjectMaxBytes: 100})
	must(t, err)
	a, b := c.Project("a"), c.Project("b")
	read(t, a, dir, "1")
	read(t, a, dir, "2")
	read(t, a, dir, "3")
	read(t, b, dir, "4") // 120 > 100: a (the largest) gives up its oldest
	if _, hit := read(t, a, dir, "1"); hit {
		t.Error("a/1 survived")
	}
	if got := c.Stats(); got.Bytes > 100 {
		t.Errorf("stats = %+v", got)
	}
	if _, hit := read(t, b, dir, "4"); !hit {
		t.Error("b/4 evicted")
	}
}

func TestTTL(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644))
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	c, err := cache.New(cache.Options{TTL: time.Minute, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now }})
	must(t, err)
	p := c.Project("p")
	read(t, p, dir, "f")
	mu.Lock()
	now = now.Add(59 * time.Second)
	mu.Unlock()
	if _, hit := read(t, p, dir, "f"); !hit {
		t.Fatal("miss before the TTL")
	}
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	if _, hit := read(t, p, dir, "f"); hit {
		t.Fatal("hit after the TTL")
	}
}

func TestInvalidate(t *testing.T) {
	dir := t.TempDir()
	rels := []string{"a/b/x", "a/c", "ab/x", "top"}
	for _, rel := range rels {
		must(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(rel)), 0o755))
		must(t, os.WriteFile(filepath.Join(dir, rel), []byte(rel), 0o644))
	}
	tests := []struct {
		name       string
		project    string
		invalidate string
		gone       []string
	}{
		{"a file", "p", "top", []string{"top"}},
		{"a directory and everything below, not its prefix-sibling", "p", "a", []string{"a/b/x", "a/c"}},
		{"a nested directory", "p", "a/b/", []string{"a/b/x"}},
		{"a path with nothing cached", "p", "nothing/here", nil},
		{"the whole project", "p", "", rels},
		{"another project", "q", "a", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := cache.New(cache.Options{})
			must(t, err)
			p := c.Project("p")
			for _, rel := range rels {
				read(t, p, dir, rel)
			}
			c.Invalidate(tt.project, tt.invalidate)
			for _, rel := range rels {
				_, hit := p.Get(rel, stat(t, dir, rel))
				gone := false
				for _, g := range tt.gone {
					gone = gone || g == rel
				}
				if hit == gone {
					t.Errorf("%s: hit=%v, want gone=%v", rel, hit, gone)
				}
			}
		})
	}
}

func TestConcurrentUse(t *testing.T) {
	dir := t.TempDir()
	for i := range 20 {
		must(t, os.WriteFile(filepath.Join(dir, fmt.Sprint(i)), bytes.Repeat([]byte{byte('a' + i)}, 100+i), 0o644))
	}
	c, err := cache.New(cache.Options{MaxBytes: 1500, ProjectMaxBytes: 1000})
	must(t, err)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			p := c.Project(fmt.Sprint("p", g%2))
			for i := range 500 {
				rel := fmt.Sprint(i % 20)
				data, _ := read(t, p, dir, rel)
				if len(data) != 100+i%20 || data[0] != byte('a'+i%20) {
					t.Errorf("bad content for %s", rel)
					return
				}
				if i%50 == 0 {
					c.Invalidate(fmt.Sprint("p", g%2), rel)
				}
			}
		})
	}
	wg.Wait()
	if s := c.Stats(); s.Bytes > 1500 {
		t.Errorf("stats = %+v", s)
	}
}

func TestNothingIsCachedWithoutAUnixStat(t *testing.T) {
	c, err := cache.New(cache.Options{})
	must(t, err)
	p := c.Project("p")
	p.Put("f", nil, []byte("x"))
	if _, ok := p.Get("f", nil); ok {
		t.Fatal("hit without identity")
	}
}

func evictions(t *testing.T, reg *prometheus.Registry, reason string) prometheus.Collector {
	t.Helper()
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "x"}, func() float64 {
		mfs, err := reg.Gather()
		must(t, err)
		for _, mf := range mfs {
			if mf.GetName() != "rubberduck_cache_evictions_total" {
				continue
			}
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "reason" && l.GetValue() == reason {
						return m.GetCounter().GetValue()
					}
				}
			}
		}
		return 0
	})
}

func gatherValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	must(t, err)
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("%s not registered", name)
	return 0
}

func BenchmarkGetHit(b *testing.B) {
	dir := b.TempDir()
	p := filepath.Join(dir, "f.go")
	if err := os.WriteFile(p, bytes.Repeat([]byte("x"), 8<<10), 0o644); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	data, _ := os.ReadFile(p)
	c, err := cache.New(cache.Options{Registerer: prometheus.NewRegistry()})
	if err != nil {
		b.Fatal(err)
	}
	proj := c.Project("p")
	proj.Put("src/f.go", fi, data)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := proj.Get("src/f.go", fi); !ok {
			b.Fatal("miss")
		}
	}
}
