package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/project"
	"github.com/rubberduckhub/rubberduck/hub/store"
)

const (
	memberPrefix     = "auth/member/"     // + project id / user id -> memberRecord
	userMemberPrefix = "auth/usermember/" // + user id / project id -> project name
)

// Memberships are keyed by the project's ID, not its name, so a project
// removed and re-created under the same name starts with no members even
// if cleaning up the old ones failed.
type memberRecord struct {
	Role      Role      `json:"role"`
	Granted   time.Time `json:"granted"`
	GrantedBy string    `json:"grantedBy,omitempty"`
}

// Member is one entry of a project's member list. Admins are owners of
// every project without being listed.
type Member struct {
	UserID      string    `json:"userId"`
	Name        string    `json:"name"`
	DisplayName string    `json:"displayName,omitempty"`
	Role        Role      `json:"role"`
	Granted     time.Time `json:"granted"`
}

// Grant gives user (name or ID) role in proj, replacing any earlier role.
// The actor must be the project's owner (or an admin). Lowering a role
// publishes a RevokeEvent so connections re-check what they may do.
func (s *Service) Grant(ctx context.Context, actor Principal, proj, user string, role Role) (err error) {
	defer func() { s.audit(ctx, actor, "role.grant", proj, user, string(role), err) }()
	if !role.Valid() {
		return fmt.Errorf("role %q: must be owner, writer or reader: %w", role, ErrInvalid)
	}
	if _, err := s.Authorize(ctx, actor, proj, ActionAdmin); err != nil {
		return err
	}
	pr, err := s.projects.Get(ctx, proj)
	if err != nil {
		return s.projectErr(proj, err)
	}
	u, err := s.resolveUser(ctx, user)
	if err != nil {
		return err
	}
	b, err := json.Marshal(memberRecord{Role: role, Granted: s.opts.Now().UTC(), GrantedBy: actor.UserID})
	if err != nil {
		return fmt.Errorf("encode member: %w", err)
	}
	s.mu.Lock()
	var prev memberRecord
	if err := s.getJSON(ctx, memberPrefix+pr.ID+"/"+u.ID, &prev); err != nil && !errors.Is(err, store.ErrNotFound) {
		s.mu.Unlock()
		return err
	}
	err = s.st.Batch(ctx, func(bt store.Batch) error {
		if err := bt.Put([]byte(memberPrefix+pr.ID+"/"+u.ID), b); err != nil {
			return err
		}
		return bt.Put([]byte(userMemberPrefix+u.ID+"/"+pr.ID), []byte(pr.Name))
	})
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("grant %s in %q: %w", role, proj, err)
	}
	if prev.Role.rank() > role.rank() {
		s.publish(RevokeEvent{UserID: u.ID, Project: pr.Name, Reason: "role lowered"}, "role")
	}
	return nil
}

// RevokeRole removes user (name or ID) from proj and closes their
// connections to it. Owners (and admins) may remove anyone; any member may
// remove themself.
func (s *Service) RevokeRole(ctx context.Context, actor Principal, proj, user string) (err error) {
	defer func() { s.audit(ctx, actor, "role.revoke", proj, user, "", err) }()
	if _, err := s.Authorize(ctx, actor, proj, ActionRead); err != nil {
		return err
	}
	u, err := s.resolveUser(ctx, user)
	if err != nil {
		return err
	}
	if u.ID != actor.UserID {
		if _, err := s.Authorize(ctx, actor, proj, ActionAdmin); err != nil {
			return err
		}
	}
	pr, err := s.projects.Get(ctx, proj)
	if err != nil {
		return s.projectErr(proj, err)
	}
	s.mu.Lock()
	_, err = s.st.Get(ctx, []byte(memberPrefix+pr.ID+"/"+u.ID))
	if err == nil {
		err = s.deleteKeys(ctx, []string{memberPrefix + pr.ID + "/" + u.ID, userMemberPrefix + u.ID + "/" + pr.ID})
	}
	s.mu.Unlock()
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("member %q of %q: %w", user, proj, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("revoke role in %q: %w", proj, err)
	}
	s.publish(RevokeEvent{UserID: u.ID, Project: pr.Name, Reason: "role revoked"}, "role")
	return nil
}

// Members lists proj's members. Every member may see who else is in.
func (s *Service) Members(ctx context.Context, actor Principal, proj string) ([]Member, error) {
	if _, err := s.Authorize(ctx, actor, proj, ActionRead); err != nil {
		return nil, err
	}
	pr, err := s.projects.Get(ctx, proj)
	if err != nil {
		return nil, s.projectErr(proj, err)
	}
	prefix := memberPrefix + pr.ID + "/"
	var out []Member
	err = s.st.Scan(ctx, []byte(prefix), func(k, v []byte) (bool, error) {
		var m memberRecord
		if err := json.Unmarshal(v, &m); err != nil {
			return false, fmt.Errorf("decode %s: %w", k, err)
		}
		uid := strings.TrimPrefix(string(k), prefix)
		mem := Member{UserID: uid, Role: m.Role, Granted: m.Granted}
		if u, err := s.userByID(ctx, uid); err == nil {
			mem.Name, mem.DisplayName = u.Name, u.DisplayName
		}
		out = append(out, mem)
		return true, nil
	})
	if err != nil {
		return nil, fmt.Errorf("list members of %q: %w", proj, err)
	}
	return out, nil
}

// projectErr maps a project lookup failure that raced with Authorize to
// the hidden-project error.
func (s *Service) projectErr(proj string, err error) error {
	if errors.Is(err, project.ErrNotFound) {
		return fmt.Errorf("project %q: %w", proj, ErrNotFound)
	}
	return err
}

// forgetProject runs when a project is removed: drop its memberships and
// close every connection to it.
func (s *Service) forgetProject(ctx context.Context, p project.Project) {
	prefix := memberPrefix + p.ID + "/"
	s.mu.Lock()
	var dels []string
	err := s.st.Scan(ctx, []byte(prefix), func(k, _ []byte) (bool, error) {
		uid := strings.TrimPrefix(string(k), prefix)
		dels = append(dels, string(k), userMemberPrefix+uid+"/"+p.ID)
		return true, nil
	})
	if err == nil {
		err = s.deleteKeys(ctx, dels)
	}
	s.mu.Unlock()
	if err != nil {
		// Harmless for access (memberships are keyed by the old ID), but
		// the space is not reclaimed.
		s.opts.Logger.Error("drop memberships of removed project", "project", p.Name, "err", err)
	}
	s.publish(RevokeEvent{Project: p.Name, Reason: "project removed"}, "project")
}
