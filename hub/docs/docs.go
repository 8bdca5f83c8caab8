// Package docs is the hub's document rooms: the authoritative CRDT replica
// of every open document, who is subscribed to it, and how it is kept.
//
// A document opens on first use, from the store (latest snapshot plus the
// update log after it) or, the first time ever, from the file on disk. Two
// kinds of client subscribe:
//
//   - replica clients (the LSP proxy) hold their own crdt.Doc and exchange
//     updates; Sync catches them up by state vector and Update applies what
//     they send;
//   - thin clients (the browser, any LSP client on /lsp) send didOpen and
//     didChange; the hub runs one lsp/sync Buffer per (connection, document)
//     for them and sends versioned workspace/applyEdit back.
//
// Every applied update is appended to the document's log in the store
// before it is fanned out, so an edit anyone has seen survives kill -9 of
// the hub (badger has it in the page cache when Put returns; a machine
// crash loses at most the store's sync interval, one second). Every
// SnapshotEvery updates, and when an idle document closes, a snapshot
// replaces the log. Saving writes the file atomically through the sandbox,
// whose observer keeps the watcher from reporting the hub's own write; a
// change on disk from outside becomes an edit by author "disk", rebased over
// unsaved edits, that every editor sees.
//
// Locking: Manager.mu guards the map of documents; each document has its
// own mutex that serialises everything touching its Doc and subscribers.
// Nothing blocks under a document's mutex except store writes: fan-out uses
// non-blocking sends, and applyEdit requests run on goroutines the Manager
// owns.
package docs

import (
	"bytes"
	"context"

	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/sourcegraph/conc"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/hub/store"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
	"github.com/rubberduckhub/rubberduck/sandbox"
	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

// AuthorDisk is the author of edits that came from the file on disk.
const AuthorDisk = "disk"

// Errors the hub maps onto protocol codes.
var (
	// ErrNotSubscribed: the connection has not opened the document.
	ErrNotSubscribed = errors.New("docs: document not open on this connection")
	// ErrBinary: the file is not UTF-8 text (or holds NUL bytes, as binary
	// files do) and cannot be edited as a document.
	ErrBinary = errors.New("docs: file is not UTF-8 text")
	// ErrClosed: the manager is shutting down.
	ErrClosed = errors.New("docs: closed")
)

// Files is a project's file access, satisfied by *sandbox.Root: reading a
// document's file the first time it opens, and writing it on save.
type Files interface {
	Read(ctx context.Context, path string) (*sandbox.File, error)
	Write(ctx context.Context, req sandbox.WriteRequest) (*sandbox.WriteResult, error)
}

// Conn is one client connection as the documents see it; *wsrpc.Conn
// satisfies it. Notify and NotifyRaw must never block (the transport drops
// a peer that does not read); Call waits for the answer.
type Conn interface {
	Notify(method string, params any) error
	NotifyRaw(frame []byte) error
	Call(ctx context.Context, method string, params, result any) error
}

// Options configure a Manager.
type Options struct {
	Store store.Store
	// Files returns a project's file access.
	Files func(ctx context.Context, project string) (Files, error)
	// IdleTimeout is how long a document without subscribers stays open
	// (default one minute), so a reconnecting editor finds it warm.
	IdleTimeout time.Duration
	// SnapshotEvery is how many logged updates trigger a snapshot that
	// compacts the log (default 500).
	SnapshotEvery int
	// Changed, when set, is told after every committed change of a
	// document, whatever its source (an editor, the disk, the AI), and
	// when an idle document closes, so code intelligence can follow the
	// live text. It may run with the document locked: it must only take
	// note, never call back.
	Changed func(ref protocol.DocRef)
	// Registerer receives the rubberduck_docs_* metrics (optional).
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Manager owns every open document of a hub.
type Manager struct {
	opts Options
	log  *slog.Logger
	met  *metrics

	ctx    context.Context
	cancel context.CancelFunc
	wg     conc.WaitGroup

	mu     sync.Mutex
	docs   map[protocol.DocRef]*document
	closed bool
}

// NewManager starts a Manager; Close stops it.
func NewManager(opts Options) *Manager {
	if opts.IdleTimeout <= 0 {
		opts.IdleTimeout = time.Minute
	}
	if opts.SnapshotEvery <= 0 {
		opts.SnapshotEvery = 500
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{opts: opts, log: opts.Logger, ctx: ctx, cancel: cancel, docs: make(map[protocol.DocRef]*document)}
	m.met = newMetrics(opts.Registerer, m)
	m.wg.Go(m.janitor)
	return m
}

// document is one open document.
type document struct {
	ref protocol.DocRef

	saveMu sync.Mutex // serialises saves, so the recorded disk text is what is on disk

	mu       sync.Mutex
	loaded   bool
	closed   bool // removed from the manager; callers retry with a fresh one
	doc      *crdt.Doc
	base     string // the file's text on disk as last read or written (normalised)
	crlf     bool   // the file used CRLF line endings; saves keep them
	snapSeq  uint64 // first log sequence not covered by the snapshot
	nextSeq  uint64 // sequence of the next logged update
	subs     map[Conn]*subscriber
	lastUsed time.Time
}

// subscriber is one connection's subscription to a document.
type subscriber struct {
	conn    Conn
	author  string
	replica bool          // a replica client; otherwise a thin client with buf
	buf     *lsync.Buffer // thin clients only
	uri     string        // thin clients: the URI they opened
	gone    bool
	refused int // consecutive refused applyEdits
}

// Close writes a snapshot of every open document and stops the Manager.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	docs := make([]*document, 0, len(m.docs))
	for _, d := range m.docs {
		docs = append(docs, d)
	}
	m.mu.Unlock()
	m.cancel()
	m.wg.Wait()
	var err error
	for _, d := range docs {
		d.mu.Lock()
		if d.loaded && !d.closed {
			err = errors.Join(err, m.snapshot(context.Background(), d))
		}
		d.closed = true
		d.mu.Unlock()
	}
	return err
}

// acquire returns the loaded document ref, opening it if needed, locked.
func (m *Manager) acquire(ctx context.Context, ref protocol.DocRef) (*document, error) {
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return nil, ErrClosed
		}
		d := m.docs[ref]
		if d == nil {
			d = &document{ref: ref, subs: make(map[Conn]*subscriber)}
			m.docs[ref] = d
		}
		m.mu.Unlock()
		d.mu.Lock()
		if d.closed {
			d.mu.Unlock()
			continue
		}
		if !d.loaded {
			if err := m.load(ctx, d); err != nil {
				d.closed = true
				d.mu.Unlock()
				m.mu.Lock()
				if m.docs[ref] == d {
					delete(m.docs, ref)
				}
				m.mu.Unlock()
				return nil, err
			}
			d.loaded = true
		}
		d.lastUsed = time.Now()
		return d, nil
	}
}

// lookup returns the open document ref, locked, or nil.
func (m *Manager) lookup(ref protocol.DocRef) *document {
	m.mu.Lock()
	d := m.docs[ref]
	m.mu.Unlock()
	if d == nil {
		return nil
	}
	d.mu.Lock()
	if d.closed || !d.loaded {
		d.mu.Unlock()
		return nil
	}
	d.lastUsed = time.Now()
	return d
}

// IsOpen reports whether a document is open.
func (m *Manager) IsOpen(ref protocol.DocRef) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.docs[ref]
	return ok
}

// SyncResult answers a replica client's Sync.
type SyncResult struct {
	Update      []byte
	StateVector []byte
}

// Sync subscribes a replica client to a document and returns what its
// state vector lacks plus the hub's state vector.
func (m *Manager) Sync(ctx context.Context, c Conn, ref protocol.DocRef, author string, sv []byte) (SyncResult, error) {
	var theirs crdt.StateVector
	if len(sv) > 0 {
		var err error
		if theirs, err = crdt.DecodeStateVector(sv); err != nil {
			return SyncResult{}, err
		}
	}
	d, err := m.acquire(ctx, ref)
	if err != nil {
		return SyncResult{}, err
	}
	defer d.mu.Unlock()
	s := d.subs[c]
	if s == nil || !s.replica {
		if s != nil {
			s.gone = true // was a thin subscription: its buffer is dropped
		}
		d.subs[c] = &subscriber{conn: c, author: author, replica: true}
	}
	return SyncResult{Update: d.doc.EncodeSince(theirs), StateVector: d.doc.StateVector().Encode()}, nil
}

// Update applies a replica client's update, logs it and fans it out.
func (m *Manager) Update(ctx context.Context, c Conn, ref protocol.DocRef, update []byte) error {
	d := m.lookup(ref)
	if d == nil {
		return ErrNotSubscribed
	}
	defer d.mu.Unlock()
	if s := d.subs[c]; s == nil || !s.replica {
		return ErrNotSubscribed
	}
	var sv crdt.StateVector
	pending := d.doc.PendingLen()
	if len(update) < 64 {
		sv = d.doc.StateVector() // cheap check for the no-op updates replicas send on sync
	}
	changes, err := d.doc.Apply(update)
	if err != nil {
		return err
	}
	if len(changes) == 0 && sv != nil && d.doc.PendingLen() == pending && sameSV(sv, d.doc.StateVector()) {
		return nil // nothing new: neither logged nor fanned out
	}
	if err := m.commit(ctx, d, [][]byte{update}, changes, c); err != nil {
		return err
	}
	m.met.updates.WithLabelValues("replica").Inc()
	return nil
}

// commit logs updates, then sends them to every other replica subscriber
// and the text changes to every thin subscriber except origin.
func (m *Manager) commit(ctx context.Context, d *document, updates [][]byte, changes []crdt.Change, origin Conn) error {
	if len(updates) == 0 {
		return nil
	}
	if err := m.append(ctx, d, updates); err != nil {
		return err
	}
	var frames [][]byte
	for _, sub := range d.subs {
		if sub.conn == origin || sub.gone {
			continue
		}
		if sub.replica {
			if frames == nil {
				frames = make([][]byte, 0, len(updates))
				for _, u := range updates {
					f, err := encodeUpdate(d.ref, u)
					if err != nil {
						return err
					}
					frames = append(frames, f)
				}
			}
			for _, f := range frames {
				_ = sub.conn.NotifyRaw(f)
			}
			continue
		}
		m.sendEdit(d, sub, sub.buf.RemoteApplied(changes))
	}
	if m.opts.Changed != nil {
		m.opts.Changed(d.ref)
	}
	return nil
}

// Open subscribes a thin client that opened the document in its editor at
// version with text; the document's text wins, so the editor is rewritten
// to it with a minimal edit when they differ.
func (m *Manager) Open(ctx context.Context, c Conn, ref protocol.DocRef, uri, author, encoding string, readOnly bool, version int32, text string) error {
	d, err := m.acquire(ctx, ref)
	if err != nil {
		return err
	}
	defer d.mu.Unlock()
	if old := d.subs[c]; old != nil {
		old.gone = true
	}
	s := &subscriber{conn: c, author: author, buf: lsync.New(d.doc, author, encoding), uri: uri}
	s.buf.SetReadOnly(readOnly)
	d.subs[c] = s
	m.sendEdit(d, s, s.buf.Open(version, text))
	return nil
}

// Change takes a thin client's didChange. A read-only subscriber's change is
// reverted in its buffer and the person told why.
func (m *Manager) Change(ctx context.Context, c Conn, ref protocol.DocRef, readOnly bool, version int32, changes []protocol.TextDocumentContentChangeEvent) error {
	d := m.lookup(ref)
	if d == nil {
		return ErrNotSubscribed
	}
	defer d.mu.Unlock()
	s := d.subs[c]
	if s == nil || s.replica {
		return ErrNotSubscribed
	}
	s.refused = 0
	s.buf.SetReadOnly(readOnly)
	res, err := s.buf.EditorChanged(version, changes)
	if err != nil {
		// The change does not fit the text we believe the editor holds:
		// rewrite the buffer rather than let it drift.
		m.sendEdit(d, s, s.buf.Resync())
		_ = c.Notify(protocol.MethodShowMessage, protocol.ShowMessageParams{
			Type:    protocol.MessageWarning,
			Message: fmt.Sprintf("%s was out of step with the shared document and has been reloaded.", ref.Path),
		})
		return err
	}
	if res.Refused {
		m.met.refused.Inc()
		_ = c.Notify(protocol.MethodShowMessage, protocol.ShowMessageParams{
			Type:    protocol.MessageWarning,
			Message: fmt.Sprintf("%s is read-only for you: your change was undone.", ref.Path),
		})
	}
	if err := m.commit(ctx, d, res.Updates, res.Changes, c); err != nil {
		return err
	}
	m.met.updates.WithLabelValues("editor").Add(float64(len(res.Updates)))
	m.sendEdit(d, s, res.Edit)
	return nil
}

// Tell shows every subscriber of ref except c a message (window/showMessage)
// about the document that its edits cannot carry, such as its file being
// renamed or deleted under it. A document nobody has open is left alone.
func (m *Manager) Tell(ref protocol.DocRef, except Conn, typ protocol.MessageType, message string) {
	d := m.lookup(ref)
	if d == nil {
		return
	}
	defer d.mu.Unlock()
	for c, s := range d.subs {
		if c != except && !s.gone {
			_ = c.Notify(protocol.MethodShowMessage, protocol.ShowMessageParams{Type: typ, Message: message})
		}
	}
}

// Undo takes back author's last step in the document c has open (redo:
// re-applies the step they last undid): only their characters, on the
// hub's replica, so everyone else's edits stay. Every subscriber, c too,
// gets it as an edit. False means there was nothing (left) to undo or redo.
func (m *Manager) Undo(ctx context.Context, c Conn, ref protocol.DocRef, author string, redo bool) (bool, error) {
	d := m.lookup(ref)
	if d == nil {
		return false, ErrNotSubscribed
	}
	defer d.mu.Unlock()
	if s := d.subs[c]; s == nil || s.replica {
		return false, ErrNotSubscribed
	}
	do := d.doc.Undo
	if redo {
		do = d.doc.Redo
	}
	u, changes, err := do(author)
	if errors.Is(err, crdt.ErrNothingToUndo) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if err := m.commit(ctx, d, [][]byte{u}, changes, nil); err != nil {
		return false, err
	}
	m.met.updates.WithLabelValues("editor").Inc()
	return true, nil
}

// sendEdit sends a thin client an applyEdit on a goroutine the Manager
// owns, and feeds the answer back to its Buffer. Called with d.mu held.
func (m *Manager) sendEdit(d *document, s *subscriber, e *lsync.Edit) {
	if e == nil || s.gone {
		return
	}
	params := e.Params(s.uri)
	m.wg.Go(func() {
		ctx, cancel := context.WithTimeout(m.ctx, 30*time.Second)
		defer cancel()
		var res protocol.ApplyWorkspaceEditResult
		err := s.conn.Call(ctx, protocol.MethodApplyEdit, params, &res)
		d.mu.Lock()
		defer d.mu.Unlock()
		if s.gone || d.closed || m.ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return // the connection is gone; its subscription ends with it
		}
		// An unanswered edit counts as refused, so the buffer is not
		// stuck waiting for it forever.
		s.buf.EditResult(e.ID, err == nil && res.Applied)
		if err != nil || !res.Applied {
			m.met.resent.Inc()
			// A refused edit is re-sent a few times (the typing that
			// made it stale may still be in transit); beyond that the
			// next event of the document re-sends it.
			if s.refused++; s.refused <= 3 {
				m.sendEdit(d, s, s.buf.Flush())
			}
			return
		}
		m.settle(d, s, e.ID)
	})
}

// settle calls EditSettled for an applied edit once its echoes must have
// arrived, so parts the editor did not apply after all are sent again
// without waiting for the person's next keystroke. Called with d.mu held.
func (m *Manager) settle(d *document, s *subscriber, id uint64) {
	m.wg.Go(func() {
		select {
		case <-time.After(lsync.SettleDelay):
		case <-m.ctx.Done():
			return
		}
		d.mu.Lock()
		defer d.mu.Unlock()
		if s.gone || d.closed {
			return
		}
		m.sendEdit(d, s, s.buf.EditSettled(id))
	})
}

// Unsubscribe ends c's subscription to ref (didClose, doc/close).
func (m *Manager) Unsubscribe(c Conn, ref protocol.DocRef) {
	d := m.lookup(ref)
	if d == nil {
		return
	}
	defer d.mu.Unlock()
	if s := d.subs[c]; s != nil {
		s.gone = true
		delete(d.subs, c)
	}
}

// Leave ends every subscription c has in project (the connection left the
// project or went away).
func (m *Manager) Leave(c Conn, project string) {
	m.mu.Lock()
	var docs []*document
	for ref, d := range m.docs {
		if ref.Project == project {
			docs = append(docs, d)
		}
	}
	m.mu.Unlock()
	for _, d := range docs {
		d.mu.Lock()
		if s := d.subs[c]; s != nil {
			s.gone = true
			delete(d.subs, c)
		}
		d.mu.Unlock()
	}
}

// Read returns a document's current text, opening it if needed.
func (m *Manager) Read(ctx context.Context, ref protocol.DocRef) (string, error) {
	d, err := m.acquire(ctx, ref)
	if err != nil {
		return "", err
	}
	defer d.mu.Unlock()
	return d.doc.Text(), nil
}

// Text returns the text of an open document without opening it: presence
// converts cursor positions with it.
func (m *Manager) Text(ref protocol.DocRef) (string, bool) {
	d := m.lookup(ref)
	if d == nil {
		return "", false
	}
	defer d.mu.Unlock()
	return d.doc.Text(), true
}

// Save writes the document's current text to its file, atomically, through
// the sandbox (ctx carries the actor for the audit trail).
func (m *Manager) Save(ctx context.Context, ref protocol.DocRef) error {
	d, err := m.acquire(ctx, ref)
	if err != nil {
		return err
	}
	text, crlf := d.doc.Text(), d.crlf
	d.mu.Unlock()

	d.saveMu.Lock()
	defer d.saveMu.Unlock()
	files, err := m.opts.Files(ctx, ref.Project)
	if err != nil {
		return err
	}
	data := text
	if crlf {
		data = strings.ReplaceAll(text, "\n", "\r\n")
	}
	if _, err := files.Write(ctx, sandbox.WriteRequest{Path: ref.Path, Data: []byte(data)}); err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	d.base = text
	return m.opts.Store.Put(ctx, key(ref, keyBase), []byte(text))
}

// DiskChanged applies a change of the file on disk to the open document as
// an edit by AuthorDisk, rebased over edits not yet saved.
func (m *Manager) DiskChanged(ctx context.Context, ref protocol.DocRef, content []byte) error {
	d := m.lookup(ref)
	if d == nil {
		return nil
	}
	defer d.mu.Unlock()
	return m.applyDisk(ctx, d, content)
}

func (m *Manager) applyDisk(ctx context.Context, d *document, content []byte) error {
	if !isText(content) {
		return ErrBinary
	}
	next := lsync.Normalize(string(content))
	if next == d.base {
		return nil
	}
	cur := d.doc.Text()
	changes := lsync.Rebase(d.base, cur, next)
	updates := make([][]byte, 0, len(changes))
	for _, c := range changes {
		u, err := d.doc.Replace(AuthorDisk, c.Pos, c.Delete, c.Insert)
		if err != nil {
			return fmt.Errorf("apply disk change: %w", err)
		}
		if u != nil {
			updates = append(updates, u)
		}
	}
	d.base = next
	if err := m.opts.Store.Put(ctx, key(d.ref, keyBase), []byte(next)); err != nil {
		return err
	}
	m.met.updates.WithLabelValues(AuthorDisk).Add(float64(len(updates)))
	return m.commit(ctx, d, updates, changes, nil)
}

// janitor closes documents nobody has been subscribed to for IdleTimeout.
func (m *Manager) janitor() {
	t := time.NewTicker(max(m.opts.IdleTimeout/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
			m.closeIdle()
		}
	}
}

func (m *Manager) closeIdle() {
	m.mu.Lock()
	docs := make([]*document, 0, len(m.docs))
	for _, d := range m.docs {
		docs = append(docs, d)
	}
	m.mu.Unlock()
	now := time.Now()
	for _, d := range docs {
		d.mu.Lock()
		if d.closed || !d.loaded || len(d.subs) > 0 || now.Sub(d.lastUsed) < m.opts.IdleTimeout {
			d.mu.Unlock()
			continue
		}
		if err := m.snapshot(m.ctx, d); err != nil {
			m.log.Warn("document snapshot failed; keeping it open", "project", d.ref.Project, "err", err)
			d.mu.Unlock()
			continue
		}
		d.closed = true
		d.mu.Unlock()
		m.mu.Lock()
		if m.docs[d.ref] == d {
			delete(m.docs, d.ref)
		}
		m.mu.Unlock()
		if m.opts.Changed != nil {
			m.opts.Changed(d.ref) // it is closed now: followers go back to disk
		}
	}
}

// OpenCount is the number of open documents, for metrics and tests.
func (m *Manager) OpenCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.docs)
}

func encodeUpdate(ref protocol.DocRef, u []byte) ([]byte, error) {
	msg, err := protocol.NewNotification(protocol.MethodDocUpdate, protocol.DocUpdateParams{DocRef: ref, Update: u})
	if err != nil {
		return nil, err
	}
	return marshal(msg)
}

// Watcher returns project's hook for the file watcher: changes on disk to
// open documents become edits.
func (m *Manager) Watcher(project string) watch.OpenDocuments {
	return watcherHook{m: m, project: project}
}

type watcherHook struct {
	m       *Manager
	project string
}

func (w watcherHook) IsOpen(rel string) bool {
	return w.m.IsOpen(protocol.DocRef{Project: w.project, Path: rel})
}

func (w watcherHook) DiskChanged(ctx context.Context, rel string, content []byte) {
	ref := protocol.DocRef{Project: w.project, Path: rel}
	if err := w.m.DiskChanged(ctx, ref, content); err != nil {
		w.m.log.Warn("outside change to an open document not applied", "project", w.project, "err", err)
	}
}

func sameSV(a, b crdt.StateVector) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// isText reports whether content can be a document: valid UTF-8 without NUL
// bytes. Images, archives and object files are often valid UTF-8 by
// accident in their first bytes but always hold NULs (git's test too).
func isText(content []byte) bool {
	return utf8.Valid(content) && bytes.IndexByte(content, 0) < 0
}
