package wsrpc

import (
	"context"
	"fmt"
	"net/http"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/conc"
)

// Client is a connection this process dialed. It owns the goroutine that
// serves it; Close stops it and waits.
type Client struct {
	*Conn
	wg conc.WaitGroup
}

// Dial connects to a hub's /lsp endpoint (ws:// or wss://) with the given
// headers (Authorization: Bearer ...), and serves calls from the hub with h
// (nil answers every call with "method not found"). The HTTP status of a
// refused upgrade is part of the error so callers can tell 401 from 403.
func Dial(ctx context.Context, url string, header http.Header, h Handler, opts Options) (*Client, error) {
	d := websocket.Dialer{
		HandshakeTimeout: websocket.DefaultDialer.HandshakeTimeout,
		Proxy:            http.ProxyFromEnvironment,
	}
	ws, resp, err := d.DialContext(ctx, url, header)
	if err != nil {
		if resp != nil {
			return nil, &DialError{Status: resp.StatusCode, Err: err}
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	if h == nil {
		h = HandlerFunc(notFound)
	}
	c := &Client{Conn: New(ws, h, opts)}
	c.wg.Go(func() { _ = c.Run(context.WithoutCancel(ctx)) })
	return c, nil
}

// Close closes the connection normally and waits for its goroutine.
func (c *Client) Close() error {
	c.Conn.Close(websocket.CloseNormalClosure, "bye")
	c.wg.Wait()
	return c.Err()
}

// Wait blocks until the connection has ended, whoever ended it.
func (c *Client) Wait() error {
	c.wg.Wait()
	return c.Err()
}

// DialError is a refused WebSocket upgrade, with the HTTP status the hub
// answered (401 for a bad credential, 403 for a foreign Origin).
type DialError struct {
	Status int
	Err    error
}

// Error implements error.
func (e *DialError) Error() string {
	return fmt.Sprintf("websocket upgrade refused: HTTP %d: %v", e.Status, e.Err)
}

// Unwrap exposes the dialer's error.
func (e *DialError) Unwrap() error { return e.Err }
