package hub_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// percentiles reports p50 and p99 of ds in milliseconds.
func percentiles(b *testing.B, ds []time.Duration) {
	if len(ds) == 0 {
		return
	}
	slices.Sort(ds)
	p := func(q float64) float64 {
		return float64(ds[min(len(ds)-1, int(q*float64(len(ds))))].Microseconds()) / 1000
	}
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// BenchmarkKeystrokeFanout50 measures one keystroke from one person to the
// 49 other clients of a document (replica clients: the proxy path; thin
// clients: the hub runs lsp/sync and sends applyEdit).
func BenchmarkKeystrokeFanout50(b *testing.B) {
	for _, kind := range []string{"replica", "thin"} {
		b.Run(kind, func(b *testing.B) {
			h := hubtest.Start(b)
			writeProjectFile(b, h, "k.txt", "x\n")
			ref := protocol.DocRef{Project: h.Project, Path: "k.txt"}
			arrived := make(chan time.Time, 4096)
			signal := func() { arrived <- time.Now() }
			writer := newReplica(b, h, h.Token)
			writer.sync(ref)
			for range 49 {
				if kind == "replica" {
					r := newReplica(b, h, h.Token)
					r.sync(ref)
					r.onUpdate = signal
				} else {
					tc := newThin(b, h, h.Token, protocol.EncodingUTF16)
					tc.open(h.Project, "k.txt", "")
					time.Sleep(2 * time.Millisecond)
					tc.mu.Lock()
					tc.onEdit = signal
					tc.mu.Unlock()
				}
			}
			time.Sleep(200 * time.Millisecond) // opening edits settle
			for len(arrived) > 0 {
				<-arrived
			}
			var lat []time.Duration
			b.ResetTimer()
			for range b.N {
				t0 := time.Now()
				writer.edit(0, 0, "k")
				for range 49 {
					select {
					case at := <-arrived:
						lat = append(lat, at.Sub(t0))
					case <-time.After(10 * time.Second):
						b.Fatal("keystroke did not reach every client")
					}
				}
			}
			b.StopTimer()
			percentiles(b, lat)
		})
	}
}

// BenchmarkFanout500Rooms: 500 projects (rooms), each with one document and
// 3 replica clients, one of them typing; 350 updates a second in total.
// Reports the latency from sending an update to its arrival at the two
// other clients of its room.
func BenchmarkFanout500Rooms(b *testing.B) {
	const rooms, rate = 500, 350
	h := hubtest.Start(b)
	owner := h.Connect(b)
	base := b.TempDir()
	type room struct {
		mu    sync.Mutex
		sent  []time.Time
		count [2]int
	}
	rs := make([]*room, rooms)
	writers := make([]*replicaClient, rooms)
	var latMu sync.Mutex
	var lat []time.Duration
	dial := func(project string) *replicaClient {
		rc := &replicaClient{t: b, doc: crdt.New(crdt.NewReplicaID())}
		rc.c = h.DialWith(b, hubtest.Auth(h.Token), wsrpc.HandlerFunc(rc.handle))
		initialize(b, rc.c, project, "")
		return rc
	}
	for i := range rooms {
		name := fmt.Sprintf("room%03d", i)
		dir := filepath.Join(base, name)
		if err := os.Mkdir(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "f.txt"), nil, 0o644); err != nil {
			b.Fatal(err)
		}
		if err := owner.Call(context.Background(), protocol.MethodProjectAdd, protocol.ProjectAddParams{Name: name, Root: dir}, nil); err != nil {
			b.Fatal(err)
		}
		ref := protocol.DocRef{Project: name, Path: "f.txt"}
		rm := &room{}
		rs[i] = rm
		writers[i] = dial(name)
		writers[i].sync(ref)
		for k := range 2 {
			r := dial(name)
			r.sync(ref)
			r.onUpdate = func() {
				now := time.Now()
				rm.mu.Lock()
				n := rm.count[k]
				rm.count[k]++
				var d time.Duration
				if n < len(rm.sent) {
					d = now.Sub(rm.sent[n])
				}
				rm.mu.Unlock()
				latMu.Lock()
				lat = append(lat, d)
				latMu.Unlock()
			}
		}
	}
	// Let the opening exchanges settle, then start counting from zero.
	time.Sleep(time.Second)
	for _, rm := range rs {
		rm.mu.Lock()
		rm.count = [2]int{}
		rm.mu.Unlock()
	}
	latMu.Lock()
	lat = lat[:0]
	latMu.Unlock()
	tick := time.NewTicker(time.Second / rate)
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		rm := rs[i%rooms]
		rm.mu.Lock()
		rm.sent = append(rm.sent, time.Now())
		rm.mu.Unlock()
		writers[i%rooms].edit(0, 0, "z")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		latMu.Lock()
		n := len(lat)
		latMu.Unlock()
		if n >= 2*b.N || time.Now().After(deadline) {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	b.StopTimer()
	latMu.Lock()
	percentiles(b, lat)
	latMu.Unlock()
}
