package main

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rubberduckhub/rubberduck/lsp"
)

// newJoinCmd is `rubberduck join`: someone on another machine mirrors a
// project so their editor can open it with the proxy.
func newJoinCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "join HUB PROJECT DIR",
		Short: "Mirror a project from a hub into a local folder and keep it in sync",
		Long: `rubberduck join copies a project from a hub (on another machine) into DIR,
then keeps the files nobody is editing in sync as they change on the hub, until
you stop it. It prints the command your editor runs to co-edit the files.

HUB is the hub's address: ws://host:7777/lsp, or host:port. The token comes from
--token-file or RUBBERDUCK_TOKEN. Edits you make go to the hub through your
editor (rubberduck lsp), not through this folder: the copy is one way.`,
		Example: `  RUBBERDUCK_TOKEN=... rubberduck join duck.example.com:7777 web ~/src/web`,
		Args:    cobra.ExactArgs(3),
		RunE:    runJoin,
	}
	cmd.Flags().String("token-file", "", "file holding the API token (or set RUBBERDUCK_TOKEN)")
	return cmd
}

func runJoin(cmd *cobra.Command, args []string) error {
	hubURL, project, dir := hubWSURL(args[0]), args[1], args[2]
	tokenFile, _ := cmd.Flags().GetString("token-file")
	token, err := proxyToken(tokenFile)
	if err != nil {
		return err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("join: %w", err)
	}
	out := cmd.OutOrStdout()
	logger := slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	tokenArg := "RUBBERDUCK_TOKEN=... "
	if tokenFile != "" {
		tokenArg = ""
	}
	return lsp.Mirror(cmd.Context(), lsp.MirrorConfig{
		HubURL: hubURL, Project: project, Token: token, Dir: abs, Logger: logger,
		Ready: func(n int) {
			fmt.Fprintf(out, "Copied %d files of %s into %s; keeping them in sync (Ctrl-C to stop).\n\n", n, project, abs)
			lspCmd := fmt.Sprintf("rubberduck lsp --hub %s --project %s --root %s", hubURL, project, abs)
			if tokenFile != "" {
				lspCmd += " --token-file " + tokenFile
			}
			fmt.Fprintf(out, "  Editor command:  %s%s\n", tokenArg, lspCmd)
			fmt.Fprintf(out, "  Neovim:          cd %s && %snvim   (with require('rubberduck').setup{hub=%q, project=%q})\n\n",
				abs, tokenArg, hubURL, project)
		},
	})
}

// hubWSURL accepts ws(s)://..., http(s)://... or host:port and returns the
// hub's /lsp WebSocket URL.
func hubWSURL(s string) string {
	switch {
	case strings.HasPrefix(s, "ws://"), strings.HasPrefix(s, "wss://"):
	case strings.HasPrefix(s, "http://"):
		s = "ws://" + strings.TrimPrefix(s, "http://")
	case strings.HasPrefix(s, "https://"):
		s = "wss://" + strings.TrimPrefix(s, "https://")
	default:
		s = "ws://" + s
	}
	if rest := s[strings.Index(s, "://")+3:]; !strings.Contains(rest, "/") {
		s += "/lsp"
	}
	return s
}
