package sandbox

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options carries a Root's collaborators. Every field is optional.
type Options struct {
	// Project names the project in audit events.
	Project string
	// TrashDir is where Delete moves entries, e.g. DATA/trash/<project>. It
	// must be outside the project root (Open refuses it otherwise). On the
	// same file system moves are renames; across file systems Delete and
	// Restore copy (symlinks as links, special files dropped) and then
	// remove. It is created if missing. Empty means Delete removes
	// permanently.
	TrashDir string
	// Auditor receives an Event for every operation.
	Auditor Auditor
	// Observer is told about every successful mutation.
	Observer Observer
	// Cache is consulted by Read and updated by Write.
	Cache ContentCache
	// Ignore builds the .gitignore matcher Search uses; it is called once
	// by Open with the project's contained file system. Nil means Search
	// only skips .git directories and the policy's denied paths.
	Ignore func(fsys fs.FS) (IgnoreMatcher, error)
	// Registerer receives the rubberduck_sandbox_* metrics. Several Roots
	// may share one Registerer.
	Registerer prometheus.Registerer
	// Logger receives server-side details of internal errors.
	Logger *slog.Logger
	// NoSync skips fsync in writes. Only for tests and benchmarks on
	// throw-away directories: it gives up durability across power loss.
	NoSync bool
}

// Root is one project's sandbox. It is safe for concurrent use; Close it
// when the project is unloaded.
type Root struct {
	root    *os.Root
	rootDir *os.File // the root directory, for *at calls
	dirfd   int
	dev     uint64
	absPath string // only for Open's checks and AuditSymlinks; never in errors

	trash    *os.Root
	trashDir *os.File
	trashfd  int

	policy  atomic.Pointer[compiledPolicy]
	opts    Options
	ignore  IgnoreMatcher
	metrics *metrics
	log     *slog.Logger

	mu     sync.RWMutex // held for reading by operations, for writing by Close
	closed bool
	locks  [64]sync.Mutex // serialises the hub's own writes per path
}

// Open returns the sandbox for the project directory dir, which must exist.
// policy is validated; opts.TrashDir is created when missing.
func Open(dir string, policy Policy, opts Options) (*Root, error) {
	const op = "open"
	if !supported {
		return nil, newErr(Unsupported, op, "", "the sandbox needs Linux, macOS or FreeBSD")
	}
	cp, err := compilePolicy(policy)
	if err != nil {
		return nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, mapErr(op, "", err)
	}
	rt, err := os.OpenRoot(abs)
	if err != nil {
		return nil, mapErr(op, "", err)
	}
	r := &Root{root: rt, absPath: abs, opts: opts, log: opts.Logger, dirfd: -1, trashfd: -1}
	if r.log == nil {
		r.log = slog.New(slog.DiscardHandler)
	}
	ok := false
	defer func() {
		if !ok {
			r.closeFiles()
		}
	}()
	if r.rootDir, err = rt.Open("."); err != nil {
		return nil, mapErr(op, "", err)
	}
	r.dirfd = int(r.rootDir.Fd())
	fi, err := r.rootDir.Stat()
	if err != nil {
		return nil, mapErr(op, "", err)
	}
	r.dev = devOf(fi)
	if opts.TrashDir != "" {
		if err := r.openTrash(opts.TrashDir); err != nil {
			return nil, err
		}
	}
	r.policy.Store(cp)
	r.metrics = newMetrics(opts.Registerer)
	if opts.Ignore != nil {
		if r.ignore, err = opts.Ignore(rt.FS()); err != nil {
			return nil, &Error{Code: Internal, Op: op, Msg: "loading ignore rules failed", cause: err}
		}
	}
	ok = true
	return r, nil
}

func (r *Root) openTrash(dir string) error {
	const op = "open"
	abs, err := filepath.Abs(dir)
	if err != nil {
		return mapErr(op, "", err)
	}
	if rel, err := filepath.Rel(r.absPath, abs); err == nil && filepath.IsLocal(rel) || abs == r.absPath {
		return newErr(InvalidArgument, op, "", "the trash directory must be outside the project")
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return mapErr(op, "", err)
	}
	if r.trash, err = os.OpenRoot(abs); err != nil {
		return mapErr(op, "", err)
	}
	if r.trashDir, err = r.trash.Open("."); err != nil {
		return mapErr(op, "", err)
	}
	r.trashfd = int(r.trashDir.Fd())
	return nil
}

// Close releases the Root's descriptors after in-flight operations finish.
// Later operations fail with Unavailable.
func (r *Root) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	return r.closeFiles()
}

func (r *Root) closeFiles() error {
	var errs []error
	for _, c := range []interface{ Close() error }{r.rootDir, r.root, r.trashDir, r.trash} {
		if c != nil && !isNilCloser(c) {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}

func isNilCloser(c interface{ Close() error }) bool {
	switch v := c.(type) {
	case *os.File:
		return v == nil
	case *os.Root:
		return v == nil
	}
	return false
}

// SetPolicy replaces the policy; it applies to every operation that starts
// afterwards (an owner revoking write access takes effect immediately).
func (r *Root) SetPolicy(p Policy) error {
	cp, err := compilePolicy(p)
	if err != nil {
		return err
	}
	r.policy.Store(cp)
	return nil
}

// Policy returns the policy in force.
func (r *Root) Policy() Policy { return r.policy.Load().Policy }

// FS returns a read-only fs.FS of the project, contained by os.Root, for
// packages that want io/fs (the ignore matcher, the watcher's rescans). It
// does not apply the Policy; hub handlers must use Root's methods.
func (r *Root) FS() fs.FS { return r.root.FS() }

// op is the bookkeeping of one operation: it holds the read lock and
// records the outcome.
type opState struct {
	r    *Root
	ctx  context.Context
	name string
	// path is the raw path as requested until it is validated, then its
	// clean form; rel is set only once it passed validation.
	path  string
	rel   string
	to    string
	bytes int64
	pol   *compiledPolicy
	// locked is true while the operation holds r.mu for reading.
	locked bool
}

// begin starts an operation: the Root must be open, file access enabled,
// and for mutations the project must be writable. The caller must pass the
// returned state's outcome to end exactly once, also when begin failed.
func (r *Root) begin(ctx context.Context, name, rawPath string, write bool) (*opState, error) {
	s := &opState{r: r, ctx: ctx, name: name, path: rawPath}
	r.mu.RLock()
	if r.closed {
		r.mu.RUnlock()
		return s, newErr(Unavailable, name, "", "project closed")
	}
	s.locked = true
	if err := ctx.Err(); err != nil {
		return s, mapErr(name, "", err)
	}
	s.pol = r.policy.Load()
	if !s.pol.Enabled {
		return s, newErr(Disabled, name, "", "file access is disabled for this project")
	}
	if write && s.pol.ReadOnly {
		return s, newErr(ReadOnly, name, "", "the project is read-only")
	}
	return s, nil
}

// end records the outcome and releases the read lock. It returns err as an
// *Error (or nil) so callers can `return s.end(err)`.
func (s *opState) end(err error) error {
	var e *Error
	if err != nil {
		e = mapErr(s.name, s.rel, err)
		// Only a validated, project-relative path is ever echoed back.
		if e.Path == "" && e.Code != InvalidPath {
			e.Path = s.rel
		}
		if e.Code == Internal {
			s.r.log.Error("sandbox internal error", "project", s.r.opts.Project, "op", s.name, "path", s.path, "err", e.cause)
		}
	}
	s.r.record(s, e)
	if s.locked {
		s.locked = false
		s.r.mu.RUnlock()
	}
	if e == nil {
		return nil
	}
	return e
}

func (r *Root) record(s *opState, e *Error) {
	outcome := "ok"
	detail := ""
	if e != nil {
		outcome = string(e.Code)
		detail = e.Msg
	}
	r.metrics.ops.WithLabelValues(s.name, outcome).Inc()
	if e != nil && isRefusal(e.Code) {
		r.metrics.refusals.WithLabelValues(s.name, outcome).Inc()
	}
	if r.opts.Auditor != nil {
		r.opts.Auditor.Record(s.ctx, Event{
			Time: time.Now().UTC(), Project: r.opts.Project, Actor: ActorFrom(s.ctx),
			Op: s.name, Path: auditPath(s.path), To: auditPath(s.to), Outcome: outcome,
			Bytes: s.bytes, Detail: detail,
		})
	}
}

// clean validates p for the operation in s and remembers the clean form.
func (s *opState) clean(p string) (string, error) {
	rel, err := CleanPath(p)
	if err != nil {
		var e *Error
		errors.As(err, &e)
		e.Op = s.name
		return "", e
	}
	if s.path == p {
		s.path, s.rel = rel, rel
	}
	return rel, nil
}

func (r *Root) lockFor(rel string) *sync.Mutex {
	var h uint32 = 2166136261
	for i := 0; i < len(rel); i++ {
		h = (h ^ uint32(rel[i])) * 16777619
	}
	return &r.locks[h%uint32(len(r.locks))]
}

// auditPath bounds and quotes a possibly hostile path for the audit trail.
func auditPath(p string) string {
	if len(p) > 512 {
		p = p[:512] + "..."
	}
	return quotePath(p)
}
