package hub_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func rpcCode(err error) int64 {
	var e *protocol.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return 0
}

func TestUpgradeIsAuthenticatedBeforeItHappens(t *testing.T) {
	h := hubtest.Start(t)
	own := "http://" + h.Addr()
	tests := []struct {
		name   string
		header http.Header
		status int // 0: upgrade succeeds
	}{
		{"no credential", http.Header{}, 401},
		{"wrong token", hubtest.Auth("rd_not-a-real-token"), 401},
		{"basic auth", http.Header{"Authorization": {"Basic b3duZXI6cHc="}}, 401},
		{"owner token", hubtest.Auth(h.Token), 0},
		{"owner token, own origin", withOrigin(hubtest.Auth(h.Token), own), 0},
		{"owner token, foreign origin", withOrigin(hubtest.Auth(h.Token), "http://evil.example"), 403},
		{"foreign origin, no credential", withOrigin(http.Header{}, "http://evil.example"), 403},
		{"origin on another port", withOrigin(hubtest.Auth(h.Token), "http://127.0.0.1:1"), 403},
		{"cookie without origin is not enough", http.Header{"Cookie": {"rubberduck_session=" + h.Token}}, 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := wsrpc.Dial(ctx(t), h.LSPURL(), tt.header, nil, wsrpc.Options{})
			if tt.status == 0 {
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				c.Close()
				return
			}
			var de *wsrpc.DialError
			if !errors.As(err, &de) || de.Status != tt.status {
				t.Fatalf("dial err = %v, want HTTP %d", err, tt.status)
			}
		})
	}
}

func withOrigin(h http.Header, origin string) http.Header {
	h = h.Clone()
	h.Set("Origin", origin)
	return h
}

func TestInitializeNegotiatesEncodingAndJoins(t *testing.T) {
	h := hubtest.Start(t)
	tests := []struct {
		name    string
		offered []string
		want    string
	}{
		{"nothing offered means utf-16", nil, "utf-16"},
		{"utf-8 first", []string{"utf-8", "utf-16"}, "utf-8"},
		{"utf-32 only", []string{"utf-32"}, "utf-32"},
		{"unknown encodings fall back", []string{"latin-1"}, "utf-16"},
		{"unknown then utf-8", []string{"ebcdic", "utf-8"}, "utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := h.Dial(t)
			var p protocol.InitializeParams
			p.Capabilities.General = &protocol.GeneralClientCapabilities{PositionEncodings: tt.offered}
			p.InitializationOptions = &protocol.InitializationOptions{Project: "demo"}
			var res protocol.InitializeResult
			if err := c.Call(ctx(t), protocol.MethodInitialize, p, &res); err != nil {
				t.Fatal(err)
			}
			if res.Capabilities.PositionEncoding != tt.want {
				t.Fatalf("positionEncoding = %q, want %q", res.Capabilities.PositionEncoding, tt.want)
			}
			if res.ServerInfo == nil || res.ServerInfo.Name != "rubberduck" {
				t.Fatalf("serverInfo = %+v", res.ServerInfo)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	h := hubtest.Start(t)
	c := h.Dial(t)
	// Before initialize: requests are refused, ping is allowed.
	err := c.Call(ctx(t), protocol.MethodProjectJoin, protocol.JoinParams{Project: "demo"}, nil)
	if rpcCode(err) != protocol.CodeServerNotInitialized {
		t.Fatalf("join before initialize = %v", err)
	}
	if err := c.Call(ctx(t), protocol.MethodPing, nil, nil); err != nil {
		t.Fatalf("ping before initialize = %v", err)
	}
	hubtest.Initialize(t, c, "")
	if err := c.Call(ctx(t), protocol.MethodInitialize, protocol.InitializeParams{}, nil); rpcCode(err) != protocol.CodeInvalidRequest {
		t.Fatalf("second initialize = %v", err)
	}
	var joined protocol.JoinResult
	if err := c.Call(ctx(t), protocol.MethodProjectJoin, protocol.JoinParams{Project: "demo"}, &joined); err != nil {
		t.Fatal(err)
	}
	if joined.Project != "demo" || joined.Role != "owner" {
		t.Fatalf("join = %+v", joined)
	}
	var list protocol.ProjectListResult
	if err := c.Call(ctx(t), protocol.MethodProjectList, nil, &list); err != nil || len(list.Projects) != 1 {
		t.Fatalf("list = %+v, %v", list, err)
	}
	if err := c.Call(ctx(t), protocol.MethodShutdown, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Call(ctx(t), protocol.MethodPing, nil, nil); rpcCode(err) != protocol.CodeInvalidRequest {
		t.Fatalf("request after shutdown = %v", err)
	}
	if err := c.Notify(protocol.MethodExit, nil); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Wait() }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("exit did not close the connection")
	}
}

func TestRequestErrors(t *testing.T) {
	h := hubtest.Start(t)
	c := h.Connect(t)
	tests := []struct {
		name   string
		method string
		params any
		want   int64
	}{
		{"unknown method", "rubberduck/nope", nil, protocol.CodeMethodNotFound},
		{"missing project", protocol.MethodProjectJoin, protocol.JoinParams{Project: "nope"}, protocol.CodeNotFound},
		{"empty project", protocol.MethodProjectJoin, protocol.JoinParams{}, protocol.CodeInvalidParams},
		{"params of the wrong type", protocol.MethodProjectJoin, []int{1}, protocol.CodeInvalidParams},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := c.Call(ctx(t), tt.method, tt.params, nil); rpcCode(err) != tt.want {
				t.Fatalf("%s = %v, want code %d", tt.method, err, tt.want)
			}
		})
	}
}

// rawConn is a client that sends bytes no library would.
func rawConn(t *testing.T, h *hubtest.Hub) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(h.LSPURL(), hubtest.Auth(h.Token))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func exchange(t *testing.T, ws *websocket.Conn, frame string) protocol.Message {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatal(err)
	}
	var m protocol.Message
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("%s: %v", data, err)
	}
	return m
}

func TestMalformedAndOversizedInput(t *testing.T) {
	h := hubtest.Start(t, func(c *hub.Config) { c.MaxMessageBytes = 64 << 10 })
	ws := rawConn(t, h)
	tests := []struct {
		name  string
		frame string
		want  int64
	}{
		{"truncated json", `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{`, protocol.CodeParseError},
		{"binary garbage", "\x89PNG\r\n\x1a\n", protocol.CodeParseError},
		{"not an object", `"hello"`, protocol.CodeInvalidRequest},
		{"oversized", `{"jsonrpc":"2.0","id":5,"method":"rubberduck/ping","params":{"pad":"` + strings.Repeat("x", 100<<10) + `"}}`, protocol.CodeMessageTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := exchange(t, ws, tt.frame)
			if m.Error == nil || m.Error.Code != tt.want {
				t.Fatalf("reply = %+v, want code %d", m.Error, tt.want)
			}
			ok := exchange(t, ws, `{"jsonrpc":"2.0","id":99,"method":"rubberduck/ping"}`)
			if ok.Error != nil {
				t.Fatalf("connection unusable after %s: %+v", tt.name, ok.Error)
			}
		})
	}
	resp, err := http.Get(h.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, want := range []string{`rubberduck_protocol_errors_total{kind="parse"} 2`, `rubberduck_protocol_errors_total{kind="too_large"} 1`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestStalledReaderIsDroppedWhileOthersKeepWorking(t *testing.T) {
	h := hubtest.Start(t, func(c *hub.Config) { c.SendQueue = 16 })
	stalled := rawConn(t, h)
	healthy := h.Connect(t)

	// The stalled client sends requests and never reads the answers; once
	// the socket buffers and its queue are full, the hub must drop it.
	frame := []byte(`{"jsonrpc":"2.0","id":1,"method":"rubberduck/ping"}`)
	dropped := false
	for i := 0; i < 500000 && !dropped; i++ {
		_ = stalled.SetWriteDeadline(time.Now().Add(2 * time.Second))
		if err := stalled.WriteMessage(websocket.TextMessage, frame); err != nil {
			dropped = true
		}
		if i%1000 == 0 {
			if err := healthy.Call(ctx(t), protocol.MethodPing, nil, nil); err != nil {
				t.Fatalf("healthy client failed while another stalled: %v", err)
			}
		}
	}
	if !dropped {
		t.Fatal("stalled reader was never disconnected")
	}
	if err := healthy.Call(ctx(t), protocol.MethodPing, nil, nil); err != nil {
		t.Fatalf("healthy client after the drop: %v", err)
	}
}

func TestGracefulShutdown(t *testing.T) {
	h := hubtest.Start(t)
	ws := rawConn(t, h)
	if m := exchange(t, ws, `{"jsonrpc":"2.0","id":1,"method":"rubberduck/ping"}`); m.Error != nil {
		t.Fatal(m.Error)
	}
	stopped := make(chan struct{})
	go func() { h.Stop(); close(stopped) }()
	_ = ws.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseGoingAway) {
		t.Fatalf("client saw %v, want close 1001 (going away)", err)
	}
	select {
	case <-stopped:
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown did not finish")
	}
	if _, err := http.Get(h.URL() + "/healthz"); err == nil {
		t.Fatal("hub still accepting after shutdown")
	}
}

func TestHealthAndReadiness(t *testing.T) {
	h := hubtest.Start(t)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(h.URL() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("%s = %d", path, resp.StatusCode)
		}
	}
}
