package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strings"

	"github.com/adrg/xdg"
	"github.com/knadh/koanf/parsers/toml/v2"
	"github.com/knadh/koanf/providers/env/v2"
	"github.com/knadh/koanf/providers/file"
	"github.com/knadh/koanf/providers/posflag"
	"github.com/knadh/koanf/v2"
	"github.com/spf13/cobra"
)

// envPrefix starts every environment variable rubberduck reads.
const envPrefix = "RUBBERDUCK_"

// listKeys are settings that hold lists; in the environment they are
// comma-separated.
var listKeys = map[string]bool{"project": true, "allowed-origin": true, "trusted-proxy": true}

// loadConfig merges, lowest precedence first: flag defaults, the config
// file, RUBBERDUCK_* variables, and the flags set on the command line.
// Keys are the long flag names in every source (addr, data, log-format);
// in the environment they are upper-case with underscores
// (RUBBERDUCK_LOG_FORMAT).
func loadConfig(cmd *cobra.Command) (*koanf.Koanf, error) {
	k := koanf.New(".")
	path, _ := cmd.Flags().GetString("config")
	explicit := path != ""
	if !explicit {
		path = filepath.Join(xdg.ConfigHome, "rubberduck", "config.toml")
	}
	if err := k.Load(file.Provider(path), toml.Parser()); err != nil {
		if explicit || !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("config file %s: %w", path, err)
		}
	}
	err := k.Load(env.Provider(".", env.Opt{
		Prefix: envPrefix,
		TransformFunc: func(key, v string) (string, any) {
			key = strings.ReplaceAll(strings.ToLower(strings.TrimPrefix(key, envPrefix)), "_", "-")
			if listKeys[key] {
				return key, strings.Split(v, ",")
			}
			return key, v
		},
	}), nil)
	if err != nil {
		return nil, fmt.Errorf("environment: %w", err)
	}
	// With k passed in, posflag merges a flag's default only when no
	// other source set the key, and always merges flags set explicitly.
	if err := k.Load(posflag.Provider(cmd.Flags(), ".", k), nil); err != nil {
		return nil, fmt.Errorf("flags: %w", err)
	}
	return k, nil
}

// newLogger builds the process logger: text for a terminal, JSON for log
// shippers.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("log-format %q: want text or json", format)
}

// defaultDataDir is the per-user data directory ($XDG_DATA_HOME/rubberduck).
func defaultDataDir() string { return filepath.Join(xdg.DataHome, "rubberduck") }
