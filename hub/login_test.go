package hub

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func TestLoginLinkNeedsAPostFromTheHubsOwnPage(t *testing.T) {
	srv, code := newTestServer(t)
	tests := []struct {
		name       string
		method     string
		origin     string
		wantStatus int
		wantCookie bool
	}{
		{"opening the link only shows a button", http.MethodGet, "", 200, false},
		{"cross-site form post", http.MethodPost, "http://evil.example", 403, false},
		{"post without origin", http.MethodPost, "", 403, false},
		{"post from the hub's page", http.MethodPost, "http://hub.test", 303, true},
		{"the code works once", http.MethodPost, "http://hub.test", 401, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r *http.Request
			if tt.method == http.MethodGet {
				r = httptest.NewRequest(http.MethodGet, "http://hub.test/login?code="+url.QueryEscape(code), nil)
			} else {
				r = httptest.NewRequest(http.MethodPost, "http://hub.test/login", strings.NewReader("code="+url.QueryEscape(code)))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			if tt.origin != "" {
				r.Header.Set("Origin", tt.origin)
			}
			w := httptest.NewRecorder()
			srv.httpSrv.Handler.ServeHTTP(w, r)
			if w.Code != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.wantStatus, w.Body)
			}
			gotCookie := strings.Contains(w.Header().Get("Set-Cookie"), sessionCookie+"=")
			if gotCookie != tt.wantCookie {
				t.Fatalf("session cookie set = %v, want %v", gotCookie, tt.wantCookie)
			}
			if gotCookie && !strings.Contains(w.Header().Get("Set-Cookie"), "HttpOnly") {
				t.Fatal("session cookie is not HttpOnly")
			}
		})
	}
}
