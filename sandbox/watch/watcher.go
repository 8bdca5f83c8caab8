package watch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/sourcegraph/conc"
	"golang.org/x/sys/unix"

	"github.com/rubberduckhub/rubberduck/sandbox/ignore"
)

// rescanGap is the least time between two overflow rescans.
const rescanGap = time.Second

// tempPrefix names the sandbox's atomic-write temporary files
// (sandbox/write.go). They live for milliseconds next to the file being
// saved and are never reported.
const tempPrefix = ".rubberduck-tmp-"

// Config tunes one watcher. The zero value of every field means its default.
type Config struct {
	// Quiet is how long the tree must stay quiet before a batch goes out
	// (default 50 ms).
	Quiet time.Duration
	// MaxDelay bounds how long a change can wait while changes keep coming
	// (default 500 ms).
	MaxDelay time.Duration
	// MaxBatchEvents splits larger batches (default 5000), so one message on
	// the wire stays a reasonable size.
	MaxBatchEvents int
	// Ignore adds gitignore-syntax patterns (e.g. "node_modules/") on top of
	// the project's .gitignore files and .git, which are always honoured.
	Ignore []string
	// Docs, when set, receives disk changes to open documents.
	Docs OpenDocuments
	// MaxDocBytes is the largest file handed to Docs (default 8 MiB).
	MaxDocBytes int64
	// ExpectTTL is how long a write announced through the Observer methods
	// waits for its fsnotify events before it is forgotten (default 5 s).
	ExpectTTL time.Duration
	// BackoffMin and BackoffMax bound the delay before a failed watcher is
	// restarted (defaults 100 ms and 30 s); the delay doubles per failure.
	BackoffMin, BackoffMax time.Duration
	// EventBuffer is the fsnotify channel buffer, slack for bursts on top of
	// the kernel queue (default 4096).
	EventBuffer uint
	// DegradedRescan is how often a watcher that could not watch every
	// directory (the inotify watch limit was reached) rescans the whole tree
	// to catch changes there, and retries the missing watches (default 30 s).
	DegradedRescan time.Duration
	// Deliver receives every batch, in order, on the watcher's goroutine: it
	// must not block (the Manager's fan-out only enqueues).
	Deliver func(Batch)
	// Logger receives lifecycle and failure logs (default: discard).
	Logger *slog.Logger

	metrics    *metrics
	maxWatches int // tests: pretend the inotify limit is this many watches
}

func (c *Config) defaults() {
	if c.Quiet <= 0 {
		c.Quiet = 50 * time.Millisecond
	}
	if c.MaxDelay <= 0 {
		c.MaxDelay = 500 * time.Millisecond
	}
	if c.MaxDelay < c.Quiet {
		c.MaxDelay = c.Quiet
	}
	if c.MaxBatchEvents <= 0 {
		c.MaxBatchEvents = 5000
	}
	if c.MaxDocBytes <= 0 {
		c.MaxDocBytes = 8 << 20
	}
	if c.ExpectTTL <= 0 {
		c.ExpectTTL = 5 * time.Second
	}
	if c.BackoffMin <= 0 {
		c.BackoffMin = 100 * time.Millisecond
	}
	if c.BackoffMax < c.BackoffMin {
		c.BackoffMax = max(30*time.Second, c.BackoffMin)
	}
	if c.DegradedRescan <= 0 {
		c.DegradedRescan = 30 * time.Second
	}
	if c.EventBuffer == 0 {
		c.EventBuffer = 4096
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Deliver == nil {
		c.Deliver = func(Batch) {}
	}
}

// Watcher turns changes on disk under one project directory into ordered,
// debounced, coalesced batches. It is recursive, honours .gitignore files,
// never adds a watch through a symlink, rescans after an inotify overflow,
// restarts itself with backoff after a failure, and suppresses the events
// of the hub's own writes announced through its Observer methods (Wrote,
// Removed, Renamed), which match sandbox.Observer.
type Watcher struct {
	project string
	dir     string // absolute; only for fsnotify and never in errors
	cfg     Config
	log     *slog.Logger
	met     *metrics

	// Owned by the loop goroutine.
	root         *os.Root
	fsw          *fsnotify.Watcher
	ign          *ignore.Matcher
	snap         *snapshot
	watched      map[string]struct{}
	pending      map[string]*pend
	order        []string
	firstAt      time.Time
	lastAt       time.Time
	overflow     bool
	lastRescan   time.Time           // of the last overflow rescan
	rescanReason string              // why overflow is set: "overflow" or "degraded"
	ignDirs      map[string]struct{} // directories whose .gitignore changed
	tmpMoved     bool                // the previous event moved a sandbox temp file away...
	tmpDir       string              // ...from this directory
	seq          uint64
	limitHit     bool
	limitLogged  bool

	rootPtr atomic.Pointer[os.Root] // for the docs worker
	watches atomic.Int64

	mu     sync.Mutex // guards expect and health
	expect map[string]expectation
	health Health

	docs docQueue

	ctx       context.Context
	cancel    context.CancelFunc
	wg        conc.WaitGroup
	ready     chan error
	readyOnce sync.Once
	inject    chan error
	closeOnce sync.Once
}

// pend is one dirty path waiting for the next flush.
type pend struct {
	wrote   bool      // a Write event was seen: report even if the stat looks equal
	at      time.Time // last event
	carried bool      // already held back once (see flush)
	moved   bool      // the path was renamed away (IN_MOVED_FROM), not deleted
}

// New prepares a watcher for the project directory dir; Start starts it.
// project names the project in batches and logs.
func New(project, dir string, cfg Config) (*Watcher, error) {
	cfg.defaults()
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("watch %s: %w", project, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w := &Watcher{
		project: project,
		dir:     filepath.Clean(abs),
		cfg:     cfg,
		log:     cfg.Logger.With("project", project),
		met:     cfg.metrics,
		expect:  make(map[string]expectation),
		health:  Health{Project: project, State: "starting"},
		ctx:     ctx,
		cancel:  cancel,
		ready:   make(chan error, 1),
		inject:  make(chan error, 1),
	}
	w.docs.signal = make(chan struct{}, 1)
	return w, nil
}

// Start begins watching and returns once every directory is watched and the
// initial snapshot is taken, or with the error that prevented it (then the
// watcher is closed). Changes made before Start returns may or may not be
// reported; changes after it are.
func (w *Watcher) Start(ctx context.Context) error {
	w.wg.Go(w.supervise)
	if w.cfg.Docs != nil {
		w.wg.Go(w.docsWorker)
	}
	select {
	case err := <-w.ready:
		if err != nil {
			w.Close()
			return err
		}
		return nil
	case <-ctx.Done():
		w.Close()
		return ctx.Err()
	}
}

// Close stops the watcher and waits for its goroutines. It is idempotent.
func (w *Watcher) Close() error {
	w.closeOnce.Do(func() {
		w.cancel()
		w.wg.Wait()
		w.mu.Lock()
		w.health.State = "stopped"
		w.health.Healthy = false
		w.mu.Unlock()
	})
	return nil
}

// Health returns the watcher's current state.
func (w *Watcher) Health() Health {
	w.mu.Lock()
	defer w.mu.Unlock()
	h := w.health
	h.Watches = int(w.watches.Load())
	return h
}

// Watches returns the number of inotify watches in use.
func (w *Watcher) Watches() int { return int(w.watches.Load()) }

// supervise runs the watch loop and restarts it with exponential backoff
// when it fails, until Close.
func (w *Watcher) supervise() {
	backoff := w.cfg.BackoffMin
	for {
		started := time.Now()
		err := w.runGuarded()
		if w.ctx.Err() != nil {
			w.signalReady(w.ctx.Err())
			return
		}
		if w.snap == nil {
			// The initial walk failed: Start reports it, nothing to restart.
			w.signalReady(err)
			return
		}
		if time.Since(started) > 4*w.cfg.BackoffMax {
			backoff = w.cfg.BackoffMin
		}
		msg := w.sanitize(err)
		w.log.Warn("file watcher failed; restarting", "err", msg, "backoff", backoff)
		w.met.restart()
		w.mu.Lock()
		w.health.State = "restarting"
		w.health.Healthy = false
		w.health.Restarts++
		w.health.LastError = msg
		w.mu.Unlock()
		t := time.NewTimer(backoff)
		select {
		case <-w.ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		backoff = min(2*backoff, w.cfg.BackoffMax)
	}
}

func (w *Watcher) signalReady(err error) {
	w.readyOnce.Do(func() { w.ready <- err })
}

// runGuarded turns a panic in the loop into an error so the supervisor can
// restart it.
func (w *Watcher) runGuarded() (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("watch loop panic: %v", r)
		}
	}()
	return w.run()
}

// run is one life of the watcher: open the root and an inotify instance,
// walk the tree adding watches, then process events until failure or Close.
// After a restart the walk is compared with the previous snapshot and the
// differences go out as a resync batch.
func (w *Watcher) run() error {
	root, err := os.OpenRoot(w.dir)
	if err != nil {
		return fmt.Errorf("open project root: %w", err)
	}
	defer root.Close()
	fsw, err := fsnotify.NewBufferedWatcher(w.cfg.EventBuffer)
	if err != nil {
		return fmt.Errorf("inotify: %w", err)
	}
	defer fsw.Close()
	ign, err := ignore.New(root.FS(), w.cfg.Ignore)
	if err != nil {
		return fmt.Errorf("ignore rules: %w", err)
	}
	w.root, w.fsw, w.ign = root, fsw, ign
	w.rootPtr.Store(root)
	w.watched = make(map[string]struct{})
	w.watches.Store(0)
	w.pending = make(map[string]*pend)
	w.order = nil
	w.firstAt = time.Time{}
	w.overflow = false
	w.ignDirs = make(map[string]struct{})
	w.tmpMoved = false
	w.limitHit = false
	defer func() {
		w.rootPtr.Store(nil)
		w.watches.Store(0)
	}()

	if w.snap == nil {
		snap := newSnapshot()
		if err := w.walkDir("", func(rel string, e entry) { snap.set(rel, e) }); err != nil {
			return err
		}
		w.snap = snap
	} else {
		w.met.rescan("restart")
		w.mu.Lock()
		w.health.Rescans++
		w.mu.Unlock()
		changes, err := w.diffSubtree("")
		if err != nil {
			return err
		}
		w.apply(changes, true)
	}
	w.mu.Lock()
	w.health.State = "watching"
	w.health.Healthy = true
	if w.limitHit {
		w.health.State = "degraded"
		w.health.Healthy = false
	}
	w.mu.Unlock()
	w.signalReady(nil)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	degraded := time.NewTicker(w.cfg.DegradedRescan)
	defer degraded.Stop()
	for {
		var tc <-chan time.Time
		if len(w.order) > 0 || w.overflow || len(w.ignDirs) > 0 {
			tc = timer.C
		}
		select {
		case <-w.ctx.Done():
			return nil
		case err := <-w.inject:
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				return err
			}
			w.overflow, w.rescanReason = true, "overflow"
			w.touch()
			w.arm(timer)
		case ev, ok := <-fsw.Events:
			if !ok {
				return errors.New("inotify event stream closed")
			}
			if err := w.handle(ev); err != nil {
				return err
			}
			w.arm(timer)
		case err, ok := <-fsw.Errors:
			if !ok {
				return errors.New("inotify error stream closed")
			}
			if !errors.Is(err, fsnotify.ErrEventOverflow) {
				return fmt.Errorf("inotify: %w", err)
			}
			w.met.overflow()
			w.log.Warn("inotify queue overflowed; rescanning the project")
			w.overflow, w.rescanReason = true, "overflow"
			w.touch()
			w.arm(timer)
		case <-degraded.C:
			if w.limitHit && !w.overflow {
				w.overflow, w.rescanReason = true, "degraded"
				w.touch()
				w.arm(timer)
			}
		case <-tc:
			if time.Now().Before(w.deadline()) {
				w.arm(timer)
				continue
			}
			if wait := rescanGap - time.Since(w.lastRescan); w.overflow && wait > 0 {
				// Overflowing again right after a rescan (a build writing
				// without pause): rescanning back to back would only burn
				// CPU; the next rescan catches up with everything.
				timer.Reset(wait)
				continue
			}
			w.flush()
			if len(w.order) > 0 {
				w.arm(timer)
			}
		}
	}
}

// touch records that something is pending now.
func (w *Watcher) touch() {
	now := time.Now()
	if w.firstAt.IsZero() {
		w.firstAt = now
	}
	w.lastAt = now
}

// deadline is when the pending changes go out: after Quiet without events,
// but never later than MaxDelay after the first one.
func (w *Watcher) deadline() time.Time {
	d := w.lastAt.Add(w.cfg.Quiet)
	if m := w.firstAt.Add(w.cfg.MaxDelay); m.Before(d) {
		d = m
	}
	return d
}

// arm points the timer at the deadline. It is cheap enough per event: a
// burst re-arms it, and the timer case re-checks the deadline.
func (w *Watcher) arm(t *time.Timer) {
	t.Reset(max(time.Until(w.deadline()), 0))
}

// rel maps an fsnotify path to a project-relative one.
func (w *Watcher) rel(name string) (string, bool) {
	if name == w.dir {
		return "", true
	}
	if !strings.HasPrefix(name, w.dir+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(name[len(w.dir)+1:]), true
}

func (w *Watcher) abs(rel string) string {
	if rel == "" {
		return w.dir
	}
	return filepath.Join(w.dir, filepath.FromSlash(rel))
}

// handle marks the path of one fsnotify event dirty. The real
// classification happens at flush time by comparing a fresh lstat (through
// the os.Root, so never outside the project) with the snapshot; events only
// say where to look. New directories are watched and scanned right away so
// files created in them before the watch existed are still found.
func (w *Watcher) handle(ev fsnotify.Event) error {
	rel, ok := w.rel(ev.Name)
	if !ok {
		return nil
	}
	if rel == "" {
		if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
			return errors.New("project root was removed or moved")
		}
		return nil
	}
	dir, name := split(rel)
	// The sandbox saves by writing a temp file and renaming it over the
	// target, then fsyncs the directory and only then calls Wrote, which
	// can be after the quiet window. inotify queues a rename's two halves
	// back to back (Rename of the temp name, then Create of the target), so
	// a Create right after a temp file left the same directory is the hub's
	// own save: remember its stat as if Wrote had been called.
	fromTmp := w.tmpMoved && w.tmpDir == dir && ev.Has(fsnotify.Create)
	w.tmpMoved = false
	if strings.HasPrefix(name, tempPrefix) {
		if ev.Has(fsnotify.Rename) {
			w.tmpMoved, w.tmpDir = true, dir
		}
		return nil
	}
	if name == ignore.FileName {
		w.ignDirs[dir] = struct{}{}
		w.touch()
	}
	_, known := w.snap.get(rel)
	if ev.Has(fsnotify.Remove) || ev.Has(fsnotify.Rename) {
		if _, watched := w.watched[rel]; watched {
			if ev.Has(fsnotify.Rename) {
				// A moved directory keeps its watches (and those below it)
				// under the old names: drop them; the new name is walked
				// afresh when its Create arrives.
				w.unwatchBelow(rel)
			} else {
				// A directory can only be removed once empty, and the
				// kernel drops its watch itself.
				_ = w.fsw.Remove(w.abs(rel))
				delete(w.watched, rel)
				w.watches.Store(int64(len(w.watched)))
			}
		}
		if known || w.pending[rel] != nil {
			w.mark(rel, false)
			w.pending[rel].moved = ev.Has(fsnotify.Rename)
		}
		return nil
	}
	if ev.Has(fsnotify.Create) {
		fi, err := w.root.Lstat(rel)
		if err != nil {
			if known || w.pending[rel] != nil {
				w.mark(rel, false)
			}
			return nil
		}
		if !known && w.ign.IgnoredEntry(rel, fi.IsDir()) {
			return nil
		}
		if fromTmp && fi.Mode().IsRegular() {
			w.expectSet(rel, expectation{kind: expWrote, e: entryFromInfo(fi)})
		}
		w.mark(rel, false)
		if fi.IsDir() {
			if _, watched := w.watched[rel]; !watched {
				// A fresh directory: watch it, then scan it (and load its
				// .gitignore) so nothing created before the watch is lost.
				_ = w.walkDir(rel, func(child string, _ entry) { w.mark(child, false) })
			}
		}
		return nil
	}
	// Write or Chmod.
	if !known && w.pending[rel] == nil && w.ignoredUnknown(rel) {
		return nil
	}
	w.mark(rel, ev.Has(fsnotify.Write))
	return nil
}

// ignoredUnknown decides whether a path the snapshot does not know is
// ignored, with an lstat only when file and directory rules disagree.
func (w *Watcher) ignoredUnknown(rel string) bool {
	f := w.ign.IgnoredEntry(rel, false)
	d := w.ign.IgnoredEntry(rel, true)
	if f == d {
		return f
	}
	fi, err := w.root.Lstat(rel)
	if err != nil {
		return true
	}
	return w.ign.IgnoredEntry(rel, fi.IsDir())
}

func (w *Watcher) mark(rel string, wrote bool) {
	p := w.pending[rel]
	if p == nil {
		p = &pend{}
		w.pending[rel] = p
		w.order = append(w.order, rel)
	}
	p.wrote = p.wrote || wrote
	w.touch()
	p.at = w.lastAt
}

// walkDir watches dir (if it is not yet), loads its .gitignore, and calls fn
// for every non-ignored entry below it, recursing into real directories
// only: a symlink is reported as an entry but never followed or watched.
// Directories are opened through the os.Root, so a symlink swapped in
// cannot lead the walk out of the project.
func (w *Watcher) walkDir(dir string, fn func(rel string, e entry)) error {
	name := dir
	if name == "" {
		name = "."
	}
	f, err := w.root.Open(name)
	if err != nil {
		return fmt.Errorf("open %s: %w", name, err)
	}
	return w.walkOpen(dir, f, fn)
}

// walkOpen is walkDir on an already opened directory, which it closes.
// Subdirectories are opened relative to it with O_NOFOLLOW: one syscall per
// directory instead of one per path component, and still contained (a
// single name, never a symlink).
func (w *Watcher) walkOpen(dir string, f *os.File, fn func(rel string, e entry)) error {
	defer f.Close()
	fd := int(f.Fd())
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat %s: %w", dir, err)
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return nil
	}
	w.addWatch(dir, &st)
	ents, err := f.ReadDir(-1)
	if err != nil && len(ents) == 0 {
		return fmt.Errorf("read %s: %w", dir, err)
	}
	// (Re)load the directory's .gitignore before judging its entries; a
	// directory without one only needs a Load if it had rules before.
	if w.ign.HasRules(dir) || slices.ContainsFunc(ents, func(de fs.DirEntry) bool { return de.Name() == ignore.FileName }) {
		if err := w.ign.Load(dir); err != nil {
			w.log.Debug("reading .gitignore failed", "dir", dir, "err", w.sanitize(err))
		}
	}
	for _, de := range ents {
		base := de.Name()
		if strings.HasPrefix(base, tempPrefix) {
			continue
		}
		rel := join(dir, base)
		if w.ign.IgnoredEntry(rel, de.IsDir()) {
			continue
		}
		var cst unix.Stat_t
		if err := unix.Fstatat(fd, base, &cst, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			continue // gone meanwhile; an event will tell
		}
		e := entryFromUnix(&cst)
		if e.dir != de.IsDir() && w.ign.IgnoredEntry(rel, e.dir) {
			continue
		}
		fn(rel, e)
		if !e.dir {
			continue
		}
		cfd, err := unix.Openat(fd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			w.log.Debug("open failed", "dir", rel, "err", err)
			continue
		}
		if err := w.walkOpen(rel, os.NewFile(uintptr(cfd), base), fn); err != nil {
			w.log.Debug("walk failed", "dir", rel, "err", w.sanitize(err))
		}
	}
	return nil
}

// addWatch adds an inotify watch on dir. inotify takes a path, so after
// adding it the watched inode is compared with the directory opened through
// the os.Root; a mismatch (a symlink swapped in meanwhile) removes the watch.
func (w *Watcher) addWatch(dir string, st *unix.Stat_t) {
	if _, ok := w.watched[dir]; ok {
		return
	}
	abs := w.abs(dir)
	var err error
	if w.cfg.maxWatches > 0 && len(w.watched) >= w.cfg.maxWatches {
		err = syscall.ENOSPC
	} else {
		err = w.fsw.Add(abs)
	}
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			if !w.limitLogged {
				w.limitLogged = true
				w.log.Error("inotify watch limit reached (fs.inotify.max_user_watches); some directories are not watched and are rescanned periodically instead")
			}
			w.limitHit = true
			w.mu.Lock()
			w.health.State = "degraded"
			w.health.Healthy = false
			w.health.LastError = "inotify watch limit reached (fs.inotify.max_user_watches)"
			w.mu.Unlock()
			return
		}
		w.log.Debug("adding watch failed", "dir", dir, "err", w.sanitize(err))
		return
	}
	var vst unix.Stat_t
	if err := unix.Stat(abs, &vst); err != nil || vst.Ino != st.Ino || vst.Dev != st.Dev {
		_ = w.fsw.Remove(abs)
		return
	}
	w.watched[dir] = struct{}{}
	w.watches.Store(int64(len(w.watched)))
}

// unwatchBelow drops the watches on dir and below. inotify removes watches
// of deleted directories by itself, but a moved directory keeps its watches
// under the old names, which would report wrong paths.
func (w *Watcher) unwatchBelow(dir string) {
	for d := range w.watched {
		if under(d, dir) {
			_ = w.fsw.Remove(w.abs(d))
			delete(w.watched, d)
		}
	}
	w.watches.Store(int64(len(w.watched)))
}

// change is one path's state after a window: its fresh stat, or gone.
type change struct {
	rel   string
	gone  bool
	e     entry
	wrote bool
	moved bool // gone because it was renamed away
}

// flush turns the dirty paths into a batch.
func (w *Watcher) flush() {
	pending, order := w.pending, w.order
	w.pending = make(map[string]*pend)
	w.order = nil
	w.firstAt = time.Time{}
	if w.overflow {
		w.overflow = false
		clear(w.ignDirs)
		w.met.rescan(w.rescanReason)
		w.mu.Lock()
		w.health.Rescans++
		w.mu.Unlock()
		// Missing watches are retried by the walk.
		w.limitHit = false
		changes, err := w.diffSubtree("")
		w.lastRescan = time.Now()
		w.mu.Lock()
		if !w.limitHit && w.health.State == "degraded" {
			w.health.State, w.health.Healthy, w.health.LastError = "watching", true, ""
		}
		w.mu.Unlock()
		if err != nil {
			w.log.Warn("rescan failed", "err", w.sanitize(err))
			return
		}
		w.apply(changes, true)
		return
	}
	// A flush forced by MaxDelay can fall between the delete and the
	// re-create of one file (git checkout, atomic saves by other tools).
	// Paths that vanished within the last Quiet are held back once, so the
	// pair still coalesces into one "modified" in the next batch.
	now := time.Now()
	forced := now.Sub(w.lastAt) < w.cfg.Quiet
	changes := make([]change, 0, len(order))
	var carry []string
	for _, rel := range order {
		p := pending[rel]
		fi, err := w.root.Lstat(rel)
		if err != nil {
			if forced && !p.carried && now.Sub(p.at) < w.cfg.Quiet {
				p.carried = true
				carry = append(carry, rel)
				continue
			}
			changes = append(changes, change{rel: rel, gone: true, moved: p.moved})
			continue
		}
		changes = append(changes, change{rel: rel, e: entryFromInfo(fi), wrote: p.wrote})
	}
	for _, rel := range carry {
		if w.pending[rel] == nil {
			w.pending[rel] = pending[rel]
			w.order = append(w.order, rel)
		}
	}
	if len(carry) > 0 {
		w.firstAt = now
	}
	if len(w.ignDirs) > 0 {
		dirs := w.ignDirs
		w.ignDirs = make(map[string]struct{})
		for dir := range dirs {
			covered := false
			for d := range dirs {
				if d != dir && under(dir, d) {
					covered = true
				}
			}
			if covered {
				continue
			}
			w.met.rescan("gitignore")
			more, err := w.diffSubtree(dir)
			if err != nil {
				w.log.Debug("rescan after .gitignore change failed", "dir", dir, "err", w.sanitize(err))
				continue
			}
			changes = append(changes, more...)
		}
	}
	w.apply(changes, false)
}

// diffSubtree walks dir afresh (adding watches for directories not yet
// watched) and returns how it differs from the snapshot.
func (w *Watcher) diffSubtree(dir string) ([]change, error) {
	fresh := make(map[string]entry)
	var order []string
	var out []change
	gone := false
	if dir != "" {
		fi, err := w.root.Lstat(dir)
		switch {
		case err != nil:
			gone = true
		case !fi.IsDir():
			out = append(out, change{rel: dir, e: entryFromInfo(fi)})
			gone = true // nothing below a file
		default:
			if !w.ign.Ignored(dir, true) {
				e := entryFromInfo(fi)
				if old, ok := w.snap.get(dir); !ok || !old.same(e) {
					out = append(out, change{rel: dir, e: e})
				}
			} else {
				gone = true
			}
		}
		if gone {
			if _, ok := w.snap.get(dir); ok && len(out) == 0 {
				out = append(out, change{rel: dir, gone: true})
			}
		}
	}
	if !gone {
		err := w.walkDir(dir, func(rel string, e entry) {
			fresh[rel] = e
			order = append(order, rel)
		})
		if err != nil && dir == "" {
			return nil, err
		}
		for _, rel := range order {
			e := fresh[rel]
			if old, ok := w.snap.get(rel); !ok || !old.same(e) {
				out = append(out, change{rel: rel, e: e})
			}
		}
	}
	w.snap.walkBelow(dir, func(rel string, _ entry) {
		if _, ok := fresh[rel]; !ok {
			out = append(out, change{rel: rel, gone: true})
		}
	})
	return out, nil
}

// classified is one change after comparing it with the snapshot.
type classified struct {
	rel  string
	kind string
	old  string // rename source
	e    entry
	dir  bool
}

// apply compares changes with the snapshot, pairs renames by inode,
// collapses what a directory event implies, drops what the hub wrote
// itself, updates the snapshot and delivers the result.
func (w *Watcher) apply(changes []change, resync bool) {
	// Last state of a path wins; keep first-seen order.
	last := make(map[string]int, len(changes))
	for i, c := range changes {
		last[c.rel] = i
	}
	// Rename pairing is by inode, but inodes are reused at once after a
	// delete, so a pair also needs proof: the source was renamed away
	// (IN_MOVED_FROM), or size and mtime are unchanged (a rename keeps
	// them; a new file has a new mtime).
	type key struct{ dev, ino uint64 }
	type source struct {
		rel   string
		e     entry
		moved bool
	}
	goneByIno := make(map[key]source)
	goneSet := make(map[string]bool)
	var out []classified
	for i, c := range changes {
		if last[c.rel] != i {
			continue
		}
		old, had := w.snap.get(c.rel)
		if c.gone {
			if !had {
				continue
			}
			goneSet[c.rel] = true
			goneByIno[key{old.dev, old.ino}] = source{c.rel, old, c.moved}
			if old.dir {
				w.snap.walkBelow(c.rel, func(rel string, e entry) {
					goneSet[rel] = true
					goneByIno[key{e.dev, e.ino}] = source{rel, e, c.moved}
				})
			}
			out = append(out, classified{rel: c.rel, kind: KindDeleted, e: old, dir: old.dir})
			continue
		}
		switch {
		case had && old.dir == c.e.dir:
			if c.e.dir {
				if !old.same(c.e) {
					w.snap.set(c.rel, c.e) // a directory's own mtime is noise
				}
				continue
			}
			if old.same(c.e) && !c.wrote {
				continue
			}
			out = append(out, classified{rel: c.rel, kind: KindModified, e: c.e})
		case had:
			// A file became a directory or the other way round.
			goneSet[c.rel] = true
			if old.dir {
				w.snap.walkBelow(c.rel, func(rel string, e entry) { goneSet[rel] = true })
			}
			out = append(out, classified{rel: c.rel, kind: KindDeleted, e: old, dir: old.dir})
			out = append(out, classified{rel: c.rel, kind: KindCreated, e: c.e, dir: c.e.dir})
		default:
			out = append(out, classified{rel: c.rel, kind: KindCreated, e: c.e, dir: c.e.dir})
		}
	}

	// Renames: a created path whose inode was just seen going away.
	consumed := make(map[string]bool)
	renamedDirs := make(map[string]string) // new -> old
	for i := range out {
		c := &out[i]
		if c.kind != KindCreated || c.e.ino == 0 {
			continue
		}
		src, ok := goneByIno[key{c.e.dev, c.e.ino}]
		from := src.rel
		if !ok || from == c.rel || consumed[from] || src.e.dir != c.e.dir {
			continue
		}
		if !src.moved && (src.e.size != c.e.size || src.e.mtime != c.e.mtime) {
			continue
		}
		consumed[from] = true
		c.kind, c.old = KindRenamed, from
		if c.dir {
			renamedDirs[c.rel] = from
		}
	}

	// Apply to the snapshot: removals first, then the new state.
	for _, c := range out {
		if c.kind == KindDeleted {
			w.snap.remove(c.rel)
			if c.dir && !w.ancestorIn(c.rel, goneSet) {
				w.unwatchBelow(c.rel)
			}
		}
	}
	for rel := range goneSet {
		w.snap.remove(rel)
	}
	for _, c := range out {
		switch c.kind {
		case KindCreated, KindModified:
			w.snap.set(c.rel, c.e)
		case KindRenamed:
			w.snap.remove(c.old)
			w.snap.set(c.rel, c.e)
		}
	}

	// Build events, dropping what is implied or self-inflicted.
	now := time.Now()
	w.mu.Lock()
	for rel, x := range w.expect {
		if now.After(x.until) {
			delete(w.expect, rel)
		}
	}
	events := make([]Event, 0, len(out))
	var docs []string
	for _, c := range out {
		// own: the hub made this change itself (announced through the
		// Observer). It is no outside change, so it never reaches open
		// documents, but other clients' trees and mirrors need it.
		own := false
		switch c.kind {
		case KindDeleted:
			if consumed[c.rel] || w.ancestorIn(c.rel, goneSet) {
				continue
			}
			// A path that was deleted and is back as another type was
			// re-added above.
			if x, ok := w.expect[c.rel]; ok && x.kind == expRemoved {
				own = true
			}
		case KindRenamed:
			if impliedRename(c.rel, c.old, renamedDirs) {
				continue
			}
			if x, ok := w.expect[c.rel]; ok && x.kind == expRenamedTo && x.from == c.old {
				own = true
			}
		case KindCreated, KindModified:
			if x, ok := w.expect[c.rel]; ok && x.matches(c.e) {
				own = true
			} else if !c.dir && w.cfg.Docs != nil {
				docs = append(docs, c.rel)
			}
		}
		events = append(events, Event{Path: c.rel, Kind: c.kind, OldPath: c.old, Dir: c.dir, Hub: own})
	}
	w.mu.Unlock()

	if len(events) == 0 {
		return
	}
	for len(events) > 0 {
		n := min(len(events), w.cfg.MaxBatchEvents)
		w.seq++
		b := Batch{Project: w.project, Seq: w.seq, Resync: resync, Events: events[:n:n]}
		w.met.batch(b)
		w.cfg.Deliver(b)
		events = events[n:]
	}
	w.mu.Lock()
	w.health.LastBatch = now
	w.mu.Unlock()
	for _, rel := range docs {
		if w.cfg.Docs.IsOpen(rel) {
			w.docs.push(rel)
		}
	}
}

// ancestorIn reports whether a proper ancestor of rel is in set.
func (w *Watcher) ancestorIn(rel string, set map[string]bool) bool {
	for d := parentOf(rel); d != ""; d = parentOf(d) {
		if set[d] {
			return true
		}
	}
	return false
}

// impliedRename reports whether the rename old->rel is just a child moving
// with a renamed ancestor directory.
func impliedRename(rel, old string, dirs map[string]string) bool {
	for d := parentOf(rel); d != ""; d = parentOf(d) {
		if from, ok := dirs[d]; ok {
			return old == from+rel[len(d):]
		}
	}
	return false
}

func parentOf(rel string) string {
	d, _ := split(rel)
	return d
}

// sanitize renders an error without the project's absolute path.
func (w *Watcher) sanitize(err error) string {
	if err == nil {
		return ""
	}
	return strings.ReplaceAll(err.Error(), w.dir, "<project>")
}

// docQueue hands paths to the docs worker: each path at most once until the
// worker takes it; the worker reads the content when it gets to it, so it
// always hands over the latest.
type docQueue struct {
	mu     sync.Mutex
	set    map[string]struct{}
	order  []string
	signal chan struct{}
}

func (q *docQueue) push(rel string) {
	q.mu.Lock()
	if q.set == nil {
		q.set = make(map[string]struct{})
	}
	if _, ok := q.set[rel]; !ok {
		q.set[rel] = struct{}{}
		q.order = append(q.order, rel)
	}
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
}

func (q *docQueue) take() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.order
	q.order = nil
	clear(q.set)
	return out
}

// docsWorker reads changed open documents and hands them to Docs, off the
// watcher's goroutine so a slow document layer cannot stall the watcher.
func (w *Watcher) docsWorker() {
	for {
		select {
		case <-w.ctx.Done():
			return
		case <-w.docs.signal:
		}
		for _, rel := range w.docs.take() {
			if w.ctx.Err() != nil {
				return
			}
			root := w.rootPtr.Load()
			if root == nil {
				continue
			}
			data, err := readLimited(root, rel, w.cfg.MaxDocBytes)
			if err != nil {
				w.log.Debug("reading changed open document failed", "path", rel, "err", w.sanitize(err))
				continue
			}
			w.diskChanged(rel, data)
		}
	}
}

// diskChanged calls the document layer, containing a panic there so it
// cannot take the hub down.
func (w *Watcher) diskChanged(rel string, data []byte) {
	defer func() {
		if r := recover(); r != nil {
			w.log.Error("document layer panicked on a disk change", "path", rel, "panic", r)
		}
	}()
	w.cfg.Docs.DiskChanged(w.ctx, rel, data)
}

// errTooLarge skips files too large to become a document edit.
var errTooLarge = errors.New("file too large for a document edit")

func readLimited(root *os.Root, rel string, limit int64) ([]byte, error) {
	f, err := root.Open(rel)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("read %s: %w", rel, fs.ErrInvalid)
	}
	if fi.Size() > limit {
		return nil, errTooLarge
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, errTooLarge
	}
	return data, nil
}
