package watch_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

// makeTree creates n files, 10 per directory, in directories nested ten
// wide (so 100,000 files are 10,000 directories, like a large source tree),
// under a typical root .gitignore.
func makeTree(b *testing.B, dir string, n int) {
	b.Helper()
	// A typical root .gitignore, so the figures include matching costs.
	gi := "*.log\nnode_modules/\ndist/\n*.tmp\n.cache/\ncoverage/\n*.pyc\n/build/\n!keep.log\n"
	if err := os.WriteFile(filepath.Join(dir, ".gitignore"), []byte(gi), 0o644); err != nil {
		b.Fatal(err)
	}
	dirs := n / 10
	for d := range dirs {
		// d in base 10, one digit per level: 1234 -> 1/2/3/4
		parts := strings.Split(strconv.Itoa(d), "")
		sub := filepath.Join(append([]string{dir}, parts...)...)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			b.Fatal(err)
		}
		for f := range 10 {
			if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("file%d.go", f)), []byte("package x\n"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
	}
}

func rssBytes() uint64 {
	data, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data))
	if len(f) < 2 {
		return 0
	}
	pages, _ := strconv.ParseUint(f[1], 10, 64)
	return pages * uint64(os.Getpagesize())
}

// cpuTime is the process's user+system CPU time: on a shared, loaded
// machine it says more about the cost than wall time does.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func heapBytes() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkStartup measures the time until a project is watched (ns/op, and
// cpu-ms: the CPU time it took, which a loaded machine does not inflate),
// the heap and RSS it adds while watching, and the inotify watches used.
// The 100,000-file tree takes a while to create; it runs only with
// RUBBERDUCK_BENCH_LARGE=1.
func BenchmarkStartup(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("files=%d", n), func(b *testing.B) {
			if n > 10_000 && os.Getenv("RUBBERDUCK_BENCH_LARGE") == "" {
				b.Skip("set RUBBERDUCK_BENCH_LARGE=1 to create and watch a 100,000-file tree")
			}
			dir := b.TempDir()
			makeTree(b, dir, n)
			var heapAdded, rssAdded, watches float64
			var cpu time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				heap0, rss0 := heapBytes(), rssBytes()
				w, err := watch.New("bench", dir, watch.Config{})
				if err != nil {
					b.Fatal(err)
				}
				cpu0 := cpuTime()
				b.StartTimer()
				if err := w.Start(context.Background()); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				cpu += cpuTime() - cpu0
				heapAdded += float64(heapBytes()) - float64(heap0)
				rssAdded += float64(rssBytes()) - float64(rss0)
				watches = float64(w.Watches())
				w.Close()
				b.StartTimer()
			}
			b.ReportMetric(heapAdded/float64(b.N)/(1<<20), "heap-MB")
			b.ReportMetric(rssAdded/float64(b.N)/(1<<20), "rss-MB")
			b.ReportMetric(watches, "watches")
			b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms")
		})
	}
}

// latencyProbe records when each path was first delivered.
type latencyProbe struct {
	mu   sync.Mutex
	seen map[string]time.Time
	cond *sync.Cond
}

func newProbe() *latencyProbe {
	p := &latencyProbe{seen: make(map[string]time.Time)}
	p.cond = sync.NewCond(&p.mu)
	return p
}

func (p *latencyProbe) deliver(b watch.Batch) {
	now := time.Now()
	p.mu.Lock()
	for _, e := range b.Events {
		if _, ok := p.seen[e.Path]; !ok {
			p.seen[e.Path] = now
		}
	}
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *latencyProbe) wait(paths []string) map[string]time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		all := true
		for _, q := range paths {
			if _, ok := p.seen[q]; !ok {
				all = false
				break
			}
		}
		if all {
			out := make(map[string]time.Time, len(paths))
			for _, q := range paths {
				out[q] = p.seen[q]
			}
			return out
		}
		p.cond.Wait()
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkLatency measures the time from a file write returning to the
// batch that reports it being delivered, with default debounce settings
// (50 ms quiet window, 500 ms maximum delay): a single edit, and every file
// of a 200-file burst. The lead adds the WebSocket hop on top.
func BenchmarkLatency(b *testing.B) {
	for _, burst := range []int{1, 200} {
		b.Run(fmt.Sprintf("burst=%d", burst), func(b *testing.B) {
			dir := b.TempDir()
			probe := newProbe()
			w, err := watch.New("bench", dir, watch.Config{Deliver: probe.deliver})
			if err != nil {
				b.Fatal(err)
			}
			if err := w.Start(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			var lat []time.Duration
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				wrote := make(map[string]time.Time, burst)
				paths := make([]string, 0, burst)
				for j := range burst {
					rel := fmt.Sprintf("f-%d-%d.txt", i, j)
					if err := os.WriteFile(filepath.Join(dir, rel), []byte("x"), 0o644); err != nil {
						b.Fatal(err)
					}
					wrote[rel] = time.Now()
					paths = append(paths, rel)
				}
				got := probe.wait(paths)
				for _, rel := range paths {
					lat = append(lat, got[rel].Sub(wrote[rel]))
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(percentile(lat, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(percentile(lat, 0.95).Microseconds())/1000, "p95-ms")
			b.ReportMetric(float64(percentile(lat, 1).Microseconds())/1000, "max-ms")
		})
	}
}
