package main

import (
	"errors"

	"github.com/spf13/cobra"
)

func newLSPCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Run the LSP proxy an editor starts over stdio (not yet available)",
		Long: `rubberduck lsp is the language server your editor starts. It connects to a
hub and keeps your buffers in sync with everyone else's.

It is not available in this version yet: real-time co-editing is being built.`,
		Args: cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return errors.New("lsp: not yet — the editor proxy arrives with real-time co-editing")
		},
	}
	cmd.Flags().String("hub", "ws://127.0.0.1:7777/lsp", "the hub's /lsp WebSocket URL")
	cmd.Flags().String("project", "", "project to join")
	cmd.Flags().String("token-file", "", "file holding the API token")
	return cmd
}
