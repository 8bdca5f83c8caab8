package watch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sourcegraph/conc"
)

// Invalidator is told about every reported change so cached content of the
// path (and, for a directory, everything below it) is dropped;
// sandbox/cache's *Cache implements it.
type Invalidator interface {
	Invalidate(project, rel string)
}

// ManagerOptions configures a Manager. The zero value of every field means
// its default.
type ManagerOptions struct {
	// Config holds the defaults for every watcher (debounce, ignore
	// patterns, ...). Deliver and Docs are set by the Manager per project.
	Config Config
	// IdleTimeout is how long a watcher keeps running after the last client
	// released its project (default 2 min), so a reconnecting client does
	// not pay for a fresh walk.
	IdleTimeout time.Duration
	// MaxWatchers caps concurrently running watchers (default 64); beyond
	// it the least recently used one is stopped, idle ones first.
	MaxWatchers int
	// SubscriberQueue is how many batches a subscriber may fall behind
	// before it is sent a resync marker instead (default 256).
	SubscriberQueue int
	// Cache, when set, is invalidated for every reported change.
	Cache Invalidator
	// Registerer receives the rubberduck_watch_* metrics.
	Registerer prometheus.Registerer
	// Logger receives lifecycle logs and the inotify budget warning.
	Logger *slog.Logger
	// InotifyDir is where max_user_watches and max_user_instances are read
	// (default /proc/sys/fs/inotify); tests point it elsewhere.
	InotifyDir string
}

// Project names a project directory to watch, with its per-project hooks.
type Project struct {
	Name string
	// Dir is the project's directory on the server.
	Dir string
	// Docs receives disk changes to open documents (optional).
	Docs OpenDocuments
	// Ignore adds patterns to ManagerOptions.Config.Ignore for this project.
	Ignore []string
}

// Manager runs one Watcher per project while clients use it: Acquire when
// a client joins, Release when it leaves. It delivers batches to
// subscribers, keeps Seq continuous per project across watcher restarts,
// stops idle watchers, caps how many run, and tracks the machine's inotify
// budget.
//
// Delivery policy: every subscriber has its own goroutine and a bounded
// queue (SubscriberQueue batches). The watcher never waits for a
// subscriber: when a queue is full, further batches for that subscriber are
// dropped until it has drained its queue, and it then receives one
// Batch{Resync: true} with no events (Seq = the last dropped batch) meaning
// "you missed changes: re-list". Other subscribers are unaffected.
type Manager struct {
	opts ManagerOptions
	log  *slog.Logger
	met  *metrics

	ctx    context.Context
	cancel context.CancelFunc
	wg     conc.WaitGroup

	mu       sync.Mutex
	projects map[string]*project
	closed   bool

	watchLimit, instLimit int
	warnedWatches         bool
	warnedInstances       bool
	nextSub               atomic.Uint64
}

// project is the Manager's state for one project name. Entries are kept
// for the Manager's lifetime (they are small) so an Observer handed to the
// sandbox stays connected to whatever watcher runs later.
type project struct {
	name   string
	dir    string
	docs   OpenDocuments
	ignore []string

	// Guarded by Manager.mu.
	refs      int
	lastUse   time.Time
	idleSince time.Time
	w         *Watcher
	starting  chan struct{}
	evicted   bool

	obs Observer

	smu  sync.Mutex // guards seq and subs; never held while calling out
	seq  uint64
	subs map[uint64]*subscriber
}

// NewManager returns a Manager; Close stops it and every watcher.
func NewManager(opts ManagerOptions) (*Manager, error) {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = 2 * time.Minute
	}
	if opts.MaxWatchers <= 0 {
		opts.MaxWatchers = 64
	}
	if opts.SubscriberQueue <= 0 {
		opts.SubscriberQueue = 256
	}
	if opts.InotifyDir == "" {
		opts.InotifyDir = "/proc/sys/fs/inotify"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		opts:       opts,
		log:        opts.Logger,
		ctx:        ctx,
		cancel:     cancel,
		projects:   make(map[string]*project),
		watchLimit: readLimit(filepath.Join(opts.InotifyDir, "max_user_watches")),
		instLimit:  readLimit(filepath.Join(opts.InotifyDir, "max_user_instances")),
	}
	met, err := newMetrics(opts.Registerer,
		func() float64 { return float64(m.watchesUsed()) },
		func() float64 { return float64(m.watchLimit) },
		func() float64 { return float64(m.instLimit) },
		func() float64 { return float64(m.unhealthy()) })
	if err != nil {
		cancel()
		return nil, fmt.Errorf("watch metrics: %w", err)
	}
	m.met = met
	m.wg.Go(m.janitor)
	return m, nil
}

// readLimit reads one inotify sysctl; 0 means unknown.
func readLimit(p string) int {
	b, err := os.ReadFile(p)
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		return 0
	}
	return n
}

// ErrClosed is returned by Acquire after Close.
var ErrClosed = errors.New("watch manager closed")

// Acquire makes sure p is watched and counts one more user of it; every
// successful Acquire must be paired with one Release. It returns once the
// watcher has walked the tree (so changes after it are reported). When the
// watcher cannot start (e.g. the directory is gone), Acquire returns the
// error and nothing needs releasing.
func (m *Manager) Acquire(ctx context.Context, p Project) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	e := m.entryLocked(p.Name)
	e.refs++
	e.lastUse = time.Now()
	for e.w == nil && e.starting != nil {
		ch := e.starting
		m.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			m.mu.Lock()
			e.refs--
			m.mu.Unlock()
			return ctx.Err()
		}
		m.mu.Lock()
	}
	if e.w != nil {
		m.mu.Unlock()
		return nil
	}
	if m.closed {
		e.refs--
		m.mu.Unlock()
		return ErrClosed
	}
	e.dir, e.docs, e.ignore = p.Dir, p.Docs, p.Ignore
	e.evicted = false
	victims, notify := m.makeRoomLocked(e)
	e.starting = make(chan struct{})
	m.mu.Unlock()

	m.stop(victims)
	for _, v := range notify {
		// Tell its clients they will not get changes until it is acquired again.
		m.deliver(v, Batch{Project: v.name, Resync: true, Events: []Event{}})
	}

	cfg := m.opts.Config
	cfg.Ignore = append(slices.Clone(cfg.Ignore), e.ignore...)
	cfg.Docs = e.docs
	cfg.Logger = m.log
	cfg.metrics = m.met
	cfg.Deliver = func(b Batch) { m.deliver(e, b) }
	w, err := New(e.name, e.dir, cfg)
	if err == nil {
		err = w.Start(ctx)
	}

	m.mu.Lock()
	close(e.starting)
	e.starting = nil
	if err != nil || m.closed {
		e.refs--
		closed := m.closed
		m.mu.Unlock()
		if err == nil && closed {
			w.Close()
			return ErrClosed
		}
		return fmt.Errorf("watch %s: %w", e.name, err)
	}
	e.w = w
	e.obs.w.Store(w)
	m.met.setActive(m.runningLocked())
	m.mu.Unlock()
	m.log.Info("file watcher started", "project", e.name, "watches", w.Watches())
	m.checkBudget()
	return nil
}

// Release counts one user fewer; when none is left the watcher stops after
// IdleTimeout unless someone acquires the project again.
func (m *Manager) Release(name string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.projects[name]
	if e == nil || e.refs == 0 {
		return
	}
	e.refs--
	e.lastUse = time.Now()
	if e.refs == 0 {
		e.idleSince = e.lastUse
	}
}

// Subscribe registers fn to receive every batch of project name, in order,
// on a goroutine of its own (see the delivery policy on Manager). It may be
// called before Acquire. The returned function unsubscribes: no new call
// starts after it returns, though one already running finishes. fn must
// return eventually; Close waits for a call in progress.
func (m *Manager) Subscribe(name string, fn func(Batch)) (unsubscribe func()) {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return func() {}
	}
	e := m.entryLocked(name)
	s := &subscriber{project: name, ch: make(chan Batch, m.opts.SubscriberQueue), done: make(chan struct{}), met: m.met}
	id := m.nextSub.Add(1)
	e.smu.Lock()
	e.subs[id] = s
	e.smu.Unlock()
	m.wg.Go(func() { s.run(m.ctx, fn, m.log) })
	m.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.smu.Lock()
			delete(e.subs, id)
			e.smu.Unlock()
			close(s.done)
		})
	}
}

// Observer returns the sandbox.Observer for project name. Pass it to
// sandbox.Open: it forwards the hub's own writes to whichever watcher runs
// for the project at the time, and does nothing while none runs.
func (m *Manager) Observer(name string) *Observer {
	m.mu.Lock()
	defer m.mu.Unlock()
	return &m.entryLocked(name).obs
}

// ManagerHealth is the Manager's contribution to /readyz details.
type ManagerHealth struct {
	// Healthy is false when any running watcher is not healthy.
	Healthy bool `json:"healthy"`
	// Watchers lists running (or evicted while in use) watchers by project.
	Watchers []Health `json:"watchers"`
	// WatchesUsed / WatchesLimit: inotify watches of all watchers against
	// fs.inotify.max_user_watches (0 = unknown).
	WatchesUsed  int `json:"watchesUsed"`
	WatchesLimit int `json:"watchesLimit"`
	// InstancesUsed / InstancesLimit: one inotify instance per watcher
	// against fs.inotify.max_user_instances (0 = unknown).
	InstancesUsed  int `json:"instancesUsed"`
	InstancesLimit int `json:"instancesLimit"`
}

// Health reports every watcher's state and the inotify budget.
func (m *Manager) Health() ManagerHealth {
	m.mu.Lock()
	var ws []*Watcher
	h := ManagerHealth{Healthy: true, WatchesLimit: m.watchLimit, InstancesLimit: m.instLimit}
	for _, e := range m.projects {
		switch {
		case e.w != nil:
			ws = append(ws, e.w)
		case e.evicted && e.refs > 0:
			h.Watchers = append(h.Watchers, Health{Project: e.name, State: "evicted"})
		}
	}
	m.mu.Unlock()
	for _, w := range ws {
		wh := w.Health()
		h.Watchers = append(h.Watchers, wh)
		h.WatchesUsed += wh.Watches
		if !wh.Healthy {
			h.Healthy = false
		}
	}
	h.InstancesUsed = len(ws)
	slices.SortFunc(h.Watchers, func(a, b Health) int { return strings.Compare(a.Project, b.Project) })
	return h
}

// Close stops every watcher and subscriber goroutine and waits for them.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	var ws []*Watcher
	for _, e := range m.projects {
		if e.w != nil {
			ws = append(ws, e.w)
			e.w = nil
			e.obs.w.Store(nil)
		}
	}
	m.mu.Unlock()
	m.cancel()
	m.stop(ws)
	m.wg.Wait()
	m.met.setActive(0)
	return nil
}

func (m *Manager) entryLocked(name string) *project {
	e := m.projects[name]
	if e == nil {
		e = &project{name: name, subs: make(map[uint64]*subscriber)}
		m.projects[name] = e
	}
	return e
}

func (m *Manager) runningLocked() int {
	n := 0
	for _, e := range m.projects {
		if e.w != nil || e.starting != nil {
			n++
		}
	}
	return n
}

// makeRoomLocked detaches least recently used watchers until starting one
// more stays within MaxWatchers: idle ones first, then in-use ones (their
// subscribers get a resync marker and Health shows "evicted" until the next
// Acquire restarts the watcher).
func (m *Manager) makeRoomLocked(except *project) (victims []*Watcher, notify []*project) {
	better := func(a, b *project) bool { // a is a better victim than b
		if (a.refs == 0) != (b.refs == 0) {
			return a.refs == 0
		}
		return a.lastUse.Before(b.lastUse)
	}
	for m.runningLocked() >= m.opts.MaxWatchers {
		var victim *project
		for _, e := range m.projects {
			if e == except || e.w == nil {
				continue
			}
			if victim == nil || better(e, victim) {
				victim = e
			}
		}
		if victim == nil {
			break // only watchers that are still starting
		}
		victims = append(victims, victim.w)
		victim.w = nil
		victim.obs.w.Store(nil)
		m.met.evict()
		if victim.refs > 0 {
			victim.evicted = true
			notify = append(notify, victim)
			m.log.Warn("evicting an in-use file watcher to stay under the watcher limit", "project", victim.name, "limit", m.opts.MaxWatchers)
		} else {
			m.log.Info("evicting idle file watcher", "project", victim.name)
		}
	}
	m.met.setActive(m.runningLocked())
	return victims, notify
}

// stop closes watchers; it must run without Manager.mu held because a
// watcher being closed may be delivering a batch.
func (m *Manager) stop(ws []*Watcher) {
	for _, w := range ws {
		w.Close()
		m.log.Info("file watcher stopped", "project", w.project)
	}
}

// deliver numbers a batch in the project's sequence and offers it to every
// subscriber without blocking; it also invalidates the cache.
func (m *Manager) deliver(e *project, b Batch) {
	if m.opts.Cache != nil {
		for _, ev := range b.Events {
			m.opts.Cache.Invalidate(e.name, ev.Path)
			if ev.OldPath != "" {
				m.opts.Cache.Invalidate(e.name, ev.OldPath)
			}
		}
	}
	e.smu.Lock()
	defer e.smu.Unlock()
	e.seq++
	b.Seq = e.seq
	b.Project = e.name
	for _, s := range e.subs {
		s.offer(b)
	}
}

// janitor stops watchers that stayed idle for IdleTimeout and re-checks the
// inotify budget.
func (m *Manager) janitor() {
	tick := min(max(m.opts.IdleTimeout/4, 10*time.Millisecond), time.Second)
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		var idle []*Watcher
		m.mu.Lock()
		for _, e := range m.projects {
			if e.w != nil && e.refs == 0 && now.Sub(e.idleSince) >= m.opts.IdleTimeout {
				idle = append(idle, e.w)
				e.w = nil
				e.obs.w.Store(nil)
			}
		}
		if len(idle) > 0 {
			m.met.setActive(m.runningLocked())
		}
		m.mu.Unlock()
		m.stop(idle)
		m.checkBudget()
	}
}

// watchesUsed sums the inotify watches of every running watcher.
func (m *Manager) watchesUsed() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, e := range m.projects {
		if e.w != nil {
			n += e.w.Watches()
		}
	}
	return n
}

// unhealthy counts running watchers that are not healthy.
func (m *Manager) unhealthy() int {
	n := 0
	for _, h := range m.Health().Watchers {
		if !h.Healthy {
			n++
		}
	}
	return n
}

// checkBudget warns once when the hub's own use reaches 80% of the user's
// inotify limits (other processes of the same user share them, so trouble
// can start earlier), and re-arms below 70%.
func (m *Manager) checkBudget() {
	used := m.watchesUsed()
	m.mu.Lock()
	inst := m.runningLocked()
	warnW := budgetCross(&m.warnedWatches, used, m.watchLimit)
	warnI := budgetCross(&m.warnedInstances, inst, m.instLimit)
	m.mu.Unlock()
	if warnW {
		m.log.Warn("inotify watches at 80% of fs.inotify.max_user_watches; raise it (sysctl) or add ignore patterns",
			"used", used, "limit", m.watchLimit)
	}
	if warnI {
		m.log.Warn("inotify instances at 80% of fs.inotify.max_user_instances; raise it (sysctl)",
			"used", inst, "limit", m.instLimit)
	}
}

func budgetCross(warned *bool, used, limit int) bool {
	if limit <= 0 {
		return false
	}
	switch {
	case !*warned && used*10 >= limit*8:
		*warned = true
		return true
	case *warned && used*10 < limit*7:
		*warned = false
	}
	return false
}

// Observer forwards the sandbox's mutation notices to the project's current
// watcher; it implements sandbox.Observer.
type Observer struct {
	w atomic.Pointer[Watcher]
}

// Wrote implements sandbox.Observer.
func (o *Observer) Wrote(rel string, info fs.FileInfo) {
	if w := o.w.Load(); w != nil {
		w.Wrote(rel, info)
	}
}

// Removed implements sandbox.Observer.
func (o *Observer) Removed(rel string) {
	if w := o.w.Load(); w != nil {
		w.Removed(rel)
	}
}

// Renamed implements sandbox.Observer.
func (o *Observer) Renamed(from, to string) {
	if w := o.w.Load(); w != nil {
		w.Renamed(from, to)
	}
}

// subscriber is one delivery target with its own bounded queue.
type subscriber struct {
	project string
	ch      chan Batch
	done    chan struct{}
	met     *metrics

	mu         sync.Mutex
	lagged     bool
	droppedSeq uint64
}

// offer enqueues without blocking; see the delivery policy on Manager.
func (s *subscriber) offer(b Batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lagged {
		s.droppedSeq = b.Seq
		return
	}
	select {
	case s.ch <- b:
	default:
		s.lagged = true
		s.droppedSeq = b.Seq
		s.met.lag()
	}
}

func (s *subscriber) run(ctx context.Context, fn func(Batch), log *slog.Logger) {
	call := func(b Batch) {
		defer func() {
			if r := recover(); r != nil {
				log.Error("file change subscriber panicked", "project", s.project, "panic", r)
			}
		}()
		fn(b)
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.done:
			return
		case b := <-s.ch:
			call(b)
			s.mu.Lock()
			var marker *Batch
			if s.lagged && len(s.ch) == 0 {
				s.lagged = false
				marker = &Batch{Project: s.project, Seq: s.droppedSeq, Resync: true, Events: []Event{}}
			}
			s.mu.Unlock()
			if marker != nil {
				call(*marker)
			}
		}
	}
}
