package protocol

import (
	"encoding/json"
	"time"
)

// Management methods: people, tokens, projects and the audit trail. The CLI
// (`rubberduck user|token|project|audit ...`) is their main client; every
// call is checked against the caller's rights by the hub. Results are the
// hub's records (see docs/protocol.md for their fields).
const (
	MethodWhoami = "rubberduck/user/whoami"
	// MethodLoginLink (request, no params) returns a single-use browser
	// sign-in link for the caller, who must call with an API token.
	MethodLoginLink  = "rubberduck/user/loginLink"
	MethodUserAdd    = "rubberduck/user/add"
	MethodUserList   = "rubberduck/user/list"
	MethodUserRemove = "rubberduck/user/remove"

	MethodTokenCreate = "rubberduck/token/create"
	MethodTokenList   = "rubberduck/token/list"
	MethodTokenRevoke = "rubberduck/token/revoke"

	MethodProjectAdd     = "rubberduck/project/add"
	MethodProjectShow    = "rubberduck/project/show"
	MethodProjectUpdate  = "rubberduck/project/update"
	MethodProjectRemove  = "rubberduck/project/remove"
	MethodProjectGrant   = "rubberduck/project/grant"
	MethodProjectRevoke  = "rubberduck/project/revoke"
	MethodProjectMembers = "rubberduck/project/members"

	MethodAuditQuery = "rubberduck/audit/query"
)

// UserAddParams adds a person.
type UserAddParams struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Admin       bool   `json:"admin,omitempty"`
}

// UserRef names a user by name or id.
type UserRef struct {
	User string `json:"user"`
}

// TokenCreateParams creates an API token. TTL is a Go duration ("720h");
// empty takes the hub's default (90 days).
type TokenCreateParams struct {
	User    string `json:"user,omitempty"`
	Name    string `json:"name"`
	TTL     string `json:"ttl,omitempty"`
	Project string `json:"project,omitempty"`
}

// TokenCreateResult carries the secret, shown this once and never again.
type TokenCreateResult struct {
	Token string `json:"token"`
	Info  any    `json:"info"`
}

// TokenRef names a token by id.
type TokenRef struct {
	ID string `json:"id"`
}

// ProjectRef names a project.
type ProjectRef struct {
	Name string `json:"name"`
}

// ProjectAddParams registers a directory as a project. Sandbox, when
// present, replaces the default settings (see docs/security.md).
type ProjectAddParams struct {
	Name    string          `json:"name"`
	Root    string          `json:"root"`
	Sandbox json.RawMessage `json:"sandbox,omitempty"`
}

// ProjectUpdateParams changes a project's root or sandbox settings.
type ProjectUpdateParams struct {
	Name    string          `json:"name"`
	Root    *string         `json:"root,omitempty"`
	Sandbox json.RawMessage `json:"sandbox,omitempty"`
}

// GrantParams gives user a role ("owner", "writer", "reader") in project.
type GrantParams struct {
	Project string `json:"project"`
	User    string `json:"user"`
	Role    string `json:"role"`
}

// RevokeParams withdraws user's role in project; their live connections
// to it close at once.
type RevokeParams struct {
	Project string `json:"project"`
	User    string `json:"user"`
}

// AuditQueryParams selects audit records.
type AuditQueryParams struct {
	Project string    `json:"project,omitempty"`
	Since   time.Time `json:"since,omitzero"`
	Until   time.Time `json:"until,omitzero"`
	Actor   string    `json:"actor,omitempty"`
	Limit   int       `json:"limit,omitempty"`
}

// LoginLinkResult answers rubberduck/user/loginLink. Path is relative to
// the hub's URL (the hub cannot know the address a proxy publishes it at);
// the link works once, until Expires.
type LoginLinkResult struct {
	Path    string    `json:"path"`
	Expires time.Time `json:"expires"`
}
