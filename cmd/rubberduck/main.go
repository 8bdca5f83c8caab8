// Command rubberduck is the RubberDuck hub, its editor proxy and its CLI in
// one binary: `rubberduck serve` runs the hub, `rubberduck lsp` is started by
// an editor over stdio, and the other commands ask a running hub questions.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "rubberduck:", err)
		os.Exit(1)
	}
}
