package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/conc"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rubberduckhub/rubberduck/hub/ai"
	"github.com/rubberduckhub/rubberduck/hub/ai/complete"
	"github.com/rubberduckhub/rubberduck/hub/audit"
	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/docs"
	"github.com/rubberduckhub/rubberduck/hub/intel"
	"github.com/rubberduckhub/rubberduck/hub/presence"
	"github.com/rubberduckhub/rubberduck/hub/project"
	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/sandbox"
	"github.com/rubberduckhub/rubberduck/sandbox/cache"
	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

// Deps are the packages the hub delegates to. Open builds the default set
// from a data directory; tests may build their own.
type Deps struct {
	Store    store.Store
	Auth     *auth.Service
	Projects *project.Manager
	Audit    *audit.Log
	Limits   *ratelimit.Limiter
	// Watch runs the projects' file watchers; Files caches file content.
	Watch *watch.Manager
	Files *cache.Cache
	// Registry collects every package's metrics for /metrics.
	Registry *prometheus.Registry
	// AI is the shared conversation and proposals engine, Completion the
	// inline completion engine (aiadapters.go); nil: AI requests are
	// answered as unavailable.
	AI         *ai.Engine
	Completion *complete.Engine
	// aiLink connects AI to the Server that New makes from these Deps
	// (newAI builds both); engines built elsewhere have none.
	aiLink *aiLink
}

// Server is one running hub.
type Server struct {
	cfg     Config
	log     *slog.Logger
	deps    Deps
	metrics *metrics
	rooms   *rooms
	// workspaces holds each project's sandbox
	workspaces *workspaces
	watches    *projectWatches
	methods    map[string]method
	upgrader   websocket.Upgrader

	// docs holds the open documents (hub/docs); presence who is where.
	docs     *docs.Manager
	presence *presence.Tracker
	// intel serves code intelligence; feed keeps it on the live text.
	intel *intel.Service
	feed  *intelFeed

	httpSrv *http.Server
	ln      net.Listener
	// addrs tells the person's address behind a trusted reverse proxy.
	addrs  *clientAddrs
	ready  atomic.Bool
	nextID atomic.Uint64

	// background work (housekeeping) owned by the server, stopped by Shutdown
	bg     conc.WaitGroup
	stopBg context.CancelFunc

	mu       sync.Mutex
	sessions map[*session]struct{}
	closing  bool
	connWG   sync.WaitGroup // one per live /lsp connection (served by net/http goroutines)
}

// New assembles a hub from its dependencies and binds its listener, so
// Addr is known (and the port taken) before Serve runs.
func New(cfg Config, deps Deps) (*Server, error) {
	cfg.fill()
	addrs, err := newClientAddrs(cfg.TrustedProxies)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	s := &Server{
		cfg:      cfg,
		log:      cfg.Logger,
		deps:     deps,
		metrics:  newMetrics(deps.Registry, deps.Store),
		rooms:    newRooms(),
		ln:       ln,
		sessions: make(map[*session]struct{}),
		addrs:    addrs,
	}
	bgCtx, stop := context.WithCancel(context.Background())
	s.stopBg = stop
	s.workspaces = newWorkspaces(s)
	s.watches = newProjectWatches(s)
	s.rooms.hooks = append(s.rooms.hooks, s.watches.hook())
	s.feed = newIntelFeed(s)
	s.docs = s.newDocs()
	s.intel = intel.New(intel.Options{Hub: s.IntelHub(), Logger: s.log.With("subsystem", "intel")})
	s.watches.docs = s.docs.Watcher
	s.presence = s.newPresence()
	s.rooms.hooks = append(s.rooms.hooks, s.documentsHook(), s.presenceHook())
	s.bg.Go(func() { s.housekeeping(bgCtx) })
	deps.Projects.OnRemove(func(_ context.Context, p project.Project) { s.workspaces.forget(p.Name) })
	s.methods = s.methodTable()
	s.bindAI()
	deps.Auth.OnRevoke(s.revoked)
	s.upgrader = websocket.Upgrader{
		HandshakeTimeout: 10 * time.Second,
		// Hijacked buffers are reused for reading; writes borrow pooled
		// buffers, so an idle connection holds no write buffer.
		WriteBufferPool: &sync.Pool{},
		// Origin is checked before the upgrade (checkOrigin), with a
		// clear 403; the upgrader must not refuse it a second time.
		CheckOrigin: func(*http.Request) bool { return true },
	}
	s.httpSrv = &http.Server{
		Handler:           s.routes(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
	}
	return s, nil
}

// Addr is the address the hub listens on (useful with port 0).
func (s *Server) Addr() string { return s.ln.Addr().String() }

// URL is the hub's base HTTP URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// LSPURL is the WebSocket URL editors and the CLI connect to.
func (s *Server) LSPURL() string { return "ws://" + s.Addr() + "/lsp" }

// Serve accepts connections until Shutdown. It returns nil after a
// graceful shutdown.
func (s *Server) Serve() error {
	s.ready.Store(true)
	err := s.httpSrv.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops the hub gracefully: it stops accepting, tells every
// connected client it is going away (close code 1001, so clients reconnect
// with backoff), waits up to ctx or the configured grace for them to close,
// and flushes and closes the store.
func (s *Server) Shutdown(ctx context.Context) error {
	s.ready.Store(false)
	s.mu.Lock()
	s.closing = true
	live := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		live = append(live, sess)
	}
	s.mu.Unlock()

	s.stopBg()
	s.bg.Wait()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.ShutdownGrace)
	defer cancel()
	err := s.httpSrv.Shutdown(ctx)
	_ = s.ln.Close() // in case Serve never ran
	// Answers in progress end as cancelled while clients can still see it.
	if cerr := s.closeAI(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	for _, sess := range live {
		sess.conn.Close(websocket.CloseGoingAway, "hub shutting down")
	}
	waited := make(chan struct{})
	go func() { s.connWG.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-ctx.Done():
		err = errors.Join(err, fmt.Errorf("connections still open after grace period: %w", ctx.Err()))
	}
	s.feed.stop()
	if cerr := s.intel.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if cerr := s.docs.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	s.presence.Close()
	if cerr := s.deps.Watch.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if cerr := s.workspaces.close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if cerr := s.deps.Audit.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if cerr := s.deps.Store.Close(); cerr != nil {
		err = errors.Join(err, cerr)
	}
	s.log.Info("hub stopped")
	return err
}

// housekeeping drops expired credentials and login codes, and empties
// trash older than its retention, every hour, so the hub does not keep what
// can never be used again.
func (s *Server) housekeeping(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := s.deps.Auth.PruneExpired(ctx); err != nil {
				s.log.Warn("prune expired credentials", "err", err)
			} else if n > 0 {
				s.log.Info("pruned expired credentials", "count", n)
			}
			s.purgeTrash(ctx)
		}
	}
}

// purgeTrash permanently removes deleted files older than TrashRetention
// from every project's trash.
func (s *Server) purgeTrash(ctx context.Context) {
	if s.cfg.TrashRetention < 0 {
		return
	}
	projects, err := s.deps.Projects.List(ctx)
	if err != nil {
		s.log.Warn("trash retention: list projects", "err", err)
		return
	}
	cutoff := time.Now().Add(-s.cfg.TrashRetention)
	for _, p := range projects {
		root, err := s.workspaces.root(ctx, p.Name)
		if err != nil {
			continue
		}
		entries, err := root.ListTrash(ctx)
		if err != nil {
			continue
		}
		for _, e := range entries {
			if e.DeletedAt.Before(cutoff) {
				if err := root.Purge(sandbox.WithActor(ctx, ""), e.ID); err != nil {
					s.log.Warn("trash retention: purge", "project", p.Name, "err", err)
				}
			}
		}
	}
}

// register adds a session, refusing it when the hub is shutting down.
func (s *Server) register(sess *session) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return false
	}
	s.sessions[sess] = struct{}{}
	s.connWG.Add(1)
	return true
}

func (s *Server) unregister(sess *session) {
	s.mu.Lock()
	delete(s.sessions, sess)
	s.mu.Unlock()
	s.connWG.Done()
}

// revoked closes every live connection a revocation affects, so a revoked
// token, a removed user or a withdrawn role stops working on open
// WebSockets at once rather than at the next request. auth calls it
// synchronously, so it only hands the close to each connection.
func (s *Server) revoked(e auth.RevokeEvent) {
	s.mu.Lock()
	var hit []*session
	for sess := range s.sessions {
		if sess.affectedBy(e) {
			hit = append(hit, sess)
		}
	}
	s.mu.Unlock()
	for _, sess := range hit {
		sess.log.Info("closing connection: access revoked", "reason", e.Reason)
		sess.conn.Close(websocket.ClosePolicyViolation, "access revoked")
	}
}
