package e2e

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
	"unicode/utf8"
)

const initialText = "package demo\n\nfunc main() {\n\tprintln(\"héllo\")\n}\n"

// randomEdit picks an edit of text (code points) that never touches the
// final newline, which Neovim keeps as 'eol' and cannot delete.
func randomEdit(rng *rand.Rand, text string) (pos, del int, ins string) {
	n := len([]rune(text)) - 1 // keep the final "\n"
	if n < 0 {
		n = 0
	}
	pos = rng.IntN(n + 1)
	if rng.IntN(3) == 0 && pos < n {
		del = 1 + rng.IntN(min(4, n-pos))
	}
	ins = inserts[rng.IntN(len(inserts))]
	if del == 0 && ins == "" {
		ins = "q"
	}
	return pos, del, ins
}

var inserts = []string{"a", "duck", "\n", "é", "😀", "", "x y", "\t"}

func seeds() int {
	if os.Getenv("RUBBERDUCK_E2E_LONG") == "1" {
		return 100
	}
	return 20
}

// TestConcurrentEditsConverge has two Neovims, a thin replica client and a
// thin LSP client (as the browser is) type into the same file at once, 10 ms
// apart, and checks that both Neovim buffers, both thin clients and the hub's
// document are byte-identical within a second of the last edit, for many
// seeds.
func TestConcurrentEditsConverge(t *testing.T) {
	needNvim(t)
	h := startHub(t)
	e1 := startEditor(t, "nvim1", h.URL, h.Project, h.Token, h.Dir)
	e2 := startEditor(t, "nvim2", h.URL, h.Project, h.Token, h.Dir)
	const editsPerClient = 20
	var worst time.Duration
	for seed := range seeds() {
		path := fmt.Sprintf("seed%03d.go", seed)
		if err := os.WriteFile(filepath.Join(h.Dir, path), []byte(initialText), 0o644); err != nil {
			t.Fatal(err)
		}
		e1.open(t, path, initialText)
		e2.open(t, path, initialText)
		thin := dialThin(t, h.URL, h.Token, h.Project, path)
		browser := dialThinEditor(t, h, path, initialText)

		var wg sync.WaitGroup
		var lastMu sync.Mutex
		var last time.Time
		mark := func() {
			lastMu.Lock()
			last = time.Now()
			lastMu.Unlock()
		}
		for i, e := range []*editor{e1, e2} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
				for range editsPerClient {
					b := 0.0
					if rng.IntN(3) == 0 {
						b = rng.Float64()
					}
					e.edit(t, rng.Float64(), b, inserts[rng.IntN(len(inserts))])
					mark()
					time.Sleep(10 * time.Millisecond)
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(seed), 77))
			for range editsPerClient {
				browser.edit(rng)
				mark()
				time.Sleep(10 * time.Millisecond)
			}
		}()
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(seed), 99))
			for range editsPerClient {
				pos, del, ins := randomEdit(rng, thin.text())
				thin.edit(t, pos, del, ins)
				mark()
				time.Sleep(10 * time.Millisecond)
			}
		}()
		wg.Wait()

		at, ok := converge(t, 5*time.Second, func() []string {
			return []string{e1.text(t), e2.text(t), thin.text(), h.read(t, path), browser.snapshot()}
		})
		lastMu.Lock()
		took := at.Sub(last)
		lastMu.Unlock()
		if !ok {
			got := []string{e1.text(t), e2.text(t), thin.text(), h.read(t, path), browser.snapshot()}
			t.Fatalf("seed %d: not converged 5s after the last edit:\nnvim1 %q\nnvim2 %q\nthin  %q\nhub   %q\nbrowser %q", seed, got[0], got[1], got[2], got[3], got[4])
		}
		for _, e := range []*editor{e1, e2} {
			if s := e.text(t); !utf8.ValidString(s) {
				t.Fatalf("seed %d: %s holds invalid UTF-8: %q", seed, e.name, s)
			}
		}
		if took > worst {
			worst = took
		}
		if took > time.Second {
			t.Errorf("seed %d: converged only %v after the last edit (goal: 1s)", seed, took)
		}
		_ = thin.c.Close()
		_ = browser.c.Close()
		_ = e1.v.Command("bdelete!")
		_ = e2.v.Command("bdelete!")
	}
	t.Logf("%d seeds x 4 clients x %d edits: slowest convergence %v after the last edit",
		seeds(), editsPerClient, worst)
}

// converge polls texts until all are equal; it returns when that was seen.
func converge(t testing.TB, limit time.Duration, texts func() []string) (time.Time, bool) {
	t.Helper()
	start := time.Now()
	for {
		got := texts()
		same := true
		for _, s := range got[1:] {
			if s != got[0] {
				same = false
				break
			}
		}
		if same {
			return time.Now(), true
		}
		if time.Since(start) > limit {
			return time.Now(), false
		}
		time.Sleep(10 * time.Millisecond)
	}
}
