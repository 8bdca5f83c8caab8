package hub_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/hub/crdt"
	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// crashHubEnv makes the test binary run a bare hub (data dir and project
// dir separated by "|") until it is killed, for TestKill9KeepsAcknowledgedEdits.
const crashHubEnv = "RUBBERDUCK_DOCS_CRASH_HUB"

func init() {
	if spec := os.Getenv(crashHubEnv); spec != "" {
		runCrashHub(spec)
	}
}

func runCrashHub(spec string) {
	data, proj, _ := strings.Cut(spec, "|")
	srv, start, err := hub.Open(context.Background(), hub.Config{
		Addr: "127.0.0.1:0", DataDir: data, Version: "test",
		Projects: []hub.ProjectSpec{{Name: "demo", Path: proj}},
	})
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	tok, _ := os.ReadFile(start.OwnerTokenPath)
	go func() { _ = srv.Serve() }()
	fmt.Println(srv.LSPURL(), strings.TrimSpace(string(tok)))
	select {} // until SIGKILL
}

// TestKill9KeepsAcknowledgedEdits kills a hub process with SIGKILL right
// after its last edit was acknowledged (a later request on the same
// connection was answered, so the edit had been applied and logged), then
// opens a new hub on the same data directory: no edit is missing.
func TestKill9KeepsAcknowledgedEdits(t *testing.T) {
	dir := t.TempDir()
	data, proj := filepath.Join(dir, "data"), filepath.Join(dir, "demo")
	if err := os.Mkdir(proj, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "crash.txt"), []byte("start\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashHubEnv+"="+data+"|"+proj)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	line, err := bufio.NewReader(out).ReadString('\n')
	url, token, ok := strings.Cut(strings.TrimSpace(line), " ")
	if err != nil || !ok || !strings.HasPrefix(url, "ws://") {
		t.Fatalf("child hub did not start: %q %v", line, err)
	}

	ref := protocol.DocRef{Project: "demo", Path: "crash.txt"}
	rc := &replicaClient{t: t, doc: crdt.New(crdt.NewReplicaID())}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rc.c, err = wsrpc.Dial(ctx, url, hubtest.Auth(token), wsrpc.HandlerFunc(rc.handle), wsrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer rc.c.Close()
	initialize(t, rc.c, "demo", "")
	rc.sync(ref)
	for i := range 300 {
		rc.edit(rc.len()/2, 0, fmt.Sprintf("%d🦆", i%10))
	}
	want := readDoc(t, rc.c, ref) // answered after every edit before it
	if want != rc.Text() {
		t.Fatalf("hub %q, replica %q", want, rc.Text())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()

	srv, _, err := hub.Open(context.Background(), hub.Config{
		Addr: "127.0.0.1:0", DataDir: data, Version: "test",
		Projects: []hub.ProjectSpec{{Name: "demo", Path: proj}},
	})
	if err != nil {
		t.Fatalf("reopen after kill -9: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Serve() }()
	defer func() { _ = srv.Shutdown(context.Background()); <-done }()
	c, err := wsrpc.Dial(ctx, srv.LSPURL(), hubtest.Auth(token), nil, wsrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	initialize(t, c, "demo", "")
	if got := readDoc(t, c, ref); got != want {
		t.Fatalf("after kill -9 the document lost edits:\ngot  %q\nwant %q", got, want)
	}
}
