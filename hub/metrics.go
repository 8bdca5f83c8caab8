package hub

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/rubberduckhub/rubberduck/hub/store"
)

// metrics are the hub's own Prometheus series. Every name starts with
// rubberduck_, including the Go runtime and process collectors, so one
// scrape config selects everything RubberDuck exports.
type metrics struct {
	registry       *prometheus.Registry
	connections    prometheus.Gauge
	connsTotal     prometheus.Counter
	messages       *prometheus.CounterVec
	errors         *prometheus.CounterVec
	latency        *prometheus.HistogramVec
	protocolErrors *prometheus.CounterVec
	panics         prometheus.Counter
	slowConsumers  prometheus.Counter
	upgrades       *prometheus.CounterVec
}

func newMetrics(reg *prometheus.Registry, st store.Store) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	prefixed := prometheus.WrapRegistererWithPrefix("rubberduck_", reg)
	prefixed.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	m := &metrics{
		registry: reg,
		connections: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "rubberduck_connections", Help: "Open /lsp WebSocket connections.",
		}),
		connsTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_connections_total", Help: "/lsp WebSocket connections accepted since start.",
		}),
		messages: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_messages_total", Help: "JSON-RPC calls received, by method and kind (request|notification).",
		}, []string{"method", "kind"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_errors_total", Help: "JSON-RPC error responses sent, by method and error code.",
		}, []string{"method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "rubberduck_request_duration_seconds",
			Help:    "Time to handle a JSON-RPC request, by method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"method"}),
		protocolErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_protocol_errors_total", Help: "Frames that could not be handled, by kind (parse|invalid|too_large|binary).",
		}, []string{"kind"}),
		panics: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_handler_panics_total", Help: "Handler panics recovered (each is a bug: see the logs).",
		}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_slow_consumers_total", Help: "Connections dropped because the client stopped reading.",
		}),
		upgrades: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_upgrades_refused_total", Help: "WebSocket upgrades and logins refused, by reason (unauthorized|origin|rate_limited|login).",
		}, []string{"reason"}),
	}
	reg.MustRegister(m.connections, m.connsTotal, m.messages, m.errors, m.latency,
		m.protocolErrors, m.panics, m.slowConsumers, m.upgrades,
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rubberduck_store_size_bytes", Help: "Bytes the store occupies on disk.",
		}, func() float64 { return float64(st.Size()) }),
	)
	return m
}

// observe records one handled call. Unknown methods are counted under
// "unknown" so a client cannot grow the label set without bound.
func (m *metrics) observe(method string, known, request bool, d time.Duration, code int64) {
	if !known {
		method = "unknown"
	}
	kind := "notification"
	if request {
		kind = "request"
		m.latency.WithLabelValues(method).Observe(d.Seconds())
	}
	m.messages.WithLabelValues(method, kind).Inc()
	if code != 0 {
		m.errors.WithLabelValues(method, strconv.FormatInt(code, 10)).Inc()
	}
}

// wsEvents adapts transport incidents to metrics.
type wsEvents struct{ m *metrics }

func (e wsEvents) ProtocolError(kind string) { e.m.protocolErrors.WithLabelValues(kind).Inc() }
func (e wsEvents) Panic(string)              { e.m.panics.Inc() }
func (e wsEvents) SlowConsumer()             { e.m.slowConsumers.Inc() }
