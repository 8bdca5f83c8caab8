package hub

import (
	"context"
	"sync"
	"time"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/sandbox/watch"
)

// intelFeed keeps code intelligence on the live shared text: documents
// changed by anyone are handed to the project's index and language servers
// at most every feedDelay (a burst of keystrokes is one reparse), and the
// watcher's batches of outside changes update the index of closed files.
type intelFeed struct {
	srv *Server

	mu      sync.Mutex
	pending map[protocol.DocRef]*time.Timer
	open    map[protocol.DocRef]bool // documents intel has been told are open
	stopped bool
}

// feedDelay trades freshness of diagnostics for reparse work while typing.
const feedDelay = 150 * time.Millisecond

func newIntelFeed(srv *Server) *intelFeed {
	return &intelFeed{srv: srv, pending: make(map[protocol.DocRef]*time.Timer), open: make(map[protocol.DocRef]bool)}
}

// changed notes that a document changed; it never blocks (docs calls it
// with the document locked).
func (f *intelFeed) changed(ref protocol.DocRef) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped || f.pending[ref] != nil {
		return
	}
	f.pending[ref] = time.AfterFunc(feedDelay, func() { f.flush(ref) })
}

func (f *intelFeed) flush(ref protocol.DocRef) {
	f.mu.Lock()
	delete(f.pending, ref)
	stopped, known := f.stopped, f.open[ref]
	f.mu.Unlock()
	if stopped {
		return
	}
	svc := f.srv.intel
	if svc == nil {
		return
	}
	p, err := svc.Project(ref.Project)
	if err != nil {
		return // intel starts a project on its first request
	}
	// Language servers must see didOpen before didChange and didClose.
	ctx := context.Background()
	text, open := f.srv.docs.Text(ref)
	switch {
	case open && known:
		err = p.DocChanged(ctx, ref.Path, text)
	case open:
		err = p.DocOpened(ctx, ref.Path, text)
	case known:
		err = p.DocClosed(ctx, ref.Path)
	}
	f.mu.Lock()
	if open {
		f.open[ref] = true
	} else {
		delete(f.open, ref)
	}
	f.mu.Unlock()
	if err != nil {
		f.srv.log.Debug("code intelligence did not take a document change", "project", ref.Project, "err", err)
	}
}

// filesChanged hands a watcher batch to the project's index.
func (f *intelFeed) filesChanged(b watch.Batch) {
	svc := f.srv.intel
	if svc == nil {
		return
	}
	p, err := svc.Project(b.Project)
	if err != nil {
		return
	}
	var changed, removed []string
	for _, e := range b.Events {
		switch e.Kind {
		case watch.KindDeleted:
			removed = append(removed, e.Path)
		case watch.KindRenamed:
			removed = append(removed, e.OldPath)
			changed = append(changed, e.Path)
		default:
			changed = append(changed, e.Path)
		}
	}
	if err := p.FilesChanged(context.Background(), changed, removed); err != nil {
		f.srv.log.Debug("code intelligence did not take file changes", "project", b.Project, "err", err)
	}
}

func (f *intelFeed) stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.stopped = true
	for ref, t := range f.pending {
		t.Stop()
		delete(f.pending, ref)
	}
}
