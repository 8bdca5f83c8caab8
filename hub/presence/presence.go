// Package presence tracks who is in each project and where: join, leave and
// focus events, a name and a stable colour per person, and cursors relayed
// to the other members in each receiver's position encoding.
//
// Cursors never enter the CRDT (Teamtype moved them out because they
// bloated documents): they are relayed as they come and only the latest per
// person and document is kept, for members who join later. A member who
// leaves or disconnects takes their cursors with them at once (receivers
// drop a session's cursors on its "leave"), and a cursor not refreshed for
// CursorTTL is cleared with an empty selection list, so a peer the hub lost
// track of does not leave a ghost behind.
//
// Follow mode needs nothing more than focus events with a viewport, which
// are relayed the same way.
package presence

import (
	"context"
	"encoding/json"
	"hash/fnv"
	"sync"
	"time"

	"github.com/sourcegraph/conc"

	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	lsync "github.com/rubberduckhub/rubberduck/lsp/sync"
)

// Palette holds the colours people are given: distinct hues readable on
// light and dark themes.
var Palette = []string{
	"#e5534b", "#3fb950", "#539bf5", "#d29922", "#b083f0", "#39c5cf",
	"#f47067", "#57ab5a", "#e0823d", "#c96198", "#6cb6ff", "#8ddb8c",
}

// ColorOf is a person's colour: a hash of their user id into Palette, the
// same on every connection and every hub restart.
func ColorOf(userID string) string {
	h := fnv.New32a()
	_, _ = h.Write([]byte(userID))
	return Palette[h.Sum32()%uint32(len(Palette))]
}

// MaxCatchUp bounds how many members a newcomer is told about when it
// joins (with their focus and cursors). The catch-up goes into the
// newcomer's bounded send queue in one go; a huge room must not overflow it
// and get the newcomer dropped, and no UI shows hundreds of avatars anyway.
const MaxCatchUp = 64

// Sender reaches one member's connection; Notify and NotifyRaw must never
// block (the transport drops a peer that does not read).
type Sender interface {
	Notify(method string, params any) error
	NotifyRaw(frame []byte) error
}

// frame encodes a notification once for many receivers.
func frame(method string, params any) ([]byte, error) {
	m, err := protocol.NewNotification(method, params)
	if err != nil {
		return nil, err
	}
	return json.Marshal(m)
}

// Member is one connection in a project.
type Member struct {
	Conn     Sender
	Person   protocol.Person
	Encoding string // the connection's negotiated position encoding
}

// Options configure a Tracker.
type Options struct {
	// Text returns a document's current text when it is open, to convert
	// cursor positions between encodings; without it positions are relayed
	// unchanged.
	Text func(ref protocol.DocRef) (string, bool)
	// CursorTTL is how long a cursor lives without being refreshed
	// (default two minutes).
	CursorTTL time.Duration
}

// Tracker keeps every project's members, focus and cursors.
type Tracker struct {
	opts   Options
	cancel context.CancelFunc
	wg     conc.WaitGroup

	mu       sync.Mutex
	projects map[string]map[Sender]*member
}

type member struct {
	Member
	focus   *protocol.FocusParams
	cursors map[string]*cursor // by path
}

// cursor is a member's selections in one document, kept in code points
// per line so they can be sent to a later joiner in its own encoding.
type cursor struct {
	sels []protocol.Selection // Character counts code points
	at   time.Time
}

// New starts a Tracker; Close stops its expiry sweep.
func New(opts Options) *Tracker {
	if opts.CursorTTL <= 0 {
		opts.CursorTTL = 2 * time.Minute
	}
	ctx, cancel := context.WithCancel(context.Background())
	t := &Tracker{opts: opts, cancel: cancel, projects: make(map[string]map[Sender]*member)}
	t.wg.Go(func() { t.sweep(ctx) })
	return t
}

// Close stops the Tracker.
func (t *Tracker) Close() {
	t.cancel()
	t.wg.Wait()
}

// Join adds m to project, tells the others, and tells m who is there, what
// they look at and where their cursors are.
func (t *Tracker) Join(project string, m Member) {
	t.mu.Lock()
	defer t.mu.Unlock()
	room := t.projects[project]
	if room == nil {
		room = make(map[Sender]*member)
		t.projects[project] = room
	}
	if _, ok := room[m.Conn]; ok {
		return
	}
	join, err := frame(protocol.MethodPresence, protocol.PresenceParams{Project: project, Event: "join", Person: m.Person})
	if err != nil {
		return
	}
	told := 0
	for _, o := range room {
		_ = o.Conn.NotifyRaw(join)
		if told++; told > MaxCatchUp {
			continue
		}
		_ = m.Conn.Notify(protocol.MethodPresence, protocol.PresenceParams{Project: project, Event: "join", Person: o.Person})
		if o.focus != nil {
			_ = m.Conn.Notify(protocol.MethodPresence, focusEvent(project, o))
		}
		for path, c := range o.cursors {
			ref := protocol.DocRef{Project: project, Path: path}
			_ = m.Conn.Notify(protocol.MethodCursor, protocol.CursorParams{
				DocRef: ref, Person: &o.Person, Selections: t.catchUp(ref, c.sels, m.Encoding),
			})
		}
	}
	room[m.Conn] = &member{Member: m, cursors: make(map[string]*cursor)}
}

// Leave removes conn from project and tells the others, who drop its
// cursors with it.
func (t *Tracker) Leave(project string, conn Sender) {
	t.mu.Lock()
	defer t.mu.Unlock()
	room := t.projects[project]
	m := room[conn]
	if m == nil {
		return
	}
	delete(room, conn)
	if len(room) == 0 {
		delete(t.projects, project)
	}
	leave, err := frame(protocol.MethodPresence, protocol.PresenceParams{Project: project, Event: "leave", Person: m.Person})
	if err != nil {
		return
	}
	for _, o := range room {
		_ = o.Conn.NotifyRaw(leave)
	}
}

// Focus records which file and viewport conn looks at and relays it, for
// presence lists and follow mode.
func (t *Tracker) Focus(conn Sender, p protocol.FocusParams) {
	t.mu.Lock()
	defer t.mu.Unlock()
	room := t.projects[p.Project]
	m := room[conn]
	if m == nil {
		return
	}
	f := p
	m.focus = &f
	ev, err := frame(protocol.MethodPresence, focusEvent(p.Project, m))
	if err != nil {
		return
	}
	for c, o := range room {
		if c != conn {
			_ = o.Conn.NotifyRaw(ev)
		}
	}
}

func focusEvent(project string, m *member) protocol.PresenceParams {
	return protocol.PresenceParams{Project: project, Event: "focus", Person: m.Person, Path: m.focus.Path, Viewport: m.focus.Viewport}
}

// Cursor relays conn's selections in one document to the other members,
// each in its own position encoding.
func (t *Tracker) Cursor(conn Sender, p protocol.CursorParams) {
	// The document's text is fetched once, outside the lock: it may wait
	// for the document's own lock, which must not stall every project.
	text, ok := t.text(p.DocRef)
	t.mu.Lock()
	defer t.mu.Unlock()
	room := t.projects[p.Project]
	m := room[conn]
	if m == nil {
		return
	}
	sels := convert(text, ok, p.Selections, lsync.UnitOf(m.Encoding), crdt.CodePoint)
	if len(sels) == 0 {
		delete(m.cursors, p.Path)
	} else {
		m.cursors[p.Path] = &cursor{sels: sels, at: time.Now()}
	}
	t.relay(room, m, p.DocRef, sels, text, ok)
}

func (t *Tracker) text(ref protocol.DocRef) (string, bool) {
	if t.opts.Text == nil {
		return "", false
	}
	return t.opts.Text(ref)
}

// relay sends m's selections (code points) to everyone else in room,
// converting once per encoding.
func (t *Tracker) relay(room map[Sender]*member, m *member, ref protocol.DocRef, sels []protocol.Selection, text string, hasText bool) {
	byEnc := map[string][]byte{} // one encoded frame per position encoding
	for c, o := range room {
		if c == m.Conn {
			continue
		}
		f, ok := byEnc[o.Encoding]
		if !ok {
			var err error
			out := convert(text, hasText, sels, crdt.CodePoint, lsync.UnitOf(o.Encoding))
			f, err = frame(protocol.MethodCursor, protocol.CursorParams{DocRef: ref, Person: &m.Person, Selections: out})
			if err != nil {
				return
			}
			byEnc[o.Encoding] = f
		}
		_ = o.Conn.NotifyRaw(f)
	}
}

// convert translates selections between units using the document's text;
// without the text (no one has the document open) they pass unchanged.
func convert(text string, ok bool, sels []protocol.Selection, from, to crdt.Unit) []protocol.Selection {
	out := make([]protocol.Selection, len(sels))
	copy(out, sels)
	if from == to || !ok {
		return out
	}
	conv := func(p protocol.Position) protocol.Position {
		off, err := lsync.Offset(text, p, from)
		if err != nil {
			return p
		}
		return lsync.Position(text, off, to)
	}
	for i := range out {
		out[i].Anchor = conv(out[i].Anchor)
		out[i].Head = conv(out[i].Head)
	}
	return out
}

// sweep clears cursors not refreshed within CursorTTL.
func (t *Tracker) sweep(ctx context.Context) {
	tick := time.NewTicker(min(time.Second, t.opts.CursorTTL/2))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			t.expire(now)
		}
	}
}

func (t *Tracker) expire(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for project, room := range t.projects {
		for _, m := range room {
			for path, c := range m.cursors {
				if now.Sub(c.at) < t.opts.CursorTTL {
					continue
				}
				delete(m.cursors, path)
				t.relay(room, m, protocol.DocRef{Project: project, Path: path}, []protocol.Selection{}, "", false)
			}
		}
	}
}

// catchUp converts a stored cursor for a newcomer. It runs under the lock,
// but only for the bounded catch-up of one join.
func (t *Tracker) catchUp(ref protocol.DocRef, sels []protocol.Selection, enc string) []protocol.Selection {
	text, ok := t.text(ref)
	return convert(text, ok, sels, crdt.CodePoint, lsync.UnitOf(enc))
}
