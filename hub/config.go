package hub

import (
	"log/slog"
	"time"

	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// Config is everything the hub needs to start. cmd/rubberduck fills it from
// flags, RUBBERDUCK_* variables and the config file; tests fill it directly.
type Config struct {
	// Addr is the TCP address to listen on; 127.0.0.1:0 picks a free port.
	Addr string
	// DataDir holds the store, the owner token and per-project trash.
	DataDir string
	// Projects are ensured to exist at start-up (created, owned by the
	// owner account, when missing).
	Projects []ProjectSpec
	// MaxMessageBytes limits one JSON-RPC frame (default 8 MiB).
	MaxMessageBytes int64
	// SendQueue bounds the messages waiting for one slow client.
	SendQueue int
	// PingInterval and PongTimeout drive keepalive: a client that answers
	// nothing for both is dropped, and its cursor and presence with it
	// (defaults 2 s and 3 s: a vanished person is gone within 5 s).
	PingInterval time.Duration
	PongTimeout  time.Duration
	// AllowedOrigins are extra browser origins (scheme://host:port) allowed
	// to open /lsp besides the hub's own.
	AllowedOrigins []string
	// TrustedProxies are the addresses or CIDR ranges of reverse proxies in
	// front of the hub. For requests from them, X-Forwarded-For names the
	// client (for the failed-login limit, logs and the audit trail) and
	// X-Forwarded-Proto: https makes the session cookie Secure. Empty: the
	// TCP peer is the client and those headers are ignored.
	TrustedProxies []string
	// ShutdownGrace bounds how long Shutdown waits for connections to close.
	ShutdownGrace time.Duration
	// AuditRetention is how long audit records are kept (0: forever).
	AuditRetention time.Duration
	// TrashRetention is how long deleted files stay restorable (default
	// 30 days; negative keeps them until purged by hand).
	TrashRetention time.Duration
	// Version is reported in serverInfo and /healthz.
	Version string
	// Logger receives the hub's structured logs.
	Logger *slog.Logger
	// AI configures the AI engine (aiadapters.go); the zero value serves
	// AI requests with instructions on how to configure a provider.
	AI AIConfig
}

// ProjectSpec names a directory to serve as a project.
type ProjectSpec struct {
	Name string
	Path string
}

func (c *Config) fill() {
	if c.Addr == "" {
		c.Addr = "127.0.0.1:7777"
	}
	if c.MaxMessageBytes <= 0 {
		c.MaxMessageBytes = wsrpc.DefaultMaxMessageBytes
	}
	if c.PingInterval == 0 {
		c.PingInterval = 2 * time.Second
	}
	if c.PongTimeout <= 0 {
		c.PongTimeout = 3 * time.Second
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 5 * time.Second
	}
	if c.TrashRetention == 0 {
		c.TrashRetention = 30 * 24 * time.Hour
	}
	if c.Version == "" {
		c.Version = "dev"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
}
