package hub

import (
	"context"
	"errors"
)

// Identity is the authenticated caller behind a connection. The hub keeps it
// per session so every request is authorised against the same identity,
// and so a revocation can find the caller's live connections.
type Identity struct {
	UserID   string
	UserName string
	// TokenID identifies the credential (API token or browser session)
	// the connection was opened with.
	TokenID string
	Admin   bool
}

// Action is what a request wants to do in a project.
type Action int

// The actions roles are checked against: readers may read, writers may
// also write, owners may also administer the project.
const (
	ActionRead Action = iota
	ActionWrite
	ActionAdmin
)

func (a Action) String() string {
	switch a {
	case ActionRead:
		return "read"
	case ActionWrite:
		return "write"
	case ActionAdmin:
		return "admin"
	}
	return "unknown"
}

// Errors a Guard returns; the hub maps them to HTTP statuses and JSON-RPC
// codes.
var (
	// ErrUnauthenticated: the credential is missing, unknown, expired or revoked.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrNoProject: the project does not exist or the caller may not know
	// that it does. One error for both, so membership cannot be probed.
	ErrNoProject = errors.New("project not found")
	// ErrForbidden: the caller is a member whose role does not allow the action.
	ErrForbidden = errors.New("forbidden")
)

// Guard is the one place every request is authenticated and authorised.
// The hub defines the interface it needs; hub/auth implements it.
type Guard interface {
	// Authenticate resolves a bearer token or browser session id.
	Authenticate(ctx context.Context, credential string) (Identity, error)
	// Authorize checks that id may perform action in project and returns
	// the caller's role there ("owner", "writer", "reader").
	Authorize(ctx context.Context, id Identity, project string, action Action) (string, error)
}
