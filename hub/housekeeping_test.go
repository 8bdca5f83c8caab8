package hub

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/sandbox"
)

func TestTrashOlderThanRetentionIsPurged(t *testing.T) {
	tests := []struct {
		name      string
		retention time.Duration
		wantLeft  int
	}{
		{"kept within retention", time.Hour, 1},
		{"purged after retention", time.Nanosecond, 0},
		{"kept forever when negative", -1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _ := newTestServer(t)
			srv.cfg.TrashRetention = tt.retention
			ctx := sandbox.WithActor(context.Background(), "test")
			root, err := srv.workspaces.root(ctx, "demo")
			if err != nil {
				t.Fatal(err)
			}
			p, _ := srv.deps.Projects.Get(ctx, "demo")
			if err := os.WriteFile(filepath.Join(p.Root, "old.txt"), []byte("x"), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := root.Delete(ctx, "old.txt"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Millisecond)
			srv.purgeTrash(ctx)
			left, err := root.ListTrash(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(left) != tt.wantLeft {
				t.Fatalf("%d entries left in the trash, want %d", len(left), tt.wantLeft)
			}
		})
	}
}
