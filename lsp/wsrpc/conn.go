// Package wsrpc runs JSON-RPC 2.0 over a WebSocket, one message per text
// frame, for both ends of RubberDuck's /lsp endpoint: the hub serving
// editors, browsers and the CLI, and the LSP proxy and CLI dialing the hub.
//
// It exists because the hub's robustness rules are about the transport, not
// about any one method: a malformed frame gets a JSON-RPC error and the
// connection stays usable; an oversized frame gets a clear error; every
// connection has a bounded send queue, and a peer that stops reading is
// disconnected instead of slowing everyone else; keepalive pings find dead
// peers; a panicking handler is recovered and answered, never fatal.
//
// Ordering follows LSP: messages are handled one at a time in arrival order
// (didChange after didOpen, always), except requests the Handler declares
// concurrent (search, AI), which run alongside later messages and can be
// cancelled with $/cancelRequest.
package wsrpc

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/sourcegraph/conc"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// Handler serves the calls a peer sends. Handle returns the result of a
// request (ignored for notifications) or an error; a *protocol.Error chooses
// the code the peer sees, any other error is reported as an internal error
// with a generic message. Handle must not block for long unless Concurrent
// says so for its method, because it holds up every later message.
type Handler interface {
	Handle(ctx context.Context, c *Conn, m *protocol.Message) (any, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Conn, m *protocol.Message) (any, error)

// Handle implements Handler.
func (f HandlerFunc) Handle(ctx context.Context, c *Conn, m *protocol.Message) (any, error) {
	return f(ctx, c, m)
}

// Defaults sized for a laptop hub with hundreds of connections.
const (
	DefaultMaxMessageBytes = 8 << 20
	DefaultSendQueue       = 512
	DefaultSendQueueBytes  = 32 << 20
	DefaultWriteTimeout    = 10 * time.Second
	DefaultPingInterval    = 30 * time.Second
	DefaultPongTimeout     = 15 * time.Second
	DefaultMaxConcurrent   = 16
)

// Options tune one connection. The zero value uses the defaults above.
type Options struct {
	// MaxMessageBytes is the largest frame handled; a larger one is
	// answered with CodeMessageTooLarge and discarded, and one over four
	// times the limit closes the connection (1009), since reading it at
	// all costs the hub memory and time.
	MaxMessageBytes int64
	// SendQueue and SendQueueBytes bound what may wait to be written to a
	// peer. A peer that lets either fill up is not reading: it is
	// disconnected with 1008 so that it cannot hold hub memory or slow
	// down the senders.
	SendQueue      int
	SendQueueBytes int64
	// WriteTimeout bounds each frame write; a peer whose TCP window stays
	// closed that long is treated as gone.
	WriteTimeout time.Duration
	// PingInterval and PongTimeout drive keepalive: a peer that answers
	// neither a ping nor sends anything within both is dropped. A negative
	// PingInterval disables pings (the peer then keeps the connection alive).
	PingInterval time.Duration
	PongTimeout  time.Duration
	// Concurrent reports whether a request method may run alongside later
	// messages instead of in order. Notifications always run in order.
	Concurrent func(method string) bool
	// MaxConcurrent bounds the concurrent requests in flight per connection.
	MaxConcurrent int
	// Logger receives transport events; never message content.
	Logger *slog.Logger
	// Events, when set, is told about transport-level incidents, for metrics.
	Events Events
}

// Events is told about what happens on a connection below the handlers, so
// the hub can count it in metrics without this package knowing Prometheus.
type Events interface {
	// ProtocolError is called for a frame that could not be handled:
	// kind is "parse", "invalid", "too_large" or "binary".
	ProtocolError(kind string)
	// Panic is called when a handler panicked and was recovered.
	Panic(method string)
	// SlowConsumer is called when the peer is dropped for not reading.
	SlowConsumer()
}

func (o *Options) fill() {
	if o.MaxMessageBytes <= 0 {
		o.MaxMessageBytes = DefaultMaxMessageBytes
	}
	if o.SendQueue <= 0 {
		o.SendQueue = DefaultSendQueue
	}
	if o.SendQueueBytes <= 0 {
		o.SendQueueBytes = DefaultSendQueueBytes
	}
	if o.WriteTimeout <= 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.PongTimeout <= 0 {
		o.PongTimeout = DefaultPongTimeout
	}
	if o.MaxConcurrent <= 0 {
		o.MaxConcurrent = DefaultMaxConcurrent
	}
	if o.Concurrent == nil {
		o.Concurrent = func(string) bool { return false }
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Events == nil {
		o.Events = noEvents{}
	}
}

type noEvents struct{}

func (noEvents) ProtocolError(string) {}
func (noEvents) Panic(string)         {}
func (noEvents) SlowConsumer()        {}

// ErrClosed is returned by calls on a connection that has been closed.
var ErrClosed = errors.New("wsrpc: connection closed")

// ErrSlowConsumer is the reason a peer that stopped reading was dropped.
var ErrSlowConsumer = errors.New("wsrpc: peer is not reading; send queue full")

// Conn is one JSON-RPC peer over one WebSocket. It is safe for concurrent use.
type Conn struct {
	ws      *websocket.Conn
	handler Handler
	opts    Options

	out         chan []byte
	queued      atomic.Int64 // bytes waiting in out
	closeOnce   sync.Once
	done        chan struct{} // closed when the connection is shutting down
	closeErr    error         // why, set before done closes
	closeCode   int
	closeReason string
	serialSlots chan struct{} // bounds the in-order queue: a flooding peer waits

	nextID  atomic.Int64
	mu      sync.Mutex
	pending map[string]chan *protocol.Message // our requests awaiting responses
	running map[string]context.CancelFunc     // peer's requests being handled

	// serial is the in-order queue of messages; a worker goroutine drains
	// it and exits when it is empty, so an idle connection costs no
	// dispatcher goroutine.
	serial        []*protocol.Message
	serialRunning bool

	workers  conc.WaitGroup // dispatch and concurrent requests
	inflight chan struct{}  // semaphore for concurrent requests
}

// New wraps an established WebSocket. Call Run to serve it.
func New(ws *websocket.Conn, h Handler, opts Options) *Conn {
	opts.fill()
	return &Conn{
		ws:       ws,
		handler:  h,
		opts:     opts,
		out:      make(chan []byte, opts.SendQueue),
		done:     make(chan struct{}),
		pending:  make(map[string]chan *protocol.Message),
		running:  make(map[string]context.CancelFunc),
		inflight: make(chan struct{}, opts.MaxConcurrent),
		// The in-order queue holds at most this many messages; beyond
		// it the reader stops reading, which pushes back on the peer.
		serialSlots: make(chan struct{}, 256),
	}
}

// Run serves the connection until the peer goes away, ctx ends or Close is
// called. It reads in the calling goroutine and writes in one it owns, and
// returns only after every goroutine it started has finished.
func (c *Conn) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg conc.WaitGroup
	wg.Go(func() { c.writeLoop() })
	stop := context.AfterFunc(ctx, func() { c.Close(websocket.CloseGoingAway, "shutting down") })
	err := c.readLoop(ctx)
	stop()
	c.shutdown(err)
	cancel()
	c.workers.Wait()
	wg.Wait()
	_ = c.ws.Close()
	return c.Err()
}

// Done is closed when the connection starts shutting down.
func (c *Conn) Done() <-chan struct{} { return c.done }

// Err says why the connection ended (nil while it is open or after a clean
// close by either side).
func (c *Conn) Err() error {
	select {
	case <-c.done:
		return c.closeErr
	default:
		return nil
	}
}

// Close sends a close frame with code and reason, then ends the connection.
// It is safe to call more than once and from any goroutine.
// Close never blocks: the writer goroutine sends the close frame.
func (c *Conn) Close(code int, reason string) {
	var err error
	if code != websocket.CloseNormalClosure && code != websocket.CloseGoingAway {
		err = fmt.Errorf("closed: %d %s", code, reason)
	}
	c.closeWith(code, reason, err, false)
}

// closeWith ends the connection once. With abort, the socket is closed at
// once instead of saying goodbye: used for peers that stopped reading, to
// whom a close frame could not be written anyway.
func (c *Conn) closeWith(code int, reason string, err error, abort bool) {
	c.closeOnce.Do(func() {
		c.closeErr = err
		c.closeCode, c.closeReason = code, reason
		close(c.done)
		if abort && c.ws != nil {
			_ = c.ws.NetConn().Close()
		}
	})
}

func (c *Conn) shutdown(err error) {
	if err != nil && isNormalClose(err) {
		err = nil
	}
	c.closeWith(websocket.CloseNormalClosure, "", err, false)
	c.mu.Lock()
	for id, ch := range c.pending {
		close(ch)
		delete(c.pending, id)
	}
	for _, cancel := range c.running {
		cancel()
	}
	c.mu.Unlock()
}

func isNormalClose(err error) bool {
	return websocket.IsCloseError(err, websocket.CloseNormalClosure, websocket.CloseGoingAway, websocket.CloseNoStatusReceived)
}

// Notify sends a notification. It never blocks: if the peer's send queue
// is full the peer is disconnected and ErrSlowConsumer returned.
func (c *Conn) Notify(method string, params any) error {
	m, err := protocol.NewNotification(method, params)
	if err != nil {
		return err
	}
	return c.send(m)
}

// NotifyRaw sends an already encoded notification frame; fan-out encodes a
// message once and hands the same bytes to every connection.
func (c *Conn) NotifyRaw(frame []byte) error { return c.enqueue(frame) }

// Call sends a request and waits for its response, decoding the result into
// result (which may be nil). Cancelling ctx sends $/cancelRequest.
func (c *Conn) Call(ctx context.Context, method string, params, result any) error {
	id := protocol.NewNumberID(c.nextID.Add(1))
	m, err := protocol.NewRequest(id, method, params)
	if err != nil {
		return err
	}
	ch := make(chan *protocol.Message, 1)
	c.mu.Lock()
	select {
	case <-c.done:
		c.mu.Unlock()
		return ErrClosed
	default:
	}
	c.pending[id.String()] = ch
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.pending, id.String())
		c.mu.Unlock()
	}()
	if err := c.send(m); err != nil {
		return err
	}
	select {
	case resp, ok := <-ch:
		if !ok {
			return ErrClosed
		}
		if resp.Error != nil {
			return resp.Error
		}
		if result != nil && len(resp.Result) > 0 {
			if err := json.Unmarshal(resp.Result, result); err != nil {
				return fmt.Errorf("decode %s result: %w", method, err)
			}
		}
		return nil
	case <-ctx.Done():
		_ = c.Notify(protocol.MethodCancel, map[string]any{"id": id})
		return ctx.Err()
	case <-c.done:
		return ErrClosed
	}
}

func (c *Conn) send(m *protocol.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode %s: %w", m.Method, err)
	}
	return c.enqueue(b)
}

func (c *Conn) enqueue(b []byte) error {
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	if c.queued.Add(int64(len(b))) > c.opts.SendQueueBytes {
		c.queued.Add(-int64(len(b)))
		c.dropSlow()
		return ErrSlowConsumer
	}
	select {
	case c.out <- b:
		return nil
	default:
		c.queued.Add(-int64(len(b)))
		c.dropSlow()
		return ErrSlowConsumer
	}
}

func (c *Conn) dropSlow() {
	c.opts.Events.SlowConsumer()
	c.opts.Logger.Warn("dropping connection: peer is not reading", "queued_bytes", c.queued.Load())
	c.closeWith(websocket.ClosePolicyViolation, "send queue full: client is not reading", ErrSlowConsumer, true)
}

func (c *Conn) writeLoop() {
	var tick <-chan time.Time
	if c.opts.PingInterval > 0 {
		t := time.NewTicker(c.opts.PingInterval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case b := <-c.out:
			c.queued.Add(-int64(len(b)))
			_ = c.ws.SetWriteDeadline(time.Now().Add(c.opts.WriteTimeout))
			if err := c.ws.WriteMessage(websocket.TextMessage, b); err != nil {
				c.opts.Logger.Debug("write failed", "err", err)
				c.closeWith(websocket.CloseAbnormalClosure, "write failed", fmt.Errorf("write: %w", err), true)
				return
			}
		case <-tick:
			if err := c.ws.WriteControl(websocket.PingMessage, nil, time.Now().Add(c.opts.WriteTimeout)); err != nil {
				c.closeWith(websocket.CloseAbnormalClosure, "ping failed", fmt.Errorf("ping: %w", err), true)
				return
			}
		case <-c.done:
			// Say goodbye, then give the peer a second to answer before
			// the reader gives up on it.
			_ = c.ws.WriteControl(websocket.CloseMessage,
				websocket.FormatCloseMessage(c.closeCode, c.closeReason), time.Now().Add(time.Second))
			_ = c.ws.SetReadDeadline(time.Now().Add(time.Second))
			return
		}
	}
}

func (c *Conn) readDeadline() time.Time {
	if c.opts.PingInterval < 0 {
		return time.Time{}
	}
	return time.Now().Add(c.opts.PingInterval + c.opts.PongTimeout)
}

func (c *Conn) readLoop(ctx context.Context) error {
	hard := 4 * c.opts.MaxMessageBytes
	c.ws.SetReadLimit(hard)
	_ = c.ws.SetReadDeadline(c.readDeadline())
	c.ws.SetPongHandler(func(string) error {
		return c.ws.SetReadDeadline(c.readDeadline())
	})
	var buf bytes.Buffer
	for {
		typ, r, err := c.ws.NextReader()
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.opts.Events.ProtocolError("too_large")
				c.Close(websocket.CloseMessageTooBig, fmt.Sprintf("message larger than %d bytes", hard))
			}
			return err
		}
		_ = c.ws.SetReadDeadline(c.readDeadline())
		if typ != websocket.TextMessage {
			c.opts.Events.ProtocolError("binary")
			_, _ = io.Copy(io.Discard, r)
			c.reply(protocol.NullID, nil, protocol.Errorf(protocol.CodeInvalidRequest, "binary frames are not supported; send JSON-RPC as text frames"))
			continue
		}
		buf.Reset()
		n, err := buf.ReadFrom(io.LimitReader(r, c.opts.MaxMessageBytes+1))
		if err != nil {
			if errors.Is(err, websocket.ErrReadLimit) {
				c.opts.Events.ProtocolError("too_large")
				c.Close(websocket.CloseMessageTooBig, fmt.Sprintf("message larger than %d bytes", hard))
			}
			return err
		}
		if n > c.opts.MaxMessageBytes {
			id := peekID(buf.Bytes())
			if _, err := io.Copy(io.Discard, r); err != nil {
				if errors.Is(err, websocket.ErrReadLimit) {
					c.opts.Events.ProtocolError("too_large")
					c.Close(websocket.CloseMessageTooBig, fmt.Sprintf("message larger than %d bytes", hard))
				}
				return err
			}
			c.opts.Events.ProtocolError("too_large")
			c.reply(id, nil, protocol.Errorf(protocol.CodeMessageTooLarge,
				"message too large: the limit is %d bytes", c.opts.MaxMessageBytes))
			continue
		}
		// The buffer is reused, so the message must own its bytes.
		c.dispatch(ctx, bytes.Clone(buf.Bytes()))
		if buf.Cap() > 64<<10 {
			buf = bytes.Buffer{} // do not pin a large buffer on an idle connection
		}
	}
}

// dispatch classifies one frame and routes it.
func (c *Conn) dispatch(ctx context.Context, data []byte) {
	m, err := protocol.Decode(data)
	if err != nil {
		rpcErr, _ := protocol.AsError(err)
		kind := "invalid"
		if rpcErr.Code == protocol.CodeParseError {
			kind = "parse"
		}
		c.opts.Events.ProtocolError(kind)
		id := protocol.NullID
		if m != nil && !m.ID.IsZero() {
			id = m.ID
		}
		c.reply(id, nil, rpcErr)
		return
	}
	switch {
	case m.IsResponse():
		c.mu.Lock()
		ch := c.pending[m.ID.String()]
		delete(c.pending, m.ID.String())
		c.mu.Unlock()
		if ch != nil {
			ch <- m
		}
	case m.Method == protocol.MethodCancel:
		c.cancelRequest(m.Params)
	case m.IsRequest() && c.opts.Concurrent(m.Method):
		c.runConcurrent(ctx, m)
	default:
		c.enqueueSerial(ctx, m)
	}
}

func (c *Conn) cancelRequest(params json.RawMessage) {
	var p struct {
		ID protocol.ID `json:"id"`
	}
	if json.Unmarshal(params, &p) != nil || p.ID.IsZero() {
		return
	}
	c.mu.Lock()
	cancel := c.running[p.ID.String()]
	c.mu.Unlock()
	if cancel != nil {
		cancel()
	}
}

func (c *Conn) enqueueSerial(ctx context.Context, m *protocol.Message) {
	select {
	case c.serialSlots <- struct{}{}:
	case <-ctx.Done():
		return
	case <-c.done:
		return
	}
	c.mu.Lock()
	c.serial = append(c.serial, m)
	start := !c.serialRunning
	c.serialRunning = true
	c.mu.Unlock()
	if start {
		c.workers.Go(func() { c.drainSerial(ctx) })
	}
}

func (c *Conn) drainSerial(ctx context.Context) {
	for {
		c.mu.Lock()
		if len(c.serial) == 0 {
			c.serialRunning = false
			c.serial = nil
			c.mu.Unlock()
			return
		}
		m := c.serial[0]
		c.serial[0] = nil
		c.serial = c.serial[1:]
		c.mu.Unlock()
		c.handle(ctx, m)
		<-c.serialSlots
	}
}

func (c *Conn) runConcurrent(ctx context.Context, m *protocol.Message) {
	select {
	case c.inflight <- struct{}{}:
	case <-ctx.Done():
		return
	case <-c.done:
		return
	}
	c.workers.Go(func() {
		defer func() { <-c.inflight }()
		c.handle(ctx, m)
	})
}

// handle runs the Handler for one call with panic recovery and answers
// requests.
func (c *Conn) handle(ctx context.Context, m *protocol.Message) {
	if ctx.Err() != nil {
		return
	}
	if m.IsRequest() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(ctx)
		defer cancel()
		c.mu.Lock()
		c.running[m.ID.String()] = cancel
		c.mu.Unlock()
		defer func() {
			c.mu.Lock()
			delete(c.running, m.ID.String())
			c.mu.Unlock()
		}()
	}
	result, err := c.safeHandle(ctx, m)
	if !m.IsRequest() {
		return
	}
	if err != nil {
		rpcErr, ok := protocol.AsError(err)
		switch {
		case ok:
		case errors.Is(err, context.Canceled) && ctx.Err() != nil:
			rpcErr = protocol.Errorf(protocol.CodeRequestCancelled, "request cancelled")
		default:
			c.opts.Logger.Error("handler failed", "method", m.Method, "err", err)
			rpcErr = protocol.Errorf(protocol.CodeInternalError, "internal error handling %s", m.Method)
		}
		c.reply(m.ID, nil, rpcErr)
		return
	}
	c.reply(m.ID, result, nil)
}

func (c *Conn) safeHandle(ctx context.Context, m *protocol.Message) (result any, err error) {
	defer func() {
		if r := recover(); r != nil {
			c.opts.Events.Panic(m.Method)
			c.opts.Logger.Error("handler panicked", "method", m.Method, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			result, err = nil, protocol.Errorf(protocol.CodeInternalError, "internal error handling %s", m.Method)
		}
	}()
	return c.handler.Handle(ctx, c, m)
}

func (c *Conn) reply(id protocol.ID, result any, rpcErr *protocol.Error) {
	resp, err := protocol.NewResponse(id, result, rpcErr)
	if err != nil {
		c.opts.Logger.Error("encode response", "err", err)
		resp, _ = protocol.NewResponse(id, nil, protocol.Errorf(protocol.CodeInternalError, "internal error: result could not be encoded"))
	}
	_ = c.send(resp)
}

// peekID finds the top-level "id" of a frame that is too large to decode,
// reading only its beginning, so the error can still answer the right
// request. It returns NullID when the id comes after the part read.
func peekID(prefix []byte) protocol.ID {
	dec := json.NewDecoder(bytes.NewReader(prefix))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return protocol.NullID
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return protocol.NullID
		}
		key, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return protocol.NullID
		}
		if key == "id" {
			var id protocol.ID
			if id.UnmarshalJSON(raw) == nil && !id.IsZero() {
				return id
			}
			return protocol.NullID
		}
	}
	return protocol.NullID
}
