package lsp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// MirrorConfig is what `rubberduck join` needs.
type MirrorConfig struct {
	HubURL  string
	Project string
	Token   string
	// Dir is the local folder the project is copied into.
	Dir    string
	Logger *slog.Logger
	// Ready, when set, is called once after the first full copy, with the
	// number of files copied.
	Ready func(files int)
}

// Mirror copies a project from the hub into a local folder and keeps the
// files nobody edits through RubberDuck in sync from the hub's
// $/rubberduck/files/changed notifications, so that someone on another
// machine can open the project in an editor that starts `rubberduck lsp
// --root DIR`. Documents open in an editor are synced by the proxy (CRDT),
// not by the mirror. The copy is one way, hub to disk. Mirror reconnects
// by itself and re-lists the project after a reconnect or a missed batch;
// it returns when ctx ends.
func Mirror(ctx context.Context, cfg MirrorConfig) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(cfg.Dir, 0o755); err != nil {
		return fmt.Errorf("mirror: %w", err)
	}
	m := &mirror{cfg: cfg, log: cfg.Logger, tracked: map[string]bool{}}
	first := true
	for attempt := 0; ctx.Err() == nil; attempt++ {
		err := m.session(ctx, &first, &attempt)
		if ctx.Err() != nil {
			return nil
		}
		var de *wsrpc.DialError
		if errors.As(err, &de) && (de.Status == http.StatusUnauthorized || de.Status == http.StatusForbidden) {
			return fmt.Errorf("mirror: the hub refused the token: %w", err)
		}
		if first {
			return fmt.Errorf("mirror: %w", err)
		}
		delay := min(10*time.Second, 100*time.Millisecond<<min(attempt, 10))
		delay = time.Duration(rand.Int64N(int64(delay)) + 1)
		m.log.Warn("hub connection lost; reconnecting", "err", err, "in", delay)
		select {
		case <-time.After(delay):
		case <-ctx.Done():
		}
	}
	return nil
}

type mirror struct {
	cfg MirrorConfig
	log *slog.Logger

	mu      sync.Mutex
	tracked map[string]bool // files this mirror wrote (and may delete)
}

// changedParams is $/rubberduck/files/changed (see sandbox/watch.Batch).
type changedParams struct {
	Project string `json:"project"`
	Seq     uint64 `json:"seq"`
	Resync  bool   `json:"resync,omitempty"`
	Events  []struct {
		Path    string `json:"path"`
		Kind    string `json:"kind"`
		OldPath string `json:"oldPath,omitempty"`
		Dir     bool   `json:"dir,omitempty"`
	} `json:"events"`
}

type listing struct {
	Entries []struct {
		Name string `json:"name"`
		Path string `json:"path"`
		Kind string `json:"kind"`
		Size int64  `json:"size"`
	} `json:"entries"`
	NextCursor string `json:"nextCursor,omitempty"`
}

type fileContent struct {
	Path     string `json:"path"`
	Content  string `json:"content"`
	Encoding string `json:"encoding"`
}

// session runs one connection: list and copy everything, then apply
// change batches until the connection ends.
func (m *mirror) session(ctx context.Context, first *bool, attempt *int) error {
	batches := make(chan changedParams, 256)
	handler := wsrpc.HandlerFunc(func(_ context.Context, _ *wsrpc.Conn, msg *protocol.Message) (any, error) {
		if msg.Method != protocol.MethodFilesChanged {
			return nil, nil
		}
		var b changedParams
		if err := json.Unmarshal(msg.Params, &b); err != nil || b.Project != m.cfg.Project {
			return nil, nil
		}
		select {
		case batches <- b:
		default:
			// Too far behind: re-list instead of queueing without bound.
			select {
			case batches <- changedParams{Project: b.Project, Resync: true}:
			default:
			}
		}
		return nil, nil
	})
	dctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	c, err := wsrpc.Dial(dctx, m.cfg.HubURL, http.Header{"Authorization": {"Bearer " + m.cfg.Token}}, handler, wsrpc.Options{Logger: m.log})
	if err != nil {
		return err
	}
	defer c.Close()
	var ip protocol.InitializeParams
	ip.InitializationOptions = &protocol.InitializationOptions{Project: m.cfg.Project, Client: "cli"}
	if err := c.Call(dctx, protocol.MethodInitialize, ip, nil); err != nil {
		return fmt.Errorf("initialize: %w", err)
	}
	_ = c.Notify(protocol.MethodInitialized, struct{}{})
	n, err := m.copyAll(ctx, c)
	if err != nil {
		return err
	}
	*attempt = 0
	if *first {
		*first = false
		if m.cfg.Ready != nil {
			m.cfg.Ready(n)
		}
	}
	var lastSeq uint64
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-c.Done():
			return c.Err()
		case b := <-batches:
			gap := lastSeq != 0 && b.Seq != lastSeq+1
			if b.Seq != 0 {
				lastSeq = b.Seq
			}
			if b.Resync || gap {
				if _, err := m.copyAll(ctx, c); err != nil {
					return err
				}
				continue
			}
			m.apply(ctx, c, b)
		}
	}
}

// copyAll lists the whole project and copies every file whose content
// differs; files this mirror copied before that are gone on the hub are
// removed. It returns the number of files in the project.
func (m *mirror) copyAll(ctx context.Context, c *wsrpc.Client) (int, error) {
	seen := map[string]bool{}
	dirs := []string{"."}
	for len(dirs) > 0 {
		dir := dirs[0]
		dirs = dirs[1:]
		cursor := ""
		for {
			var l listing
			err := c.Call(ctx, protocol.MethodFilesList, protocol.FileListParams{Project: m.cfg.Project, Path: dir, Cursor: cursor}, &l)
			if err != nil {
				return 0, fmt.Errorf("list %s: %w", dir, err)
			}
			for _, e := range l.Entries {
				p := e.Path
				if p == "" {
					p = path.Join(dir, e.Name)
				}
				switch e.Kind {
				case "dir":
					if err := os.MkdirAll(m.local(p), 0o755); err != nil {
						return 0, err
					}
					dirs = append(dirs, p)
				case "file":
					seen[p] = true
					if err := m.fetch(ctx, c, p); err != nil {
						m.log.Warn("copy", "path", p, "err", err)
					}
				}
			}
			if l.NextCursor == "" {
				break
			}
			cursor = l.NextCursor
		}
	}
	m.mu.Lock()
	var gone []string
	for p := range m.tracked {
		if !seen[p] {
			gone = append(gone, p)
		}
	}
	m.mu.Unlock()
	for _, p := range gone {
		m.remove(p)
	}
	return len(seen), nil
}

func (m *mirror) apply(ctx context.Context, c *wsrpc.Client, b changedParams) {
	for _, e := range b.Events {
		switch e.Kind {
		case "deleted":
			m.remove(e.Path)
		case "renamed":
			if e.OldPath != "" {
				m.remove(e.OldPath)
			}
			fallthrough
		default: // created, modified
			if e.Dir {
				_ = os.MkdirAll(m.local(e.Path), 0o755)
				continue
			}
			if err := m.fetch(ctx, c, e.Path); err != nil {
				m.log.Warn("update", "path", e.Path, "err", err)
			}
		}
	}
}

// local maps a project path into Dir, refusing anything that would leave it.
func (m *mirror) local(p string) string {
	clean := path.Clean("/" + p)
	return filepath.Join(m.cfg.Dir, filepath.FromSlash(strings.TrimPrefix(clean, "/")))
}

// fetch reads one file from the hub and writes it locally (atomically)
// when it differs from what is on disk.
func (m *mirror) fetch(ctx context.Context, c *wsrpc.Client, p string) error {
	var f fileContent
	if err := c.Call(ctx, protocol.MethodFilesRead, protocol.FileParams{Project: m.cfg.Project, Path: p}, &f); err != nil {
		return err
	}
	data := []byte(f.Content)
	if f.Encoding == "base64" {
		var err error
		if data, err = base64.StdEncoding.DecodeString(f.Content); err != nil {
			return fmt.Errorf("decode %s: %w", p, err)
		}
	}
	dst := m.local(p)
	m.mu.Lock()
	m.tracked[p] = true
	m.mu.Unlock()
	if old, err := os.ReadFile(dst); err == nil && string(old) == string(data) {
		return nil
	}
	return writeAtomic(dst, data)
}

func (m *mirror) remove(p string) {
	m.mu.Lock()
	tracked := m.tracked[p]
	delete(m.tracked, p)
	m.mu.Unlock()
	if tracked {
		if err := os.Remove(m.local(p)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			m.log.Warn("remove", "path", p, "err", err)
		}
	}
}

// writeAtomic writes data to a temporary file beside dst and renames it
// over dst, so an editor never reads half a file.
func writeAtomic(dst string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), ".rubberduck-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	_ = os.Chmod(tmp.Name(), 0o644)
	return os.Rename(tmp.Name(), dst)
}
