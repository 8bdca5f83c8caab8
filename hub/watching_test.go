package hub_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

type changeEvent struct {
	Path string `json:"path"`
	Kind string `json:"kind"`
	Hub  bool   `json:"hub"`
}

type changeBatch struct {
	Project string        `json:"project"`
	Seq     uint64        `json:"seq"`
	Resync  bool          `json:"resync"`
	Events  []changeEvent `json:"events"`
}

// watchingClient joins demo and collects $/rubberduck/files/changed.
func watchingClient(t testing.TB, h *hubtest.Hub) (*wsrpc.Client, <-chan changeBatch) {
	batches := make(chan changeBatch, 1024)
	c := h.DialWith(t, hubtest.Auth(h.Token), wsrpc.HandlerFunc(func(_ context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
		if m.Method == protocol.MethodFilesChanged {
			var b changeBatch
			if err := json.Unmarshal(m.Params, &b); err == nil {
				batches <- b
			}
		}
		return nil, nil
	}))
	hubtest.Initialize(t, c, h.Project)
	return c, batches
}

func waitFor(t testing.TB, batches <-chan changeBatch, path string) changeBatch {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case b := <-batches:
			for _, e := range b.Events {
				if e.Path == path {
					return b
				}
			}
		case <-timeout:
			t.Fatalf("no change reported for %s", path)
		}
	}
}

func TestOutsideChangesReachJoinedClients(t *testing.T) {
	h := hubtest.Start(t)
	c, batches := watchingClient(t, h)

	if err := os.WriteFile(filepath.Join(h.ProjectDir, "outside.txt"), []byte("from git"), 0o644); err != nil {
		t.Fatal(err)
	}
	b := waitFor(t, batches, "outside.txt")
	if b.Project != "demo" || b.Seq == 0 {
		t.Fatalf("batch = %+v", b)
	}

	// The hub's own write reaches every client marked as the hub's (their
	// trees and mirrors need it), not as an outside change...
	if err := c.Call(ctx(t), protocol.MethodFilesWrite, protocol.FileWriteParams{Project: "demo", Path: "mine.txt", Content: "hub"}, nil); err != nil {
		t.Fatal(err)
	}
	// ...while a later outside write still is, and arrives after it.
	if err := os.WriteFile(filepath.Join(h.ProjectDir, "later.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	var seen []string
	ownSeen := false
	timeout := time.After(10 * time.Second)
	for !slices.Contains(seen, "later.txt") {
		select {
		case b := <-batches:
			for _, e := range b.Events {
				seen = append(seen, e.Path)
				if e.Path == "mine.txt" {
					if !e.Hub {
						t.Fatalf("the hub's own write came as an outside change: %+v", e)
					}
					ownSeen = true
				}
				if e.Path == "later.txt" && e.Hub {
					t.Fatalf("an outside write came as the hub's: %+v", e)
				}
			}
		case <-timeout:
			t.Fatalf("later.txt never reported; saw %v", seen)
		}
	}
	if !ownSeen {
		t.Fatalf("the hub's own write never reached the other clients: %v", seen)
	}
}

// BenchmarkChangeToClient measures a write on disk until the
// $/rubberduck/files/changed notification reaches a WebSocket client.
func BenchmarkChangeToClient(b *testing.B) {
	h := hubtest.Start(b)
	_, batches := watchingClient(b, h)
	lat := make([]time.Duration, 0, b.N)
	i := 0
	for b.Loop() {
		i++
		name := filepath.Join(h.ProjectDir, "f.txt")
		t0 := time.Now()
		if err := os.WriteFile(name, []byte(time.Now().String()), 0o644); err != nil {
			b.Fatal(err)
		}
		waitFor(b, batches, "f.txt")
		lat = append(lat, time.Since(t0))
		time.Sleep(60 * time.Millisecond) // let the debounce window close
	}
	reportPercentiles(b, lat, "ms", time.Millisecond)
	slices.Sort(lat)
	b.ReportMetric(float64(lat[int(float64(len(lat)-1)*0.95)])/float64(time.Millisecond), "p95-ms")
}

// BenchmarkChangeToClientBurst writes 500 files as fast as it can and
// measures, for each, the time from its write to the notification that
// names it (goal: p95 at most 750 ms).
func BenchmarkChangeToClientBurst(b *testing.B) {
	h := hubtest.Start(b)
	_, batches := watchingClient(b, h)
	const n = 500
	var lat []time.Duration
	round := 0
	for b.Loop() {
		round++
		written := make(map[string]time.Time, n)
		for i := range n {
			name := filepath.Join("burst", strconv.Itoa(round), strconv.Itoa(i)+".txt")
			if i == 0 {
				if err := os.MkdirAll(filepath.Join(h.ProjectDir, filepath.Dir(name)), 0o755); err != nil {
					b.Fatal(err)
				}
			}
			written[filepath.ToSlash(name)] = time.Now()
			if err := os.WriteFile(filepath.Join(h.ProjectDir, name), []byte("x"), 0o644); err != nil {
				b.Fatal(err)
			}
		}
		timeout := time.After(30 * time.Second)
		for len(written) > 0 {
			select {
			case batch := <-batches:
				now := time.Now()
				for _, e := range batch.Events {
					if t0, ok := written[e.Path]; ok {
						lat = append(lat, now.Sub(t0))
						delete(written, e.Path)
					}
				}
			case <-timeout:
				b.Fatalf("%d files never reported", len(written))
			}
		}
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2])/float64(time.Millisecond), "p50-ms")
	b.ReportMetric(float64(lat[int(float64(len(lat)-1)*0.95)])/float64(time.Millisecond), "p95-ms")
}
