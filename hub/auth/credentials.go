package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/store"
)

// CredentialKind tells API tokens from browser sessions.
type CredentialKind string

// Credential kinds.
const (
	KindToken   CredentialKind = "token"
	KindSession CredentialKind = "session"
)

const (
	kindToken   = KindToken
	kindSession = KindSession
)

const (
	credPrefix       = "auth/cred/"     // + id -> credRecord
	credHashPrefix   = "auth/credhash/" // + hex sha256 -> id
	userCredPrefix   = "auth/usercred/" // + user id / cred id -> ""
	lastUsedPrefix   = "auth/lastused/" // + id -> RFC 3339 time
	loginPrefix      = "auth/login/"    // + hex sha256 -> loginRecord
	lastUsedInterval = time.Minute      // write last-used at most this often
	maxTokenName     = 64
)

// credRecord is the stored form of a token or session. It never holds the
// secret, only its hash.
type credRecord struct {
	ID      string         `json:"id"`
	Kind    CredentialKind `json:"kind"`
	UserID  string         `json:"userId"`
	Name    string         `json:"name,omitempty"`
	Hash    string         `json:"hash"`
	Created time.Time      `json:"created"`
	Expires time.Time      `json:"expires"`
	Project string         `json:"project,omitempty"`
}

// Token is what lists show about an API token: everything but the secret.
type Token struct {
	ID      string    `json:"id"`
	UserID  string    `json:"userId"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`
	// LastUsed is when the token last authenticated (to the minute); zero
	// if never.
	LastUsed time.Time `json:"lastUsed,omitzero"`
	// Project, when set, is the only project the token works for.
	Project string `json:"project,omitempty"`
}

// TokenSpec is what CreateToken needs.
type TokenSpec struct {
	// User is the owner by name or ID; "" means the actor.
	User string `json:"user,omitempty"`
	Name string `json:"name"`
	// TTL is the lifetime; 0 means Options.TokenTTL.
	TTL time.Duration `json:"ttl,omitempty"`
	// Project scopes the token to one project; "" means all of the user's.
	Project string `json:"project,omitempty"`
}

// CreateToken issues an API token and returns its secret, which is shown
// once and never stored. A user may create tokens for themself; admins for
// anyone. A project-scoped actor can only create tokens scoped to the same
// project, so a leaked scoped token cannot mint a broader one.
func (s *Service) CreateToken(ctx context.Context, actor Principal, spec TokenSpec) (secret string, t Token, err error) {
	defer func() { s.audit(ctx, actor, "token.create", spec.Project, t.ID, spec.User, err) }()
	if err := s.live(ctx, actor); err != nil {
		return "", Token{}, err
	}
	target := actor.UserID
	if spec.User != "" {
		u, err := s.resolveUser(ctx, spec.User)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return "", Token{}, err
		}
		if err != nil || u.ID != actor.UserID {
			// Non-admins learn nothing about other users.
			if aerr := s.RequireAdmin(ctx, actor); aerr != nil {
				return "", Token{}, aerr
			}
			if err != nil {
				return "", Token{}, err
			}
		}
		target = u.ID
	}
	if actor.Project != "" {
		if spec.Project != "" && spec.Project != actor.Project {
			return "", Token{}, s.hidden(spec.Project, "token.create", "scope")
		}
		spec.Project = actor.Project
	}
	if spec.Project != "" {
		// The actor must at least see the project; otherwise it answers
		// like a missing one.
		if _, err := s.Authorize(ctx, actor, spec.Project, ActionRead); err != nil {
			return "", Token{}, err
		}
	}
	if spec.Name == "" {
		spec.Name = "token"
	}
	if len(spec.Name) > maxTokenName || strings.ContainsAny(spec.Name, "\x00\r\n") {
		return "", Token{}, fmt.Errorf("token name: at most %d characters on one line: %w", maxTokenName, ErrInvalid)
	}
	ttl := spec.TTL
	if ttl == 0 {
		ttl = s.opts.TokenTTL
	}
	if ttl < 0 || ttl > s.opts.MaxTokenTTL {
		return "", Token{}, fmt.Errorf("token lifetime %s: must be positive and at most %s: %w", spec.TTL, s.opts.MaxTokenTTL, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	secret, rec, err := s.createCredLocked(ctx, credRecord{Kind: kindToken, UserID: target, Name: spec.Name, Project: spec.Project}, ttl)
	if err != nil {
		return "", Token{}, err
	}
	return secret, tokenOf(rec, time.Time{}), nil
}

func tokenOf(c credRecord, lastUsed time.Time) Token {
	return Token{ID: c.ID, UserID: c.UserID, Name: c.Name, Created: c.Created, Expires: c.Expires, LastUsed: lastUsed, Project: c.Project}
}

// createCredLocked stores a new credential and returns its secret.
func (s *Service) createCredLocked(ctx context.Context, rec credRecord, ttl time.Duration) (string, credRecord, error) {
	prefix, idPrefix := TokenPrefix, "tok_"
	if rec.Kind == kindSession {
		prefix, idPrefix = SessionPrefix, "ses_"
	}
	secret := newSecret(prefix)
	now := s.opts.Now().UTC()
	rec.ID = newID(idPrefix)
	rec.Hash = hashSecret(secret)
	rec.Created = now
	rec.Expires = now.Add(ttl)
	b, err := json.Marshal(rec)
	if err != nil {
		return "", credRecord{}, fmt.Errorf("encode credential: %w", err)
	}
	if err := s.st.Batch(ctx, func(bt store.Batch) error {
		if err := bt.Put([]byte(credPrefix+rec.ID), b); err != nil {
			return err
		}
		if err := bt.Put([]byte(credHashPrefix+rec.Hash), []byte(rec.ID)); err != nil {
			return err
		}
		return bt.Put([]byte(userCredPrefix+rec.UserID+"/"+rec.ID), nil)
	}); err != nil {
		return "", credRecord{}, fmt.Errorf("store %s: %w", rec.Kind, err)
	}
	return secret, rec, nil
}

// Tokens lists a user's API tokens (user by name or ID, "" for the actor),
// never their secrets. Users see their own; admins anyone's.
func (s *Service) Tokens(ctx context.Context, actor Principal, user string) ([]Token, error) {
	if err := s.live(ctx, actor); err != nil {
		return nil, err
	}
	target := actor.UserID
	if user != "" {
		u, err := s.resolveUser(ctx, user)
		if err != nil || u.ID != actor.UserID {
			if aerr := s.RequireAdmin(ctx, actor); aerr != nil {
				return nil, aerr
			}
			if err != nil {
				return nil, err
			}
		}
		target = u.ID
	}
	var out []Token
	err := s.st.Scan(ctx, []byte(userCredPrefix+target+"/"), func(k, _ []byte) (bool, error) {
		id := strings.TrimPrefix(string(k), userCredPrefix+target+"/")
		c, err := s.credByID(ctx, id)
		if errors.Is(err, store.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if c.Kind != kindToken {
			return true, nil
		}
		if actor.Project != "" && c.Project != actor.Project {
			// A scoped actor sees only tokens of its own scope.
			return true, nil
		}
		out = append(out, tokenOf(c, s.lastUsed(ctx, id)))
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken deletes a token and closes the connections it opened. Users
// revoke their own tokens; admins anyone's. Others get ErrNotFound.
func (s *Service) RevokeToken(ctx context.Context, actor Principal, tokenID string) (err error) {
	defer func() { s.audit(ctx, actor, "token.revoke", "", tokenID, "", err) }()
	if err := s.live(ctx, actor); err != nil {
		return err
	}
	s.mu.Lock()
	c, err := s.credByID(ctx, tokenID)
	notFound := fmt.Errorf("token %q: %w", tokenID, ErrNotFound)
	if errors.Is(err, store.ErrNotFound) || (err == nil && c.Kind != kindToken) {
		s.mu.Unlock()
		return notFound
	}
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if c.UserID != actor.UserID || (actor.Project != "" && c.Project != actor.Project) {
		if s.RequireAdmin(ctx, actor) != nil {
			s.mu.Unlock()
			return notFound
		}
	}
	err = s.deleteCredLocked(ctx, c)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.publish(RevokeEvent{UserID: c.UserID, TokenID: c.ID, Reason: "token revoked"}, "token")
	return nil
}

func (s *Service) deleteCredLocked(ctx context.Context, c credRecord) error {
	if err := s.deleteKeys(ctx, []string{
		credPrefix + c.ID, credHashPrefix + c.Hash, userCredPrefix + c.UserID + "/" + c.ID, lastUsedPrefix + c.ID,
	}); err != nil {
		return fmt.Errorf("delete %s %s: %w", c.Kind, c.ID, err)
	}
	return nil
}

func (s *Service) credByID(ctx context.Context, id string) (credRecord, error) {
	var c credRecord
	err := s.getJSON(ctx, credPrefix+id, &c)
	return c, err
}

func (s *Service) lastUsed(ctx context.Context, id string) time.Time {
	b, err := s.st.Get(ctx, []byte(lastUsedPrefix+id))
	if err != nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC3339, string(b))
	return t
}

// touch records that a credential was used, at most once per minute, in a
// key of its own so it can never resurrect a revoked credential's record.
func (s *Service) touch(ctx context.Context, id string, now time.Time) {
	if now.Sub(s.lastUsed(ctx, id)) < lastUsedInterval {
		return
	}
	if err := s.st.Put(ctx, []byte(lastUsedPrefix+id), []byte(now.UTC().Format(time.RFC3339))); err != nil {
		s.opts.Logger.Warn("record token use failed", "token", id, "err", err)
	}
}

// loginRecord is a pending login code, stored under its hash.
type loginRecord struct {
	UserID  string    `json:"userId"`
	Project string    `json:"project,omitempty"`
	Expires time.Time `json:"expires"`
}

// Session describes a browser session; its secret is returned separately
// and only once.
type Session struct {
	ID      string    `json:"id"`
	UserID  string    `json:"userId"`
	Expires time.Time `json:"expires"`
	Project string    `json:"project,omitempty"`
}

// CreateLoginCode returns a single-use code, valid for Options.LoginCodeTTL,
// that the actor's browser redeems for a session: the CLI opens
// https://hub/login?code=… so no long-lived secret ever appears in a URL.
// The session inherits the actor's project scope. Only API tokens may ask:
// a session that could mint login codes could extend itself forever.
func (s *Service) CreateLoginCode(ctx context.Context, actor Principal) (code string, expires time.Time, err error) {
	defer func() { s.audit(ctx, actor, "login.code", actor.Project, actor.UserID, "", err) }()
	if err := s.live(ctx, actor); err != nil {
		return "", time.Time{}, err
	}
	if actor.Kind != KindToken {
		return "", time.Time{}, fmt.Errorf("login links are created with an API token, not a browser session: %w", ErrForbidden)
	}
	code = newSecret(LoginCodePrefix)
	expires = s.opts.Now().UTC().Add(s.opts.LoginCodeTTL)
	b, err := json.Marshal(loginRecord{UserID: actor.UserID, Project: actor.Project, Expires: expires})
	if err != nil {
		return "", time.Time{}, fmt.Errorf("encode login code: %w", err)
	}
	if err := s.st.Put(ctx, []byte(loginPrefix+hashSecret(code)), b); err != nil {
		return "", time.Time{}, fmt.Errorf("store login code: %w", err)
	}
	return code, expires, nil
}

// RedeemLoginCode exchanges a login code for a session secret (to be set as
// an HttpOnly, Secure, SameSite=Strict cookie). A code works once: it is
// deleted in the same batch that creates the session. remote is the
// client's address for the failed-attempt limit.
func (s *Service) RedeemLoginCode(ctx context.Context, remote, code string) (secret string, sess Session, err error) {
	if s.opts.Limiter != nil {
		if err := s.opts.Limiter.AuthBlocked(remote); err != nil {
			s.authFailures.WithLabelValues("rate_limited").Inc()
			return "", Session{}, fmt.Errorf("%w: %w", ErrUnauthenticated, err)
		}
	}
	fail := func(reason string) (string, Session, error) {
		s.authFailures.WithLabelValues(reason).Inc()
		if s.opts.Limiter != nil {
			s.opts.Limiter.AuthFailed(remote)
		}
		return "", Session{}, fmt.Errorf("login code: %w", ErrUnauthenticated)
	}
	if !wellFormed(code, LoginCodePrefix) {
		return fail("malformed")
	}
	key := []byte(loginPrefix + hashSecret(code))
	s.mu.Lock()
	var lr loginRecord
	if err := s.getJSON(ctx, string(key), &lr); err != nil {
		s.mu.Unlock()
		if errors.Is(err, store.ErrNotFound) {
			return fail("unknown")
		}
		return "", Session{}, err
	}
	now := s.opts.Now()
	if !now.Before(lr.Expires) {
		_ = s.st.Delete(ctx, key)
		s.mu.Unlock()
		return fail("expired")
	}
	if _, err := s.userByID(ctx, lr.UserID); err != nil {
		_ = s.st.Delete(ctx, key)
		s.mu.Unlock()
		return fail("unknown")
	}
	secret = newSecret(SessionPrefix)
	rec := credRecord{
		ID: newID("ses_"), Kind: kindSession, UserID: lr.UserID, Hash: hashSecret(secret),
		Created: now.UTC(), Expires: now.UTC().Add(s.opts.SessionTTL), Project: lr.Project,
	}
	b, err := json.Marshal(rec)
	if err == nil {
		err = s.st.Batch(ctx, func(bt store.Batch) error {
			for _, op := range []struct{ k, v []byte }{
				{[]byte(credPrefix + rec.ID), b},
				{[]byte(credHashPrefix + rec.Hash), []byte(rec.ID)},
				{[]byte(userCredPrefix + rec.UserID + "/" + rec.ID), nil},
			} {
				if err := bt.Put(op.k, op.v); err != nil {
					return err
				}
			}
			return bt.Delete(key)
		})
	}
	s.mu.Unlock()
	if err != nil {
		return "", Session{}, fmt.Errorf("create session: %w", err)
	}
	s.audit(ctx, Principal{UserID: rec.UserID}, "session.create", rec.Project, rec.ID, "", nil)
	return secret, Session{ID: rec.ID, UserID: rec.UserID, Expires: rec.Expires, Project: rec.Project}, nil
}

// Logout ends the session whose secret is given and closes its
// connections. An unknown session is not an error: logging out twice is fine.
func (s *Service) Logout(ctx context.Context, session string) error {
	if !wellFormed(session, SessionPrefix) {
		return nil
	}
	s.mu.Lock()
	id, err := s.st.Get(ctx, []byte(credHashPrefix+hashSecret(session)))
	if errors.Is(err, store.ErrNotFound) {
		s.mu.Unlock()
		return nil
	}
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("logout: %w", err)
	}
	c, err := s.credByID(ctx, string(id))
	if err == nil {
		err = s.deleteCredLocked(ctx, c)
	}
	s.mu.Unlock()
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("logout: %w", err)
	}
	s.publish(RevokeEvent{UserID: c.UserID, TokenID: c.ID, Reason: "logged out"}, "session")
	s.audit(ctx, Principal{UserID: c.UserID, CredentialID: c.ID}, "session.end", "", c.ID, "", nil)
	return nil
}

// PruneExpired deletes expired tokens, sessions and login codes and returns
// how many. Expired credentials already fail; this only reclaims space. The
// hub runs it periodically (hourly is plenty).
func (s *Service) PruneExpired(ctx context.Context) (int, error) {
	now := s.opts.Now()
	var creds []credRecord
	var codes []string
	if err := s.st.Scan(ctx, []byte(credPrefix), func(k, v []byte) (bool, error) {
		var c credRecord
		if json.Unmarshal(v, &c) == nil && !now.Before(c.Expires) {
			creds = append(creds, c)
		}
		return true, nil
	}); err != nil {
		return 0, fmt.Errorf("prune credentials: %w", err)
	}
	if err := s.st.Scan(ctx, []byte(loginPrefix), func(k, v []byte) (bool, error) {
		var lr loginRecord
		if json.Unmarshal(v, &lr) == nil && !now.Before(lr.Expires) {
			codes = append(codes, string(k))
		}
		return true, nil
	}); err != nil {
		return 0, fmt.Errorf("prune login codes: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range creds {
		if err := s.deleteCredLocked(ctx, c); err != nil {
			return 0, err
		}
	}
	if err := s.deleteKeys(ctx, codes); err != nil {
		return 0, fmt.Errorf("prune login codes: %w", err)
	}
	return len(creds) + len(codes), nil
}
