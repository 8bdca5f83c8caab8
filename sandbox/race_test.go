//go:build linux || darwin || freebsd

package sandbox

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/sourcegraph/conc"
)

// TestSymlinkSwapRace is the attack that made a check-then-open sandbox
// leak 1.2% of reads: while an attacker with local access swaps a symlink
// (and a symlinked directory) between an inside target and an outside
// canary as fast as it can, 100,000 reads and 10,000 writes go through the
// sandbox. Nothing may leak and nothing outside may change. Half of the
// operations use a policy with deny patterns, which takes the resolving
// (walk) path instead of the os.Root fast path.
func TestSymlinkSwapRace(t *testing.T) {
	reads, writes := 100_000, 10_000
	if testing.Short() {
		reads, writes = 10_000, 1_000
	}
	w := newWorld(t)
	p := w.p1
	must(t, os.WriteFile(filepath.Join(p, "inside.txt"), []byte("INSIDE"), 0o644))
	must(t, os.MkdirAll(filepath.Join(p, "indir"), 0o755))
	must(t, os.WriteFile(filepath.Join(p, "indir", "canary.txt"), []byte("INSIDE"), 0o644))
	must(t, os.Symlink("inside.txt", filepath.Join(p, "swap")))
	must(t, os.Symlink("indir", filepath.Join(p, "dswap")))
	before := snapshotOutside(t, w)

	fast := openTest(t, p, DefaultPolicy(), Options{})
	pol := DefaultPolicy()
	pol.Deny = []string{"**/*.secret"}
	resolving := openTest(t, p, pol, Options{})
	roots := []*Root{fast, resolving}

	stop := make(chan struct{})
	var swaps atomic.Int64
	var swapper conc.WaitGroup
	// Two attackers, so the swap rate keeps up with the readers.
	for range 2 {
		swapper.Go(func() {
			fileTargets := []string{"inside.txt", "../../canary.txt", w.canary, "../p10/secret.txt"}
			dirTargets := []string{"indir", "../..", w.data, "../p10"}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				for _, l := range []struct {
					name, target string
				}{{"swap", fileTargets[i%len(fileTargets)]}, {"dswap", dirTargets[i%len(dirTargets)]}} {
					tmp := filepath.Join(p, l.name+".tmp")
					os.Remove(tmp)
					if os.Symlink(l.target, tmp) == nil {
						os.Rename(tmp, filepath.Join(p, l.name))
					}
				}
				swaps.Add(1)
			}
		})
	}

	ctx := context.Background()
	var leaks, internal, okReads, okWrites atomic.Int64
	var mu sync.Mutex
	var firstErr string
	codes := map[Code]int{}
	note := func(err error) {
		mu.Lock()
		codes[CodeOf(err)]++
		mu.Unlock()
		if CodeOf(err) == Internal {
			internal.Add(1)
			mu.Lock()
			if firstErr == "" {
				firstErr = err.Error()
			}
			mu.Unlock()
		}
	}
	var wg conc.WaitGroup
	const workers = 4
	for g := range workers {
		wg.Go(func() {
			for i := g; i < reads; i += workers {
				r := roots[i%2]
				path := "swap"
				if i%4 >= 2 {
					path = "dswap/canary.txt"
				}
				runtime.Gosched() // let the attackers run between operations
				f, err := r.Read(ctx, path)
				if err != nil {
					note(err)
					continue
				}
				okReads.Add(1)
				if strings.Contains(f.Content, secretText) {
					leaks.Add(1)
				}
			}
		})
	}
	wg.Go(func() {
		for i := range writes {
			r := roots[i%2]
			path := "swap"
			if i%4 >= 2 {
				path = "dswap/canary.txt"
			}
			runtime.Gosched()
			if _, err := r.Write(ctx, WriteRequest{Path: path, Content: "WRITTEN"}); err != nil {
				note(err)
				continue
			}
			okWrites.Add(1)
		}
	})
	wg.Wait()
	close(stop)
	swapper.Wait()

	if leaks.Load() != 0 {
		t.Errorf("%d reads leaked the canary", leaks.Load())
	}
	if internal.Load() != 0 {
		t.Errorf("%d internal errors, first: %s", internal.Load(), firstErr)
	}
	after := snapshotOutside(t, w)
	for name, sum := range before {
		if after[name] != sum {
			t.Errorf("outside the project, %s changed", name)
		}
	}
	for name := range after {
		if _, ok := before[name]; !ok {
			t.Errorf("outside the project, %s appeared", name)
		}
	}
	t.Logf("%d reads (%d served from inside), %d writes (%d landed inside), %d swaps, refusals %v, 0 leaks",
		reads, okReads.Load(), writes, okWrites.Load(), swaps.Load(), codes)
	if okReads.Load() == 0 || okWrites.Load() == 0 {
		t.Error("the race never let an operation through; the test proves nothing")
	}
}
