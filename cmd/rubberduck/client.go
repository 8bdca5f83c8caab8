package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// Commands that ask a running hub questions share these flags and this
// connection logic: the CLI never opens the hub's store itself (the hub
// holds it), it speaks the same protocol as every other client.

func addClientFlags(cmd *cobra.Command) {
	f := cmd.PersistentFlags()
	f.String("hub", "http://127.0.0.1:7777", "hub URL (http://, https://, ws:// or wss://)")
	f.String("token-file", "", "file holding an API token (default: RUBBERDUCK_TOKEN, else DATA/owner.token)")
	f.String("data", defaultDataDir(), "the hub's data directory, to find owner.token")
	f.Bool("json", false, "print results as JSON")
}

// hubClient is a connected, initialized CLI session.
type hubClient struct {
	*wsrpc.Client
	json bool
	out  io.Writer
}

func dialHub(cmd *cobra.Command) (*hubClient, error) { return dialHubWith(cmd, nil) }

// dialHubWith connects and initializes, serving the hub's notifications
// with h (nil ignores them).
func dialHubWith(cmd *cobra.Command, h wsrpc.Handler) (*hubClient, error) {
	k, err := loadConfig(cmd)
	if err != nil {
		return nil, err
	}
	lspURL, err := lspURLFor(k.String("hub"))
	if err != nil {
		return nil, err
	}
	token, err := readToken(k.String("token-file"), k.String("token"), k.String("data"))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(cmd.Context()), 15*time.Second)
	defer cancel()
	if h == nil {
		h = wsrpc.HandlerFunc(func(context.Context, *wsrpc.Conn, *protocol.Message) (any, error) { return nil, nil })
	}
	c, err := wsrpc.Dial(ctx, lspURL, map[string][]string{"Authorization": {"Bearer " + token}}, h, wsrpc.Options{PingInterval: -1})
	if err != nil {
		var de *wsrpc.DialError
		if errors.As(err, &de) && de.Status == 401 {
			return nil, errors.New("the hub refused the token (401): check --token-file or RUBBERDUCK_TOKEN")
		}
		return nil, fmt.Errorf("connect to the hub at %s: %w (is `rubberduck serve` running?)", k.String("hub"), err)
	}
	var p protocol.InitializeParams
	p.InitializationOptions = &protocol.InitializationOptions{Client: "cli"}
	if err := c.Call(ctx, protocol.MethodInitialize, p, nil); err != nil {
		c.Close()
		return nil, fmt.Errorf("initialize: %w", friendly(err))
	}
	_ = c.Notify(protocol.MethodInitialized, struct{}{})
	return &hubClient{Client: c, json: k.Bool("json"), out: cmd.OutOrStdout()}, nil
}

// call runs one request and prints its result: as JSON with --json,
// otherwise through show (which may be nil for "ok").
func (c *hubClient) call(ctx context.Context, method string, params, result any, show func(w *tabwriter.Writer)) error {
	defer c.Close()
	var raw json.RawMessage
	if err := c.Call(ctx, method, params, &raw); err != nil {
		return friendly(err)
	}
	if c.json {
		var v any
		_ = json.Unmarshal(raw, &v)
		enc := json.NewEncoder(c.out)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	if result != nil {
		if err := json.Unmarshal(raw, result); err != nil {
			return fmt.Errorf("decode %s result: %w", method, err)
		}
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	if show == nil {
		fmt.Fprintln(tw, "ok")
	} else {
		show(tw)
	}
	return tw.Flush()
}

// join joins a project on this connection, for project-scoped requests.
func (c *hubClient) join(ctx context.Context, project string) error {
	if err := c.Call(ctx, protocol.MethodProjectJoin, protocol.JoinParams{Project: project}, nil); err != nil {
		c.Close()
		return friendly(err)
	}
	return nil
}

// friendly strips the JSON-RPC framing from hub errors for the terminal.
func friendly(err error) error {
	var rpcErr *protocol.Error
	if errors.As(err, &rpcErr) {
		return errors.New(rpcErr.Message)
	}
	return err
}

func lspURLFor(hubURL string) (string, error) {
	u, err := url.Parse(hubURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("hub URL %q: want http://HOST:PORT", hubURL)
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	case "ws", "wss":
	default:
		return "", fmt.Errorf("hub URL %q: scheme must be http, https, ws or wss", hubURL)
	}
	if u.Path == "" || u.Path == "/" {
		u.Path = "/lsp"
	}
	return u.String(), nil
}

// readToken finds the API token: --token-file, then RUBBERDUCK_TOKEN, then
// the owner token in the data directory (the common case on the hub's own
// machine).
func readToken(file, env, dataDir string) (string, error) {
	if file == "" && env != "" {
		return strings.TrimSpace(env), nil
	}
	if file == "" {
		file = filepath.Join(dataDir, hub.OwnerTokenFile)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("read token: %w (use --token-file or RUBBERDUCK_TOKEN)", err)
	}
	tok := strings.TrimSpace(string(b))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", file)
	}
	return tok, nil
}

func fmtTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}
