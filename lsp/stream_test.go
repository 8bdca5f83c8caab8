package lsp

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"testing"

	"go.lsp.dev/jsonrpc2"
)

type rwc struct {
	io.Reader
	io.Writer
}

func (rwc) Close() error { return nil }

// TestStreamRoundTrip writes each kind of message and reads it back as the
// same jsonrpc2 message.
func TestStreamRoundTrip(t *testing.T) {
	call, _ := jsonrpc2.NewCall(jsonrpc2.NewNumberID(7), "textDocument/hover", map[string]int{"a": 1})
	strCall, _ := jsonrpc2.NewCall(jsonrpc2.NewStringID("x1"), "workspace/applyEdit", nil)
	note, _ := jsonrpc2.NewNotification("textDocument/didChange", map[string]string{"t": "é😀"})
	resp, _ := jsonrpc2.NewResponse(jsonrpc2.NewNumberID(3), map[string]bool{"applied": true}, nil)
	errResp, _ := jsonrpc2.NewResponse(jsonrpc2.NewNumberID(4), nil, jsonrpc2.NewError(jsonrpc2.MethodNotFound, "nope"))
	for _, msg := range []jsonrpc2.Message{call, strCall, note, resp, errResp} {
		var buf bytes.Buffer
		s := newStream(rwc{&buf, &buf})
		if _, err := s.Write(context.Background(), msg); err != nil {
			t.Fatal(err)
		}
		got, _, err := s.Read(context.Background())
		if err != nil {
			t.Fatalf("read %T: %v", msg, err)
		}
		want, _ := json.Marshal(msg)
		have, _ := json.Marshal(got)
		if string(want) != string(have) {
			t.Errorf("round trip:\nwant %s\nhave %s", want, have)
		}
	}
}

// TestStreamRejectsGarbage: bad framing or JSON is an error, not a panic.
func TestStreamRejectsGarbage(t *testing.T) {
	for _, in := range []string{
		"Content-Length: 5\r\n\r\n{bad}",
		"Content-Length: x\r\n\r\n{}",
		"\r\n{}",
		"Content-Length: 2\r\n\r\n{}",
		"Content-Length: 7\r\n\r\n{\"x\":1}",
	} {
		s := newStream(rwc{bytes.NewBufferString(in), io.Discard})
		if _, _, err := s.Read(context.Background()); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}
