package hub

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
	"github.com/rubberduckhub/rubberduck/hub/webui"
)

// sessionCookie carries a browser session secret, never an API token: a
// cookie holding anything else is ignored, so a token planted in a cookie
// (or a session from an older scheme) opens nothing.
const sessionCookie = "rubberduck_session"

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.metrics.registry, promhttp.HandlerOpts{
		ErrorLog: slogPrinter{s.log},
	}))
	mux.HandleFunc("GET /lsp", s.serveLSP)
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	web := webui.New(webui.Dist())
	mux.Handle("GET /static/", web)
	mux.Handle("GET /", s.index(web))
	return mux
}

// healthz says the process is alive; orchestrators restart it when not.
func (s *Server) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.cfg.Version})
}

// readyz says whether the hub can serve: listening, not shutting down, and
// its store answering. Details list each check so an operator sees which
// one failed.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	checks := map[string]string{}
	ok := true
	if s.ready.Load() {
		checks["serving"] = "ok"
	} else {
		checks["serving"] = "shutting down"
		ok = false
	}
	if _, err := s.deps.Store.Get(r.Context(), []byte("meta/schema")); err != nil {
		checks["store"] = "unavailable"
		ok = false
	} else {
		checks["store"] = "ok"
	}
	// A degraded watcher does not make the hub unready (editing still
	// works), but it is visible here and in rubberduck_watch_* metrics.
	watches := s.deps.Watch.Health()
	checks["watchers"] = "ok"
	if !watches.Healthy {
		checks["watchers"] = "degraded"
	}
	status := http.StatusOK
	if !ok {
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]any{"ready": ok, "checks": checks, "watch": watches})
}

// serveLSP authenticates the upgrade, checks the Origin of browser
// requests, upgrades, and serves the connection until it ends.
func (s *Server) serveLSP(w http.ResponseWriter, r *http.Request) {
	originOK := s.checkOrigin(r)
	if !originOK {
		s.metrics.upgrades.WithLabelValues("origin").Inc()
		http.Error(w, "forbidden: cross-origin WebSocket upgrade", http.StatusForbidden)
		return
	}
	cred := bearer(r)
	if cred == "" && r.Header.Get("Origin") != "" {
		// Browsers cannot set Authorization on a WebSocket; they carry a
		// session cookie, accepted only together with a same-origin check.
		if c, err := r.Cookie(sessionCookie); err == nil && strings.HasPrefix(c.Value, auth.SessionPrefix) {
			cred = c.Value
		}
	}
	if cred == "" {
		s.metrics.upgrades.WithLabelValues("unauthorized").Inc()
		w.Header().Set("WWW-Authenticate", `Bearer realm="rubberduck"`)
		http.Error(w, "unauthorized: send Authorization: Bearer <token>", http.StatusUnauthorized)
		return
	}
	ident, err := s.deps.Auth.Authenticate(r.Context(), ratelimit.AddrKey(s.addrs.of(r)), cred)
	if err != nil {
		var retry *ratelimit.RetryError
		if errors.As(err, &retry) {
			s.metrics.upgrades.WithLabelValues("rate_limited").Inc()
			w.Header().Set("Retry-After", strconv.Itoa(int(retry.RetryAfter.Seconds())+1))
			http.Error(w, "too many failed attempts: try again later", http.StatusTooManyRequests)
			return
		}
		s.metrics.upgrades.WithLabelValues("unauthorized").Inc()
		if !errors.Is(err, auth.ErrUnauthenticated) {
			s.log.Error("authenticate", "err", err)
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="rubberduck", error="invalid_token"`)
		http.Error(w, "unauthorized: invalid, expired or revoked credential", http.StatusUnauthorized)
		return
	}
	ws, err := s.upgrader.Upgrade(w, r, nil)
	if err != nil {
		return // the upgrader has answered the client
	}
	s.serveSession(r.Context(), ws, ident, s.addrs.of(r))
}

// checkOrigin accepts requests without an Origin (editors, the CLI) and
// browser requests from the hub's own origin or a configured one. A hub
// without this check lets any web page the user visits drive it.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	for _, allowed := range s.cfg.AllowedOrigins {
		if strings.EqualFold(strings.TrimRight(allowed, "/"), origin) {
			return true
		}
	}
	return false
}

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	const p = "Bearer "
	if len(h) > len(p) && strings.EqualFold(h[:len(p)], p) {
		return strings.TrimSpace(h[len(p):])
	}
	return ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
