package index_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/intel/index"
)

// The benchmarks index real code every machine has: the Go standard
// library's source. Run them with -benchtime=1x for the full index:
//
//	go test ./hub/intel/index -run '^$' -bench . -benchtime=1x
//
// RUBBERDUCK_INTEL_BENCH_TREE picks a subtree of GOROOT/src (e.g.
// "net/http") for a quicker run.

func goroot(b *testing.B) string {
	b.Helper()
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skipf("go env GOROOT: %v", err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "src")
	if sub := os.Getenv("RUBBERDUCK_INTEL_BENCH_TREE"); sub != "" {
		dir = filepath.Join(dir, sub)
	}
	if _, err := os.Stat(dir); err != nil {
		b.Skipf("no Go source at %s", dir)
	}
	return dir
}

func heapMB() float64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return float64(m.HeapAlloc) / (1 << 20)
}

func indexTree(b *testing.B, dir string) (*index.Index, time.Duration) {
	b.Helper()
	fsys := os.DirFS(dir)
	paths, err := index.Walk(fsys, ".")
	if err != nil {
		b.Fatal(err)
	}
	ix := index.New(index.FSSource(fsys), index.Options{})
	start := time.Now()
	if err := ix.Update(context.Background(), paths); err != nil {
		b.Fatal(err)
	}
	return ix, time.Since(start)
}

// BenchmarkFullIndex measures indexing the whole tree from scratch and
// the heap the index keeps.
func BenchmarkFullIndex(b *testing.B) {
	dir := goroot(b)
	for i := 0; i < b.N; i++ {
		before := heapMB()
		ix, took := indexTree(b, dir)
		after := heapMB()
		st := ix.Stats()
		b.ReportMetric(took.Seconds(), "s/index")
		b.ReportMetric(after-before, "MB-heap")
		b.ReportMetric(float64(st.Files), "files")
		b.ReportMetric(float64(st.Symbols), "symbols")
		b.ReportMetric(float64(st.Refs), "refs")
		runtime.KeepAlive(ix)
	}
}

var (
	shared     *index.Index
	sharedOnce sync.Once
)

func sharedIndex(b *testing.B) *index.Index {
	dir := goroot(b)
	sharedOnce.Do(func() { shared, _ = indexTree(b, dir) })
	return shared
}

// BenchmarkReindexAfterEdit measures one keystroke in an open document of
// the indexed tree: the edit, the incremental reparse, the re-extraction
// of the file and the update of the project tables. Goal: under 20 ms.
// Files: a large one (net/http/server.go, ~4,000 lines), a medium one
// (fmt/print.go, ~1,200 lines) and a small one (strings/builder.go).
func BenchmarkReindexAfterEdit(b *testing.B) {
	ix := sharedIndex(b)
	for _, rel := range []string{"net/http/server.go", "fmt/print.go", "strings/builder.go"} {
		for ix.File(rel) == nil && strings.Contains(rel, "/") {
			_, rel, _ = strings.Cut(rel, "/") // a subtree run: paths are relative to it
		}
		if ix.File(rel) == nil {
			continue
		}
		b.Run(filepath.Base(rel), func(b *testing.B) { reindex(b, ix, rel) })
	}
}

func reindex(b *testing.B, ix *index.Index, rel string) {
	src, err := ix.Text(context.Background(), rel)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if err := ix.Open(ctx, rel, string(src)); err != nil {
		b.Fatal(err)
	}
	defer ix.CloseDoc(ctx, rel)
	at := len(src) / 2
	for at < len(src) && src[at] != '\n' {
		at++
	}
	b.ReportAllocs()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Type a comment character, then delete it: two edits per op.
		if err := ix.Edit(ctx, rel, index.Edit{Start: at, End: at, Text: "/"}); err != nil {
			b.Fatal(err)
		}
		if err := ix.Edit(ctx, rel, index.Edit{Start: at, End: at + 1}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(2*b.N)/1000, "ms/edit")
	// CPU time (all threads, GC included) is what the edit costs on a
	// machine that is not shared; wall time also counts waiting for a CPU.
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(2*b.N)/1000, "cpu-ms/edit")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkWorkspaceSymbols measures a workspace symbol query on the
// indexed tree (a prefix, a substring and a fuzzy subsequence). Goal:
// under 50 ms.
func BenchmarkWorkspaceSymbols(b *testing.B) {
	ix := sharedIndex(b)
	ctx := context.Background()
	ix.WorkspaceSymbols(ctx, "warm", 1) // builds the name table once
	queries := []string{"ServeHTTP", "readall", "nwrdr"}
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if len(ix.WorkspaceSymbols(ctx, queries[i%len(queries)], 100)) == 0 {
			b.Fatal("no symbols")
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N)/1000, "cpu-ms/query")
}

// BenchmarkWorkspaceSymbolsAfterEdit: the name table survives edits that
// do not add or remove a name, so typing does not slow queries down.
func BenchmarkWorkspaceSymbolsAfterEdit(b *testing.B) {
	ix := sharedIndex(b)
	ctx := context.Background()
	rel := ix.Paths()[0]
	src, _ := ix.Text(ctx, rel)
	_ = ix.Open(ctx, rel, string(src))
	defer ix.CloseDoc(ctx, rel)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = ix.Sync(ctx, rel, string(src)+"\n// "+strings.Repeat("x", i%7)+"\n")
		ix.WorkspaceSymbols(ctx, "Handler", 100)
	}
}

// BenchmarkRepoMap measures ranking the tree and rendering a 1,024-token
// map, cold: each iteration edits a file and asks with another focus, so
// no cached ranking is reused.
func BenchmarkRepoMap(b *testing.B) {
	ix := sharedIndex(b)
	ctx := context.Background()
	rel := ix.Paths()[0]
	src, _ := ix.Text(ctx, rel)
	_ = ix.Open(ctx, rel, string(src))
	defer ix.CloseDoc(ctx, rel)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = ix.Sync(ctx, rel, string(src)+strings.Repeat(" ", i%2))
		if ix.RepoMap(ctx, []string{rel, fmt.Sprint("no-such-file-", i)}, 1024) == "" {
			b.Fatal("empty map")
		}
	}
}

// BenchmarkExtractLargeFile parses and reads net/http/server.go (about
// 4,000 lines) from scratch, locals included: the upper bound of what one
// edit of a large open document costs.
func BenchmarkExtractLargeFile(b *testing.B) {
	out, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		b.Skip(err)
	}
	p := filepath.Join(strings.TrimSpace(string(out)), "src", "net", "http", "server.go")
	src, err := os.ReadFile(p)
	if err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(src)))
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := index.ExtractFile(context.Background(), "server.go", src); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Microseconds())/float64(b.N)/1000, "cpu-ms/op")
}
