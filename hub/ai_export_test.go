package hub

import "github.com/rubberduckhub/rubberduck/hub/ratelimit"

// WithoutRateLimits lifts the per-person rate limits of a hub, for
// benchmarks that ask the AI far more often than a person could. Call it
// before the first connection.
func WithoutRateLimits(s *Server) {
	l, err := ratelimit.New(ratelimit.Config{}, nil)
	if err != nil {
		panic(err)
	}
	s.deps.Limits = l
}
