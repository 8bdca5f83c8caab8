package provider

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/sony/gobreaker/v2"
)

// RetryPolicy says how Resilient retries transient failures. The SDKs'
// built-in retries are off (WithMaxRetries(0)) so this is the only layer
// that retries, and a stream that already sent text is never retried
// (people would see the answer twice).
type RetryPolicy struct {
	Attempts      int           // total attempts, at least 1; default 3
	BaseDelay     time.Duration // first backoff; default 300 ms
	MaxDelay      time.Duration // cap of one backoff; default 8 s
	MaxRetryAfter time.Duration // a longer retry-after is not waited for; default 20 s
}

func (r RetryPolicy) withDefaults() RetryPolicy {
	if r.Attempts <= 0 {
		r.Attempts = 3
	}
	if r.BaseDelay <= 0 {
		r.BaseDelay = 300 * time.Millisecond
	}
	if r.MaxDelay <= 0 {
		r.MaxDelay = 8 * time.Second
	}
	if r.MaxRetryAfter <= 0 {
		r.MaxRetryAfter = 20 * time.Second
	}
	return r
}

// BreakerPolicy tunes the circuit breaker: after Failures consecutive
// transient failures the provider is not called for OpenFor, so a dead
// local server costs people one clear message instead of a hang per request.
type BreakerPolicy struct {
	Failures uint32        // default 5
	OpenFor  time.Duration // default 30 s
}

// Resilient is a Provider that retries transient failures with jittered
// exponential backoff and stops calling a failing provider for a while
// (github.com/sony/gobreaker/v2).
type Resilient struct {
	inner Provider
	retry RetryPolicy
	cb    *gobreaker.CircuitBreaker[any]
	sleep func(ctx context.Context, d time.Duration) error
}

// NewResilient wraps p.
func NewResilient(p Provider, rp RetryPolicy, bp BreakerPolicy) *Resilient {
	if bp.Failures == 0 {
		bp.Failures = 5
	}
	if bp.OpenFor == 0 {
		bp.OpenFor = 30 * time.Second
	}
	r := &Resilient{inner: p, retry: rp.withDefaults(), sleep: sleepCtx}
	r.cb = gobreaker.NewCircuitBreaker[any](gobreaker.Settings{
		Name:        "ai-" + p.Name(),
		MaxRequests: 1,
		Timeout:     bp.OpenFor,
		ReadyToTrip: func(c gobreaker.Counts) bool { return c.ConsecutiveFailures >= bp.Failures },
		// Only the provider's own trouble opens the circuit; a bad key, an
		// unknown model or a person pressing stop do not.
		IsSuccessful: func(err error) bool { return err == nil || !Transient(err) },
		IsExcluded:   func(err error) bool { return KindOf(err) == KindCancelled },
	})
	return r
}

// Unwrap returns the wrapped provider.
func (r *Resilient) Unwrap() Provider { return r.inner }

// Name implements Provider.
func (r *Resilient) Name() string { return r.inner.Name() }

// Model implements Provider.
func (r *Resilient) Model() string { return r.inner.Model() }

// BreakerState reports "closed", "half-open" or "open", for status pages.
func (r *Resilient) BreakerState() string { return r.cb.State().String() }

// Chat implements Provider.
func (r *Resilient) Chat(ctx context.Context, req Request, onText Handler) (Result, error) {
	var res Result
	sent := false
	h := func(d string) error {
		sent = true
		if onText == nil {
			return nil
		}
		return onText(d)
	}
	err := r.do(ctx, func() bool { return !sent }, func() error {
		var err error
		res, err = r.inner.Chat(ctx, req, h)
		return err
	})
	return res, err
}

// Complete implements Provider.
func (r *Resilient) Complete(ctx context.Context, req FIMRequest) (string, Usage, error) {
	var text string
	var u Usage
	// Inline completions are worth one attempt only: by the time a retry
	// answers, the person has typed on.
	err := r.call(func() error {
		var err error
		text, u, err = r.inner.Complete(ctx, req)
		return err
	})
	return text, u, err
}

func (r *Resilient) call(f func() error) error {
	_, err := r.cb.Execute(func() (any, error) { return nil, f() })
	if errors.Is(err, gobreaker.ErrOpenState) || errors.Is(err, gobreaker.ErrTooManyRequests) {
		return &Error{Kind: KindCircuitOpen, Provider: r.inner.Name(), Model: r.inner.Model(), Err: err,
			Message: fmt.Sprintf("The %s provider failed several times in a row; the hub pauses AI requests for a moment before trying again.", r.inner.Name())}
	}
	return err
}

func (r *Resilient) do(ctx context.Context, mayRetry func() bool, f func() error) error {
	var err error
	for attempt := 0; attempt < r.retry.Attempts; attempt++ {
		err = r.call(f)
		if err == nil || !Transient(err) || !mayRetry() || attempt == r.retry.Attempts-1 {
			return err
		}
		d := r.backoff(attempt)
		var pe *Error
		if errors.As(err, &pe) && pe.RetryAfter > 0 {
			if pe.RetryAfter > r.retry.MaxRetryAfter {
				return err
			}
			d = pe.RetryAfter
		}
		if serr := r.sleep(ctx, d); serr != nil {
			return &Error{Kind: KindCancelled, Provider: r.inner.Name(), Model: r.inner.Model(), Message: "The request was cancelled.", Err: serr}
		}
	}
	return err
}

func (r *Resilient) backoff(attempt int) time.Duration {
	d := r.retry.BaseDelay << attempt
	if d > r.retry.MaxDelay || d <= 0 {
		d = r.retry.MaxDelay
	}
	// Full jitter between d/2 and d keeps many clients from retrying in step.
	return d/2 + rand.N(d/2+1)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
