//go:build linux || darwin || freebsd

package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rubberduckhub/rubberduck/sandbox"
)

// Example shows what a hub handler does: open the project once, put the
// caller in the context, call an operation, and map errors by Code.
func Example() {
	data, _ := os.MkdirTemp("", "example")
	defer os.RemoveAll(data)
	dir := filepath.Join(data, "projects", "demo")
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "main.go"), []byte("package main\n"), 0o644)

	root, err := sandbox.Open(dir, sandbox.DefaultPolicy(), sandbox.Options{
		Project:  "demo",
		TrashDir: filepath.Join(data, "trash", "demo"),
		// Auditor: auditLog.Sandbox(), Observer: watchers.Observer("demo"),
		// Cache: contentCache.Project("demo"), Registerer: registry,
	})
	if err != nil {
		panic(err)
	}
	defer root.Close()
	ctx := sandbox.WithActor(context.Background(), "alice")

	f, _ := root.Read(ctx, "main.go")
	fmt.Printf("%s %q %s\n", f.Path, f.Content, f.Encoding)

	// A save carries the etag of what the editor read.
	res, _ := root.Write(ctx, sandbox.WriteRequest{Path: "main.go", Content: "package main\n\nfunc main() {}\n", Etag: f.Etag})
	_, err = root.Write(ctx, sandbox.WriteRequest{Path: "main.go", Content: "stale", Etag: f.Etag})
	fmt.Println(res.Size, sandbox.CodeOf(err), sandbox.CodeOf(err).RPCCode())

	_, err = root.Read(ctx, "../../../etc/passwd")
	fmt.Println(err)

	root.Search(ctx, sandbox.SearchQuery{Pattern: "func main"}, func(r sandbox.SearchResult) error {
		fmt.Printf("%s:%d:%d: %s\n", r.Path, r.Line, r.Column, r.Text)
		return nil
	})
	// Output:
	// main.go "package main\n" utf-8
	// 29 conflict -32015
	// read: invalid_path: path leads outside the project
	// main.go:3:1: func main() {}
}
