package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sourcegraph/conc"

	rdlsp "github.com/rubberduckhub/rubberduck/lsp"
)

// TestProxiesConvergeInProcess runs three proxies in this process (so the
// race detector sees them), each driven by a scripted Neovim-like editor
// typing at random, and checks that all editors and the hub agree. It needs
// no nvim, so it runs everywhere.
func TestProxiesConvergeInProcess(t *testing.T) {
	h := startHub(t)
	ctx, cancel := context.WithCancel(context.Background())
	var wg conc.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	cfg := rdlsp.Config{HubURL: h.URL, Project: h.Project, Token: h.Token, Author: "script"}
	for seed := range 5 {
		path := fmt.Sprintf("inproc%d.txt", seed)
		text := "one\ntwo\nthree\n"
		if err := os.WriteFile(filepath.Join(h.Dir, path), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		eds := make([]*scriptEditor, 3)
		for i := range eds {
			e, err := newScriptEditor(ctx, &wg, cfg, h.Dir, path, text)
			if err != nil {
				t.Fatal(err)
			}
			eds[i] = e
		}
		time.Sleep(200 * time.Millisecond) // let every proxy sync
		var typing sync.WaitGroup
		for i, e := range eds {
			typing.Add(1)
			go func() {
				defer typing.Done()
				rng := rand.New(rand.NewPCG(uint64(seed), uint64(i)))
				for range 30 {
					e.typeRandom(ctx, rng)
					time.Sleep(time.Duration(rng.IntN(10)) * time.Millisecond)
				}
			}()
		}
		typing.Wait()
		_, ok := converge(t, 5*time.Second, func() []string {
			out := []string{h.read(t, path)}
			for _, e := range eds {
				out = append(out, e.snapshot())
			}
			return out
		})
		if !ok {
			got := []string{h.read(t, path)}
			for _, e := range eds {
				got = append(got, e.snapshot())
			}
			t.Fatalf("seed %d: not converged: %q", seed, got)
		}
		for _, e := range eds {
			_ = e.conn.Close()
		}
	}
}
