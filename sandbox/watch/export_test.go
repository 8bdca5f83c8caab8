package watch

// InjectFailure makes the running watch loop fail with err, as a crash
// would; fsnotify.ErrEventOverflow simulates a kernel queue overflow.
func (w *Watcher) InjectFailure(err error) { w.inject <- err }

// DeliverForTest pushes a batch through the Manager's fan-out.
func (m *Manager) DeliverForTest(name string, b Batch) {
	m.mu.Lock()
	e := m.entryLocked(name)
	m.mu.Unlock()
	m.deliver(e, b)
}

// TempPrefix is the sandbox temp-file prefix the watcher assumes.
const TempPrefix = tempPrefix

// WithMaxWatches makes watchers built from c behave as if the inotify watch
// limit were n watches.
func WithMaxWatches(c *Config, n int) { c.maxWatches = n }
