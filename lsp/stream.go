package lsp

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"

	"go.lsp.dev/jsonrpc2"
)

// stream is LSP's base protocol (Content-Length framing) for the editor
// connection. go.lsp.dev/jsonrpc2's own stream decodes every message with a
// decoder that allocates a fresh 32 KiB+ buffer, which cost more CPU than
// everything else the proxy does per keystroke; this one decodes with
// encoding/json into the library's message types.
type stream struct {
	in  *bufio.Reader
	out io.Writer
	c   io.Closer
	wmu sync.Mutex
}

func newStream(rwc io.ReadWriteCloser) jsonrpc2.Stream {
	return &stream{in: bufio.NewReaderSize(rwc, 64<<10), out: rwc, c: rwc}
}

type wireMessage struct {
	ID     json.RawMessage `json:"id,omitempty"`
	Method string          `json:"method,omitempty"`
	Params json.RawMessage `json:"params,omitempty"`
	Result json.RawMessage `json:"result,omitempty"`
	Error  *jsonrpc2.Error `json:"error,omitempty"`
}

func (s *stream) Read(ctx context.Context) (jsonrpc2.Message, int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, 0, err
	}
	var total, length int64
	for {
		line, err := s.in.ReadString('\n')
		total += int64(len(line))
		if err != nil {
			return nil, total, fmt.Errorf("read header: %w", err)
		}
		line = strings.TrimSpace(line)
		if line == "" {
			break
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			return nil, total, fmt.Errorf("invalid header line %q", line)
		}
		if strings.EqualFold(strings.TrimSpace(name), "Content-Length") {
			if length, err = strconv.ParseInt(strings.TrimSpace(value), 10, 32); err != nil || length <= 0 {
				return nil, total, fmt.Errorf("invalid Content-Length %q", value)
			}
		}
	}
	if length == 0 {
		return nil, total, fmt.Errorf("missing Content-Length header")
	}
	data := make([]byte, length)
	if _, err := io.ReadFull(s.in, data); err != nil {
		return nil, total, fmt.Errorf("read body: %w", err)
	}
	total += length
	msg, err := decodeMessage(data)
	return msg, total, err
}

func decodeMessage(data []byte) (jsonrpc2.Message, error) {
	var w wireMessage
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("decode message: %w", err)
	}
	var id jsonrpc2.ID
	hasID := len(w.ID) > 0 && string(w.ID) != "null"
	if hasID {
		if w.ID[0] == '"' {
			var s string
			if err := json.Unmarshal(w.ID, &s); err != nil {
				return nil, fmt.Errorf("decode id: %w", err)
			}
			id = jsonrpc2.NewStringID(s)
		} else {
			n, err := strconv.ParseInt(string(w.ID), 10, 32)
			if err != nil {
				return nil, fmt.Errorf("decode id: %w", err)
			}
			id = jsonrpc2.NewNumberID(int32(n))
		}
	}
	var params any
	if len(w.Params) > 0 {
		params = w.Params
	}
	switch {
	case w.Method != "" && hasID:
		return jsonrpc2.NewCall(id, w.Method, params)
	case w.Method != "":
		return jsonrpc2.NewNotification(w.Method, params)
	case hasID:
		var result any
		if len(w.Result) > 0 {
			result = w.Result
		}
		if w.Error != nil {
			return jsonrpc2.NewResponse(id, nil, w.Error)
		}
		return jsonrpc2.NewResponse(id, result, nil)
	}
	return nil, fmt.Errorf("decode message: neither request nor response")
}

func (s *stream) Write(_ context.Context, msg jsonrpc2.Message) (int64, error) {
	data, err := json.Marshal(msg)
	if err != nil {
		return 0, fmt.Errorf("encode message: %w", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	n, err := fmt.Fprintf(s.out, "Content-Length: %d\r\n\r\n", len(data))
	if err != nil {
		return int64(n), err
	}
	m, err := s.out.Write(data)
	return int64(n + m), err
}

func (s *stream) Close() error { return s.c.Close() }
