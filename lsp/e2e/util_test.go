package e2e

import (
	"net/http"
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
