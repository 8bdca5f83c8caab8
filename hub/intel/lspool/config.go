package lspool

import (
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// ServerConfig says how to run the language server of one language.
type ServerConfig struct {
	// Name identifies the server in diagnostics' source and logs ("gopls").
	Name string `json:"name" koanf:"name"`
	// Command is the program and its arguments; the program is looked up
	// in PATH and in Options.SearchDirs.
	Command []string `json:"command" koanf:"command"`
	// Languages are the LSP languageIds this server handles; documents of
	// these languages are fed to it.
	Languages []string `json:"languages" koanf:"languages"`
	// InitializationOptions are sent in initialize.
	InitializationOptions any `json:"initializationOptions,omitempty" koanf:"initialization_options"`
	// Settings answer workspace/configuration, looked up by section with
	// dots descending into nested maps ("gopls", "python.analysis").
	Settings map[string]any `json:"settings,omitempty" koanf:"settings"`
}

// DefaultConfigs are the servers the hub knows how to run when they are
// installed. Keys are server names.
func DefaultConfigs() map[string]ServerConfig {
	return map[string]ServerConfig{
		"gopls": {Name: "gopls", Command: []string{"gopls"}, Languages: []string{"go"},
			Settings: map[string]any{"gopls": map[string]any{}}},
		"typescript-language-server": {Name: "typescript-language-server",
			Command:   []string{"typescript-language-server", "--stdio"},
			Languages: []string{"typescript", "typescriptreact", "javascript", "javascriptreact"}},
		"pyright": {Name: "pyright", Command: []string{"pyright-langserver", "--stdio"}, Languages: []string{"python"},
			Settings: map[string]any{"python": map[string]any{"analysis": map[string]any{"autoSearchPaths": true}}}},
		"rust-analyzer": {Name: "rust-analyzer", Command: []string{"rust-analyzer"}, Languages: []string{"rust"}},
	}
}

// setting finds a section in nested settings; nil if absent.
func setting(settings map[string]any, section string) any {
	if section == "" {
		return settings
	}
	var cur any = settings
	for _, part := range strings.Split(section, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur, ok = m[part]
		if !ok {
			return nil
		}
	}
	return cur
}

// lookPath finds a program in PATH or in extra directories. The path it
// returns is absolute: servers run in the project's directory, where a
// relative tool directory would point somewhere else.
func lookPath(name string, dirs []string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if q, err := exec.LookPath(p); err == nil {
			return filepath.Abs(q)
		}
	}
	return "", exec.ErrNotFound
}

// backoff doubles from min to max; a server that ran longer than stable
// starts again from min.
type backoff struct {
	min, max, stable time.Duration
	cur              time.Duration
}

func (b *backoff) next(ranFor time.Duration) time.Duration {
	if ranFor >= b.stable || b.cur == 0 {
		b.cur = b.min
		return b.cur
	}
	b.cur *= 2
	if b.cur > b.max {
		b.cur = b.max
	}
	return b.cur
}
