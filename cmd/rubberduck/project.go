package main

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rubberduckhub/rubberduck/hub/audit"
	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/hub/project"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/sandbox"
)

func newProjectCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "project", Short: "Manage projects, their sandbox settings and members"}
	addClientFlags(cmd)

	run := func(use, short string, nargs int, fn func(cmd *cobra.Command, c *hubClient, args []string) error) *cobra.Command {
		return &cobra.Command{
			Use: use, Short: short, Args: cobra.ExactArgs(nargs),
			RunE: func(cmd *cobra.Command, args []string) error {
				c, err := dialHub(cmd)
				if err != nil {
					return err
				}
				return fn(cmd, c, args)
			},
		}
	}
	showProject := func(p *project.Project) func(w *tabwriter.Writer) {
		return func(w *tabwriter.Writer) {
			sb, _ := json.Marshal(p.Sandbox)
			fmt.Fprintf(w, "name\t%s\nroot\t%s\nsandbox\t%s\ncreated\t%s\n", p.Name, orDash(p.Root), sb, fmtTime(p.Created))
		}
	}

	add := run("add NAME PATH", "Serve a directory as a project (admins)", 2, func(cmd *cobra.Command, c *hubClient, args []string) error {
		root, err := filepath.Abs(args[1])
		if err != nil {
			return err
		}
		var p project.Project
		return c.call(cmd.Context(), protocol.MethodProjectAdd, protocol.ProjectAddParams{Name: args[0], Root: root}, &p, showProject(&p))
	})
	list := run("list", "List the projects you are a member of", 0, func(cmd *cobra.Command, c *hubClient, _ []string) error {
		var res protocol.ProjectListResult
		return c.call(cmd.Context(), protocol.MethodProjectList, nil, &res, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "NAME\tROLE")
			for _, p := range res.Projects {
				fmt.Fprintf(w, "%s\t%s\n", p.Name, p.Role)
			}
		})
	})
	show := run("show NAME", "Show a project's settings", 1, func(cmd *cobra.Command, c *hubClient, args []string) error {
		var p auth.ProjectAccess
		return c.call(cmd.Context(), protocol.MethodProjectShow, protocol.ProjectRef{Name: args[0]}, &p, func(w *tabwriter.Writer) {
			showProject(&p.Project)(w)
			fmt.Fprintf(w, "your role\t%s\n", p.Role)
		})
	})
	update := run("update NAME", "Change a project's root or sandbox settings", 1, func(cmd *cobra.Command, c *hubClient, args []string) error {
		params := protocol.ProjectUpdateParams{Name: args[0]}
		if root, _ := cmd.Flags().GetString("root"); root != "" {
			abs, err := filepath.Abs(root)
			if err != nil {
				return err
			}
			params.Root = &abs
		}
		if sb, _ := cmd.Flags().GetString("sandbox"); sb != "" {
			if !json.Valid([]byte(sb)) {
				return fmt.Errorf("--sandbox must be a JSON object, e.g. '{\"enabled\":true,\"readOnly\":true}'")
			}
			params.Sandbox = json.RawMessage(sb)
		}
		var p project.Project
		return c.call(cmd.Context(), protocol.MethodProjectUpdate, params, &p, showProject(&p))
	})
	update.Flags().String("root", "", "new root directory")
	update.Flags().String("sandbox", "", `sandbox settings as JSON, replacing the current ones, e.g. '{"enabled":true,"readOnly":true,"maxFileSize":1048576,"writeDeny":["dist/**"]}'`)
	remove := run("remove NAME", "Stop serving a project (its files stay on disk)", 1, func(cmd *cobra.Command, c *hubClient, args []string) error {
		return c.call(cmd.Context(), protocol.MethodProjectRemove, protocol.ProjectRef{Name: args[0]}, nil, nil)
	})
	grant := run("grant PROJECT USER ROLE", "Give a person a role: owner, writer or reader", 3, func(cmd *cobra.Command, c *hubClient, args []string) error {
		return c.call(cmd.Context(), protocol.MethodProjectGrant, protocol.GrantParams{Project: args[0], User: args[1], Role: args[2]}, nil, nil)
	})
	revoke := run("revoke PROJECT USER", "Take a person's role away; their connections close at once", 2, func(cmd *cobra.Command, c *hubClient, args []string) error {
		return c.call(cmd.Context(), protocol.MethodProjectRevoke, protocol.RevokeParams{Project: args[0], User: args[1]}, nil, nil)
	})
	members := run("members PROJECT", "List a project's members", 1, func(cmd *cobra.Command, c *hubClient, args []string) error {
		var ms []auth.Member
		return c.call(cmd.Context(), protocol.MethodProjectMembers, protocol.ProjectRef{Name: args[0]}, &ms, func(w *tabwriter.Writer) {
			fmt.Fprintln(w, "USER\tROLE\tGRANTED")
			for _, m := range ms {
				fmt.Fprintf(w, "%s\t%s\t%s\n", m.Name, m.Role, fmtTime(m.Granted))
			}
		})
	})
	audit := run("audit NAME", "Report symlinks that escape the project, dangle or cross mounts (owners)", 1, func(cmd *cobra.Command, c *hubClient, args []string) error {
		if err := c.join(cmd.Context(), args[0]); err != nil {
			return err
		}
		var rep sandbox.SymlinkReport
		return c.call(cmd.Context(), protocol.MethodFilesAuditSymlinks, protocol.ProjectParams{Project: args[0]}, &rep, func(w *tabwriter.Writer) {
			fmt.Fprintf(w, "%d entries, %d symlinks, %d problems\n", rep.Entries, rep.Symlinks, len(rep.Findings))
			if len(rep.Findings) > 0 {
				fmt.Fprintln(w, "PATH\tPROBLEM\tTARGET")
			}
			for _, f := range rep.Findings {
				fmt.Fprintf(w, "%s\t%s\t%s\n", f.Path, f.Problem, orDash(f.Target))
			}
			if rep.Truncated {
				fmt.Fprintln(w, "(report truncated)")
			}
		})
	})
	cmd.AddCommand(add, list, show, update, remove, grant, revoke, members, audit)
	return cmd
}

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Query the audit trail: file operations and permission changes",
		Example: `  rubberduck audit --project web --since 24h
  rubberduck audit --since 2026-11-01T00:00:00Z --actor usr_...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			proj, _ := cmd.Flags().GetString("project")
			since, _ := cmd.Flags().GetString("since")
			actor, _ := cmd.Flags().GetString("actor")
			limit, _ := cmd.Flags().GetInt("limit")
			params := protocol.AuditQueryParams{Project: proj, Actor: actor, Limit: limit}
			if since != "" {
				t, err := parseSince(since)
				if err != nil {
					return err
				}
				params.Since = t
			}
			c, err := dialHub(cmd)
			if err != nil {
				return err
			}
			var entries []audit.Entry
			return c.call(cmd.Context(), protocol.MethodAuditQuery, params, &entries, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "TIME\tACTOR\tACTION\tPROJECT\tTARGET\tOUTCOME\tDETAIL")
				for _, e := range entries {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Time.Local().Format(time.DateTime), orDash(e.Actor), e.Action,
						orDash(e.Project), orDash(e.Target), e.Outcome, e.Detail)
				}
			})
		},
	}
	addClientFlags(cmd)
	cmd.Flags().String("project", "", "only this project")
	cmd.Flags().String("since", "", "from this time: RFC 3339 (2026-11-01T00:00:00Z) or a duration ago (24h)")
	cmd.Flags().String("actor", "", "only this user id")
	cmd.Flags().Int("limit", 1000, "at most this many records")
	return cmd
}

// parseSince accepts an RFC 3339 time or a duration meaning "that long ago".
func parseSince(s string) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return time.Now().Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("--since %q: want RFC 3339 (2026-11-01T00:00:00Z) or a duration (24h)", s)
	}
	return t, nil
}
