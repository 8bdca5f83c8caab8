package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version of rubberduck and of its protocol",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "rubberduck %s (protocol %s, %s %s/%s)\n",
				version, protocol.Version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
			return err
		},
	}
}
