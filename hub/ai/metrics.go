package ai

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"
)

// metrics are the engine's Prometheus series. They carry no project or
// person labels: those are unbounded and belong in the usage tracker.
type metrics struct {
	answers    *prometheus.CounterVec
	tokens     *prometheus.CounterVec
	firstToken prometheus.Histogram
	toolCalls  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	if reg == nil {
		reg = prometheus.NewRegistry()
	}
	f := promauto.With(reg)
	return &metrics{
		answers: f.NewCounterVec(prometheus.CounterOpts{Name: "rubberduck_ai_answers_total",
			Help: "AI answers by final status and error kind."}, []string{"status", "kind"}),
		tokens: f.NewCounterVec(prometheus.CounterOpts{Name: "rubberduck_ai_tokens_total",
			Help: "Tokens reported by providers for chat answers."}, []string{"direction"}),
		firstToken: f.NewHistogram(prometheus.HistogramOpts{Name: "rubberduck_ai_first_token_seconds",
			Help:    "Time from a question to the first streamed token.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 4, 8, 16, 32}}),
		toolCalls: f.NewCounterVec(prometheus.CounterOpts{Name: "rubberduck_ai_tool_calls_total",
			Help: "Tool calls made by models, by tool and outcome."}, []string{"tool", "status"}),
	}
}
