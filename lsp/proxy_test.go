package lsp_test

import (
	"context"
	"encoding/json"
	"net"
	"testing"
	"time"

	"go.lsp.dev/jsonrpc2"
	"go.uber.org/goleak"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp"
)

// TestServeEndsCleanly: the proxy answers initialize with the negotiated
// encoding, and exit or a closed stream ends Serve with every goroutine
// it started.
func TestServeEndsCleanly(t *testing.T) {
	h := hubtest.Start(t)
	for _, end := range []string{"exit", "eof"} {
		t.Run(end, func(t *testing.T) {
			// The hub's project watcher outlives the connection (idle stop).
			defer goleak.VerifyNone(t, goleak.IgnoreCurrent(),
				goleak.IgnoreAnyFunction("github.com/rubberduckhub/rubberduck/sandbox/watch.(*Watcher).supervise"),
				goleak.IgnoreAnyFunction("github.com/rubberduckhub/rubberduck/sandbox/watch.(*Watcher).docsWorker"),
				goleak.IgnoreAnyFunction("github.com/fsnotify/fsnotify.(*inotify).readEvents"))
			a, b := net.Pipe()
			done := make(chan error, 1)
			go func() {
				done <- lsp.Serve(context.Background(), lsp.Config{
					HubURL: h.LSPURL(), Project: h.Project, Token: h.Token, Root: h.ProjectDir}, b)
			}()
			ctx := context.Background()
			editor := jsonrpc2.NewConn(jsonrpc2.NewStream(a))
			editor.Go(ctx, jsonrpc2.MethodNotFoundHandler)
			var res struct {
				Capabilities struct {
					PositionEncoding string `json:"positionEncoding"`
				} `json:"capabilities"`
				OffsetEncoding string `json:"offsetEncoding"`
			}
			params := json.RawMessage(`{"capabilities":{"general":{"positionEncodings":["utf-32","utf-16"]}}}`)
			if _, err := editor.Call(ctx, "initialize", params, &res); err != nil {
				t.Fatal(err)
			}
			if res.Capabilities.PositionEncoding != "utf-32" || res.OffsetEncoding != "utf-32" {
				t.Errorf("negotiated %q/%q, want utf-32", res.Capabilities.PositionEncoding, res.OffsetEncoding)
			}
			// Requests the proxy does not serve go to the hub.
			var ping struct {
				Time string `json:"time"`
			}
			deadline := time.Now().Add(5 * time.Second)
			for ping.Time == "" && time.Now().Before(deadline) {
				_, _ = editor.Call(ctx, "rubberduck/ping", nil, &ping)
				time.Sleep(20 * time.Millisecond)
			}
			if ping.Time == "" {
				t.Error("rubberduck/ping was not forwarded to the hub")
			}
			if end == "exit" {
				_ = editor.Notify(ctx, "exit", nil)
			} else {
				_ = editor.Close()
			}
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Serve: %v", err)
				}
			case <-time.After(5 * time.Second):
				t.Fatal("Serve did not return")
			}
			_ = editor.Close()
			<-editor.Done()
		})
	}
}

// TestServeNeedsToken: no token is a clear error, before anything starts.
func TestServeNeedsToken(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	err := lsp.Serve(context.Background(), lsp.Config{HubURL: "ws://127.0.0.1:1/lsp", Project: "p"}, b)
	if err == nil {
		t.Fatal("no error without a token")
	}
}
