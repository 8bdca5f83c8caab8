package crdt

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// tracesDir is ../shared/bench/traces seen from this package directory
// (hub/crdt -> ../../../shared); it exists for developers and CI only.
var tracesDir = filepath.Join("..", "..", "..", "shared", "bench", "traces")

// patch is one [pos, delete, insert] edit of josephg/editing-traces; pos
// counts code points.
type patch struct {
	Pos, Del int
	Ins      string
}

func (p *patch) UnmarshalJSON(b []byte) error {
	var raw [3]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[0], &p.Pos); err != nil {
		return err
	}
	if err := json.Unmarshal(raw[1], &p.Del); err != nil {
		return err
	}
	return json.Unmarshal(raw[2], &p.Ins)
}

type trace struct {
	Kind         string `json:"kind"`
	StartContent string `json:"startContent"`
	EndContent   string `json:"endContent"`
	NumAgents    int    `json:"numAgents"`
	Txns         []struct {
		Parents []int   `json:"parents"`
		Agent   int     `json:"agent"`
		Patches []patch `json:"patches"`
	} `json:"txns"`
}

func (t *trace) patches() int {
	n := 0
	for _, tx := range t.Txns {
		n += len(tx.Patches)
	}
	return n
}

func loadTrace(tb testing.TB, path string) *trace {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatalf("open trace: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("gunzip %s: %v", filepath.Base(path), err)
	}
	var tr trace
	if err := json.NewDecoder(zr).Decode(&tr); err != nil {
		tb.Fatalf("decode %s: %v", filepath.Base(path), err)
	}
	return &tr
}

// traceFiles lists the sequential traces (or the concurrent ones), skipping
// the test when ../shared is absent.
func traceFiles(tb testing.TB, concurrent bool) []string {
	tb.Helper()
	dir := tracesDir
	if concurrent {
		dir = filepath.Join(dir, "concurrent")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.json.gz"))
	if len(files) == 0 {
		tb.Skipf("no editing traces at %s (../shared is for developers and CI); skipping", dir)
	}
	sort.Strings(files)
	return files
}

func traceName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), ".json.gz")
}

// replaySequential replays a sequential trace into a fresh Doc, one update
// per patch, and returns the doc and the total update bytes produced.
func replaySequential(tb testing.TB, tr *trace) (*Doc, int) {
	d := New(1, WithUndoGroup(0))
	total := 0
	if tr.StartContent != "" {
		u, err := d.Insert("trace", 0, tr.StartContent)
		if err != nil {
			tb.Fatal(err)
		}
		total += len(u)
	}
	for _, tx := range tr.Txns {
		for _, p := range tx.Patches {
			u, err := d.Replace("trace", p.Pos, p.Del, p.Ins)
			if err != nil {
				tb.Fatalf("patch %+v: %v", p, err)
			}
			total += len(u)
		}
	}
	return d, total
}

// replayConcurrent replays a concurrent trace: one replica per agent; each
// transaction runs on its agent's replica after that replica has received
// exactly the transactions its parents name (transitively), so patch
// positions mean what they meant when recorded. Returns one replica that
// merged everything.
func replayConcurrent(tb testing.TB, tr *trace) (*Doc, [][][]byte) {
	tb.Helper()
	n := len(tr.Txns)
	updates := make([][][]byte, n) // per transaction, one update per patch
	reps := make([]*Doc, tr.NumAgents)
	seen := make([][]bool, tr.NumAgents)
	for i := range reps {
		reps[i] = New(ReplicaID(1000+i), WithUndoGroup(0))
		seen[i] = make([]bool, n)
	}
	var stack, todo []int
	for i, tx := range tr.Txns {
		a := tx.Agent
		d, sn := reps[a], seen[a]
		// bring the replica to exactly the parents' version
		todo = todo[:0]
		stack = append(stack[:0], tx.Parents...)
		for len(stack) > 0 {
			p := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if sn[p] {
				continue
			}
			sn[p] = true
			todo = append(todo, p)
			stack = append(stack, tr.Txns[p].Parents...)
		}
		sort.Ints(todo)
		for _, p := range todo {
			applyAll(tb, d, updates[p])
		}
		var parts [][]byte
		for _, p := range tx.Patches {
			u, err := d.Replace(fmt.Sprint("agent", a), p.Pos, p.Del, p.Ins)
			if err != nil {
				tb.Fatalf("txn %d patch %+v: %v", i, p, err)
			}
			if u != nil {
				parts = append(parts, u)
			}
		}
		updates[i] = parts
		sn[i] = true
	}
	final := New(999, WithUndoGroup(0))
	for _, u := range updates {
		applyAll(tb, final, u)
	}
	// every agent's replica, once it has everything, agrees
	for a, d := range reps {
		for i, ok := range seen[a] {
			if !ok {
				applyAll(tb, d, updates[i])
			}
		}
		if d.Text() != final.Text() {
			tb.Fatalf("agent %d replica diverged from the merged replica", a)
		}
	}
	return final, updates
}

func applyAll(tb testing.TB, d *Doc, upds [][]byte) {
	for _, u := range upds {
		if _, err := d.Apply(u); err != nil {
			tb.Fatalf("apply: %v", err)
		}
	}
}

func TestSequentialTraces(t *testing.T) {
	for _, f := range traceFiles(t, false) {
		name := traceName(f)
		t.Run(name, func(t *testing.T) {
			fi, _ := os.Stat(f)
			if testing.Short() && fi.Size() > 200_000 {
				t.Skip("large trace skipped in -short; BenchmarkTrace replays it")
			}
			if raceEnabled && fi.Size() > 400_000 {
				t.Skip("largest traces skipped under -race; the plain run and BenchmarkTrace replay them")
			}
			tr := loadTrace(t, f)
			d, _ := replaySequential(t, tr)
			if d.Text() != tr.EndContent {
				t.Fatalf("final text differs from endContent (len %d vs %d)", d.Len(), Count(tr.EndContent, CodePoint))
			}
			l, err := Load(2, d.EncodeState())
			if err != nil {
				t.Fatal(err)
			}
			if l.Text() != tr.EndContent {
				t.Fatal("snapshot of the replayed trace loads to a different text")
			}
		})
	}
}

func TestConcurrentTraces(t *testing.T) {
	for _, f := range traceFiles(t, true) {
		t.Run(traceName(f), func(t *testing.T) {
			tr := loadTrace(t, f)
			start := time.Now()
			d, updates := replayConcurrent(t, tr)
			if got := d.Text(); got != tr.EndContent {
				t.Fatalf("merged text differs from endContent (len %d vs %d)", d.Len(), Count(tr.EndContent, CodePoint))
			}
			t.Logf("%d txns, %d agents, %v", len(tr.Txns), tr.NumAgents, time.Since(start))

			// every per-patch update, shuffled, with duplicates, into a
			// fresh replica: the causal buffering at scale
			var all [][]byte
			for _, u := range updates {
				all = append(all, u...)
			}
			rng := rand.New(rand.NewPCG(7, 7))
			for range len(all) / 10 {
				all = append(all, all[rng.IntN(len(all))])
			}
			rng.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
			start = time.Now()
			r := New(4242)
			applyAll(t, r, all)
			if r.Text() != tr.EndContent || r.PendingLen() != 0 {
				t.Fatalf("shuffled delivery: text differs or %d pending", r.PendingLen())
			}
			t.Logf("%d updates shuffled with duplicates: %v", len(all), time.Since(start))
		})
	}
}
