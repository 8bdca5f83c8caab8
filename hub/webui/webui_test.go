package webui_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/hub/webui"
)

var built = fstest.MapFS{
	".keep":                                  {},
	"index.html":                             {Data: []byte("<!doctype html><title>RubberDuck</title>")},
	"app.js":                                 {Data: []byte("console.log(1)")},
	"style.css":                              {Data: []byte("body{}")},
	"monaco-1.0.0/vs/loader.js":              {Data: []byte("define()")},
	"monaco-1.0.0/vs/editor/editor.main.css": {Data: []byte(".monaco{}")},
}

var unbuilt = fstest.MapFS{".keep": {}}

func TestHandlerServesTheAppAndItsFiles(t *testing.T) {
	tests := []struct {
		name      string
		files     fstest.MapFS
		path      string
		status    int
		ctype     string
		cache     string
		body      string
		wantCSP   bool
		notInBody string
	}{
		{"the page", built, "/", 200, "text/html", "no-cache", "<title>RubberDuck</title>", true, ""},
		{"our script is always revalidated", built, "/static/app.js", 200, "javascript", "no-cache", "console.log", false, ""},
		{"our style sheet", built, "/static/style.css", 200, "text/css", "no-cache", "body{}", false, ""},
		{"Monaco's files are cached for good: their path names the version", built, "/static/monaco-1.0.0/vs/loader.js", 200, "javascript", "immutable", "define()", false, ""},
		{"Monaco's css", built, "/static/monaco-1.0.0/vs/editor/editor.main.css", 200, "text/css", "immutable", ".monaco{}", false, ""},
		{"no directory listings", built, "/static/monaco-1.0.0/vs/", 404, "", "", "", false, "loader.js"},
		{"no directory listings without slash", built, "/static/monaco-1.0.0/vs", 404, "", "", "", false, "loader.js"},
		{"unknown file", built, "/static/nope.js", 404, "", "", "", false, ""},
		{"other paths", built, "/elsewhere", 404, "", "", "", false, ""},
		{"not built: the page says how to build", unbuilt, "/", 200, "text/html", "no-store", "make web", true, ""},
		{"not built: no files", unbuilt, "/static/app.js", 404, "", "", "", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			webui.New(tt.files).ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if !strings.Contains(w.Header().Get("Content-Type"), tt.ctype) {
				t.Errorf("Content-Type = %q, want %q", w.Header().Get("Content-Type"), tt.ctype)
			}
			if !strings.Contains(w.Header().Get("Cache-Control"), tt.cache) {
				t.Errorf("Cache-Control = %q, want %q", w.Header().Get("Cache-Control"), tt.cache)
			}
			if !strings.Contains(w.Body.String(), tt.body) {
				t.Errorf("body %q does not contain %q", w.Body, tt.body)
			}
			if tt.notInBody != "" && strings.Contains(w.Body.String(), tt.notInBody) {
				t.Errorf("body %q contains %q", w.Body, tt.notInBody)
			}
			if got := w.Header().Get("Content-Security-Policy") != ""; got != tt.wantCSP {
				t.Errorf("CSP set = %v, want %v", got, tt.wantCSP)
			}
			if w.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("no X-Content-Type-Options: nosniff")
			}
		})
	}
}

func TestETagRevalidation(t *testing.T) {
	h := webui.New(built)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/static/app.js", nil))
	etag := w.Header().Get("ETag")
	if etag == "" {
		t.Fatal("no ETag")
	}
	r := httptest.NewRequest(http.MethodGet, "/static/app.js", nil)
	r.Header.Set("If-None-Match", etag)
	w = httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusNotModified {
		t.Fatalf("status = %d, want 304", w.Code)
	}
}

func TestCSPAllowsNoEval(t *testing.T) {
	csp := webui.ContentSecurityPolicy
	for _, want := range []string{"script-src 'self'", "worker-src blob:", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows eval", csp)
	}
}

// The embedded files are either the built editor or only .keep; both serve.
func TestEmbeddedDist(t *testing.T) {
	h := webui.New(webui.Dist())
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if w.Code != 200 {
		t.Fatalf("status = %d", w.Code)
	}
	if h.Built() != !strings.Contains(w.Body.String(), "make web") {
		t.Fatalf("built = %v but the page is %s", h.Built(), w.Body)
	}
	if !h.Built() {
		return
	}
	// build.mjs put Monaco's version into the page's paths.
	loader := regexp.MustCompile(`/static/monaco-[0-9A-Za-z.+-]+/vs/loader\.js`).FindString(w.Body.String())
	if loader == "" {
		t.Fatalf("the page loads no versioned Monaco:\n%s", w.Body)
	}
	w = httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, loader, nil))
	if w.Code != 200 || !strings.Contains(w.Header().Get("Cache-Control"), "immutable") {
		t.Fatalf("%s: status = %d, Cache-Control %q", loader, w.Code, w.Header().Get("Cache-Control"))
	}
}

func TestSignInPageLeaksNothing(t *testing.T) {
	w := httptest.NewRecorder()
	webui.SignInPage(w, httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(w.Body.String(), "rubberduck serve") || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("sign-in page: %s %v", w.Body, w.Header())
	}
}

// The hub serves the editor at "/": a browser without a session is told
// how to sign in (only when the editor is built: otherwise how to build it).
func TestHubServesTheEditor(t *testing.T) {
	h := hubtest.Start(t)
	built := webui.New(webui.Dist()).Built()
	tests := []struct {
		name   string
		path   string
		cookie bool
		status int
		want   string
	}{
		{"no session: how to sign in", "/", false, 200, "rubberduck serve"},
		{"a session cookie: the editor", "/", true, 200, "/static/app.js"},
		{"the editor's files need no session", "/static/app.js", false, 200, "rubberduck"},
		{"anything else", "/nope", true, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !built && tt.status == 200 {
				tt.want = "make web" // the page says how to build the editor
				if tt.path != "/" {
					tt.status, tt.want = 404, ""
				}
			}
			req, err := http.NewRequest(http.MethodGet, h.URL()+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tt.cookie {
				req.AddCookie(&http.Cookie{Name: "rubberduck_session", Value: "whatever"})
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.status || !strings.Contains(string(body), tt.want) {
				t.Fatalf("GET %s: %d, want %d with %q:\n%s", tt.path, resp.StatusCode, tt.status, tt.want, body)
			}
		})
	}
}
