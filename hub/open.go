package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/rubberduckhub/rubberduck/hub/audit"
	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/project"
	"github.com/rubberduckhub/rubberduck/hub/ratelimit"
	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/sandbox/cache"
	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

// OwnerTokenFile is the name, inside the data directory, of the file that
// holds the owner's API token written on first start.
const OwnerTokenFile = "owner.token"

// Startup tells the operator how to reach a freshly opened hub.
type Startup struct {
	// Projects served, as configured.
	Projects []ProjectSpec
	// OwnerCreated is true on the first start of an empty data directory.
	OwnerCreated bool
	// OwnerTokenPath is DATA/owner.token.
	OwnerTokenPath string
	// LoginURL is a single-use browser login link that expires in ten
	// minutes; empty when the owner token file is gone.
	LoginURL string
}

// Open builds a complete hub on a data directory: the badger store, the
// audit trail, rate limits, projects, people and the server itself, creates
// the owner account on first start and makes sure the configured projects
// exist. The caller runs Serve and, at the end, Shutdown.
func Open(ctx context.Context, cfg Config) (*Server, *Startup, error) {
	cfg.fill()
	if cfg.DataDir == "" {
		return nil, nil, errors.New("no data directory configured")
	}
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return nil, nil, fmt.Errorf("data directory: %w", err)
	}
	cfg.DataDir = dataDir
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, nil, fmt.Errorf("create data directory: %w", err)
	}
	st, err := store.OpenBadger(ctx, filepath.Join(dataDir, "store"), store.BadgerOptions{Logger: cfg.Logger})
	if err != nil {
		return nil, nil, err
	}
	deps, err := assemble(st, cfg)
	if err != nil {
		_ = st.Close()
		return nil, nil, err
	}
	closeAll := func() {
		_ = deps.Completion.Close()
		_ = deps.AI.Close()
		_ = deps.Watch.Close()
		_ = deps.Audit.Close()
		_ = st.Close()
	}
	start, err := bootstrap(ctx, deps, cfg)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	srv, err := New(cfg, deps)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	if start.LoginURL != "" {
		start.LoginURL = srv.URL() + start.LoginURL
	}
	cfg.Logger.Info("hub ready", "addr", srv.Addr(), "data", dataDir, "projects", len(cfg.Projects))
	return srv, start, nil
}

// assemble wires the packages the hub delegates to around one store and
// one metrics registry.
func assemble(st store.Store, cfg Config) (Deps, error) {
	reg := prometheus.NewRegistry()
	log, err := audit.New(st, audit.Options{Registerer: reg, Logger: cfg.Logger, Retention: cfg.AuditRetention})
	if err != nil {
		return Deps{}, fmt.Errorf("audit trail: %w", err)
	}
	limits, err := ratelimit.New(ratelimit.DefaultConfig(), reg)
	if err != nil {
		_ = log.Close()
		return Deps{}, fmt.Errorf("rate limits: %w", err)
	}
	files, err := cache.New(cache.Options{Registerer: reg})
	if err != nil {
		_ = log.Close()
		return Deps{}, fmt.Errorf("file cache: %w", err)
	}
	watches, err := watch.NewManager(watch.ManagerOptions{
		Config:     watch.Config{},
		Cache:      files,
		Registerer: reg,
		Logger:     cfg.Logger,
	})
	if err != nil {
		_ = log.Close()
		return Deps{}, fmt.Errorf("file watching: %w", err)
	}
	projects := project.NewManager(st, cfg.DataDir)
	people, err := auth.New(st, projects, auth.Options{
		Audit: log, Limiter: limits, Registerer: reg, Logger: cfg.Logger,
	})
	if err != nil {
		_ = log.Close()
		_ = watches.Close()
		return Deps{}, fmt.Errorf("auth: %w", err)
	}
	aiEngine, completion, link, err := newAI(st, cfg, reg)
	if err != nil {
		_ = log.Close()
		_ = watches.Close()
		return Deps{}, err
	}
	return Deps{Store: st, Auth: people, Projects: projects, Audit: log, Limits: limits,
		Watch: watches, Files: files, Registry: reg, AI: aiEngine, Completion: completion, aiLink: link}, nil
}

// bootstrap creates the owner on first start, ensures the configured
// projects, and prepares a login link for the owner's browser.
func bootstrap(ctx context.Context, deps Deps, cfg Config) (*Startup, error) {
	start := &Startup{Projects: cfg.Projects, OwnerTokenPath: filepath.Join(cfg.DataDir, OwnerTokenFile)}
	token, created, err := deps.Auth.Bootstrap(ctx, "owner")
	if err != nil {
		return nil, err
	}
	if created {
		if err := writeSecretFile(start.OwnerTokenPath, token); err != nil {
			return nil, err
		}
		start.OwnerCreated = true
	}
	for _, p := range cfg.Projects {
		if err := ensureProject(ctx, deps.Projects, p); err != nil {
			return nil, err
		}
	}
	// The login link is made for the owner, whose token is on disk.
	b, err := os.ReadFile(start.OwnerTokenPath)
	if err != nil {
		cfg.Logger.Warn("no owner token file: no browser login link", "path", start.OwnerTokenPath)
		return start, nil
	}
	owner, err := deps.Auth.Authenticate(ctx, "", strings.TrimSpace(string(b)))
	if err != nil {
		cfg.Logger.Warn("owner token file holds no valid token: no browser login link", "path", start.OwnerTokenPath)
		return start, nil
	}
	code, _, err := deps.Auth.CreateLoginCode(ctx, owner)
	if err != nil {
		return nil, fmt.Errorf("login link: %w", err)
	}
	start.LoginURL = "/login?code=" + code
	return start, nil
}

// ensureProject creates a configured project, or points an existing one at
// the configured directory, so `serve --project` is always what is served.
func ensureProject(ctx context.Context, pm *project.Manager, spec ProjectSpec) error {
	p, err := pm.Get(ctx, spec.Name)
	switch {
	case errors.Is(err, project.ErrNotFound):
		_, err = pm.Create(ctx, project.Spec{Name: spec.Name, Root: spec.Path})
	case err == nil:
		if resolved, rerr := filepath.EvalSymlinks(spec.Path); rerr != nil || resolved != p.Root {
			root := spec.Path
			_, err = pm.Update(ctx, spec.Name, project.Patch{Root: &root})
		}
	}
	if err != nil {
		return fmt.Errorf("project %s: %w", spec.Name, err)
	}
	return nil
}

// writeSecretFile writes a secret readable by the owner only, atomically,
// so a crash never leaves a half-written token behind.
func writeSecretFile(path, secret string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".token-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if _, err := tmp.WriteString(secret + "\n"); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Base(path), err)
	}
	return os.Rename(tmp.Name(), path)
}

var nonSlug = regexp.MustCompile(`[^a-z0-9_-]+`)

// ProjectNameFor turns a folder into a project name: its base name,
// lower-cased, with anything but letters, digits, '-' and '_' replaced.
func ProjectNameFor(dir string) string {
	name := nonSlug.ReplaceAllString(strings.ToLower(filepath.Base(dir)), "-")
	name = strings.Trim(name, "-_")
	if len(name) > 64 {
		name = strings.Trim(name[:64], "-_")
	}
	if name == "" {
		return "project"
	}
	return name
}
