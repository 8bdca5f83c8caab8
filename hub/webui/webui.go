// Package webui serves RubberDuck's browser editor, the fallback that needs
// nothing installed: a page with Monaco that speaks the same WebSocket
// JSON-RPC as every other client (docs/protocol.md). The files are built
// from extensions/web by `make web` into dist/ and embedded in the binary,
// so a hub is one file to copy. A binary built without `make web` still
// works; its page says how to build the editor.
package webui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"
)

//go:embed all:dist
var embedded embed.FS

// Dist is the built editor embedded in the binary (only .keep when it was
// not built); New serves it in the hub, tests pass their own.
func Dist() fs.FS {
	sub, err := fs.Sub(embedded, "dist")
	if err != nil {
		panic(err) // "dist" is a valid constant path; Sub cannot fail
	}
	return sub
}

// ContentSecurityPolicy is as strict as Monaco allows: scripts only from the
// hub, workers from the blob: URLs Monaco's prebuilt files create (which
// load their code from the hub again), inline styles because Monaco sets
// style attributes on the elements it draws, and WebSockets only to the hub
// itself. No eval.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; worker-src blob:; " +
	"style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; " +
	"connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// Handler serves the editor: "/" is the page, "/static/..." its files.
type Handler struct {
	files fs.FS
	built bool

	mu    sync.Mutex
	etags map[string]string
}

// New serves files, laid out as build.mjs writes dist/: index.html, app.js,
// style.css and Monaco's monaco-<version>/vs folder.
func New(files fs.FS) *Handler {
	_, err := fs.Stat(files, "index.html")
	return &Handler{files: files, built: err == nil, etags: map[string]string{}}
}

// Built reports whether the editor was built into the files served.
func (h *Handler) Built() bool { return h.built }

// ServeHTTP answers GET and HEAD for the page and its files.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Referrer-Policy", "no-referrer")
	switch {
	case r.URL.Path == "/":
		w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
		if !h.built {
			w.Header().Set("Cache-Control", "no-store")
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_ = notBuilt.Execute(w, nil)
			return
		}
		h.serveFile(w, r, "index.html")
	case strings.HasPrefix(r.URL.Path, "/static/"):
		name := strings.TrimPrefix(r.URL.Path, "/static/")
		if name == "index.html" || !fs.ValidPath(name) || path.Clean(name) != name {
			http.NotFound(w, r)
			return
		}
		h.serveFile(w, r, name)
	default:
		http.NotFound(w, r)
	}
}

func (h *Handler) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	data, err := fs.ReadFile(h.files, name)
	if err != nil {
		http.NotFound(w, r) // missing, or a directory: no listings
		return
	}
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ctype)
	// Monaco's files are under a path that names its version
	// (monaco-<version>/vs, see extensions/web/build.mjs): they never change
	// at that path. Our own files may change with any build: the browser
	// always asks, and the ETag makes asking cheap.
	if strings.HasPrefix(name, "monaco-") {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("ETag", h.etag(name, data))
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}

func (h *Handler) etag(name string, data []byte) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.etags[name]; ok {
		return e
	}
	sum := sha256.Sum256(data)
	e := `"` + hex.EncodeToString(sum[:12]) + `"`
	h.etags[name] = e
	return e
}

// SignInPage is what "/" shows a browser without a session: how to get one.
// It names no project, person or path.
func SignInPage(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", ContentSecurityPolicy)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_ = signIn.Execute(w, nil)
}

const pageHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>RubberDuck</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
code{background:#f2f2f2;padding:0 .2em}</style></head><body>`

var notBuilt = template.Must(template.New("notbuilt").Parse(pageHead + `
<h1>RubberDuck hub</h1>
<p>The hub is running, but the browser editor was not built into it: run
<code>make web</code> (then <code>make build</code>) and restart the hub.</p>
<p>Editors connect with <code>rubberduck lsp</code> meanwhile.</p></body></html>
`))

var signIn = template.Must(template.New("signin").Parse(pageHead + `
<h1>Sign in to RubberDuck</h1>
<p>Open a single-use login link in this browser: the one
<code>rubberduck serve</code> prints when it starts
(<code>Browser: http://…/login?code=…</code>), or your own from
<code>rubberduck login</code> with your API token. Links work once, for ten
minutes.</p>
<p>Editors connect with <code>rubberduck lsp</code> and an API token instead.</p></body></html>
`))
