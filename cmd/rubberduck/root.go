package main

import (
	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "rubberduck",
		Short: "A self-hosted hub for AI-assisted, real-time collaborative coding",
		Long: `RubberDuck lets several people edit the same project at the same time, each in
their own editor (VS Code, Neovim or the browser), with one shared chat and one
shared AI conversation.

Start the hub in the folder you want to share:

    rubberduck serve

It prints the URL to open in a browser and the command an editor runs.

Configuration comes from, highest precedence first: command-line flags,
RUBBERDUCK_* environment variables (RUBBERDUCK_ADDR, RUBBERDUCK_DATA, ...),
the config file (--config, default $XDG_CONFIG_HOME/rubberduck/config.toml),
and built-in defaults.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().String("config", "", "config file (TOML; default $XDG_CONFIG_HOME/rubberduck/config.toml if it exists)")
	root.PersistentFlags().String("log-format", "text", "log format: text or json")
	root.PersistentFlags().String("log-level", "info", "log level: debug, info, warn or error")
	root.AddCommand(newServeCmd(), newLSPCmd(), newVersionCmd(),
		newUserCmd(), newTokenCmd(), newProjectCmd(), newAuditCmd(),
		newAskCmd(), newChatCmd(), newJoinCmd(), newLoginCmd())
	return root
}
