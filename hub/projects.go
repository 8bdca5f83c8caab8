package hub

import (
	"context"
	"sort"

	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
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
	all, err := sess.srv.deps.Projects.List(ctx)
	if err != nil {
		return protocol.ProjectListResult{}, err
	}
	out := protocol.ProjectListResult{Projects: []protocol.ProjectInfo{}}
	for _, p := range all {
		role, err := sess.srv.deps.Auth.Authorize(ctx, sess.ident, p.Name, auth.ActionRead)
		if err != nil {
			continue
		}
		out.Projects = append(out.Projects, protocol.ProjectInfo{Name: p.Name, Role: string(role)})
	}
	sort.Slice(out.Projects, func(i, j int) bool { return out.Projects[i].Name < out.Projects[j].Name })
	return out, nil
}
