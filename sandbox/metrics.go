package sandbox

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by every Root registered on the same Registerer.
type metrics struct {
	ops      *prometheus.CounterVec
	refusals *prometheus.CounterVec
	bytes    *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		ops: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_sandbox_operations_total",
			Help: "Sandbox file operations by operation and outcome (ok or error code).",
		}, []string{"op", "outcome"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_sandbox_refusals_total",
			Help: "Security refusals: invalid paths, policy denials, escapes, read-only and disabled projects.",
		}, []string{"op", "code"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_sandbox_bytes_total",
			Help: "File content bytes read and written through the sandbox.",
		}, []string{"direction"}),
	}
	if reg == nil {
		return m
	}
	m.ops = register(reg, m.ops)
	m.refusals = register(reg, m.refusals)
	m.bytes = register(reg, m.bytes)
	return m
}

// register reuses the collector a previous Root registered, so many projects
// can share one registry.
func register(reg prometheus.Registerer, c *prometheus.CounterVec) *prometheus.CounterVec {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(*prometheus.CounterVec); ok {
				return existing
			}
		}
	}
	return c
}

func isRefusal(c Code) bool {
	switch c {
	case InvalidPath, Denied, ReadOnly, Disabled:
		return true
	}
	return false
}
