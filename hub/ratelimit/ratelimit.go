// Package ratelimit keeps one person or one noisy project from starving the
// hub: every request is charged to a token bucket per user and per project
// for its operation class (read, write, search, ai, auth), and failed
// authentication attempts are charged per remote address so credentials
// cannot be guessed at speed.
//
// Buckets are golang.org/x/time/rate limiters created on first use. Memory
// stays bounded: a bucket that has refilled completely is indistinguishable
// from a new one, so sweeping removes it without losing anything, and a hard
// cap on the number of buckets evicts idle ones first when an attacker sprays
// addresses.
//
// A refusal is a *RetryError carrying RetryAfter, which the hub turns into a
// JSON-RPC error (or HTTP 429 with Retry-After) so clients back off exactly
// as long as needed.
package ratelimit

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/time/rate"
)

// Class is an operation class with its own budget. Classes separate cheap
// operations from expensive ones: a burst of file reads must not use up the
// budget for AI calls or the other way round.
type Class string

// The operation classes the hub charges.
const (
	Read   Class = "read"
	Write  Class = "write"
	Search Class = "search"
	AI     Class = "ai"
	// Auth covers authentication-related requests of a signed-in user
	// (creating tokens or login codes).
	Auth Class = "auth"
)

// Rate is a token bucket: PerSecond tokens refill per second up to Burst.
// A zero Rate means unlimited.
type Rate struct {
	PerSecond float64 `json:"perSecond"`
	Burst     int     `json:"burst"`
}

func (r Rate) unlimited() bool { return r.PerSecond <= 0 || r.Burst <= 0 }

// Config sets the budgets. Classes missing from a map are unlimited.
type Config struct {
	// User budgets apply to each user separately.
	User map[Class]Rate `json:"user"`
	// Project budgets apply to all users of one project together.
	Project map[Class]Rate `json:"project"`
	// AuthFailures is the budget of failed authentications per remote
	// address (IPv6 addresses are grouped by /64, which one host controls).
	AuthFailures Rate `json:"authFailures"`
	// MaxKeys caps the number of buckets kept (default 100000).
	MaxKeys int `json:"maxKeys"`
	// SweepEvery is how often refilled buckets are dropped (default 1m).
	SweepEvery time.Duration `json:"sweepEvery"`
}

// DefaultConfig returns budgets generous enough for interactive editing by
// a team and tight enough to stop a runaway script.
func DefaultConfig() Config {
	return Config{
		User: map[Class]Rate{
			Read: {50, 200}, Write: {20, 100}, Search: {2, 10}, AI: {0.5, 5}, Auth: {1, 10},
		},
		Project: map[Class]Rate{
			Read: {200, 1000}, Write: {100, 500}, Search: {10, 30}, AI: {2, 20},
		},
		AuthFailures: Rate{PerSecond: 10.0 / 60, Burst: 10},
		MaxKeys:      100000,
		SweepEvery:   time.Minute,
	}
}

// ErrLimited is what every refusal matches with errors.Is.
var ErrLimited = errors.New("rate limited")

// RetryError is a refusal. Its message names the class and scope but never
// the key (a user ID or an address) it was charged to.
type RetryError struct {
	Class Class
	// Scope is "user", "project" or "address".
	Scope string
	// RetryAfter is how long until the request would be allowed.
	RetryAfter time.Duration
}

func (e *RetryError) Error() string {
	return fmt.Sprintf("rate limited: too many %s requests per %s, retry after %s", e.Class, e.Scope, e.RetryAfter.Round(time.Millisecond))
}

// Is makes errors.Is(err, ErrLimited) true.
func (e *RetryError) Is(target error) bool { return target == ErrLimited }

// Limiter holds the buckets. It is safe for concurrent use and needs no
// Close: sweeping happens inline, amortised over calls.
type Limiter struct {
	cfg Config
	now func() time.Time

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time

	refused *prometheus.CounterVec
	keys    prometheus.Gauge
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// Option configures a Limiter.
type Option func(*Limiter)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(l *Limiter) { l.now = now } }

// New returns a Limiter with cfg, registering rubberduck_ratelimit_* metrics
// with reg when it is not nil.
func New(cfg Config, reg prometheus.Registerer, opts ...Option) (*Limiter, error) {
	if cfg.MaxKeys <= 0 {
		cfg.MaxKeys = 100000
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Minute
	}
	l := &Limiter{
		cfg: cfg, now: time.Now, buckets: make(map[string]*bucket),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_ratelimit_refused_total",
			Help: "Requests refused by a rate limit, by operation class and scope (user, project, address).",
		}, []string{"class", "scope"}),
		keys: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rubberduck_ratelimit_buckets",
			Help: "Rate limit buckets currently held in memory.",
		}),
	}
	for _, o := range opts {
		o(l)
	}
	if reg != nil {
		for _, c := range []prometheus.Collector{l.refused, l.keys} {
			if err := reg.Register(c); err != nil {
				return nil, fmt.Errorf("register rate limit metrics: %w", err)
			}
		}
	}
	return l, nil
}

// Allow charges one request of class by user on project ("" when the
// request is not about a project) and returns a *RetryError when either
// budget is exhausted. A refused request uses up neither budget.
func (l *Limiter) Allow(user, project string, class Class) error {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybeSweep(now)
	type charge struct {
		r     *rate.Reservation
		scope string
	}
	var charged []charge
	for _, c := range []struct {
		scope, id string
		r         Rate
	}{
		{"user", user, l.cfg.User[class]},
		{"project", project, l.cfg.Project[class]},
	} {
		if c.id == "" || c.r.unlimited() {
			continue
		}
		b := l.bucket(string(class)+"\x00"+c.scope+"\x00"+c.id, c.r, now)
		res := b.lim.ReserveN(now, 1)
		if d := res.DelayFrom(now); !res.OK() || d > 0 {
			res.CancelAt(now)
			for _, ch := range charged {
				ch.r.CancelAt(now)
			}
			l.refused.WithLabelValues(string(class), c.scope).Inc()
			return &RetryError{Class: class, Scope: c.scope, RetryAfter: retryAfter(d, res.OK(), c.r)}
		}
		charged = append(charged, charge{res, c.scope})
	}
	return nil
}

// AuthBlocked reports, without charging, whether remote has used up its
// failed-authentication budget. The hub calls it before checking a
// credential so a blocked address learns nothing about its guesses.
func (l *Limiter) AuthBlocked(remote string) error {
	r := l.cfg.AuthFailures
	if r.unlimited() || remote == "" {
		return nil
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.maybeSweep(now)
	// Peek without creating: addresses that never failed cost no memory.
	b, ok := l.buckets["auth-fail\x00"+AddrKey(remote)]
	if !ok {
		return nil
	}
	tokens := b.lim.TokensAt(now)
	if tokens >= 1 {
		return nil
	}
	d := time.Duration((1 - tokens) / r.PerSecond * float64(time.Second))
	l.refused.WithLabelValues("auth_failure", "address").Inc()
	return &RetryError{Class: "auth_failure", Scope: "address", RetryAfter: d}
}

// AuthFailed charges one failed authentication to remote.
func (l *Limiter) AuthFailed(remote string) {
	r := l.cfg.AuthFailures
	if r.unlimited() || remote == "" {
		return
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.bucket("auth-fail\x00"+AddrKey(remote), r, now).lim.AllowN(now, 1)
}

// AddrKey reduces a remote address ("ip:port" or "ip") to what one client
// controls: the IPv4 address, or the /64 of an IPv6 address.
func AddrKey(remote string) string {
	host := remote
	if h, _, err := net.SplitHostPort(remote); err == nil {
		host = h
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

func retryAfter(d time.Duration, ok bool, r Rate) time.Duration {
	if !ok || d <= 0 {
		// Only when n > burst, which cannot happen for n = 1; be safe.
		return time.Duration(math.Ceil(float64(time.Second) / r.PerSecond))
	}
	return d
}

func (l *Limiter) bucket(key string, r Rate, now time.Time) *bucket {
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.cfg.MaxKeys {
			l.sweep(now, true)
		}
		b = &bucket{lim: rate.NewLimiter(rate.Limit(r.PerSecond), r.Burst)}
		l.buckets[key] = b
		l.keys.Set(float64(len(l.buckets)))
	}
	b.last = now
	return b
}

func (l *Limiter) maybeSweep(now time.Time) {
	if now.Sub(l.lastSweep) >= l.cfg.SweepEvery {
		l.sweep(now, false)
	}
}

// sweep drops buckets that have refilled completely, which loses nothing.
// When force is set and that is not enough to get under MaxKeys, it then
// drops the least recently used tenth, trading precision for bounded memory.
func (l *Limiter) sweep(now time.Time, force bool) {
	l.lastSweep = now
	for k, b := range l.buckets {
		if b.lim.TokensAt(now) >= float64(b.lim.Burst()) {
			delete(l.buckets, k)
		}
	}
	if force && len(l.buckets) >= l.cfg.MaxKeys {
		var oldest time.Time
		target := l.cfg.MaxKeys - l.cfg.MaxKeys/10 - 1
		// Drop buckets idle longer than a shrinking age until enough are
		// gone; each pass is linear and the age halves, so passes are few.
		for age := l.cfg.SweepEvery; len(l.buckets) > target; age /= 2 {
			oldest = now.Add(-age)
			for k, b := range l.buckets {
				if !b.last.After(oldest) {
					delete(l.buckets, k)
				}
			}
			if age <= 0 {
				for k := range l.buckets {
					if len(l.buckets) <= target {
						break
					}
					delete(l.buckets, k)
				}
			}
		}
	}
	l.keys.Set(float64(len(l.buckets)))
}
