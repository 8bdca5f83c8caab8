package hub

import (
	"context"
	"encoding/json"
	"sort"

	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/project"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

// joinProject adds the connection to a project's room after checking that
// the caller may read it. A non-member is told the project does not exist.
func (sess *session) joinProject(ctx context.Context, p protocol.JoinParams) (protocol.JoinResult, error) {
	if err := requireField("project", p.Project); err != nil {
		return protocol.JoinResult{}, err
	}
	role, err := sess.join(ctx, p.Project)
	if err != nil {
		return protocol.JoinResult{}, err
	}
	return protocol.JoinResult{Project: p.Project, Role: role}, nil
}

func (sess *session) join(ctx context.Context, name string) (string, error) {
	role, err := sess.srv.deps.Auth.Authorize(ctx, sess.ident, name, auth.ActionRead)
	if err != nil {
		return "", err
	}
	sess.mu.Lock()
	sess.joined[name] = string(role)
	sess.mu.Unlock()
	sess.srv.rooms.join(name, sess)
	sess.log.Info("joined project", "project", name, "role", role)
	return string(role), nil
}

func (sess *session) leaveProject(_ context.Context, p protocol.LeaveParams) (any, error) {
	sess.mu.Lock()
	_, ok := sess.joined[p.Project]
	delete(sess.joined, p.Project)
	sess.mu.Unlock()
	if ok {
		sess.srv.rooms.leave(p.Project, sess)
	}
	return nil, nil
}

// listProjects lists the projects the caller is a member of, and only those.
func (sess *session) listProjects(ctx context.Context, _ struct{}) (protocol.ProjectListResult, error) {
	all, err := sess.srv.deps.Auth.Projects(ctx, sess.ident)
	if err != nil {
		return protocol.ProjectListResult{}, err
	}
	out := protocol.ProjectListResult{Projects: make([]protocol.ProjectInfo, 0, len(all))}
	for _, p := range all {
		out.Projects = append(out.Projects, protocol.ProjectInfo{Name: p.Name, Role: string(p.Role)})
	}
	sort.Slice(out.Projects, func(i, j int) bool { return out.Projects[i].Name < out.Projects[j].Name })
	return out, nil
}

// Project management. auth.Service checks rights (admins add and remove
// projects; owners change settings and members) and audits every change.

func (sess *session) addProject(ctx context.Context, p protocol.ProjectAddParams) (project.Project, error) {
	spec := project.Spec{Name: p.Name, Root: p.Root}
	if len(p.Sandbox) > 0 {
		var pol sandbox.Policy
		if err := json.Unmarshal(p.Sandbox, &pol); err != nil {
			return project.Project{}, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: sandbox: %v", err)
		}
		spec.Sandbox = &pol
	}
	return sess.srv.deps.Auth.CreateProject(ctx, sess.ident, spec)
}

func (sess *session) showProject(ctx context.Context, p protocol.ProjectRef) (auth.ProjectAccess, error) {
	return sess.srv.deps.Auth.Project(ctx, sess.ident, p.Name)
}

func (sess *session) updateProject(ctx context.Context, p protocol.ProjectUpdateParams) (project.Project, error) {
	patch := project.Patch{Root: p.Root}
	if len(p.Sandbox) > 0 {
		var pol sandbox.Policy
		if err := json.Unmarshal(p.Sandbox, &pol); err != nil {
			return project.Project{}, protocol.Errorf(protocol.CodeInvalidParams, "invalid params: sandbox: %v", err)
		}
		patch.Sandbox = &pol
	}
	return sess.srv.deps.Auth.UpdateProject(ctx, sess.ident, p.Name, patch)
}

func (sess *session) removeProject(ctx context.Context, p protocol.ProjectRef) (any, error) {
	return nil, sess.srv.deps.Auth.RemoveProject(ctx, sess.ident, p.Name)
}

func (sess *session) grant(ctx context.Context, p protocol.GrantParams) (any, error) {
	return nil, sess.srv.deps.Auth.Grant(ctx, sess.ident, p.Project, p.User, auth.Role(p.Role))
}

func (sess *session) revokeRole(ctx context.Context, p protocol.RevokeParams) (any, error) {
	return nil, sess.srv.deps.Auth.RevokeRole(ctx, sess.ident, p.Project, p.User)
}

func (sess *session) members(ctx context.Context, p protocol.ProjectRef) ([]auth.Member, error) {
	return sess.srv.deps.Auth.Members(ctx, sess.ident, p.Name)
}
