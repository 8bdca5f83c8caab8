package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/rubberduckhub/rubberduck/lsp"
)

func newLSPCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "lsp",
		Short: "Run the LSP proxy an editor starts over stdio",
		Long: `rubberduck lsp is the language server your editor starts. It connects to a
hub and keeps your buffers in sync with everyone else's.

It speaks LSP on stdin/stdout and never logs there: logs go to stderr, or to
--log-file. The token comes from --token-file or RUBBERDUCK_TOKEN.

When the hub goes away the editor keeps working; edits are kept and merged
when the proxy reconnects by itself.`,
		Example: `  rubberduck lsp --hub ws://127.0.0.1:7777/lsp --project demo --token-file ~/.local/share/rubberduck/owner.token`,
		Args:    cobra.NoArgs,
		RunE:    runLSP,
	}
	f := cmd.Flags()
	f.String("hub", "ws://127.0.0.1:7777/lsp", "the hub's /lsp WebSocket URL")
	f.String("project", "", "project to join")
	f.String("token-file", "", "file holding the API token (or set RUBBERDUCK_TOKEN)")
	f.String("root", "", "project folder on this machine (default: the editor's workspace folder)")
	f.String("client", "", "editor name shown to others (default: the editor's clientInfo)")
	f.String("log-file", "", "write logs to this file instead of stderr")
	return cmd
}

func runLSP(cmd *cobra.Command, _ []string) error {
	f := cmd.Flags()
	hubURL, _ := f.GetString("hub")
	project, _ := f.GetString("project")
	tokenFile, _ := f.GetString("token-file")
	root, _ := f.GetString("root")
	client, _ := f.GetString("client")
	logFile, _ := f.GetString("log-file")
	if project == "" {
		return errors.New("lsp: --project is required")
	}
	token, err := proxyToken(tokenFile)
	if err != nil {
		return err
	}
	var logOut io.Writer = os.Stderr
	if logFile != "" {
		lf, err := os.OpenFile(logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			return fmt.Errorf("lsp: open log file: %w", err)
		}
		defer lf.Close()
		logOut = lf
	}
	level, _ := cmd.Flags().GetString("log-level")
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(level))
	logger := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: lvl}))
	return lsp.Serve(cmd.Context(), lsp.Config{
		HubURL: hubURL, Project: project, Token: token, Root: root, Client: client, Logger: logger,
	}, stdio{})
}

// proxyToken returns the API token from file, else from RUBBERDUCK_TOKEN.
// The proxy cannot guess the hub's owner token path (the hub may be on
// another machine), so one of them is required.
func proxyToken(file string) (string, error) {
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("read token file: %w", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
		return "", fmt.Errorf("token file %s is empty", file)
	}
	if t := strings.TrimSpace(os.Getenv("RUBBERDUCK_TOKEN")); t != "" {
		return t, nil
	}
	return "", errors.New("no token: pass --token-file FILE or set RUBBERDUCK_TOKEN " +
		"(on the hub's machine the owner token is DATA/owner.token; others get one with `rubberduck token create`)")
}

// stdio is the editor's LSP channel: stdin and stdout.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error {
	_ = os.Stdin.Close()
	return os.Stdout.Close()
}
