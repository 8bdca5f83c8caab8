package e2e

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
)

func authHeader(token string) http.Header {
	return http.Header{"Authorization": {"Bearer " + token}}
}

// testHub is what the tests need of a running hub.
type testHub struct {
	URL, Token, Project, Dir string
	read                     func(t testing.TB, path string) string
}

// writeFile writes a project file for a test.
func writeFile(t testing.TB, dir, path, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, path), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
