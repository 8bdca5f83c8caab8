package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// TestHubRestartLosesNoEdit kills the hub with SIGKILL while two Neovims
// type, keeps typing while it is down, starts it again on the same data
// directory, and checks that the editors reconnect by themselves and that
// every edit typed anywhere is in the final text, once, everywhere.
func TestHubRestartLosesNoEdit(t *testing.T) {
	needNvim(t)
	h := startRestartableHub(t)
	path := "restart.txt"
	initial := "first line\nsecond line\n"
	if err := os.WriteFile(filepath.Join(h.Dir, path), []byte(initial), 0o644); err != nil {
		t.Fatal(err)
	}
	e1 := startEditor(t, "nvim1", h.URL, h.Project, h.Token, h.Dir)
	e2 := startEditor(t, "nvim2", h.URL, h.Project, h.Token, h.Dir)
	e1.open(t, path, initial)
	e2.open(t, path, initial)

	var phase atomic.Int32 // 0 before the kill, 1 while down, 2 after restart
	var wg sync.WaitGroup
	var markers sync.Map
	for i, e := range []*editor{e1, e2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(i), 1))
			for n := 0; phase.Load() < 3; n++ {
				m := fmt.Sprintf("<%d.%d>", i, n)
				markers.Store(m, true)
				e.insertLine(t, rng.Float64(), m)
				time.Sleep(10 * time.Millisecond)
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	h.kill()
	phase.Store(1)
	waitStatus(t, e1, "offline", 5*time.Second) // the editor is told
	time.Sleep(500 * time.Millisecond)          // typing with the hub down
	h.restart(t)
	phase.Store(2)
	waitStatus(t, e1, "connected", 15*time.Second)
	waitStatus(t, e2, "connected", 15*time.Second)
	time.Sleep(300 * time.Millisecond)
	phase.Store(3)
	wg.Wait()

	_, ok := converge(t, 20*time.Second, func() []string {
		return []string{e1.text(t), e2.text(t), h.read(t, path)}
	})
	final := e1.text(t)
	if !ok {
		t.Fatalf("not converged 20s after the restart:\nnvim1 %q\nnvim2 %q\nhub   %q", final, e2.text(t), h.read(t, path))
	}
	count := 0
	markers.Range(func(k, _ any) bool {
		count++
		if n := strings.Count(final, k.(string)); n != 1 {
			t.Errorf("edit %s appears %d times in the final text", k, n)
		}
		return true
	})
	if !strings.Contains(final, "first") || !strings.Contains(final, "second") {
		t.Errorf("the original text was lost: %q", final)
	}
	if t.Failed() {
		t.Logf("final text:\n%s", final)
	}
	t.Logf("%d edits across a SIGKILL and restart of the hub, none lost or doubled", count)
}

// waitStatus waits until the plugin reports the proxy's connection state.
func waitStatus(t testing.TB, e *editor, want string, limit time.Duration) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		var got string
		if err := e.v.ExecLua(`return require('rubberduck').status`, &got); err != nil {
			t.Fatal(err)
		}
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: status %q, want %q after %v", e.name, got, want, limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
