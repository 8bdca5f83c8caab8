package hub

import (
	"html/template"
	"net/http"

	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
)

// login redeems a single-use login code for a browser session cookie and
// sends the browser on to the hub's page. The code is useless afterwards,
// so a link that leaks through history or a proxy log opens nothing.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	code := r.URL.Query().Get("code")
	secret, sess, err := s.deps.Auth.RedeemLoginCode(r.Context(), ratelimit.AddrKey(r.RemoteAddr), code)
	if err != nil {
		s.metrics.upgrades.WithLabelValues("login").Inc()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_ = page.Execute(w, pageData{Title: "Login link not valid",
			Body: "This login link was already used or has expired. Links work once, for ten minutes. " +
				"Restart the hub or ask its owner for a new one."})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    secret,
		Path:     "/",
		Expires:  sess.Expires,
		HttpOnly: true,
		Secure:   r.TLS != nil,
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// index is the hub's landing page.
func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = page.Execute(w, pageData{Title: "RubberDuck hub",
		Body: "The hub is running (version " + s.cfg.Version + "). Connect an editor with " +
			"`rubberduck lsp`; the browser editor is on its way."})
}

type pageData struct{ Title, Body string }

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Body}}</p></body></html>
`))
