package cache

import (
	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the rubberduck_cache_* collectors. A nil *metrics records
// nothing.
type metrics struct {
	hits      prometheus.Counter
	misses    prometheus.Counter
	evictions *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, c *Cache) (*metrics, error) {
	if reg == nil {
		return nil, nil
	}
	m := &metrics{
		hits: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_cache_hits_total",
			Help: "File reads served from memory.",
		}),
		misses: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_cache_misses_total",
			Help: "File reads that had to go to disk (absent, stale or expired).",
		}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_cache_evictions_total",
			Help: "Entries dropped, by reason: size (LRU), expired (TTL), stale (file changed), invalidated (watcher, write or rename).",
		}, []string{"reason"}),
	}
	cs := []prometheus.Collector{m.hits, m.misses, m.evictions,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rubberduck_cache_bytes",
			Help: "Bytes of file content held.",
		}, func() float64 { return float64(c.Stats().Bytes) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rubberduck_cache_entries",
			Help: "Files held.",
		}, func() float64 { return float64(c.Stats().Entries) }),
	}
	for _, col := range cs {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *metrics) hit() {
	if m != nil {
		m.hits.Inc()
	}
}

func (m *metrics) miss() {
	if m != nil {
		m.misses.Inc()
	}
}

func (m *metrics) evict(reason string) {
	if m != nil {
		m.evictions.WithLabelValues(reason).Inc()
	}
}
