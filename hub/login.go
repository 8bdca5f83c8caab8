package hub

import (
	"html/template"
	"net/http"

	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
	"github.com/rubberduckhub/rubberduck/hub/webui"
)

// loginPage shows a sign-in button for a login link. Opening the link does
// not use the code up: chat and mail clients fetch links to preview them,
// and a GET that signed in would let any page log a browser in as someone
// else. The code is redeemed by the POST that the button sends.
//
// The page's Referrer-Policy is same-origin, not no-referrer: under
// no-referrer browsers send "Origin: null" with the form's POST, which the
// login's same-origin check refuses; same-origin still keeps the code out
// of every request to another site.
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = loginForm.Execute(w, r.URL.Query().Get("code"))
}

// login redeems a single-use login code for a browser session cookie and
// sends the browser on to the hub's page. The code is useless afterwards,
// so a link that leaks through history or a proxy log opens nothing.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Cache-Control", "no-store")
	if r.Header.Get("Origin") == "" || !s.checkOrigin(r) {
		// Browsers send Origin on form POSTs; a cross-site form must not
		// be able to sign this browser in to someone else's account.
		http.Error(w, "forbidden: cross-origin login", http.StatusForbidden)
		return
	}
	secret, sess, err := s.deps.Auth.RedeemLoginCode(r.Context(), ratelimit.AddrKey(s.addrs.of(r)), r.PostFormValue("code"))
	if err != nil {
		s.metrics.upgrades.WithLabelValues("login").Inc()
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		_ = page.Execute(w, pageData{Title: "Login link not valid",
			Body: "This login link was already used or has expired. Links work once, for ten minutes. " +
				"Get a new one with `rubberduck login` (with your API token), or ask the hub's owner."})
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     sessionCookie,
		Value:    secret,
		Path:     "/",
		Expires:  sess.Expires,
		HttpOnly: true,
		Secure:   s.addrs.secure(r),
		SameSite: http.SameSiteStrictMode,
	})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// index serves the browser editor at "/". A browser without a session
// cookie is told how to get one instead; whether the cookie is still valid
// is checked by the WebSocket upgrade, which is what the page opens. A hub
// built without `make web` says how to build the editor.
func (s *Server) index(web *webui.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && web.Built() {
			if _, err := r.Cookie(sessionCookie); err != nil {
				webui.SignInPage(w, r)
				return
			}
		}
		web.ServeHTTP(w, r)
	})
}

type pageData struct{ Title, Body string }

var page = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}</style>
</head><body><h1>{{.Title}}</h1><p>{{.Body}}</p></body></html>
`))

var loginForm = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in to RubberDuck</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#222}
button{font:inherit;padding:.5rem 1.5rem}</style>
</head><body><h1>Sign in to RubberDuck</h1>
<form method="post" action="/login"><input type="hidden" name="code" value="{{.}}">
<button type="submit">Sign in</button></form>
<p>This link works once and expires ten minutes after the hub printed it.</p></body></html>
`))
