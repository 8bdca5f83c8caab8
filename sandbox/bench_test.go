//go:build linux || darwin || freebsd

package sandbox

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// BenchmarkCleanPath reports validations per second (goal: over 1 million).
func BenchmarkCleanPath(b *testing.B) {
	paths := []string{
		"src/main.go", "cmd/rubberduck/main.go", "internal/very/deep/nested/package/file_test.go",
		"docs/ünïcödé/文件.md", "a/./b//c/", "../../etc/passwd", "README.md", ".git/config",
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		CleanPath(paths[i%len(paths)])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "validations/s")
}

// BenchmarkRead4K compares a sandboxed Read of a 4 KiB file (validation,
// policy, os.Root open, fstat checks, etag, binary detection, audit hook,
// metrics) with a plain os.ReadFile of the same file (goal: ratio at most
// 1.5). The two are interleaved in one loop so that load from other
// processes affects both alike; the "ratio" metric is sandbox/os.
func BenchmarkRead4K(b *testing.B) {
	dir := b.TempDir()
	must(b, os.MkdirAll(filepath.Join(dir, "src", "pkg"), 0o755))
	data := []byte(strings.Repeat("0123456789abcde\n", 256))
	abs := filepath.Join(dir, "src", "pkg", "file.go")
	must(b, os.WriteFile(abs, data, 0o644))
	ctx := WithActor(context.Background(), "bench")
	withDeny := DefaultPolicy()
	withDeny.Deny = []string{"**/*.pem", "secrets"}
	for _, tc := range []struct {
		name      string
		pol       Policy
		noOpenat2 bool
	}{{"default-policy", DefaultPolicy(), false}, {"deny-patterns", withDeny, false}, {"os-root-fallback", DefaultPolicy(), true}} {
		r := openTest(b, dir, tc.pol, Options{Auditor: nopAuditor{}})
		b.Run(tc.name, func(b *testing.B) {
			noOpenat2.Store(tc.noOpenat2)
			defer noOpenat2.Store(false)
			var plain, sandboxed time.Duration
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				if _, err := os.ReadFile(abs); err != nil {
					b.Fatal(err)
				}
				t1 := time.Now()
				if _, err := r.Read(ctx, "src/pkg/file.go"); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				plain += t1.Sub(t0)
				sandboxed += t2.Sub(t1)
			}
			b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N), "os-ns/op")
			b.ReportMetric(float64(sandboxed.Nanoseconds())/float64(b.N), "sandbox-ns/op")
			b.ReportMetric(float64(sandboxed)/float64(plain), "ratio")
		})
	}
}

// BenchmarkWrite4K compares a sandboxed atomic Write of 4 KiB with the same
// steps done with plain os calls (temp file, write, fsync, rename, fsync
// directory), interleaved (goal: ratio at most 1.5).
func BenchmarkWrite4K(b *testing.B) {
	dir := b.TempDir()
	must(b, os.MkdirAll(filepath.Join(dir, "src", "pkg"), 0o755))
	data := []byte(strings.Repeat("0123456789abcde\n", 256))
	absDir := filepath.Join(dir, "src", "pkg")
	abs := filepath.Join(absDir, "plain.go")
	r, err := Open(dir, DefaultPolicy(), Options{Auditor: nopAuditor{}})
	must(b, err)
	defer r.Close()
	ctx := WithActor(context.Background(), "bench")
	plainWrite := func() {
		f, err := os.CreateTemp(absDir, ".tmp-")
		must(b, err)
		_, err = f.Write(data)
		must(b, err)
		must(b, f.Sync())
		must(b, f.Close())
		must(b, os.Rename(f.Name(), abs))
		d, err := os.Open(absDir)
		must(b, err)
		must(b, d.Sync())
		d.Close()
	}
	var plain, sandboxed time.Duration
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		plainWrite()
		t1 := time.Now()
		if _, err := r.Write(ctx, WriteRequest{Path: "src/pkg/file.go", Data: data}); err != nil {
			b.Fatal(err)
		}
		t2 := time.Now()
		plain += t1.Sub(t0)
		sandboxed += t2.Sub(t1)
	}
	b.ReportMetric(float64(plain.Nanoseconds())/float64(b.N), "os-ns/op")
	b.ReportMetric(float64(sandboxed.Nanoseconds())/float64(b.N), "sandbox-ns/op")
	b.ReportMetric(float64(sandboxed)/float64(plain), "ratio")
}

type nopAuditor struct{}

func (nopAuditor) Record(context.Context, Event) {}

// searchCorpus generates a source-like tree: dirs x files of about size
// bytes each, with a rare needle.
func searchCorpus(b *testing.B, dirs, files, size int) string {
	dir := b.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("func return if else for range package import var const type struct interface map chan go defer select case default switch break continue nil true false string int error context ctx err data buf len cap make new append copy delete")
	for d := 0; d < dirs; d++ {
		sub := filepath.Join(dir, fmt.Sprintf("pkg%03d", d))
		must(b, os.MkdirAll(sub, 0o755))
		for f := 0; f < files; f++ {
			var sb strings.Builder
			line := 0
			for sb.Len() < size {
				n := 3 + rng.IntN(9)
				sb.WriteString("\t")
				for k := 0; k < n; k++ {
					sb.WriteString(words[rng.IntN(len(words))])
					sb.WriteByte(' ')
				}
				if rng.IntN(2000) == 0 {
					sb.WriteString("NeedleHandler(ctx)")
				}
				sb.WriteByte('\n')
				line++
			}
			must(b, os.WriteFile(filepath.Join(sub, fmt.Sprintf("file%03d.go", f)), []byte(sb.String()), 0o644))
		}
	}
	return dir
}

// BenchmarkSearch compares Search with ripgrep (rg -n, its default of one
// thread per core) on the same generated tree, interleaved so that load
// from other processes affects both alike (goal: ratio at most 2). It
// skips when rg is not installed.
func BenchmarkSearch(b *testing.B) {
	rg, err := exec.LookPath("rg")
	if err != nil {
		b.Skip("ripgrep (rg) not installed: apt-get install -y ripgrep")
	}
	dir := searchCorpus(b, 40, 50, 16<<10) // 2000 files, ~32 MB
	r := openTest(b, dir, DefaultPolicy(), Options{})
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		q    SearchQuery
		args []string
	}{
		{"literal", SearchQuery{Pattern: "NeedleHandler", Literal: true, MaxResults: MaxSearchResults}, []string{"-F", "NeedleHandler"}},
		{"regex", SearchQuery{Pattern: `Needle\w+\(ctx\)`, MaxResults: MaxSearchResults}, []string{`Needle\w+\(ctx\)`}},
		{"ignorecase", SearchQuery{Pattern: "needlehandler", IgnoreCase: true, MaxResults: MaxSearchResults}, []string{"-i", "needlehandler"}},
		// A case-insensitive regular expression has no literal fast path:
		// Go's regexp engine runs over every byte.
		{"ignorecase-regex", SearchQuery{Pattern: `needle\w+\(`, IgnoreCase: true, MaxResults: MaxSearchResults}, []string{"-i", `needle\w+\(`}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var rgTime, ourTime time.Duration
			rgLines, ours := 0, 0
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				cmd := exec.Command(rg, append([]string{"-n", "--no-heading", "--no-config"}, append(tc.args, ".")...)...)
				cmd.Dir = dir
				out, _ := cmd.Output()
				rgLines = strings.Count(string(out), "\n")
				t1 := time.Now()
				ours = 0
				if _, err := r.Search(ctx, tc.q, func(SearchResult) error { ours++; return nil }); err != nil {
					b.Fatal(err)
				}
				t2 := time.Now()
				rgTime += t1.Sub(t0)
				ourTime += t2.Sub(t1)
			}
			if ours != rgLines {
				b.Errorf("sandbox found %d lines, rg %d", ours, rgLines)
			}
			b.ReportMetric(float64(rgTime.Microseconds())/float64(b.N)/1000, "rg-ms/op")
			b.ReportMetric(float64(ourTime.Microseconds())/float64(b.N)/1000, "sandbox-ms/op")
			b.ReportMetric(float64(ourTime)/float64(rgTime), "ratio")
		})
	}
}
