package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/sourcegraph/conc"
	"github.com/spf13/cobra"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/hub/ai/provider"
	"github.com/rubberduckhub/rubberduck/hub/ai/usage"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the hub",
		Long: `Run the RubberDuck hub: it serves your projects to editors, browsers and the CLI.

With no --project, the current directory is served as a project named after
the folder. On first start with an empty data directory the hub creates the
owner account and writes its API token to DATA/owner.token (mode 0600).

Every start prints the browser URL with a single-use login link (valid for
10 minutes) and the command an editor runs to connect.`,
		Example: `  rubberduck serve
  rubberduck serve --addr 127.0.0.1:7777 --project web=~/src/web --project api=~/src/api
  RUBBERDUCK_LOG_FORMAT=json rubberduck serve`,
		Args: cobra.NoArgs,
		RunE: runServe,
	}
	f := cmd.Flags()
	f.String("addr", "127.0.0.1:7777", "address to listen on (HOST:PORT)")
	f.String("data", defaultDataDir(), "data directory (store, owner token, trash)")
	f.StringArray("project", nil, "serve a project, as NAME=PATH (repeatable)")
	f.StringArray("allowed-origin", nil, "extra browser origin allowed to connect, e.g. https://duck.example.com (repeatable)")
	f.StringArray("trusted-proxy", nil, "address or CIDR of a reverse proxy in front of the hub whose X-Forwarded-For/-Proto are believed, e.g. 127.0.0.1 (repeatable)")
	f.Int64("max-message-bytes", 8<<20, "largest JSON-RPC message accepted")
	f.Duration("shutdown-grace", 5*time.Second, "how long shutdown waits for clients to close")
	f.Duration("audit-retention", 90*24*time.Hour, "how long audit records are kept (0 keeps them forever)")
	f.Duration("trash-retention", 30*24*time.Hour, "how long deleted files stay restorable (-1s keeps them)")
	// AI provider (docs/ai.md). Keys are read from OPENAI_API_KEY or
	// ANTHROPIC_API_KEY only, never from flags (they would show in ps).
	f.String("ai-provider", "", "AI provider: openai (any OpenAI-compatible server: Ollama, llama.cpp, vLLM, LM Studio) or anthropic")
	f.String("ai-model", "", "chat model, e.g. gpt-4o-mini, claude-sonnet-4-5, qwen2.5-coder:7b")
	f.String("ai-base-url", "", "provider endpoint, e.g. http://127.0.0.1:11434/v1 for Ollama (default: the provider's public API)")
	f.String("ai-completion-model", "", "model for inline completions (default: --ai-model)")
	f.Bool("ai-fim", false, "the server does fill-in-the-middle on /v1/completions (Ollama, vLLM, llama.cpp with code models)")
	f.String("ai-fim-template", "", "send FIM as a raw prompt: qwen, starcoder, codellama, deepseek, codestral, or a template with {prefix} and {suffix}")
	f.Int("ai-context-window", 0, "the model's context size in tokens when the server runs it smaller than usual (Ollama's num_ctx)")
	f.Int64("ai-monthly-tokens", 0, "tokens (input + output) each person may use per calendar month; 0: no limit")
	return cmd
}

func runServe(cmd *cobra.Command, _ []string) error {
	k, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	log, err := newLogger(cmd.ErrOrStderr(), k.String("log-format"), k.String("log-level"))
	if err != nil {
		return err
	}
	projects, err := parseProjects(k.Strings("project"))
	if err != nil {
		return err
	}
	cfg := hub.Config{
		Addr:            k.String("addr"),
		DataDir:         k.String("data"),
		Projects:        projects,
		AllowedOrigins:  k.Strings("allowed-origin"),
		TrustedProxies:  k.Strings("trusted-proxy"),
		MaxMessageBytes: k.Int64("max-message-bytes"),
		ShutdownGrace:   k.Duration("shutdown-grace"),
		AuditRetention:  k.Duration("audit-retention"),
		TrashRetention:  k.Duration("trash-retention"),
		Version:         version,
		Logger:          log,
		AI: hub.AIConfig{Provider: provider.Config{
			Provider:        strings.ToLower(k.String("ai-provider")),
			Model:           k.String("ai-model"),
			BaseURL:         k.String("ai-base-url"),
			CompletionModel: k.String("ai-completion-model"),
			FIM:             k.Bool("ai-fim"),
			FIMTemplate:     k.String("ai-fim-template"),
			ContextWindow:   k.Int("ai-context-window"),
		},
			Quota: usage.Quota{TokensPerMonth: k.Int64("ai-monthly-tokens")},
		},
	}
	ctx := cmd.Context()
	srv, start, err := hub.Open(ctx, cfg)
	if err != nil {
		return err
	}
	printWelcome(cmd, srv, start)

	var wg conc.WaitGroup
	errc := make(chan error, 1)
	wg.Go(func() { errc <- srv.Serve() })
	select {
	case <-ctx.Done():
		log.Info("shutting down", "signal", context.Cause(ctx))
	case err = <-errc:
		log.Error("server stopped", "err", err)
	}
	shutdownErr := srv.Shutdown(context.WithoutCancel(ctx))
	wg.Wait()
	if err != nil {
		return err
	}
	return shutdownErr
}

// parseProjects reads NAME=PATH pairs; with none it serves the current
// directory under its folder name.
func parseProjects(specs []string) ([]hub.ProjectSpec, error) {
	if len(specs) == 0 {
		wd, err := os.Getwd()
		if err != nil {
			return nil, fmt.Errorf("current directory: %w", err)
		}
		return []hub.ProjectSpec{{Name: hub.ProjectNameFor(wd), Path: wd}}, nil
	}
	out := make([]hub.ProjectSpec, 0, len(specs))
	for _, s := range specs {
		name, path, ok := strings.Cut(s, "=")
		if !ok || name == "" || path == "" {
			return nil, fmt.Errorf("--project %q: want NAME=PATH", s)
		}
		if strings.HasPrefix(path, "~/") {
			if home, err := os.UserHomeDir(); err == nil {
				path = filepath.Join(home, path[2:])
			}
		}
		abs, err := filepath.Abs(path)
		if err != nil {
			return nil, fmt.Errorf("--project %s: %w", name, err)
		}
		out = append(out, hub.ProjectSpec{Name: name, Path: abs})
	}
	return out, nil
}

func printWelcome(cmd *cobra.Command, srv *hub.Server, st *hub.Startup) {
	w := cmd.OutOrStdout()
	fmt.Fprintf(w, "RubberDuck %s is listening on %s\n\n", version, srv.URL())
	for _, p := range st.Projects {
		fmt.Fprintf(w, "  project   %-16s %s\n", p.Name, p.Path)
	}
	if st.OwnerCreated {
		fmt.Fprintf(w, "\n  Created the owner account. Its API token is in %s (keep it secret).\n", st.OwnerTokenPath)
	} else {
		fmt.Fprintf(w, "\n  Owner API token: %s\n", st.OwnerTokenPath)
	}
	if ai := srv.AIStatus(); ai != "" {
		fmt.Fprintf(w, "  AI:       %s\n", ai)
	}
	if st.LoginURL != "" {
		fmt.Fprintf(w, "  Browser:  %s\n            (single-use link, expires in 10 minutes)\n", st.LoginURL)
	}
	if len(st.Projects) > 0 {
		fmt.Fprintf(w, "  Editor:   rubberduck lsp --hub %s --project %s --token-file %s\n",
			srv.LSPURL(), st.Projects[0].Name, st.OwnerTokenPath)
	}
	fmt.Fprintln(w)
}
