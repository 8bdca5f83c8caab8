package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/store"
)

// User is a person (or a robot account) known to the hub.
type User struct {
	ID string `json:"id"`
	// Name is the unique handle used in the CLI and in grants.
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	// Admin may add and remove users and projects and acts as owner of
	// every project. The first user (Bootstrap) is an admin.
	Admin   bool      `json:"admin"`
	Created time.Time `json:"created"`
}

// NewUser is what AddUser needs.
type NewUser struct {
	Name        string `json:"name"`
	DisplayName string `json:"displayName,omitempty"`
	Admin       bool   `json:"admin,omitempty"`
}

const (
	userPrefix     = "auth/user/"
	userNamePrefix = "auth/username/"
	userIDPrefix   = "usr_"
)

// Names have no '_' so they can never be mistaken for an ID ("usr_…").
var userNameRE = regexp.MustCompile(`^[a-z][a-z0-9-]{0,31}$`)

// ValidUserName reports whether name is acceptable for a user: 1-32
// lowercase letters, digits and '-', starting with a letter.
func ValidUserName(name string) bool { return userNameRE.MatchString(name) }

// Bootstrap creates the first admin user called name (default "owner") and
// a token for it when the hub has no users yet, and returns that token so
// the hub can show it once on first start. On every later start it returns
// created == false and no token.
func (s *Service) Bootstrap(ctx context.Context, name string) (token string, created bool, err error) {
	if name == "" {
		name = "owner"
	}
	if !ValidUserName(name) {
		return "", false, fmt.Errorf("bootstrap user %q: %w", name, ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	found := false
	if err := s.st.Scan(ctx, []byte(userPrefix), func(_, _ []byte) (bool, error) {
		found = true
		return false, nil
	}); err != nil {
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	if found {
		return "", false, nil
	}
	u, err := s.addUserLocked(ctx, NewUser{Name: name, DisplayName: "Owner", Admin: true})
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	secret, _, err := s.createCredLocked(ctx, credRecord{Kind: kindToken, UserID: u.ID, Name: "bootstrap"}, s.opts.BootstrapTokenTTL)
	if err != nil {
		return "", false, fmt.Errorf("bootstrap: %w", err)
	}
	s.audit(ctx, Principal{}, "user.bootstrap", "", u.ID, u.Name, nil)
	return secret, true, nil
}

// AddUser creates a user. Only admins may.
func (s *Service) AddUser(ctx context.Context, actor Principal, nu NewUser) (u User, err error) {
	defer func() { s.audit(ctx, actor, "user.add", "", nu.Name, fmt.Sprintf("admin=%t", nu.Admin), err) }()
	if err := s.RequireAdmin(ctx, actor); err != nil {
		return User{}, err
	}
	if !ValidUserName(nu.Name) {
		return User{}, fmt.Errorf("user name %q: must be 1-32 lowercase letters, digits or '-', starting with a letter: %w", nu.Name, ErrInvalid)
	}
	if len(nu.DisplayName) > 128 || strings.ContainsAny(nu.DisplayName, "\x00\n\r") {
		return User{}, fmt.Errorf("display name: at most 128 characters on one line: %w", ErrInvalid)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addUserLocked(ctx, nu)
}

func (s *Service) addUserLocked(ctx context.Context, nu NewUser) (User, error) {
	if _, err := s.st.Get(ctx, []byte(userNamePrefix+nu.Name)); err == nil {
		return User{}, fmt.Errorf("user %q: %w", nu.Name, ErrExists)
	} else if !errors.Is(err, store.ErrNotFound) {
		return User{}, fmt.Errorf("add user: %w", err)
	}
	u := User{ID: newID(userIDPrefix), Name: nu.Name, DisplayName: nu.DisplayName, Admin: nu.Admin, Created: s.opts.Now().UTC()}
	b, err := json.Marshal(u)
	if err != nil {
		return User{}, fmt.Errorf("encode user: %w", err)
	}
	if err := s.st.Batch(ctx, func(bt store.Batch) error {
		if err := bt.Put([]byte(userPrefix+u.ID), b); err != nil {
			return err
		}
		return bt.Put([]byte(userNamePrefix+u.Name), []byte(u.ID))
	}); err != nil {
		return User{}, fmt.Errorf("add user %q: %w", nu.Name, err)
	}
	return u, nil
}

// Users lists every user, ordered by ID. Only admins may.
func (s *Service) Users(ctx context.Context, actor Principal) ([]User, error) {
	if err := s.RequireAdmin(ctx, actor); err != nil {
		return nil, err
	}
	var out []User
	err := s.st.Scan(ctx, []byte(userPrefix), func(k, v []byte) (bool, error) {
		var u User
		if err := json.Unmarshal(v, &u); err != nil {
			return false, fmt.Errorf("decode %s: %w", k, err)
		}
		out = append(out, u)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	return out, nil
}

// Whoami returns the user behind actor, re-read from the store.
func (s *Service) Whoami(ctx context.Context, actor Principal) (User, error) {
	if err := s.live(ctx, actor); err != nil {
		return User{}, err
	}
	return s.userByID(ctx, actor.UserID)
}

// RemoveUser deletes a user (by name or ID) with all their credentials and
// memberships, and closes their connections. Only admins may; the last
// admin cannot be removed.
func (s *Service) RemoveUser(ctx context.Context, actor Principal, user string) (err error) {
	defer func() { s.audit(ctx, actor, "user.remove", "", user, "", err) }()
	if err := s.RequireAdmin(ctx, actor); err != nil {
		return err
	}
	s.mu.Lock()
	u, err := s.resolveUser(ctx, user)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	if u.Admin {
		admins := 0
		if err := s.eachUser(ctx, func(o User) { admins += btoi(o.Admin) }); err != nil {
			s.mu.Unlock()
			return err
		}
		if admins <= 1 {
			s.mu.Unlock()
			return fmt.Errorf("remove user %q: %w", u.Name, ErrLastAdmin)
		}
	}
	var dels []string
	dels = append(dels, userPrefix+u.ID, userNamePrefix+u.Name)
	// Credentials: their records, hash index entries and last-used stamps.
	if err := s.st.Scan(ctx, []byte(userCredPrefix+u.ID+"/"), func(k, _ []byte) (bool, error) {
		id := strings.TrimPrefix(string(k), userCredPrefix+u.ID+"/")
		dels = append(dels, string(k), credPrefix+id, lastUsedPrefix+id)
		if c, err := s.credByID(ctx, id); err == nil {
			dels = append(dels, credHashPrefix+c.Hash)
		}
		return true, nil
	}); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("remove user %q: %w", u.Name, err)
	}
	// Memberships in both directions.
	if err := s.st.Scan(ctx, []byte(userMemberPrefix+u.ID+"/"), func(k, _ []byte) (bool, error) {
		pid := strings.TrimPrefix(string(k), userMemberPrefix+u.ID+"/")
		dels = append(dels, string(k), memberPrefix+pid+"/"+u.ID)
		return true, nil
	}); err != nil {
		s.mu.Unlock()
		return fmt.Errorf("remove user %q: %w", u.Name, err)
	}
	err = s.deleteKeys(ctx, dels)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("remove user %q: %w", u.Name, err)
	}
	s.publish(RevokeEvent{UserID: u.ID, Reason: "user removed"}, "user")
	return nil
}

// SetAdmin grants or takes away a user's (by name or ID) hub-wide admin
// flag. Only admins may, and the last admin cannot be demoted. Demotion
// closes the user's connections, which may have relied on admin access.
func (s *Service) SetAdmin(ctx context.Context, actor Principal, user string, admin bool) (err error) {
	defer func() { s.audit(ctx, actor, "user.admin", "", user, fmt.Sprintf("admin=%t", admin), err) }()
	if err := s.RequireAdmin(ctx, actor); err != nil {
		return err
	}
	s.mu.Lock()
	u, err := s.resolveUser(ctx, user)
	if err == nil && u.Admin && !admin {
		admins := 0
		err = s.eachUser(ctx, func(o User) { admins += btoi(o.Admin) })
		if err == nil && admins <= 1 {
			err = fmt.Errorf("demote user %q: %w", u.Name, ErrLastAdmin)
		}
	}
	demoted := err == nil && u.Admin && !admin
	if err == nil && u.Admin != admin {
		u.Admin = admin
		var b []byte
		if b, err = json.Marshal(u); err == nil {
			err = s.st.Put(ctx, []byte(userPrefix+u.ID), b)
		}
	}
	s.mu.Unlock()
	if err != nil {
		return err
	}
	if demoted {
		s.publish(RevokeEvent{UserID: u.ID, Reason: "admin removed"}, "admin")
	}
	return nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (s *Service) deleteKeys(ctx context.Context, keys []string) error {
	return s.st.Batch(ctx, func(b store.Batch) error {
		for _, k := range keys {
			if err := b.Delete([]byte(k)); err != nil {
				return err
			}
		}
		return nil
	})
}

func (s *Service) eachUser(ctx context.Context, fn func(User)) error {
	return s.st.Scan(ctx, []byte(userPrefix), func(k, v []byte) (bool, error) {
		var u User
		if err := json.Unmarshal(v, &u); err != nil {
			return false, fmt.Errorf("decode %s: %w", k, err)
		}
		fn(u)
		return true, nil
	})
}

// resolveUser finds a user by ID ("usr_…") or by name.
func (s *Service) resolveUser(ctx context.Context, ref string) (User, error) {
	if strings.HasPrefix(ref, userIDPrefix) {
		return s.userByID(ctx, ref)
	}
	if !ValidUserName(ref) {
		return User{}, fmt.Errorf("user %q: %w", ref, ErrNotFound)
	}
	id, err := s.st.Get(ctx, []byte(userNamePrefix+ref))
	if errors.Is(err, store.ErrNotFound) {
		return User{}, fmt.Errorf("user %q: %w", ref, ErrNotFound)
	}
	if err != nil {
		return User{}, fmt.Errorf("load user %q: %w", ref, err)
	}
	return s.userByID(ctx, string(id))
}

func (s *Service) userByID(ctx context.Context, id string) (User, error) {
	var u User
	if err := s.getJSON(ctx, userPrefix+id, &u); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return User{}, fmt.Errorf("user %q: %w", id, ErrNotFound)
		}
		return User{}, err
	}
	return u, nil
}

func (s *Service) getJSON(ctx context.Context, key string, v any) error {
	b, err := s.st.Get(ctx, []byte(key))
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return err
		}
		return fmt.Errorf("load %s: %w", key, err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", key, err)
	}
	return nil
}
