package hub

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rubberduckhub/rubberduck/hub/audit"
	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/project"
	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

// LSP lifecycle states of a session.
const (
	stateNew = iota
	stateInitialized
	stateShutdown
)

// session is the hub's side of one /lsp connection: who is connected, what
// they negotiated, and which projects they joined. Handlers receive it.
type session struct {
	srv   *Server
	id    uint64
	conn  *wsrpc.Conn
	ident auth.Principal
	log   *slog.Logger

	mu       sync.Mutex
	state    int
	encoding string
	client   string
	joined   map[string]string // project -> role
}

func (s *Server) serveSession(ctx context.Context, ws *websocket.Conn, ident auth.Principal, remote string) {
	sess := &session{
		srv:      s,
		id:       s.nextID.Add(1),
		ident:    ident,
		encoding: protocol.EncodingUTF16,
		joined:   make(map[string]string),
	}
	sess.log = s.log.With("conn", sess.id, "user", ident.UserName)
	sess.conn = wsrpc.New(ws, sess, wsrpc.Options{
		MaxMessageBytes: s.cfg.MaxMessageBytes,
		SendQueue:       s.cfg.SendQueue,
		PingInterval:    s.cfg.PingInterval,
		PongTimeout:     s.cfg.PongTimeout,
		Concurrent:      s.isConcurrent,
		Logger:          sess.log,
		Events:          wsEvents{s.metrics},
	})
	if !s.register(sess) {
		sess.conn.Close(websocket.CloseGoingAway, "hub shutting down")
		_ = sess.conn.Run(context.WithoutCancel(ctx))
		return
	}
	defer s.unregister(sess)
	if !ident.Expires.IsZero() {
		// A credential that expires mid-connection ends the connection.
		t := time.AfterFunc(time.Until(ident.Expires), func() {
			sess.conn.Close(websocket.ClosePolicyViolation, "credential expired")
		})
		defer t.Stop()
	}
	s.metrics.connections.Inc()
	s.metrics.connsTotal.Inc()
	defer s.metrics.connections.Dec()
	sess.log.Info("connected", "remote", remote)
	// The request context ends when the handler returns; the connection
	// must outlive it and end only through Close or the peer.
	err := sess.conn.Run(context.WithoutCancel(ctx))
	sess.leaveAll()
	if err != nil {
		sess.log.Info("disconnected", "reason", err)
	} else {
		sess.log.Info("disconnected")
	}
}

// Handle implements wsrpc.Handler: lifecycle checks, then the method table.
func (sess *session) Handle(ctx context.Context, _ *wsrpc.Conn, m *protocol.Message) (any, error) {
	start := time.Now()
	if m.IsRequest() {
		// Audit records and logs of this request share one id.
		ctx = audit.WithRequestID(ctx, "c"+strconv.FormatUint(sess.id, 10)+"-"+m.ID.String())
	}
	meth, known := sess.srv.methods[m.Method]
	result, err := sess.call(ctx, m, meth, known)
	var code int64
	if err != nil {
		code = protocol.CodeInternalError
		if rpcErr, ok := protocol.AsError(err); ok {
			code = rpcErr.Code
		}
	}
	sess.srv.metrics.observe(m.Method, known, m.IsRequest(), time.Since(start), code)
	if m.IsRequest() {
		sess.log.Debug("request", "method", m.Method, "id", m.ID.String(), "took", time.Since(start), "code", code)
	}
	return result, err
}

func (sess *session) call(ctx context.Context, m *protocol.Message, meth method, known bool) (any, error) {
	sess.mu.Lock()
	state := sess.state
	sess.mu.Unlock()
	switch {
	case m.Method == protocol.MethodExit:
		sess.conn.Close(websocket.CloseNormalClosure, "exit")
		return nil, nil
	case state == stateNew && !meth.beforeInit:
		if m.IsNotification() {
			return nil, nil // LSP: notifications before initialize are dropped
		}
		return nil, protocol.Errorf(protocol.CodeServerNotInitialized, "send initialize first")
	case state == stateShutdown && m.IsRequest():
		return nil, protocol.Errorf(protocol.CodeInvalidRequest, "the session is shut down; send exit")
	case !known:
		if m.IsNotification() {
			return nil, nil // unknown notifications are ignored, as LSP requires
		}
		return nil, protocol.Errorf(protocol.CodeMethodNotFound, "method not found: %s", m.Method)
	}
	result, err := meth.handle(ctx, sess, m.Params)
	return result, sess.srv.rpcError(err)
}

// rpcError maps errors from the packages handlers delegate to onto the
// protocol's codes, so every handler reports the same failure the same way
// and no internal detail (a server path, a stack) reaches the client.
func (s *Server) rpcError(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := protocol.AsError(err); ok {
		return err
	}
	var retry *ratelimit.RetryError
	var sbErr *sandbox.Error
	switch {
	case errors.As(err, &sbErr):
		return sandboxError(sbErr)
	case errors.As(err, &retry):
		return protocol.Errorf(protocol.CodeRateLimited, "%s", retry.Error()).
			WithData(map[string]int64{"retryAfterMs": retry.RetryAfter.Milliseconds()})
	case errors.Is(err, auth.ErrUnauthenticated):
		return protocol.Errorf(protocol.CodeUnauthorized, "unauthorized: the credential is no longer valid")
	case errors.Is(err, auth.ErrNotFound), errors.Is(err, project.ErrNotFound):
		// These messages name only what the caller asked for.
		return protocol.Errorf(protocol.CodeNotFound, "%s", err.Error())
	case errors.Is(err, auth.ErrForbidden):
		return protocol.Errorf(protocol.CodeForbidden, "forbidden: your role does not allow this")
	case errors.Is(err, auth.ErrInvalid), errors.Is(err, auth.ErrLastAdmin):
		return protocol.Errorf(protocol.CodeInvalidParams, "%s", err.Error())
	case errors.Is(err, auth.ErrExists):
		return protocol.Errorf(protocol.CodeExists, "%s", err.Error())
	case errors.Is(err, project.ErrExists):
		return protocol.Errorf(protocol.CodeExists, "%s", err.Error())
	case errors.Is(err, project.ErrInvalid):
		return protocol.Errorf(protocol.CodeInvalidParams, "%s", err.Error())
	case errors.Is(err, context.Canceled):
		return protocol.Errorf(protocol.CodeRequestCancelled, "request cancelled")
	}
	return err // wsrpc logs it and answers a generic internal error
}

// authorize checks the session's identity for action in a project it has
// joined. Requests about projects the connection has not joined are refused
// with the same answer as a missing project, unless the caller joins first.
func (sess *session) authorize(ctx context.Context, project string, action auth.Action) (auth.Role, error) {
	sess.mu.Lock()
	_, joined := sess.joined[project]
	sess.mu.Unlock()
	if !joined {
		return "", protocol.Errorf(protocol.CodeNotJoined, "join the project first (rubberduck/project/join)")
	}
	// Re-check on every request: a role revoked a moment ago must not
	// keep working on a connection that joined before.
	return sess.srv.deps.Auth.Authorize(ctx, sess.ident, project, action)
}

// affectedBy reports whether a revocation concerns this connection: its
// credential or user in general, or any project it has joined.
func (sess *session) affectedBy(e auth.RevokeEvent) bool {
	if e.Project == "" {
		return e.Affects(sess.ident, "")
	}
	sess.mu.Lock()
	defer sess.mu.Unlock()
	_, joined := sess.joined[e.Project]
	return joined && e.Affects(sess.ident, e.Project)
}

func (sess *session) leaveAll() {
	sess.mu.Lock()
	projects := make([]string, 0, len(sess.joined))
	for p := range sess.joined {
		projects = append(projects, p)
	}
	sess.joined = map[string]string{}
	sess.mu.Unlock()
	for _, p := range projects {
		sess.srv.rooms.leave(p, sess)
	}
}

// method is one entry of the method table.
type method struct {
	handle     func(ctx context.Context, sess *session, params json.RawMessage) (any, error)
	concurrent bool // may run alongside later messages (slow, cancellable)
	beforeInit bool // allowed before initialize
}

func (s *Server) isConcurrent(name string) bool { return s.methods[name].concurrent }

// handler adapts a typed handler function to the method table: it decodes
// params into P and answers CodeInvalidParams when they do not fit.
func handler[P, R any](fn func(sess *session, ctx context.Context, p P) (R, error)) func(context.Context, *session, json.RawMessage) (any, error) {
	return func(ctx context.Context, sess *session, raw json.RawMessage) (any, error) {
		var p P
		if len(raw) > 0 && string(raw) != "null" {
			if err := json.Unmarshal(raw, &p); err != nil {
				return nil, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: %v", err)
			}
		}
		r, err := fn(sess, ctx, p)
		if err != nil {
			return nil, err
		}
		return r, nil
	}
}

func requireField(name, value string) error {
	if value == "" {
		return protocol.Errorf(protocol.CodeInvalidParams, "invalid params: %q is required", name)
	}
	return nil
}
