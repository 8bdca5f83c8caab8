package docs_test

import (
	"context"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/hub/docs"
	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

// nopConn is a replica connection that discards what it is sent.
type nopConn struct{}

func (nopConn) Notify(string, any) error                     { return nil }
func (nopConn) NotifyRaw([]byte) error                       { return nil }
func (nopConn) Call(context.Context, string, any, any) error { return nil }

func openRoot(t *testing.T) *sandbox.Root {
	t.Helper()
	r, err := sandbox.Open(t.TempDir(), sandbox.DefaultPolicy(), sandbox.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close() })
	return r
}

func newManager(st store.Store, root *sandbox.Root, idle time.Duration, snapEvery int) *docs.Manager {
	return docs.NewManager(docs.Options{
		Store:         st,
		Files:         func(context.Context, string) (docs.Files, error) { return root, nil },
		IdleTimeout:   idle,
		SnapshotEvery: snapEvery,
	})
}

// TestLoggedBeforeFannedOut: an update is in the store as soon as Update
// returns, so a hub killed right after (no Close, no snapshot) loses
// nothing when the next one opens the same store.
func TestLoggedBeforeFannedOut(t *testing.T) {
	ctx := context.Background()
	for _, snapEvery := range []int{1, 7, 500} {
		st := store.NewMemory()
		root := openRoot(t)
		m := newManager(st, root, time.Hour, snapEvery)
		ref := protocol.DocRef{Project: "p", Path: "a.txt"}
		c := nopConn{}
		if _, err := m.Sync(ctx, c, ref, "me", nil); err != nil {
			t.Fatal(err)
		}
		replica := crdt.New(crdt.NewReplicaID())
		for i := range 40 {
			u, _ := replica.Insert("me", replica.Len(), string(rune('a'+i%26)))
			if err := m.Update(ctx, c, ref, u); err != nil {
				t.Fatal(err)
			}
		}
		// "kill -9": m is abandoned without Close.
		m2 := newManager(st, root, time.Hour, snapEvery)
		got, err := m2.Read(ctx, ref)
		if err != nil || got != replica.Text() {
			t.Fatalf("snapEvery=%d: after crash %q (%v), want %q", snapEvery, got, err, replica.Text())
		}
		_ = m2.Close()
	}
}

func TestIdleDocumentsCloseWithASnapshot(t *testing.T) {
	ctx := context.Background()
	st := store.NewMemory()
	root := openRoot(t)
	m := newManager(st, root, 20*time.Millisecond, 500)
	defer m.Close()
	ref := protocol.DocRef{Project: "p", Path: "b.txt"}
	c := nopConn{}
	if _, err := m.Sync(ctx, c, ref, "me", nil); err != nil {
		t.Fatal(err)
	}
	replica := crdt.New(crdt.NewReplicaID())
	u, _ := replica.Insert("me", 0, "kept")
	if err := m.Update(ctx, c, ref, u); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if m.OpenCount() != 1 {
		t.Fatal("a subscribed document was closed")
	}
	m.Unsubscribe(c, ref)
	deadline := time.Now().Add(5 * time.Second)
	for m.OpenCount() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("idle document not closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if got, _ := m.Read(ctx, ref); got != "kept" {
		t.Fatalf("reopened %q", got)
	}
}

func TestDiskChangeRebasesOverUnsavedEdits(t *testing.T) {
	ctx := context.Background()
	root := openRoot(t)
	if _, err := root.Write(ctx, sandbox.WriteRequest{Path: "c.txt", Data: []byte("one\ntwo\nthree\n")}); err != nil {
		t.Fatal(err)
	}
	m := newManager(store.NewMemory(), root, time.Hour, 500)
	defer m.Close()
	ref := protocol.DocRef{Project: "p", Path: "c.txt"}
	c := nopConn{}
	res, err := m.Sync(ctx, c, ref, "me", nil)
	if err != nil {
		t.Fatal(err)
	}
	replica := crdt.New(crdt.NewReplicaID())
	if _, err := replica.Apply(res.Update); err != nil {
		t.Fatal(err)
	}
	u, _ := replica.Insert("me", replica.Len(), "four\n") // unsaved
	if err := m.Update(ctx, c, ref, u); err != nil {
		t.Fatal(err)
	}
	if err := m.DiskChanged(ctx, ref, []byte("ONE\ntwo\nthree\n")); err != nil {
		t.Fatal(err)
	}
	if got, _ := m.Read(ctx, ref); got != "ONE\ntwo\nthree\nfour\n" {
		t.Fatalf("got %q", got)
	}
}
