// Package audit keeps the hub's audit trail: who did what to which project,
// file or permission, when, and whether it worked.
//
// Records are written to hub/store under time-ordered keys, once by time and
// once per project, bucketed by UTC day:
//
//	audit/t/<yyyymmdd>/<unix-nanos>-<instance>-<seq>
//	audit/p/<project>/<yyyymmdd>/<unix-nanos>-<instance>-<seq>
//
// so "project P since T" is a handful of prefix scans over the days asked
// for, and retention drops whole leading ranges in key order.
//
// Recording must not slow a file save down, so Record only queues the entry;
// one goroutine owned by the Log batch-writes the queue. The queue is bounded:
// when it is full, Record waits (an audit trail with holes is worse than a
// briefly slower request) until its context ends or Options.MaxWait passes,
// and only then gives up and counts the entry as dropped. Close flushes what
// is queued.
//
// Log.Sandbox adapts the Log to sandbox.Auditor, so every file operation
// lands here too.
package audit

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sourcegraph/conc"

	"github.com/rubberduckhub/rubberduck/hub/store"
)

// ErrClosed is returned by Record after Close.
var ErrClosed = errors.New("audit: closed")

// Outcomes of an audited operation.
const (
	OutcomeOK     = "ok"
	OutcomeDenied = "denied"
	OutcomeError  = "error"
)

// Entry is one audited event. It never holds file content or secrets.
type Entry struct {
	// Time is when it happened; Record sets it when zero.
	Time time.Time `json:"time"`
	// RequestID ties the entry to the client request (and to logs); Record
	// fills it from the context (WithRequestID) when empty.
	RequestID string `json:"requestId,omitempty"`
	// Actor is the user ID of whoever asked ("" for the hub itself).
	Actor string `json:"actor"`
	// Action names the operation: "file.write", "file.delete", "role.grant",
	// "token.revoke", ...
	Action string `json:"action"`
	// Project is the project's name, or "" for hub-wide events (users).
	Project string `json:"project,omitempty"`
	// Target is the project-relative path, or the user/token acted on.
	Target string `json:"target,omitempty"`
	// To is the destination of a rename or restore.
	To string `json:"to,omitempty"`
	// Outcome is OutcomeOK, OutcomeDenied or OutcomeError.
	Outcome string `json:"outcome"`
	// Detail is a short, client-safe explanation (an error message without
	// absolute paths, the role granted, ...).
	Detail string `json:"detail,omitempty"`
}

// Options configure a Log. The zero value is usable.
type Options struct {
	// QueueSize bounds the entries waiting to be written (default 4096).
	QueueSize int
	// MaxWait bounds how long Record waits for room in a full queue before
	// giving up on the entry (default 2s), so a stuck store slows requests
	// down but never hangs them.
	MaxWait time.Duration
	// BatchSize bounds the entries written in one store batch (default 256).
	BatchSize int
	// Retention drops records older than this; 0 keeps everything.
	Retention time.Duration
	// PruneEvery is how often retention runs (default 1h).
	PruneEvery time.Duration
	// Registerer receives the rubberduck_audit_* metrics; nil disables them.
	Registerer prometheus.Registerer
	// Logger reports write failures; nil discards.
	Logger *slog.Logger
	// Now replaces time.Now, for tests.
	Now func() time.Time
}

// Log is the audit trail. Create it with New and stop it with Close.
type Log struct {
	st   store.Store
	opts Options
	inst string
	seq  atomic.Uint64

	mu     sync.RWMutex // RLock while enqueueing; Lock to close the queue
	closed bool
	queue  chan item
	stop   chan struct{}
	ctx    context.Context // cancelled by Close, ends a running prune
	cancel context.CancelFunc
	wg     conc.WaitGroup

	recorded, dropped, writeErrors prometheus.Counter
	pruned                         prometheus.Counter
}

type item struct {
	e     Entry
	flush chan struct{} // when set, a flush marker instead of an entry
}

// New starts a Log writing to st.
func New(st store.Store, opts Options) (*Log, error) {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 4096
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 256
	}
	if opts.MaxWait <= 0 {
		opts.MaxWait = 2 * time.Second
	}
	if opts.PruneEvery <= 0 {
		opts.PruneEvery = time.Hour
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var ib [4]byte
	_, _ = rand.Read(ib[:])
	l := &Log{
		st: st, opts: opts, inst: hex.EncodeToString(ib[:]),
		queue: make(chan item, opts.QueueSize),
		stop:  make(chan struct{}),
	}
	l.ctx, l.cancel = context.WithCancel(context.Background())
	var err error
	counter := func(name, help string) prometheus.Counter {
		c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
		if err == nil {
			c, err = register(opts.Registerer, c)
		}
		return c
	}
	l.recorded = counter("rubberduck_audit_records_total", "Audit records written to the store.")
	l.dropped = counter("rubberduck_audit_dropped_total", "Audit records given up because the queue stayed full until the caller's context ended.")
	l.writeErrors = counter("rubberduck_audit_write_errors_total", "Audit records lost because the store refused the write.")
	l.pruned = counter("rubberduck_audit_pruned_total", "Audit records removed by retention.")
	if err != nil {
		return nil, err
	}
	l.wg.Go(l.run)
	if opts.Retention > 0 {
		l.wg.Go(l.retain)
	}
	return l, nil
}

// register registers c, or reuses the collector already registered under
// the same name, so two Logs on one registry (tests, restarts) work.
func register(reg prometheus.Registerer, c prometheus.Counter) (prometheus.Counter, error) {
	if reg == nil {
		return c, nil
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if ec, ok := are.ExistingCollector.(prometheus.Counter); ok {
				return ec, nil
			}
		}
		return nil, fmt.Errorf("register audit metrics: %w", err)
	}
	return c, nil
}

type requestIDKey struct{}

// WithRequestID returns ctx carrying the client request's ID, so audit
// entries (and anything else) recorded while serving it can be correlated.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestID returns the ID set by WithRequestID, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// Record queues e for writing. It returns quickly unless the queue is full,
// in which case it waits for room until ctx ends.
func (l *Log) Record(ctx context.Context, e Entry) error {
	if e.Time.IsZero() {
		e.Time = l.opts.Now()
	}
	e.Time = e.Time.UTC()
	if e.RequestID == "" {
		e.RequestID = RequestID(ctx)
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeOK
	}
	return l.enqueue(ctx, item{e: e})
}

func (l *Log) enqueue(ctx context.Context, it item) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	select {
	case l.queue <- it:
		return nil
	default:
	}
	wait := time.NewTimer(l.opts.MaxWait)
	defer wait.Stop()
	select {
	case l.queue <- it:
		return nil
	case <-wait.C:
		if it.flush == nil {
			l.dropped.Inc()
		}
		return fmt.Errorf("audit queue full for %s: %w", l.opts.MaxWait, context.DeadlineExceeded)
	case <-ctx.Done():
		if it.flush == nil {
			l.dropped.Inc()
		}
		return fmt.Errorf("audit queue full: %w", ctx.Err())
	}
}

// Flush waits until every entry recorded before the call is in the store.
func (l *Log) Flush(ctx context.Context) error {
	done := make(chan struct{})
	if err := l.enqueue(ctx, item{flush: done}); err != nil {
		return err
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close stops accepting entries, writes everything queued and stops the
// writer. It is safe to call twice.
func (l *Log) Close() error {
	l.mu.Lock()
	if !l.closed {
		l.closed = true
		close(l.queue)
		close(l.stop)
		l.cancel()
	}
	l.mu.Unlock()
	l.wg.Wait()
	return nil
}

// retain applies the retention period at start and then every PruneEvery,
// beside the writer so a long first prune never holds up recording.
func (l *Log) retain() {
	tick := time.NewTicker(l.opts.PruneEvery)
	defer tick.Stop()
	for {
		for {
			n, err := l.Prune(l.ctx, l.opts.Now().Add(-l.opts.Retention))
			if err != nil && l.ctx.Err() == nil {
				l.opts.Logger.Error("audit retention failed", "err", err)
			}
			if err != nil || n < pruneChunk {
				break
			}
			select {
			case <-l.stop:
				return
			default:
			}
		}
		select {
		case <-l.stop:
			return
		case <-tick.C:
		}
	}
}

func (l *Log) run() {
	batch := make([]Entry, 0, l.opts.BatchSize)
	var flushes []chan struct{}
	for {
		it, ok := <-l.queue
		if !ok {
			return
		}
		// Take whatever else is already queued, up to one batch.
	collect:
		for {
			if it.flush != nil {
				flushes = append(flushes, it.flush)
			} else {
				batch = append(batch, it.e)
			}
			if len(batch) >= l.opts.BatchSize {
				break
			}
			select {
			case it, ok = <-l.queue:
				if !ok {
					break collect
				}
			default:
				break collect
			}
		}
		l.write(batch)
		batch = batch[:0]
		for _, f := range flushes {
			close(f)
		}
		flushes = flushes[:0]
		if !ok {
			return
		}
	}
}

func (l *Log) write(batch []Entry) {
	if len(batch) == 0 {
		return
	}
	// The writer outlives any one request, so it uses its own context.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := l.st.Batch(ctx, func(b store.Batch) error {
		for _, e := range batch {
			v, err := json.Marshal(e)
			if err != nil {
				return fmt.Errorf("encode audit entry: %w", err)
			}
			tk, pk := l.keys(e)
			if err := b.Put(tk, v); err != nil {
				return err
			}
			if pk != nil {
				if err := b.Put(pk, v); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		l.writeErrors.Add(float64(len(batch)))
		l.opts.Logger.Error("audit write failed", "entries", len(batch), "err", err)
		return
	}
	l.recorded.Add(float64(len(batch)))
}

const (
	timePrefix    = "audit/t/"
	projectPrefix = "audit/p/"
	dayLayout     = "20060102"
)

func (l *Log) keys(e Entry) (byTime, byProject []byte) {
	suffix := e.Time.Format(dayLayout) + "/" + fmt.Sprintf("%020d", e.Time.UnixNano()) + "-" + l.inst + "-" +
		fmt.Sprintf("%016x", l.seq.Add(1))
	byTime = []byte(timePrefix + suffix)
	if e.Project != "" && !strings.Contains(e.Project, "/") {
		byProject = []byte(projectPrefix + e.Project + "/" + suffix)
	}
	return byTime, byProject
}

// keyTime extracts the unix-nanos part of a key's last segment.
func keyTime(k []byte) (int64, bool) {
	s := string(k)
	i := strings.LastIndexByte(s, '/')
	if i < 0 || len(s) < i+21 {
		return 0, false
	}
	n, err := strconv.ParseInt(s[i+1:i+21], 10, 64)
	return n, err == nil
}

// pruneChunk bounds the records one Prune call removes, so its memory is
// bounded; retention calls it again until less was left.
const pruneChunk = 50000

// Prune deletes records older than before and returns how many it removed,
// at most pruneChunk per call. It walks the time index in key order and
// stops at the first newer record.
func (l *Log) Prune(ctx context.Context, before time.Time) (int, error) {
	cut := before.UnixNano()
	var dels [][]byte
	err := l.st.Scan(ctx, []byte(timePrefix), func(k, v []byte) (bool, error) {
		ts, ok := keyTime(k)
		if ok && ts >= cut {
			return false, nil
		}
		dels = append(dels, append([]byte(nil), k...))
		var e Entry
		if json.Unmarshal(v, &e) == nil && e.Project != "" {
			suffix := string(k[len(timePrefix):])
			dels = append(dels, []byte(projectPrefix+e.Project+"/"+suffix))
		}
		return len(dels) < 2*pruneChunk, nil
	})
	if err != nil {
		return 0, fmt.Errorf("prune audit: %w", err)
	}
	n := 0
	for start := 0; start < len(dels); start += 1000 {
		chunk := dels[start:min(start+1000, len(dels))]
		if err := l.st.Batch(ctx, func(b store.Batch) error {
			for _, k := range chunk {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return n, fmt.Errorf("prune audit: %w", err)
		}
		for _, k := range chunk {
			if strings.HasPrefix(string(k), timePrefix) {
				n++
			}
		}
	}
	l.pruned.Add(float64(n))
	return n, nil
}

// Filter selects records for Query. Zero fields do not filter.
type Filter struct {
	Project string    `json:"project,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	Actor   string    `json:"actor,omitempty"`
	// Limit caps the result (default 1000, at most 10000).
	Limit int `json:"limit,omitempty"`
}

// Query returns matching records, oldest first. It sees what was written;
// call Flush first to include entries still queued.
func (l *Log) Query(ctx context.Context, f Filter) ([]Entry, error) {
	if f.Limit <= 0 {
		f.Limit = 1000
	}
	f.Limit = min(f.Limit, 10000)
	base := timePrefix
	if f.Project != "" {
		if strings.Contains(f.Project, "/") {
			return nil, nil
		}
		base = projectPrefix + f.Project + "/"
	}
	var prefixes []string
	if f.Since.IsZero() {
		prefixes = []string{base}
	} else {
		until := f.Until
		if until.IsZero() {
			until = l.opts.Now()
		}
		// One prefix per UTC day: the store scans by prefix only, and days
		// keep the scan to the range asked for.
		day := f.Since.UTC().Truncate(24 * time.Hour)
		for ; !day.After(until.UTC()) && len(prefixes) < 3660; day = day.Add(24 * time.Hour) {
			prefixes = append(prefixes, base+day.Format(dayLayout)+"/")
		}
	}
	since, until := f.Since.UnixNano(), f.Until.UnixNano()
	var out []Entry
	for _, p := range prefixes {
		err := l.st.Scan(ctx, []byte(p), func(k, v []byte) (bool, error) {
			ts, ok := keyTime(k)
			if !ok {
				return true, nil
			}
			if !f.Since.IsZero() && ts < since {
				return true, nil
			}
			if !f.Until.IsZero() && ts >= until {
				return false, nil
			}
			var e Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return false, fmt.Errorf("decode audit %s: %w", k, err)
			}
			if f.Actor != "" && e.Actor != f.Actor {
				return true, nil
			}
			out = append(out, e)
			return len(out) < f.Limit, nil
		})
		if err != nil {
			return nil, fmt.Errorf("query audit: %w", err)
		}
		if len(out) >= f.Limit {
			break
		}
	}
	return out, nil
}
