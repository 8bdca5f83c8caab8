package docs

import "github.com/prometheus/client_golang/prometheus"

// metrics are the rubberduck_docs_* series: how busy documents are and how
// often the editor edge has to repair a race, which is the first thing to
// look at when someone reports "my edit vanished".
type metrics struct {
	updates   *prometheus.CounterVec // by source: replica, editor, disk
	refused   prometheus.Counter
	resent    prometheus.Counter
	snapshots prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, m *Manager) *metrics {
	mt := &metrics{
		updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "rubberduck_docs_updates_total",
			Help: "CRDT updates applied to open documents, by source (replica, editor, disk).",
		}, []string{"source"}),
		refused: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_docs_refused_edits_total",
			Help: "Editor changes by readers that were reverted.",
		}),
		resent: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_docs_applyedit_refused_total",
			Help: "workspace/applyEdit requests a thin client answered applied:false.",
		}),
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "rubberduck_docs_snapshots_total",
			Help: "Document snapshots written (log compactions and idle closes).",
		}),
	}
	if reg != nil {
		open := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "rubberduck_docs_open",
			Help: "Documents open in the hub.",
		}, func() float64 { return float64(m.OpenCount()) })
		for _, c := range []prometheus.Collector{mt.updates, mt.refused, mt.resent, mt.snapshots, open} {
			_ = reg.Register(c)
		}
	}
	return mt
}
