package watch_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rubberduckhub/rubberduck/sandbox/cache"
	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

// How the hub wires watching and caching: one Cache and one Manager per
// hub; per project, the Observer and the cache partition go to
// sandbox.Open (Options.Observer, Options.Cache); per connection joining a
// project, Acquire + Subscribe, and Release + unsubscribe when it leaves.
func ExampleManager() {
	reg := prometheus.NewRegistry()
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	files, _ := cache.New(cache.Options{Registerer: reg})
	mgr, _ := watch.NewManager(watch.ManagerOptions{
		Config:     watch.Config{Ignore: []string{"node_modules/"}},
		Cache:      files, // every reported change invalidates the cache
		Registerer: reg,
		Logger:     logger,
	})
	defer mgr.Close()

	// When the project is opened (sandbox.Open options):
	_ = mgr.Observer("demo")  // Options.Observer
	_ = files.Project("demo") // Options.Cache
	dir, _ := os.MkdirTemp("", "demo")
	defer os.RemoveAll(dir)

	// When a connection joins the project:
	ctx := context.Background()
	if err := mgr.Acquire(ctx, watch.Project{Name: "demo", Dir: dir}); err != nil {
		logger.Warn("project not watched", "err", err) // the join can still go ahead
	}
	unsubscribe := mgr.Subscribe("demo", func(b watch.Batch) {
		// Send $/rubberduck/files/changed with b as params (it is already
		// in wire form) on this connection's outgoing queue.
		_, _ = json.Marshal(b)
	})

	// When it leaves:
	unsubscribe()
	mgr.Release("demo")

	// /readyz details:
	_ = mgr.Health()
}
