// Package project keeps the hub's registry of projects: which directory on the
// hub's machine each project serves and the sandbox settings its file
// operations run under.
//
// A project's root is the boundary of everything the hub will ever touch for
// that project, so the registry refuses roots that would widen that boundary
// by accident: the filesystem root, the hub's own data directory, system
// directories, and any directory that overlaps another project. Roots are
// compared as resolved absolute paths (symlinks evaluated) with filepath.Rel,
// never with a string prefix, so /srv/p1 and /srv/p10 are correctly seen as
// unrelated.
//
// Sandbox settings are the sandbox package's Policy, stored with the
// project and validated here when they change.
//
// The package does no authorization; callers (hub/auth) decide who may call
// it. It persists through hub/store under the "project/" prefix.
package project

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

// Errors callers branch on. They are wrapped with context; test with errors.Is.
var (
	// ErrNotFound means no project has the name.
	ErrNotFound = errors.New("project not found")
	// ErrExists means the name is taken.
	ErrExists = errors.New("project already exists")
	// ErrInvalid means a name, root or sandbox setting was refused; the
	// wrapped message says which and is safe to show to the requester.
	ErrInvalid = errors.New("invalid project")
)

// maxMaxFileSize is the largest per-file limit a project may ask for.
const maxMaxFileSize int64 = 1 << 30

// Project is one registered project.
type Project struct {
	// ID is random and never reused, so state keyed by it (memberships,
	// for example) cannot leak into a later project that reuses the name.
	ID string `json:"id"`
	// Name is the stable, URL-safe handle clients use.
	Name string `json:"name"`
	// Root is the resolved absolute directory the project serves. It is
	// stored resolved so a symlink re-pointed later cannot move the project.
	Root string `json:"root"`
	// Sandbox holds the file access settings the sandbox package enforces.
	Sandbox sandbox.Policy `json:"sandbox"`
	Created time.Time      `json:"created"`
	Updated time.Time      `json:"updated"`
}

// Spec is what a caller supplies to create a project.
type Spec struct {
	Name string `json:"name"`
	Root string `json:"root"`
	// Sandbox, when nil, becomes sandbox.DefaultPolicy(): files enabled,
	// writable, .git write-protected.
	Sandbox *sandbox.Policy `json:"sandbox,omitempty"`
}

// Patch changes some fields of a project; nil fields stay as they are.
// The name cannot change because clients and memberships refer to it.
type Patch struct {
	Root *string `json:"root,omitempty"`
	// Sandbox replaces the whole policy (not single fields of it).
	Sandbox *sandbox.Policy `json:"sandbox,omitempty"`
}

// RemoveHook is called after a project was removed, so owners of state tied
// to it (memberships, open rooms) can drop that state.
type RemoveHook func(ctx context.Context, p Project)

// Manager is the project registry. It is safe for concurrent use; changes
// are serialised so two concurrent creates cannot both pass the overlap
// check (one hub process owns the store; a multi-node hub needs a store
// transaction here instead).
type Manager struct {
	st      store.Store
	dataDir string
	now     func() time.Time

	mu    sync.Mutex // serialises Create/Update/Remove
	hooks []RemoveHook
}

// Option configures a Manager.
type Option func(*Manager)

// WithClock replaces time.Now, for tests.
func WithClock(now func() time.Time) Option { return func(m *Manager) { m.now = now } }

// NewManager returns a registry persisting to st. dataDir is the hub's data
// directory, which no project root may be, contain or lie inside.
func NewManager(st store.Store, dataDir string, opts ...Option) *Manager {
	m := &Manager{st: st, dataDir: dataDir, now: time.Now}
	for _, o := range opts {
		o(m)
	}
	return m
}

// OnRemove registers fn to run after every successful Remove.
func (m *Manager) OnRemove(fn RemoveHook) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hooks = append(m.hooks, fn)
}

const keyPrefix = "project/"

func key(name string) []byte { return []byte(keyPrefix + name) }

var slugRE = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9_-]{0,62}[a-z0-9])?$`)

// ValidName reports whether name is a safe slug: lowercase letters, digits,
// '-' and '_', 1-64 characters, starting and ending with a letter or digit.
// Slugs are safe in URLs, store keys and file names on any filesystem.
func ValidName(name string) bool { return slugRE.MatchString(name) }

// Create validates spec and registers the project.
func (m *Manager) Create(ctx context.Context, spec Spec) (Project, error) {
	if !ValidName(spec.Name) {
		return Project{}, fmt.Errorf("name %q: must be 1-64 lowercase letters, digits, '-' or '_': %w", spec.Name, ErrInvalid)
	}
	sb := sandbox.DefaultPolicy()
	if spec.Sandbox != nil {
		sb = *spec.Sandbox
	}
	sb, err := normaliseSandbox(sb)
	if err != nil {
		return Project{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, err := m.get(ctx, spec.Name); err == nil {
		return Project{}, fmt.Errorf("create %q: %w", spec.Name, ErrExists)
	} else if !errors.Is(err, ErrNotFound) {
		return Project{}, err
	}
	others, err := m.list(ctx)
	if err != nil {
		return Project{}, err
	}
	root, err := checkRoot(spec.Root, m.dataDir, others)
	if err != nil {
		return Project{}, err
	}
	now := m.now().UTC()
	p := Project{ID: newID(), Name: spec.Name, Root: root, Sandbox: sb, Created: now, Updated: now}
	if err := m.put(ctx, p); err != nil {
		return Project{}, err
	}
	return p, nil
}

// Get returns the project called name, or ErrNotFound.
func (m *Manager) Get(ctx context.Context, name string) (Project, error) {
	if !ValidName(name) {
		// An invalid name cannot exist; answering the same way as for an
		// unknown name keeps the store key space closed to odd input.
		return Project{}, fmt.Errorf("project %q: %w", name, ErrNotFound)
	}
	return m.get(ctx, name)
}

// List returns every project, ordered by name.
func (m *Manager) List(ctx context.Context) ([]Project, error) { return m.list(ctx) }

// Update applies patch to the project called name, validating the result
// exactly like Create (the project's own old root does not count as overlap).
func (m *Manager) Update(ctx context.Context, name string, patch Patch) (Project, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	p, err := m.Get(ctx, name)
	if err != nil {
		return Project{}, err
	}
	if patch.Sandbox != nil {
		sb, err := normaliseSandbox(*patch.Sandbox)
		if err != nil {
			return Project{}, err
		}
		p.Sandbox = sb
	}
	if patch.Root != nil {
		all, err := m.list(ctx)
		if err != nil {
			return Project{}, err
		}
		others := slices.DeleteFunc(all, func(o Project) bool { return o.ID == p.ID })
		root, err := checkRoot(*patch.Root, m.dataDir, others)
		if err != nil {
			return Project{}, err
		}
		p.Root = root
	}
	p.Updated = m.now().UTC()
	if err := m.put(ctx, p); err != nil {
		return Project{}, err
	}
	return p, nil
}

// Remove unregisters the project called name and returns what it was. Files
// on disk are left alone: the hub never deletes a project's directory.
func (m *Manager) Remove(ctx context.Context, name string) (Project, error) {
	m.mu.Lock()
	p, err := m.Get(ctx, name)
	if err != nil {
		m.mu.Unlock()
		return Project{}, err
	}
	if err := m.st.Delete(ctx, key(name)); err != nil {
		m.mu.Unlock()
		return Project{}, fmt.Errorf("remove project %q: %w", name, err)
	}
	hooks := slices.Clone(m.hooks)
	m.mu.Unlock()
	for _, h := range hooks {
		h(ctx, p)
	}
	return p, nil
}

func (m *Manager) get(ctx context.Context, name string) (Project, error) {
	b, err := m.st.Get(ctx, key(name))
	if errors.Is(err, store.ErrNotFound) {
		return Project{}, fmt.Errorf("project %q: %w", name, ErrNotFound)
	}
	if err != nil {
		return Project{}, fmt.Errorf("load project %q: %w", name, err)
	}
	var p Project
	if err := json.Unmarshal(b, &p); err != nil {
		return Project{}, fmt.Errorf("decode project %q: %w", name, err)
	}
	return p, nil
}

func (m *Manager) list(ctx context.Context) ([]Project, error) {
	var out []Project
	err := m.st.Scan(ctx, []byte(keyPrefix), func(k, v []byte) (bool, error) {
		var p Project
		if err := json.Unmarshal(v, &p); err != nil {
			return false, fmt.Errorf("decode %s: %w", k, err)
		}
		out = append(out, p)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list projects: %w", err)
	}
	return out, nil
}

func (m *Manager) put(ctx context.Context, p Project) error {
	b, err := json.Marshal(p)
	if err != nil {
		return fmt.Errorf("encode project %q: %w", p.Name, err)
	}
	if err := m.st.Put(ctx, key(p.Name), b); err != nil {
		return fmt.Errorf("save project %q: %w", p.Name, err)
	}
	return nil
}

// normaliseSandbox checks a policy before it is stored, so a bad pattern is
// refused when an owner sets it rather than failing every later operation.
func normaliseSandbox(sb sandbox.Policy) (sandbox.Policy, error) {
	if sb.MaxFileSize < 0 || sb.MaxFileSize > maxMaxFileSize {
		return sandbox.Policy{}, fmt.Errorf("maxFileSize %d: must be between 0 (default) and %d: %w", sb.MaxFileSize, maxMaxFileSize, ErrInvalid)
	}
	for _, list := range [][]string{sb.Allow, sb.Deny, sb.WriteDeny} {
		for _, pat := range list {
			if err := checkPattern(pat); err != nil {
				return sandbox.Policy{}, err
			}
		}
	}
	if err := sb.Validate(); err != nil {
		return sandbox.Policy{}, fmt.Errorf("sandbox settings: %w: %w", ErrInvalid, err)
	}
	sb.Allow = slices.Clone(sb.Allow)
	sb.Deny = slices.Clone(sb.Deny)
	sb.WriteDeny = slices.Clone(sb.WriteDeny)
	return sb, nil
}

func checkPattern(pat string) error {
	bad := pat == "" || len(pat) > 256 || strings.HasPrefix(pat, "/") ||
		strings.ContainsAny(pat, "\x00\\")
	if !bad {
		for seg := range strings.SplitSeq(pat, "/") {
			if seg == ".." {
				bad = true
			}
		}
	}
	if bad {
		return fmt.Errorf("pattern %q: must be a non-empty root-relative slash pattern without '..': %w", pat, ErrInvalid)
	}
	return nil
}

var idEnc = base32.StdEncoding.WithPadding(base32.NoPadding)

func newID() string {
	var b [10]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return "prj_" + strings.ToLower(idEnc.EncodeToString(b[:]))
}
