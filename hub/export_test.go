package hub

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// newTestServer opens a hub (not serving) and returns it with a fresh
// login code, for tests of HTTP handlers.
func newTestServer(t *testing.T) (*Server, string) {
	t.Helper()
	dir := t.TempDir()
	proj := filepath.Join(dir, "demo")
	_ = os.Mkdir(proj, 0o755)
	srv, start, err := Open(context.Background(), Config{
		Addr: "127.0.0.1:0", DataDir: filepath.Join(dir, "data"),
		Projects: []ProjectSpec{{Name: "demo", Path: proj}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	_, code, _ := strings.Cut(start.LoginURL, "code=")
	return srv, code
}
