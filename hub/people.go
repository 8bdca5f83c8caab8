package hub

import (
	"context"
	"net/url"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// People and tokens. auth.Service checks the caller's rights in every call,
// so these handlers only decode and delegate.

func (sess *session) whoami(ctx context.Context, _ struct{}) (auth.User, error) {
	return sess.srv.deps.Auth.Whoami(ctx, sess.ident)
}

// loginLink gives the caller a single-use link that signs their browser in
// (the browser editor), so people other than the owner, whose link the hub
// prints at start, can use it too.
func (sess *session) loginLink(ctx context.Context, _ struct{}) (protocol.LoginLinkResult, error) {
	code, expires, err := sess.srv.deps.Auth.CreateLoginCode(ctx, sess.ident)
	if err != nil {
		return protocol.LoginLinkResult{}, err
	}
	return protocol.LoginLinkResult{Path: "/login?code=" + url.QueryEscape(code), Expires: expires}, nil
}

func (sess *session) addUser(ctx context.Context, p protocol.UserAddParams) (auth.User, error) {
	return sess.srv.deps.Auth.AddUser(ctx, sess.ident, auth.NewUser{Name: p.Name, DisplayName: p.DisplayName, Admin: p.Admin})
}

func (sess *session) listUsers(ctx context.Context, _ struct{}) ([]auth.User, error) {
	return sess.srv.deps.Auth.Users(ctx, sess.ident)
}

func (sess *session) removeUser(ctx context.Context, p protocol.UserRef) (any, error) {
	if err := requireField("user", p.User); err != nil {
		return nil, err
	}
	return nil, sess.srv.deps.Auth.RemoveUser(ctx, sess.ident, p.User)
}

func (sess *session) createToken(ctx context.Context, p protocol.TokenCreateParams) (protocol.TokenCreateResult, error) {
	var ttl time.Duration
	if p.TTL != "" {
		d, err := time.ParseDuration(p.TTL)
		if err != nil || d <= 0 {
			return protocol.TokenCreateResult{}, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: ttl %q is not a positive duration such as 720h", p.TTL)
		}
		ttl = d
	}
	secret, tok, err := sess.srv.deps.Auth.CreateToken(ctx, sess.ident, auth.TokenSpec{User: p.User, Name: p.Name, TTL: ttl, Project: p.Project})
	if err != nil {
		return protocol.TokenCreateResult{}, err
	}
	return protocol.TokenCreateResult{Token: secret, Info: tok}, nil
}

func (sess *session) listTokens(ctx context.Context, p protocol.UserRef) ([]auth.Token, error) {
	return sess.srv.deps.Auth.Tokens(ctx, sess.ident, p.User)
}

func (sess *session) revokeToken(ctx context.Context, p protocol.TokenRef) (any, error) {
	if err := requireField("id", p.ID); err != nil {
		return nil, err
	}
	return nil, sess.srv.deps.Auth.RevokeToken(ctx, sess.ident, p.ID)
}
