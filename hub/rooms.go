package hub

import (
	"encoding/json"
	"sync"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// roomHook lets a subsystem (documents, presence, watchers) react when a
// connection joins or leaves a project, without the session knowing it.
// Hooks run synchronously on the connection's goroutine; they must not block.
type roomHook struct {
	join  func(sess *session, project string)
	leave func(sess *session, project string)
}

// rooms tracks which sessions have joined which project, so a project's
// notifications (file changes, edits, presence, chat, AI streams) reach
// exactly its members.
type rooms struct {
	mu      sync.RWMutex
	members map[string]map[*session]struct{}
	hooks   []roomHook // set up before serving, read-only after
}

func newRooms() *rooms { return &rooms{members: make(map[string]map[*session]struct{})} }

func (r *rooms) join(project string, s *session) {
	r.mu.Lock()
	m := r.members[project]
	if m == nil {
		m = make(map[*session]struct{})
		r.members[project] = m
	}
	_, already := m[s]
	m[s] = struct{}{}
	r.mu.Unlock()
	if already {
		return
	}
	for _, h := range r.hooks {
		if h.join != nil {
			h.join(s, project)
		}
	}
}

// leave removes s from project and reports whether the room is now empty.
func (r *rooms) leave(project string, s *session) bool {
	r.mu.Lock()
	m := r.members[project]
	_, was := m[s]
	delete(m, s)
	empty := len(m) == 0
	if empty {
		delete(r.members, project)
	}
	r.mu.Unlock()
	if was {
		for _, h := range r.hooks {
			if h.leave != nil {
				h.leave(s, project)
			}
		}
	}
	return empty
}

func (r *rooms) sessions(project string) []*session {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*session, 0, len(r.members[project]))
	for s := range r.members[project] {
		out = append(out, s)
	}
	return out
}

// broadcast sends one notification to every member of project except
// skip (nil for none). The frame is encoded once for everyone. A member
// that is not reading is dropped by its own queue limit, never waited for.
func (r *rooms) broadcast(project, method string, params any, skip *session) error {
	m, err := protocol.NewNotification(method, params)
	if err != nil {
		return err
	}
	frame, err := json.Marshal(m)
	if err != nil {
		return err
	}
	for _, s := range r.sessions(project) {
		if s != skip {
			_ = s.conn.NotifyRaw(frame)
		}
	}
	return nil
}
