//go:build !devhub

package e2e

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// hubProcess is `rubberduck serve` as a child process on a fixed port and
// data directory, so it can be killed with SIGKILL and started again the
// way a crashed hub is restarted.
type hubProcess struct {
	testHub
	addr, data string
	cmd        *exec.Cmd
}

func startHubProcess(t testing.TB) *hubProcess {
	t.Helper()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	h := &hubProcess{addr: addr, data: filepath.Join(dir, "data")}
	h.Dir = filepath.Join(dir, "demo")
	if err := os.Mkdir(h.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	h.Project = "demo"
	h.URL = "ws://" + addr + "/lsp"
	h.start(t)
	tok, err := os.ReadFile(filepath.Join(h.data, "owner.token"))
	if err != nil {
		t.Fatal(err)
	}
	h.Token = strings.TrimSpace(string(tok))
	h.read = func(t testing.TB, path string) string {
		c, err := wsrpc.Dial(context.Background(), h.URL, authHeader(h.Token), nil, wsrpc.Options{})
		if err != nil {
			return "<hub unreachable>"
		}
		defer c.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		var ip protocol.InitializeParams
		ip.InitializationOptions = &protocol.InitializationOptions{Project: h.Project, Client: "test"}
		if err := c.Call(ctx, protocol.MethodInitialize, ip, nil); err != nil {
			return "<initialize: " + err.Error() + ">"
		}
		return hubText(t, c, h.Project, path)
	}
	t.Cleanup(h.kill)
	return h
}

// start runs the hub and waits until it accepts connections.
func (h *hubProcess) start(t testing.TB) {
	t.Helper()
	cmd := exec.Command(binary, "serve", "--addr", h.addr, "--data", h.data, "--project", "demo="+h.Dir)
	cmd.Stdout, cmd.Stderr = nil, nil
	if testing.Verbose() {
		cmd.Stderr = os.Stderr
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start hub: %v", err)
	}
	h.cmd = cmd
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", h.addr, time.Second)
		if err == nil {
			_ = c.Close()
			if _, err := os.Stat(filepath.Join(h.data, "owner.token")); err == nil {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("hub did not start on %s", h.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill ends the hub with SIGKILL: no shutdown, no flushing.
func (h *hubProcess) kill() {
	if h.cmd == nil || h.cmd.Process == nil {
		return
	}
	_ = h.cmd.Process.Kill()
	_ = h.cmd.Wait()
	h.cmd = nil
}

func (h *hubProcess) restart(t testing.TB) { h.start(t) }

func startRestartableHub(t testing.TB) *hubProcess {
	h := startHubProcess(t)
	c, err := wsrpc.Dial(context.Background(), h.URL, authHeader(h.Token), nil, wsrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var ip protocol.InitializeParams
	ip.InitializationOptions = &protocol.InitializationOptions{Project: h.Project, Client: "test"}
	if err := c.Call(ctx, protocol.MethodInitialize, ip, nil); err != nil {
		t.Fatal(err)
	}
	requireDocSync(t, c, h.Project)
	return h
}
