package hub

import (
	"context"
	"strconv"

	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/presence"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// Presence handlers: focus and cursors, relayed by hub/presence. Joining
// and leaving come from the project rooms (presenceHook), so a dropped
// connection leaves at once.

func (s *Server) newPresence() *presence.Tracker {
	return presence.New(presence.Options{Text: s.docs.Text})
}

// person is how the session appears to others.
func (sess *session) person() protocol.Person {
	sess.mu.Lock()
	client := sess.client
	sess.mu.Unlock()
	return protocol.Person{
		ID:      sess.ident.UserID,
		Name:    sess.ident.UserName,
		Color:   presence.ColorOf(sess.ident.UserID),
		Client:  client,
		Session: strconv.FormatUint(sess.id, 10),
	}
}

func (s *Server) presenceHook() roomHook {
	return roomHook{
		join: func(sess *session, project string) {
			sess.mu.Lock()
			enc := sess.encoding
			sess.mu.Unlock()
			s.presence.Join(project, presence.Member{Conn: sess.conn, Person: sess.person(), Encoding: enc})
		},
		leave: func(sess *session, project string) { s.presence.Leave(project, sess.conn) },
	}
}

func (sess *session) focus(ctx context.Context, p protocol.FocusParams) (any, error) {
	if err := requireField("project", p.Project); err != nil {
		return nil, err
	}
	if _, err := sess.authorize(ctx, p.Project, auth.ActionRead); err != nil {
		return nil, err
	}
	sess.srv.presence.Focus(sess.conn, p)
	return nil, nil
}

func (sess *session) cursor(ctx context.Context, p protocol.CursorParams) (any, error) {
	ref, err := docRef(p.DocRef)
	if err != nil {
		return nil, err
	}
	if _, err := sess.authorize(ctx, ref.Project, auth.ActionRead); err != nil {
		return nil, err
	}
	p.DocRef = ref
	p.Person = nil // the hub says who it is
	sess.srv.presence.Cursor(sess.conn, p)
	return nil, nil
}
