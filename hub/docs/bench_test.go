package docs_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/docs"
	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// BenchmarkMemoryPerDocument reports the hub's heap per open document (a
// 4 KB source file with one replica subscriber) and per thin-client
// subscription on it (an lsp/sync Buffer holding the editor's text).
func BenchmarkMemoryPerDocument(b *testing.B) {
	const n = 200
	ctx := context.Background()
	root, err := sandbox.Open(b.TempDir(), sandbox.DefaultPolicy(), sandbox.Options{NoSync: true})
	if err != nil {
		b.Fatal(err)
	}
	defer root.Close()
	line := "\tfmt.Println(\"hello, world\", i, j, k) // a typical line of code\n"
	text := strings.Repeat(line, 4096/len(line))
	for i := range n {
		if _, err := root.Write(ctx, sandbox.WriteRequest{Path: fmt.Sprintf("f%d.go", i), Data: []byte(text)}); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		m := docs.NewManager(docs.Options{
			Store:       store.NewMemory(),
			Files:       func(context.Context, string) (docs.Files, error) { return root, nil },
			IdleTimeout: time.Hour,
		})
		before := heap()
		for i := range n {
			ref := protocol.DocRef{Project: "p", Path: fmt.Sprintf("f%d.go", i)}
			if _, err := m.Sync(ctx, nopConn{}, ref, "me", nil); err != nil {
				b.Fatal(err)
			}
		}
		mid := heap()
		for i := range n {
			ref := protocol.DocRef{Project: "p", Path: fmt.Sprintf("f%d.go", i)}
			if err := m.Open(ctx, &thinConn{}, ref, protocol.DocURI(ref), "me", protocol.EncodingUTF16, false, 1, strings.Clone(text)); err != nil {
				b.Fatal(err)
			}
		}
		after := heap()
		b.ReportMetric(float64(mid-before)/n, "B/doc")
		b.ReportMetric(float64(after-mid)/n, "B/thin-sub")
		_ = m.Close()
	}
}

// thinConn is a distinct connection per subscription.
type thinConn struct{ nopConn }
