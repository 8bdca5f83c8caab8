package main

import (
	"fmt"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// newLoginCmd prints a single-use link that signs the caller's browser in
// to the hub's editor: the hub prints one for the owner at start, and
// everyone else gets theirs here, with their own API token.
func newLoginCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "login",
		Short: "Print a single-use link that signs your browser in to the hub's editor",
		Long: `login asks the hub for a link that signs your browser in as you (the
person the API token belongs to). The link works once, for ten minutes;
opening it shows a button, so link previews cannot use it up.`,
		Example: `  RUBBERDUCK_TOKEN=rd_... rubberduck login --hub https://duck.example.com`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			k, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			base, err := browserBase(k.String("hub"))
			if err != nil {
				return err
			}
			c, err := dialHub(cmd)
			if err != nil {
				return err
			}
			var res protocol.LoginLinkResult
			return c.call(cmd.Context(), protocol.MethodLoginLink, nil, &res, func(w *tabwriter.Writer) {
				fmt.Fprintf(w, "%s%s\n\nOpen it in your browser to sign in; it works once, until %s.\n", base, res.Path, fmtTime(res.Expires))
			})
		},
	}
	addClientFlags(cmd)
	return cmd
}

// browserBase turns the hub URL the CLI dials (http, https, ws or wss, with
// or without /lsp) into the address a browser opens.
func browserBase(hubURL string) (string, error) {
	u, err := url.Parse(hubURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("hub URL %q: want http://HOST:PORT", hubURL)
	}
	switch u.Scheme {
	case "ws", "http":
		u.Scheme = "http"
	case "wss", "https":
		u.Scheme = "https"
	default:
		return "", fmt.Errorf("hub URL %q: scheme must be http, https, ws or wss", hubURL)
	}
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/lsp")
	u.RawQuery, u.Fragment = "", ""
	return strings.TrimSuffix(u.String(), "/"), nil
}
