package watch

import (
	"errors"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are shared by a Manager and its watchers. A nil *metrics records
// nothing, so a Watcher used on its own needs no Registerer.
type metrics struct {
	active    prometheus.Gauge
	events    *prometheus.CounterVec
	batches   *prometheus.CounterVec
	rescans   *prometheus.CounterVec
	restarts  prometheus.Counter
	overflows prometheus.Counter
	evictions prometheus.Counter
	lagged    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, watches, watchLimit, instLimit, unhealthy func() float64) (*metrics, error) {
	m := &metrics{
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rubberduck_watch_active_watchers",
			Help: "Projects with a running file watcher (one inotify instance each).",
		}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_watch_events_total",
			Help: "File change events delivered, by kind.",
		}, []string{"kind"}),
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_watch_batches_total",
			Help: "Batches delivered; resync=true for batches computed by rescanning.",
		}, []string{"resync"}),
		rescans: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_watch_rescans_total",
			Help: "Tree rescans, by reason (overflow, restart, gitignore).",
		}, []string{"reason"}),
		restarts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_watch_restarts_total",
			Help: "Watcher restarts after a failure.",
		}),
		overflows: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_watch_overflows_total",
			Help: "Inotify queue overflows (each one triggers a rescan).",
		}),
		evictions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_watch_evictions_total",
			Help: "Watchers stopped to stay under the concurrent watcher limit.",
		}),
		lagged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_watch_subscriber_lagged_total",
			Help: "Times a slow subscriber's queue filled up and it was sent a resync marker instead.",
		}),
	}
	cs := []prometheus.Collector{m.active, m.events, m.batches, m.rescans, m.restarts, m.overflows, m.evictions, m.lagged,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rubberduck_watch_inotify_watches",
			Help: "Inotify watches (watched directories) used by all watchers.",
		}, watches),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rubberduck_watch_inotify_watches_limit",
			Help: "fs.inotify.max_user_watches (0 when unknown); shared with every other process of the same user.",
		}, watchLimit),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rubberduck_watch_inotify_instances_limit",
			Help: "fs.inotify.max_user_instances (0 when unknown); each watcher uses one instance.",
		}, instLimit),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rubberduck_watch_unhealthy_watchers",
			Help: "Watchers that are restarting, degraded (e.g. out of inotify watches) or evicted while clients use the project.",
		}, unhealthy),
	}
	if reg != nil {
		for _, c := range cs {
			if err := reg.Register(c); err != nil {
				var are prometheus.AlreadyRegisteredError
				if errors.As(err, &are) {
					continue
				}
				return nil, err
			}
		}
	}
	return m, nil
}

func (m *metrics) batch(b Batch) {
	if m == nil {
		return
	}
	m.batches.WithLabelValues(strconv.FormatBool(b.Resync)).Inc()
	for _, e := range b.Events {
		m.events.WithLabelValues(e.Kind).Inc()
	}
}

func (m *metrics) rescan(reason string) {
	if m == nil {
		return
	}
	m.rescans.WithLabelValues(reason).Inc()
}

func (m *metrics) restart() {
	if m == nil {
		return
	}
	m.restarts.Inc()
}

func (m *metrics) overflow() {
	if m == nil {
		return
	}
	m.overflows.Inc()
}

func (m *metrics) setActive(n int) {
	if m == nil {
		return
	}
	m.active.Set(float64(n))
}

func (m *metrics) evict() {
	if m == nil {
		return
	}
	m.evictions.Inc()
}

func (m *metrics) lag() {
	if m == nil {
		return
	}
	m.lagged.Inc()
}
