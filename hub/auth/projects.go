package auth

import (
	"context"
	"errors"
	"strings"

	"github.com/rubberduckhub/rubberduck/hub/project"
)

// ProjectAccess is a project as one caller sees it, with their role.
type ProjectAccess struct {
	project.Project
	Role Role `json:"role"`
}

// view hides the server's absolute root from everyone but owners: errors
// and answers reaching ordinary clients never contain server paths.
func view(p project.Project, r Role) ProjectAccess {
	if r != RoleOwner {
		p.Root = ""
	}
	return ProjectAccess{Project: p, Role: r}
}

// CreateProject registers a project. Only admins may: a project root
// exposes a directory of the hub's machine.
func (s *Service) CreateProject(ctx context.Context, actor Principal, spec project.Spec) (p project.Project, err error) {
	defer func() { s.audit(ctx, actor, "project.create", spec.Name, spec.Name, "", err) }()
	if err := s.RequireAdmin(ctx, actor); err != nil {
		return project.Project{}, err
	}
	return s.projects.Create(ctx, spec)
}

// Project returns one project if the actor may read it.
func (s *Service) Project(ctx context.Context, actor Principal, name string) (ProjectAccess, error) {
	role, err := s.Authorize(ctx, actor, name, ActionRead)
	if err != nil {
		return ProjectAccess{}, err
	}
	p, err := s.projects.Get(ctx, name)
	if err != nil {
		return ProjectAccess{}, s.projectErr(name, err)
	}
	return view(p, role), nil
}

// Projects lists the projects the actor can see, with their role in each.
func (s *Service) Projects(ctx context.Context, actor Principal) ([]ProjectAccess, error) {
	if err := s.live(ctx, actor); err != nil {
		return nil, err
	}
	all, err := s.projects.List(ctx)
	if err != nil {
		return nil, err
	}
	var out []ProjectAccess
	for _, p := range all {
		role, err := s.Authorize(ctx, actor, p.Name, ActionRead)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, view(p, role))
	}
	return out, nil
}

// UpdateProject changes a project's sandbox settings (owners) or root
// (admins only, since it re-points the project at another directory).
// Moving the root closes every connection to the project.
func (s *Service) UpdateProject(ctx context.Context, actor Principal, name string, patch project.Patch) (p project.Project, err error) {
	defer func() { s.audit(ctx, actor, "project.update", name, name, patchDetail(patch), err) }()
	if _, err := s.Authorize(ctx, actor, name, ActionAdmin); err != nil {
		return project.Project{}, err
	}
	if patch.Root != nil {
		if err := s.RequireAdmin(ctx, actor); err != nil {
			return project.Project{}, err
		}
	}
	before, err := s.projects.Get(ctx, name)
	if err != nil {
		return project.Project{}, s.projectErr(name, err)
	}
	p, err = s.projects.Update(ctx, name, patch)
	if err != nil {
		return project.Project{}, err
	}
	if p.Root != before.Root {
		s.publish(RevokeEvent{Project: name, Reason: "project moved"}, "project")
	}
	return p, nil
}

func patchDetail(p project.Patch) string {
	var parts []string
	if p.Root != nil {
		parts = append(parts, "root")
	}
	if p.Sandbox != nil {
		parts = append(parts, "sandbox")
	}
	return strings.Join(parts, ",")
}

// RemoveProject unregisters a project (its files stay on disk), drops its
// memberships and closes its connections. Only admins may.
func (s *Service) RemoveProject(ctx context.Context, actor Principal, name string) (err error) {
	defer func() { s.audit(ctx, actor, "project.remove", name, name, "", err) }()
	if err := s.RequireAdmin(ctx, actor); err != nil {
		return err
	}
	if _, err := s.projects.Remove(ctx, name); err != nil {
		return s.projectErr(name, err)
	}
	return nil
}
