package ratelimit

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func newLimiter(t *testing.T, cfg Config) (*Limiter, *clock, *prometheus.Registry) {
	t.Helper()
	c := &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	reg := prometheus.NewRegistry()
	l, err := New(cfg, reg, WithClock(c.now))
	if err != nil {
		t.Fatal(err)
	}
	return l, c, reg
}

func TestAllowRefusesWithRetryAfter(t *testing.T) {
	cfg := Config{
		User:    map[Class]Rate{Write: {PerSecond: 1, Burst: 2}},
		Project: map[Class]Rate{Write: {PerSecond: 0.5, Burst: 3}},
	}
	l, c, _ := newLimiter(t, cfg)
	type step struct {
		advance   time.Duration
		user      string
		class     Class
		wantScope string // "" = allowed
		wantRetry time.Duration
	}
	steps := []step{
		{0, "ann", Write, "", 0},
		{0, "ann", Write, "", 0},
		{0, "ann", Write, "user", time.Second}, // ann's burst of 2 is used
		{0, "bob", Write, "", 0},               // project has 3
		{0, "bob", Write, "project", 2 * time.Second},
		{0, "ann", Read, "", 0}, // other class unlimited
		{time.Second, "ann", Write, "project", time.Second},
		{time.Second, "ann", Write, "", 0}, // both refilled enough
	}
	for i, s := range steps {
		c.add(s.advance)
		err := l.Allow(s.user, "p", s.class)
		if s.wantScope == "" {
			if err != nil {
				t.Fatalf("step %d: %v", i, err)
			}
			continue
		}
		var re *RetryError
		if !errors.As(err, &re) || !errors.Is(err, ErrLimited) {
			t.Fatalf("step %d: error %v, want a RetryError", i, err)
		}
		if re.Scope != s.wantScope || re.RetryAfter != s.wantRetry {
			t.Errorf("step %d: scope %s retry %v, want %s %v", i, re.Scope, re.RetryAfter, s.wantScope, s.wantRetry)
		}
	}
}

func TestRefusedRequestCostsNothing(t *testing.T) {
	// The user has budget but the project does not: the user's token must
	// be given back, or a busy project would drain its members' budgets.
	l, _, reg := newLimiter(t, Config{
		User:    map[Class]Rate{Write: {PerSecond: 0.001, Burst: 2}},
		Project: map[Class]Rate{Write: {PerSecond: 0.001, Burst: 1}},
	})
	if err := l.Allow("ann", "busy", Write); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if err := l.Allow("ann", "busy", Write); err == nil {
			t.Fatal("project budget not enforced")
		}
	}
	if err := l.Allow("ann", "quiet", Write); err != nil {
		t.Errorf("refusals on busy drained ann's budget: %v", err)
	}
	if n := testutil.CollectAndCount(reg, "rubberduck_ratelimit_refused_total"); n != 1 {
		t.Errorf("refused series = %d", n)
	}
}

func TestAuthFailuresPerAddress(t *testing.T) {
	l, c, _ := newLimiter(t, Config{AuthFailures: Rate{PerSecond: 0.1, Burst: 3}})
	for range 3 {
		if err := l.AuthBlocked("10.0.0.1:5000"); err != nil {
			t.Fatal(err)
		}
		l.AuthFailed("10.0.0.1:5000")
	}
	err := l.AuthBlocked("10.0.0.1:6000") // another port, same host
	var re *RetryError
	if !errors.As(err, &re) || re.RetryAfter != 10*time.Second {
		t.Fatalf("after 3 failures: %v", err)
	}
	if err := l.AuthBlocked("10.0.0.2:5000"); err != nil {
		t.Errorf("other address blocked: %v", err)
	}
	// IPv6 hosts are grouped by /64.
	for range 3 {
		l.AuthFailed(fmt.Sprintf("[2001:db8::%d]:1", 1))
	}
	if err := l.AuthBlocked("[2001:db8::ffff]:2"); err == nil {
		t.Error("same /64 not blocked")
	}
	c.add(10 * time.Second)
	if err := l.AuthBlocked("10.0.0.1:5000"); err != nil {
		t.Errorf("not unblocked after retry-after: %v", err)
	}
}

func TestBucketsStayBounded(t *testing.T) {
	l, c, _ := newLimiter(t, Config{
		User:         map[Class]Rate{Read: {PerSecond: 1, Burst: 5}},
		AuthFailures: Rate{PerSecond: 0.01, Burst: 1},
		MaxKeys:      100,
		SweepEvery:   time.Minute,
	})
	for i := range 1000 {
		l.AuthFailed(fmt.Sprintf("10.1.%d.%d", i/256, i%256))
		c.add(time.Millisecond)
	}
	if n := len(l.buckets); n > 100 {
		t.Errorf("%d buckets held, cap is 100", n)
	}
	// Refilled buckets disappear on the next sweep without losing state.
	for i := range 50 {
		_ = l.Allow(fmt.Sprint("u", i), "", Read)
	}
	c.add(time.Hour)
	_ = l.Allow("late", "", Read)
	if n := len(l.buckets); n > 1 {
		t.Errorf("%d buckets after everything refilled, want 1", n)
	}
}

func TestAddrKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:443":          "192.0.2.1",
		"[::ffff:192.0.2.1]:443": "192.0.2.1",
		"[2001:db8:1:2:3::4]:80": "2001:db8:1:2::/64",
		"2001:db8:1:2::9":        "2001:db8:1:2::/64",
		"not-an-ip":              "not-an-ip",
	} {
		if got := AddrKey(in); got != want {
			t.Errorf("AddrKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// BenchmarkAllow measures the per-request charge for a user and a project.
func BenchmarkAllow(b *testing.B) {
	l, err := New(DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	l.cfg.User[Read] = Rate{PerSecond: 1e9, Burst: 1 << 30}
	l.cfg.Project[Read] = Rate{PerSecond: 1e9, Burst: 1 << 30}
	users := []string{"usr_a", "usr_b", "usr_c", "usr_d"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if err := l.Allow(users[i%4], "web", Read); err != nil {
			b.Fatal(err)
		}
	}
}
