package hub

import (
	"context"

	"github.com/rubberduckhub/rubberduck/hub/audit"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// queryAudit returns audit records: a project's to its owners, all of them
// to admins (auth.Service decides).
func (sess *session) queryAudit(ctx context.Context, p protocol.AuditQueryParams) ([]audit.Entry, error) {
	// Records still queued are part of the answer.
	if err := sess.srv.deps.Audit.Flush(ctx); err != nil {
		return nil, err
	}
	return sess.srv.deps.Auth.Audit(ctx, sess.ident, audit.Filter{
		Project: p.Project, Since: p.Since, Until: p.Until, Actor: p.Actor, Limit: p.Limit,
	})
}
