package crdt

import (
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

// BenchmarkTrace replays editing traces one update per patch, as the
// crdt-benchmarks suite does for Yjs. RUBBERDUCK_TRACE=FILE replays one file;
// otherwise every trace under ../shared/bench/traces runs as a sub-benchmark.
// A concurrent trace given in RUBBERDUCK_TRACE is replayed as concurrent
// replicas (see BenchmarkConcurrentTrace).
// Reported: ns/op (one whole replay), docBytes (EncodeState size),
// heapBytes (live heap held by the replayed document) and updBytes (sum of
// the per-patch updates).
func BenchmarkTrace(b *testing.B) {
	if f := os.Getenv("RUBBERDUCK_TRACE"); f != "" {
		benchTrace(b, f)
		return
	}
	for _, f := range traceFiles(b, false) {
		b.Run(traceName(f), func(b *testing.B) { benchTrace(b, f) })
	}
}

func benchTrace(b *testing.B, path string) {
	tr := loadTrace(b, path)
	if tr.Kind == "concurrent" {
		benchConcurrent(b, tr)
		return
	}
	var d *Doc
	var upd int
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		d, upd = replaySequential(b, tr)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if d.Text() != tr.EndContent {
		b.Fatalf("final text differs from endContent")
	}
	b.ReportMetric(float64(len(d.EncodeState())), "docBytes")
	b.ReportMetric(float64(upd), "updBytes")
	b.ReportMetric(float64(tr.patches()), "patches")
	d = nil
	h0 := liveHeap()
	d, _ = replaySequential(b, tr)
	b.ReportMetric(float64(liveHeap()-h0), "heapBytes")
	runtime.KeepAlive(d)
	runtime.KeepAlive(tr)
}

// cpuTime returns the process's user+system CPU time in ns. On a shared
// machine wall time swings with other load; CPU time (GC threads included)
// is the steadier figure to compare with Yjs's process.cpuUsage().
func cpuTime() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// synthDoc builds a document of about n code points with a realistic
// history: bursts of typing at random places, some deletions, two authors.
func synthDoc(n int, seed uint64) *Doc {
	rng := rand.New(rand.NewPCG(seed, 7))
	d := New(ReplicaID(seed+1), WithUndoGroup(0))
	for d.Len() < n {
		pos := rng.IntN(d.Len() + 1)
		author := "ann"
		if rng.IntN(3) == 0 {
			author = "bob"
		}
		if rng.IntN(5) == 0 && d.Len() > 20 {
			p := rng.IntN(d.Len() - 10)
			if _, err := d.Delete(author, p, 1+rng.IntN(10)); err != nil {
				panic(err)
			}
			continue
		}
		burst := 1 + rng.IntN(40)
		for range burst {
			if _, err := d.Insert(author, pos, string(rune('a'+rng.IntN(26)))); err != nil {
				panic(err)
			}
			pos++
		}
	}
	return d
}

// BenchmarkLoadSnapshot100k loads a 100,000-code-point document (with its
// editing history's tombstones) from its snapshot. Goal: under 5 ms.
func BenchmarkLoadSnapshot100k(b *testing.B) {
	src := synthDoc(100_000, 1)
	snap := src.EncodeState()
	b.ReportMetric(float64(len(snap)), "snapBytes")
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		d, err := Load(2, snap)
		if err != nil || d.Len() != src.Len() {
			b.Fatalf("load: %v", err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkMergeRemote10k applies one remote update holding 10,000 edits
// (typed concurrently on another replica) to a 20k-character document.
func BenchmarkMergeRemote10k(b *testing.B) {
	base := synthDoc(20_000, 3)
	snap := base.EncodeState()
	remote, _ := Load(77, snap)
	rng := rand.New(rand.NewPCG(5, 5))
	ops := 0
	for ops < 10_000 {
		pos := rng.IntN(remote.Len() + 1)
		for range 1 + rng.IntN(20) {
			if rng.IntN(6) == 0 && pos > 0 {
				pos--
				remote.Delete("bob", pos, 1)
			} else {
				remote.Insert("bob", pos, "x")
				pos++
			}
			ops++
		}
	}
	upd := remote.EncodeSince(base.StateVector())
	b.ReportMetric(float64(len(upd)), "updBytes")
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		d, _ := Load(78, snap)
		b.StartTimer()
		if _, err := d.Apply(upd); err != nil {
			b.Fatal(err)
		}
		if d.Len() != remote.Len() {
			b.Fatal("merge lost text")
		}
	}
}

// BenchmarkOpenDoc10KB reports the memory one open 10 KB document costs a
// hub, as bytesPerDoc: "disk" is a file just opened (one insert by the disk
// author, a few edits on top); "history" carries a long random editing
// history (about 1,200 runs and tombstones).
func BenchmarkOpenDoc10KB(b *testing.B) {
	fresh := New(1)
	fresh.Insert("disk", 0, strings.Repeat("func main() { fmt.Println(42) }\n", 10_000/32))
	for i := range 20 {
		fresh.Insert("ann", 100*i, "x")
	}
	cases := []struct {
		name string
		snap []byte
	}{
		{"disk", fresh.EncodeState()},
		{"history", synthDoc(10_000, 9).EncodeState()},
	}
	for _, tc := range cases {
		b.Run(tc.name, func(b *testing.B) {
			const docs = 200
			keep := make([]*Doc, docs)
			for b.Loop() {
				clear(keep)
				h0 := liveHeap()
				for i := range keep {
					keep[i], _ = Load(ReplicaID(i+1), tc.snap)
				}
				b.ReportMetric(float64(liveHeap()-h0)/docs, "bytesPerDoc")
			}
			runtime.KeepAlive(keep)
		})
	}
}

// BenchmarkLoadTraceSnapshot loads the final state of automerge-paper
// (104,852 code points after 259,778 edits) from its snapshot.
func BenchmarkLoadTraceSnapshot(b *testing.B) {
	files := traceFiles(b, false)
	path := files[0]
	for _, f := range files {
		if traceName(f) == "automerge-paper" {
			path = f
		}
	}
	src, _ := replaySequential(b, loadTrace(b, path))
	snap := src.EncodeState()
	b.ReportMetric(float64(len(snap)), "snapBytes")
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		d, err := Load(2, snap)
		if err != nil || d.Len() != src.Len() {
			b.Fatalf("load: %v", err)
		}
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
}

// BenchmarkConcurrentTrace replays each concurrent trace with one replica
// per agent (every transaction applied on a replica holding exactly its
// parents) and merges everything into a fresh replica: the cost of remote
// integration under real concurrency.
func BenchmarkConcurrentTrace(b *testing.B) {
	for _, f := range traceFiles(b, true) {
		b.Run(traceName(f), func(b *testing.B) { benchConcurrent(b, loadTrace(b, f)) })
	}
}

func benchConcurrent(b *testing.B, tr *trace) {
	var d *Doc
	cpu0 := cpuTime()
	for b.Loop() {
		d, _ = replayConcurrent(b, tr)
	}
	b.ReportMetric(float64(cpuTime()-cpu0)/float64(b.N), "cpu-ns/op")
	if d.Text() != tr.EndContent {
		b.Fatal("merged text differs from endContent")
	}
	b.ReportMetric(float64(len(d.EncodeState())), "docBytes")
}
