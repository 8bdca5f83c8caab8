package hub

import (
	"context"
	"sync"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

// projectWatches keeps a project's watcher running while anyone has joined
// it, and fans each batch of outside changes out to the project's room as
// $/rubberduck/files/changed. One subscription per project, not per
// connection: the batch is encoded once, and each connection's own queue
// limit protects the others from a slow reader.
type projectWatches struct {
	srv *Server

	mu   sync.Mutex
	subs map[string]*projectWatch

	// docs, when set, gives the watcher the project's open documents, so a
	// change on disk to an open document becomes an edit.
	docs func(project string) watch.OpenDocuments
}

type projectWatch struct {
	refs int
	// mu is held while the watcher starts (walking a large tree takes a
	// while), so joins to other projects are not held up by it.
	mu    sync.Mutex
	unsub func() // nil if the project could not be watched
}

func newProjectWatches(srv *Server) *projectWatches {
	return &projectWatches{srv: srv, subs: make(map[string]*projectWatch)}
}

func (w *projectWatches) hook() roomHook {
	return roomHook{join: w.join, leave: w.leave}
}

func (w *projectWatches) join(sess *session, name string) {
	w.mu.Lock()
	if pw := w.subs[name]; pw != nil {
		pw.refs++
		w.mu.Unlock()
		return
	}
	pw := &projectWatch{refs: 1}
	pw.mu.Lock()
	defer pw.mu.Unlock()
	w.subs[name] = pw
	w.mu.Unlock()

	ctx := context.Background()
	p, err := w.srv.deps.Projects.Get(ctx, name)
	if err != nil {
		sess.log.Warn("project not watched", "project", name, "err", err)
		return
	}
	wp := watch.Project{Name: name, Dir: p.Root, Ignore: defaultIgnore}
	if w.docs != nil {
		wp.Docs = w.docs(name)
	}
	if err := w.srv.deps.Watch.Acquire(ctx, wp); err != nil {
		// The join still succeeds: editing works without outside changes.
		sess.log.Warn("project not watched", "project", name, "err", err)
		return
	}
	pw.unsub = w.srv.deps.Watch.Subscribe(name, func(b watch.Batch) {
		_ = w.srv.rooms.broadcast(name, protocol.MethodFilesChanged, b, nil)
		w.srv.feed.filesChanged(b)
	})
}

func (w *projectWatches) leave(_ *session, name string) {
	w.mu.Lock()
	pw := w.subs[name]
	if pw == nil {
		w.mu.Unlock()
		return
	}
	if pw.refs--; pw.refs > 0 {
		w.mu.Unlock()
		return
	}
	delete(w.subs, name)
	w.mu.Unlock()
	pw.mu.Lock() // wait for a start in progress
	defer pw.mu.Unlock()
	if pw.unsub != nil {
		pw.unsub()
		w.srv.deps.Watch.Release(name)
	}
}
