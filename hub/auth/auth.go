// Package auth is the hub's security core: who is asking (users, API tokens,
// browser sessions reached through single-use login codes), what they may do
// (per-project roles owner/writer/reader, a hub-wide admin flag), and the
// one place where every request is checked (Authenticate, Authorize,
// RequireAdmin).
//
// Design rules a reader should know before changing anything here:
//
//   - Secrets (tokens, session ids, login codes) are 256 bits from
//     crypto/rand, shown once, and stored only as SHA-256 hashes; a hash of a
//     256-bit random secret needs no salt or slow KDF. They carry a
//     recognisable prefix (rd_, rds_, rdl_) and a CRC32 so secret scanners
//     find leaked ones and garbage is refused without touching the store.
//   - A user who may not see a project gets exactly the error a nonexistent
//     project gets (ErrNotFound), so project names cannot be probed.
//   - Every change that takes access away (role revoked or lowered, token
//     revoked, session ended, user or project removed) is published through
//     OnRevoke right after it is stored, so the hub closes live connections
//     at once; Authorize also re-reads the credential, user and role on every
//     call, so a missed event cannot keep access alive.
//   - Management calls take the acting Principal and check it themselves,
//     and every permission change is written to the audit trail, so the hub's
//     JSON-RPC handlers cannot forget either.
//
// Data lives in hub/store under "auth/". Mutations are serialised by one
// mutex: one hub process owns the store (a multi-node hub needs store
// transactions here).
package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rubberduckhub/rubberduck/hub/audit"
	"github.com/rubberduckhub/rubberduck/hub/project"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

// Errors callers map to client responses; test with errors.Is. Their
// messages are safe to send to the client.
var (
	// ErrUnauthenticated means the credential is missing, malformed,
	// unknown, expired or revoked; which of these is never told.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrNotFound means the thing does not exist or the caller may not know
	// that it exists; both answers are the same on purpose.
	ErrNotFound = errors.New("not found")
	// ErrForbidden means the caller can see the thing but lacks the role.
	ErrForbidden = errors.New("forbidden")
	// ErrInvalid means an argument was refused; the message says why.
	ErrInvalid = errors.New("invalid argument")
	// ErrExists means a user name is taken.
	ErrExists = errors.New("already exists")
	// ErrLastAdmin refuses removing the only hub admin, which would lock
	// everyone out of user and project management.
	ErrLastAdmin = errors.New("cannot remove the last admin")
)

// Authorizer is the narrow view of Service the hub's request path needs:
// authenticate the connection once, authorize every request.
type Authorizer interface {
	Authenticate(ctx context.Context, remote, credential string) (Principal, error)
	Authorize(ctx context.Context, p Principal, project string, action Action) (Role, error)
	RequireAdmin(ctx context.Context, p Principal) error
}

// Recorder receives audit entries; *audit.Log implements it.
type Recorder interface {
	Record(ctx context.Context, e audit.Entry) error
}

// FailureLimiter slows down credential guessing per remote address;
// *ratelimit.Limiter implements it.
type FailureLimiter interface {
	// AuthBlocked returns an error (with a retry-after) when remote has
	// failed too often.
	AuthBlocked(remote string) error
	// AuthFailed charges one failure to remote.
	AuthFailed(remote string)
}

// Options configure a Service. Zero values take the defaults.
type Options struct {
	// TokenTTL is the lifetime of a token created without one (90 days).
	TokenTTL time.Duration
	// MaxTokenTTL caps any token's lifetime (1 year).
	MaxTokenTTL time.Duration
	// BootstrapTokenTTL is the lifetime of the first owner's token (1 year).
	BootstrapTokenTTL time.Duration
	// SessionTTL is the lifetime of a browser session (12 hours).
	SessionTTL time.Duration
	// LoginCodeTTL is how long a login link works (10 minutes).
	LoginCodeTTL time.Duration
	// Audit receives permission changes; nil records nothing.
	Audit Recorder
	// Limiter rate-limits failed authentication; nil disables it.
	Limiter FailureLimiter
	// Registerer receives the rubberduck_auth_* metrics; nil disables them.
	Registerer prometheus.Registerer
	// Logger is for operational messages; secrets are never logged.
	Logger *slog.Logger
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// Service owns users, credentials and roles. Create it with New.
type Service struct {
	st       store.Store
	projects *project.Manager
	opts     Options

	mu sync.Mutex // serialises every mutation

	subMu   sync.RWMutex
	subs    map[int]func(RevokeEvent)
	nextSub int

	authFailures *prometheus.CounterVec
	denied       *prometheus.CounterVec
	revocations  *prometheus.CounterVec
}

// New returns a Service over st. It registers with projects so that removing
// a project drops its memberships and closes its connections.
func New(st store.Store, projects *project.Manager, opts Options) (*Service, error) {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&opts.TokenTTL, 90*24*time.Hour)
	def(&opts.MaxTokenTTL, 365*24*time.Hour)
	def(&opts.BootstrapTokenTTL, 365*24*time.Hour)
	def(&opts.SessionTTL, 12*time.Hour)
	def(&opts.LoginCodeTTL, 10*time.Minute)
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Service{
		st: st, projects: projects, opts: opts, subs: make(map[int]func(RevokeEvent)),
		authFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_auth_failures_total",
			Help: "Failed authentications by reason (malformed, unknown, expired, rate_limited).",
		}, []string{"reason"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_auth_denied_total",
			Help: "Refused authorizations by action and reason (hidden, forbidden, stale).",
		}, []string{"action", "reason"}),
		revocations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_auth_revocations_total",
			Help: "Access revocations published to live connections, by kind.",
		}, []string{"kind"}),
	}
	if opts.Registerer != nil {
		for _, c := range []prometheus.Collector{s.authFailures, s.denied, s.revocations} {
			if err := opts.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("register auth metrics: %w", err)
			}
		}
	}
	projects.OnRemove(s.forgetProject)
	return s, nil
}

// audit records a management call. Its outcome follows err: denied for
// authorization errors, error for anything else that failed.
func (s *Service) audit(ctx context.Context, actor Principal, action, proj, target, detail string, err error) {
	if s.opts.Audit == nil {
		return
	}
	e := audit.Entry{Actor: actor.UserID, Action: action, Project: proj, Target: target, Detail: detail, Outcome: audit.OutcomeOK}
	switch {
	case err == nil:
	case errors.Is(err, ErrForbidden), errors.Is(err, ErrNotFound), errors.Is(err, ErrUnauthenticated):
		e.Outcome, e.Detail = audit.OutcomeDenied, err.Error()
	default:
		e.Outcome, e.Detail = audit.OutcomeError, err.Error()
	}
	if rerr := s.opts.Audit.Record(ctx, e); rerr != nil {
		s.opts.Logger.Error("audit record failed", "action", action, "err", rerr)
	}
}
