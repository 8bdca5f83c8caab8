package wsrpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// echoHandler answers "echo" with its params, "slow" after ctx ends,
// "boom" by panicking, and records notifications in order.
type echoHandler struct {
	mu    sync.Mutex
	notes []string
}

func (h *echoHandler) Handle(ctx context.Context, c *wsrpc.Conn, m *protocol.Message) (any, error) {
	switch m.Method {
	case "echo":
		return m.Params, nil
	case "slow":
		<-ctx.Done()
		return nil, ctx.Err()
	case "boom":
		panic("handler bug")
	case "note":
		h.mu.Lock()
		h.notes = append(h.notes, string(m.Params))
		h.mu.Unlock()
		return nil, nil
	}
	return nil, protocol.Errorf(protocol.CodeMethodNotFound, "method not found: %s", m.Method)
}

func serve(t *testing.T, h wsrpc.Handler, opts wsrpc.Options) string {
	t.Helper()
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		_ = wsrpc.New(ws, h, opts).Run(context.Background())
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http")
}

// rawClient speaks frames directly, to send what a well-behaved client never would.
func rawClient(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ws, _, err := websocket.DefaultDialer.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	return ws
}

func roundTrip(t *testing.T, ws *websocket.Conn, frame string) protocol.Message {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(frame)); err != nil {
		t.Fatal(err)
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, data, err := ws.ReadMessage()
	if err != nil {
		t.Fatalf("read reply to %.60q: %v", frame, err)
	}
	var m protocol.Message
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatalf("reply %s: %v", data, err)
	}
	return m
}

func TestMalformedInputIsAnsweredAndConnectionSurvives(t *testing.T) {
	url := serve(t, &echoHandler{}, wsrpc.Options{MaxMessageBytes: 1024})
	ws := rawClient(t, url)
	tests := []struct {
		name     string
		frame    string
		wantCode int64
		wantID   string
	}{
		{"not json", `{"jsonrpc":"2.0","id":1,"method":`, protocol.CodeParseError, "null"},
		{"garbage", "\x00\xff nonsense", protocol.CodeParseError, "null"},
		{"array", `[1,2,3]`, protocol.CodeInvalidRequest, "null"},
		{"wrong version", `{"jsonrpc":"1.0","id":7,"method":"echo"}`, protocol.CodeInvalidRequest, "7"},
		{"object id", `{"jsonrpc":"2.0","id":{"a":1},"method":"echo"}`, protocol.CodeInvalidRequest, "null"},
		{"no method no id", `{"jsonrpc":"2.0"}`, protocol.CodeInvalidRequest, "null"},
		{"unknown method", `{"jsonrpc":"2.0","id":"x","method":"nope"}`, protocol.CodeMethodNotFound, `"x"`},
		{"too large", `{"jsonrpc":"2.0","id":42,"method":"echo","params":"` + strings.Repeat("a", 2000) + `"}`, protocol.CodeMessageTooLarge, "42"},
		{"panicking handler", `{"jsonrpc":"2.0","id":9,"method":"boom"}`, protocol.CodeInternalError, "9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := roundTrip(t, ws, tt.frame)
			if m.Error == nil || m.Error.Code != tt.wantCode {
				t.Fatalf("error = %+v, want code %d", m.Error, tt.wantCode)
			}
			got := m.ID.String()
			if m.ID.IsZero() {
				got = "null" // JSON-RPC answers an unreadable id with "id": null
			}
			if got != tt.wantID {
				t.Fatalf("id = %s, want %s", got, tt.wantID)
			}
			if strings.Contains(m.Error.Message, "goroutine") {
				t.Fatalf("error leaks a stack: %s", m.Error.Message)
			}
			// The connection must still serve a good request.
			ok := roundTrip(t, ws, `{"jsonrpc":"2.0","id":100,"method":"echo","params":{"still":"alive"}}`)
			if ok.Error != nil || string(ok.Result) != `{"still":"alive"}` {
				t.Fatalf("after %s: %+v", tt.name, ok)
			}
		})
	}
}

func TestFrameOverHardLimitClosesWith1009(t *testing.T) {
	url := serve(t, &echoHandler{}, wsrpc.Options{MaxMessageBytes: 1024})
	ws := rawClient(t, url)
	_ = ws.WriteMessage(websocket.TextMessage, []byte(strings.Repeat("x", 5000)))
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, _, err := ws.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseMessageTooBig) {
		t.Fatalf("err = %v, want close 1009", err)
	}
}

func TestCallNotifyAndOrdering(t *testing.T) {
	h := &echoHandler{}
	url := serve(t, h, wsrpc.Options{})
	c, err := wsrpc.Dial(context.Background(), url, nil, nil, wsrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	for i := range 100 {
		if err := c.Notify("note", i); err != nil {
			t.Fatal(err)
		}
	}
	var got map[string]int
	if err := c.Call(context.Background(), "echo", map[string]int{"n": 1}, &got); err != nil || got["n"] != 1 {
		t.Fatalf("Call = %v, %v", got, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(h.notes) != 100 {
		t.Fatalf("handled %d notes before the call's answer, want all 100 in order", len(h.notes))
	}
	for i, n := range h.notes {
		if n != strings.TrimSpace(strings.Repeat(" ", 0)+itoa(i)) {
			t.Fatalf("note %d = %s: out of order", i, n)
		}
	}
	err = c.Call(context.Background(), "nope", nil, nil)
	var rpcErr *protocol.Error
	if !errors.As(err, &rpcErr) || rpcErr.Code != protocol.CodeMethodNotFound {
		t.Fatalf("unknown method = %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestCancelRequest(t *testing.T) {
	url := serve(t, &echoHandler{}, wsrpc.Options{Concurrent: func(m string) bool { return m == "slow" }})
	c, err := wsrpc.Dial(context.Background(), url, nil, nil, wsrpc.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, "slow", nil, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("slow call = %v", err)
	}
	// The concurrent slow request must not block later calls.
	var got string
	if err := c.Call(context.Background(), "echo", "next", &got); err != nil || got != "next" {
		t.Fatalf("after cancel: %q %v", got, err)
	}
}

func TestStalledReaderIsDropped(t *testing.T) {
	var server *wsrpc.Conn
	ready := make(chan struct{})
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		server = wsrpc.New(ws, &echoHandler{}, wsrpc.Options{SendQueue: 8, WriteTimeout: 500 * time.Millisecond})
		close(ready)
		_ = server.Run(context.Background())
	}))
	defer srv.Close()
	ws := rawClient(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
	<-ready
	// The client never reads: keep notifying until the hub gives up on it.
	big := strings.Repeat("z", 64<<10)
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for err == nil && time.Now().Before(deadline) {
		err = server.Notify("flood", big)
	}
	if !errors.Is(err, wsrpc.ErrSlowConsumer) && !errors.Is(err, wsrpc.ErrClosed) {
		t.Fatalf("flooding a stalled reader: err = %v", err)
	}
	select {
	case <-server.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("stalled connection not closed")
	}
	_ = ws
}
