package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rubberduckhub/rubberduck/hub/auth"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

func newUserCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage the people who can use the hub (admins only)"}
	addClientFlags(cmd)

	add := &cobra.Command{
		Use:   "add NAME",
		Short: "Add a person; then give them a token and a role in a project",
		Example: `  rubberduck user add alice --display-name "Alice Liddell"
  rubberduck token create --user alice --name laptop
  rubberduck project grant myproject alice writer`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			display, _ := cmd.Flags().GetString("display-name")
			admin, _ := cmd.Flags().GetBool("admin")
			c, err := dialHub(cmd)
			if err != nil {
				return err
			}
			var u auth.User
			return c.call(cmd.Context(), protocol.MethodUserAdd, protocol.UserAddParams{Name: args[0], DisplayName: display, Admin: admin}, &u,
				func(w *tabwriter.Writer) { fmt.Fprintf(w, "added user %s (%s)\n", u.Name, u.ID) })
		},
	}
	add.Flags().String("display-name", "", "name shown to others")
	add.Flags().Bool("admin", false, "may manage users and projects")

	list := &cobra.Command{
		Use: "list", Short: "List users", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dialHub(cmd)
			if err != nil {
				return err
			}
			var users []auth.User
			return c.call(cmd.Context(), protocol.MethodUserList, nil, &users, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "NAME\tDISPLAY NAME\tADMIN\tCREATED\tID")
				for _, u := range users {
					fmt.Fprintf(w, "%s\t%s\t%v\t%s\t%s\n", u.Name, u.DisplayName, u.Admin, fmtTime(u.Created), u.ID)
				}
			})
		},
	}
	remove := &cobra.Command{
		Use: "remove NAME", Short: "Remove a user; their tokens stop working and their connections close", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dialHub(cmd)
			if err != nil {
				return err
			}
			return c.call(cmd.Context(), protocol.MethodUserRemove, protocol.UserRef{User: args[0]}, nil, nil)
		},
	}
	whoami := &cobra.Command{
		Use: "whoami", Short: "Show who the token belongs to", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := dialHub(cmd)
			if err != nil {
				return err
			}
			var u auth.User
			return c.call(cmd.Context(), protocol.MethodWhoami, nil, &u, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "%s (%s) admin=%v\n", u.Name, u.ID, u.Admin)
			})
		},
	}
	cmd.AddCommand(add, list, remove, whoami)
	return cmd
}

func newTokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage API tokens (each shown once, stored hashed)"}
	addClientFlags(cmd)

	create := &cobra.Command{
		Use:   "create",
		Short: "Create an API token; the secret is printed once",
		Example: `  rubberduck token create --name ci --ttl 720h --project web
  rubberduck token create --user alice --name laptop`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			user, _ := cmd.Flags().GetString("user")
			name, _ := cmd.Flags().GetString("name")
			ttl, _ := cmd.Flags().GetString("ttl")
			project, _ := cmd.Flags().GetString("project")
			c, err := dialHub(cmd)
			if err != nil {
				return err
			}
			var res struct {
				Token string     `json:"token"`
				Info  auth.Token `json:"info"`
			}
			return c.call(cmd.Context(), protocol.MethodTokenCreate,
				protocol.TokenCreateParams{User: user, Name: name, TTL: ttl, Project: project}, &res,
				func(w *tabwriter.Writer) {
					fmt.Fprintf(w, "%s\n\nToken %s, expires %s. This is the only time it is shown.\n", res.Token, res.Info.ID, fmtTime(res.Info.Expires))
				})
		},
	}
	create.Flags().String("user", "", "owner of the token (default: you)")
	create.Flags().String("name", "cli", "a name to recognise it by")
	create.Flags().String("ttl", "", "lifetime, e.g. 720h (default 90 days)")
	create.Flags().String("project", "", "only valid for this project")

	list := &cobra.Command{
		Use: "list", Short: "List tokens (never their secrets)", Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			user, _ := cmd.Flags().GetString("user")
			c, err := dialHub(cmd)
			if err != nil {
				return err
			}
			var toks []auth.Token
			return c.call(cmd.Context(), protocol.MethodTokenList, protocol.UserRef{User: user}, &toks, func(w *tabwriter.Writer) {
				fmt.Fprintln(w, "ID\tNAME\tPROJECT\tCREATED\tEXPIRES\tLAST USED")
				for _, t := range toks {
					fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Name, orDash(t.Project), fmtTime(t.Created), fmtTime(t.Expires), fmtTime(t.LastUsed))
				}
			})
		},
	}
	list.Flags().String("user", "", "whose tokens (default: yours)")
	revoke := &cobra.Command{
		Use: "revoke ID", Short: "Revoke a token; connections using it close at once", Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := dialHub(cmd)
			if err != nil {
				return err
			}
			return c.call(cmd.Context(), protocol.MethodTokenRevoke, protocol.TokenRef{ID: args[0]}, nil, nil)
		},
	}
	cmd.AddCommand(create, list, revoke)
	return cmd
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
