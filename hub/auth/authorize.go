package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/project"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

// Role is a user's standing in one project.
type Role string

// Roles, from least to most privileged.
const (
	RoleNone   Role = ""
	RoleReader Role = "reader"
	RoleWriter Role = "writer"
	RoleOwner  Role = "owner"
)

func (r Role) rank() int {
	switch r {
	case RoleReader:
		return 1
	case RoleWriter:
		return 2
	case RoleOwner:
		return 3
	}
	return 0
}

// Valid reports whether r is one of reader, writer, owner.
func (r Role) Valid() bool { return r.rank() > 0 }

// Action is what a request wants to do in a project.
type Action string

// Actions and the least role each needs.
const (
	// ActionRead: open, list, search files, join a room, chat, ask the AI.
	ActionRead Action = "read"
	// ActionWrite: edit, save, create, rename, delete files.
	ActionWrite Action = "write"
	// ActionAdmin: change the project's settings and members.
	ActionAdmin Action = "admin"
)

func (a Action) needs() Role {
	switch a {
	case ActionRead:
		return RoleReader
	case ActionWrite:
		return RoleWriter
	case ActionAdmin:
		return RoleOwner
	}
	return Role("invalid")
}

// Allows reports whether r permits a.
func (r Role) Allows(a Action) bool {
	need := a.needs()
	return need.Valid() && r.rank() >= need.rank()
}

// Principal is an authenticated caller: a user acting through one
// credential. The hub keeps it for the life of a connection.
type Principal struct {
	UserID   string `json:"userId"`
	UserName string `json:"userName"`
	// Admin is the user's admin flag when authenticated; authorization
	// re-reads it.
	Admin bool `json:"admin"`
	// CredentialID is the token or session ID, matched by RevokeEvent.
	CredentialID string         `json:"credentialId"`
	Kind         CredentialKind `json:"kind"`
	// Project, when set, is the only project this credential may touch.
	Project string `json:"project,omitempty"`
	// Expires is when the credential stops working; the hub should close
	// the connection then.
	Expires time.Time `json:"expires"`
}

// Authenticate turns a credential (an API token "rd_…" or a session secret
// "rds_…", without "Bearer ") into a Principal. remote is the client
// address for the failed-attempt limit ("" skips it). Every failure returns
// ErrUnauthenticated; the reason goes only to metrics.
func (s *Service) Authenticate(ctx context.Context, remote, credential string) (Principal, error) {
	if s.opts.Limiter != nil {
		if err := s.opts.Limiter.AuthBlocked(remote); err != nil {
			s.authFailures.WithLabelValues("rate_limited").Inc()
			return Principal{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
		}
	}
	p, reason, err := s.authenticate(ctx, credential)
	if reason != "" {
		s.authFailures.WithLabelValues(reason).Inc()
		if s.opts.Limiter != nil {
			s.opts.Limiter.AuthFailed(remote)
		}
		return Principal{}, ErrUnauthenticated
	}
	return p, err
}

func (s *Service) authenticate(ctx context.Context, credential string) (p Principal, reason string, err error) {
	kind := kindToken
	switch {
	case wellFormed(credential, TokenPrefix):
	case wellFormed(credential, SessionPrefix):
		kind = kindSession
	default:
		return Principal{}, "malformed", nil
	}
	hash := hashSecret(credential)
	id, err := s.st.Get(ctx, []byte(credHashPrefix+hash))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, "unknown", nil
	}
	if err != nil {
		return Principal{}, "", fmt.Errorf("authenticate: %w", err)
	}
	c, err := s.credByID(ctx, string(id))
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, "unknown", nil
	}
	if err != nil {
		return Principal{}, "", fmt.Errorf("authenticate: %w", err)
	}
	if !sameHash(c.Hash, hash) || c.Kind != kind {
		return Principal{}, "unknown", nil
	}
	now := s.opts.Now()
	if !now.Before(c.Expires) {
		return Principal{}, "expired", nil
	}
	u, err := s.userByID(ctx, c.UserID)
	if errors.Is(err, ErrNotFound) {
		return Principal{}, "unknown", nil
	}
	if err != nil {
		return Principal{}, "", fmt.Errorf("authenticate: %w", err)
	}
	s.touch(ctx, c.ID, now)
	return Principal{
		UserID: u.ID, UserName: u.Name, Admin: u.Admin, CredentialID: c.ID, Kind: c.Kind,
		Project: c.Project, Expires: c.Expires,
	}, "", nil
}

// live checks that p's credential still exists, has not expired and
// belongs to p's user, so a revoked credential stops working on the very
// next request even if the hub missed the revocation event.
func (s *Service) live(ctx context.Context, p Principal) error {
	if p.UserID == "" || p.CredentialID == "" {
		return ErrUnauthenticated
	}
	c, err := s.credByID(ctx, p.CredentialID)
	if errors.Is(err, store.ErrNotFound) {
		s.denied.WithLabelValues("any", "stale").Inc()
		return ErrUnauthenticated
	}
	if err != nil {
		return fmt.Errorf("check credential: %w", err)
	}
	if c.UserID != p.UserID || c.Project != p.Project || !s.opts.Now().Before(c.Expires) {
		s.denied.WithLabelValues("any", "stale").Inc()
		return ErrUnauthenticated
	}
	return nil
}

// hidden is the one error for "no such project" and "not yours to see".
func (s *Service) hidden(proj string, action Action, why string) error {
	s.denied.WithLabelValues(string(action), why).Inc()
	return fmt.Errorf("project %q: %w", proj, ErrNotFound)
}

// Authorize decides whether p may do action in project and returns p's
// effective role there. Admins act as owners of every project. A caller
// who is not a member, or whose credential is scoped to another project,
// gets the same ErrNotFound as for a project that does not exist; a member
// whose role is too low gets ErrForbidden.
func (s *Service) Authorize(ctx context.Context, p Principal, proj string, action Action) (Role, error) {
	if err := s.live(ctx, p); err != nil {
		return RoleNone, err
	}
	u, err := s.userByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		s.denied.WithLabelValues(string(action), "stale").Inc()
		return RoleNone, ErrUnauthenticated
	}
	if err != nil {
		return RoleNone, err
	}
	if p.Project != "" && p.Project != proj {
		return RoleNone, s.hidden(proj, action, "scope")
	}
	pr, err := s.projects.Get(ctx, proj)
	if errors.Is(err, project.ErrNotFound) {
		// Look up a membership anyway so a missing project costs the same
		// as a hidden one.
		_, _ = s.st.Get(ctx, []byte(memberPrefix+"-/"+u.ID))
		return RoleNone, s.hidden(proj, action, "hidden")
	}
	if err != nil {
		return RoleNone, fmt.Errorf("authorize: %w", err)
	}
	role, err := s.roleIn(ctx, pr.ID, u)
	if err != nil {
		return RoleNone, err
	}
	if role == RoleNone {
		return RoleNone, s.hidden(proj, action, "hidden")
	}
	if !role.Allows(action) {
		s.denied.WithLabelValues(string(action), "forbidden").Inc()
		return role, fmt.Errorf("role %s may not %s in project %q: %w", role, action, proj, ErrForbidden)
	}
	return role, nil
}

// roleIn returns u's effective role in the project with ID pid.
func (s *Service) roleIn(ctx context.Context, pid string, u User) (Role, error) {
	var m memberRecord
	err := s.getJSON(ctx, memberPrefix+pid+"/"+u.ID, &m)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return RoleNone, fmt.Errorf("authorize: %w", err)
	}
	if u.Admin {
		return RoleOwner, nil
	}
	return m.Role, nil
}

// RequireAdmin allows hub-wide management (users, adding and removing
// projects) only to admins acting through an unscoped credential.
func (s *Service) RequireAdmin(ctx context.Context, p Principal) error {
	if err := s.live(ctx, p); err != nil {
		return err
	}
	u, err := s.userByID(ctx, p.UserID)
	if errors.Is(err, ErrNotFound) {
		return ErrUnauthenticated
	}
	if err != nil {
		return err
	}
	if !u.Admin || p.Project != "" {
		s.denied.WithLabelValues("hub_admin", "forbidden").Inc()
		return fmt.Errorf("hub administration needs an admin's unscoped credential: %w", ErrForbidden)
	}
	return nil
}
