package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/rubberduckhub/rubberduck/hub/audit"
)

// AuditReader answers audit queries; *audit.Log implements it.
type AuditReader interface {
	Query(ctx context.Context, f audit.Filter) ([]audit.Entry, error)
}

// errNoAuditReader is returned when Options.Audit cannot be queried.
var errNoAuditReader = errors.New("audit trail not queryable")

// Audit returns audit records for the actor. A project's owners (and admins)
// may read that project's trail; the whole trail, with hub-wide events such
// as user changes, is for admins only.
func (s *Service) Audit(ctx context.Context, actor Principal, f audit.Filter) ([]audit.Entry, error) {
	if f.Project == "" {
		if err := s.RequireAdmin(ctx, actor); err != nil {
			return nil, err
		}
	} else if _, err := s.Authorize(ctx, actor, f.Project, ActionAdmin); err != nil {
		return nil, err
	}
	r, ok := s.opts.Audit.(AuditReader)
	if !ok {
		return nil, errNoAuditReader
	}
	out, err := r.Query(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("audit query: %w", err)
	}
	return out, nil
}
