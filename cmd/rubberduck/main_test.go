package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
)

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(file, []byte("addr = \"10.0.0.1:1\"\nlog-format = \"json\"\nproject = [\"a=/srv/a\"]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		args []string
		env  map[string]string
		key  string
		want string
	}{
		{"default", nil, nil, "addr", "127.0.0.1:7777"},
		{"file beats default", []string{"--config", file}, nil, "addr", "10.0.0.1:1"},
		{"env beats file", []string{"--config", file}, map[string]string{"RUBBERDUCK_ADDR": "10.0.0.2:2"}, "addr", "10.0.0.2:2"},
		{"flag beats env", []string{"--config", file, "--addr", "10.0.0.3:3"}, map[string]string{"RUBBERDUCK_ADDR": "10.0.0.2:2"}, "addr", "10.0.0.3:3"},
		{"env with underscores", nil, map[string]string{"RUBBERDUCK_LOG_FORMAT": "json"}, "log-format", "json"},
		{"file list", []string{"--config", file}, nil, "project", "[a=/srv/a]"},
		{"env list is comma-separated", nil, map[string]string{"RUBBERDUCK_PROJECT": "a=/x,b=/y"}, "project", "[a=/x b=/y]"},
		{"trusted proxies from env", nil, map[string]string{"RUBBERDUCK_TRUSTED_PROXY": "127.0.0.1,10.0.0.0/8"}, "trusted-proxy", "[127.0.0.1 10.0.0.0/8]"},
		{"trusted proxies from flags", []string{"--trusted-proxy", "127.0.0.1", "--trusted-proxy", "::1"}, nil, "trusted-proxy", "[127.0.0.1 ::1]"},
		{"AI quota from env", nil, map[string]string{"RUBBERDUCK_AI_MONTHLY_TOKENS": "500000"}, "ai-monthly-tokens", "500000"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("XDG_CONFIG_HOME", t.TempDir()) // no stray user config
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			var got string
			cmd := newServeCmd()
			cmd.PersistentFlags().String("config", "", "")
			cmd.PersistentFlags().String("log-format", "text", "")
			cmd.PersistentFlags().String("log-level", "info", "")
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				k, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				if listKeys[tt.key] {
					got = "[" + strings.Join(k.Strings(tt.key), " ") + "]"
				} else {
					got = k.String(tt.key)
				}
				return nil
			}
			cmd.SetArgs(tt.args)
			if err := cmd.Execute(); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("%s = %q, want %q", tt.key, got, tt.want)
			}
		})
	}
}

func TestMissingExplicitConfigFileIsAnError(t *testing.T) {
	root := newRootCmd()
	root.SetArgs([]string{"serve", "--config", filepath.Join(t.TempDir(), "nope.toml")})
	root.SetOut(&bytes.Buffer{})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "nope.toml") {
		t.Fatalf("err = %v, want one naming the missing file", err)
	}
}

func TestParseProjects(t *testing.T) {
	tests := []struct {
		in      []string
		want    string
		wantErr bool
	}{
		{[]string{"web=/srv/web"}, "web=/srv/web", false},
		{[]string{"a=/x", "b=/y"}, "a=/x b=/y", false},
		{[]string{"noequals"}, "", true},
		{[]string{"=/x"}, "", true},
		{[]string{"a="}, "", true},
	}
	for _, tt := range tests {
		got, err := parseProjects(tt.in)
		if (err != nil) != tt.wantErr {
			t.Fatalf("parseProjects(%q) err = %v", tt.in, err)
		}
		var parts []string
		for _, p := range got {
			parts = append(parts, p.Name+"="+p.Path)
		}
		if !tt.wantErr && strings.Join(parts, " ") != tt.want {
			t.Fatalf("parseProjects(%q) = %v, want %s", tt.in, parts, tt.want)
		}
	}
}

func TestLSPURLFor(t *testing.T) {
	tests := map[string]string{
		"http://127.0.0.1:7777":     "ws://127.0.0.1:7777/lsp",
		"https://duck.example.com/": "wss://duck.example.com/lsp",
		"ws://h:1/lsp":              "ws://h:1/lsp",
		"ftp://h":                   "",
		"not a url":                 "",
	}
	for in, want := range tests {
		got, err := lspURLFor(in)
		if want == "" {
			if err == nil {
				t.Errorf("lspURLFor(%q) = %q, want an error", in, got)
			}
			continue
		}
		if got != want || err != nil {
			t.Errorf("lspURLFor(%q) = %q, %v, want %q", in, got, err, want)
		}
	}
}

// TestServeFirstStart runs `rubberduck serve` as a user would on an empty
// data directory, then stops it the way SIGINT does.
func TestServeFirstStart(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	proj := filepath.Join(dir, "My Project")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Chdir(proj)
	t.Setenv("XDG_CONFIG_HOME", t.TempDir())
	var out syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	root := newRootCmd()
	root.SetArgs([]string{"serve", "--addr", "127.0.0.1:0", "--data", data})
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	done := make(chan error, 1)
	go func() { done <- root.ExecuteContext(ctx) }()

	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Editor:") && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	text := out.String()
	for _, want := range []string{"is listening on http://127.0.0.1:", "project   my-project", "Created the owner account", "/login?code=rdl_", "expires in 10 minutes"} {
		if !strings.Contains(text, want) {
			t.Errorf("welcome text lacks %q:\n%s", want, text)
		}
	}
	if regexp.MustCompile(`rd_[A-Za-z0-9_-]{20,}`).MatchString(text) {
		t.Errorf("welcome text shows a long-lived token:\n%s", text)
	}
	fi, err := os.Stat(filepath.Join(data, "owner.token"))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("owner.token mode = %v, want 0600", fi.Mode().Perm())
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after a clean stop", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestBrowserBase(t *testing.T) {
	tests := []struct{ hub, want string }{
		{"http://127.0.0.1:7777", "http://127.0.0.1:7777"},
		{"ws://127.0.0.1:7777/lsp", "http://127.0.0.1:7777"},
		{"wss://duck.example.com/lsp", "https://duck.example.com"},
		{"https://duck.example.com/rd/", "https://duck.example.com/rd"},
		{"https://duck.example.com/rd/lsp", "https://duck.example.com/rd"},
	}
	for _, tt := range tests {
		if got, err := browserBase(tt.hub); err != nil || got != tt.want {
			t.Errorf("browserBase(%q) = %q, %v; want %q", tt.hub, got, err, tt.want)
		}
	}
	if _, err := browserBase("ftp://x"); err == nil {
		t.Error("ftp:// accepted")
	}
}
