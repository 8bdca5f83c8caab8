package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
)

// Standard JSON-RPC 2.0 and LSP error codes. Clients branch on them, so they
// never change meaning.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
	// CodeServerNotInitialized answers any request before initialize, as LSP requires.
	CodeServerNotInitialized = -32002
	// CodeRequestCancelled answers a request the client cancelled with $/cancelRequest.
	CodeRequestCancelled = -32800
)

// RubberDuck's own error codes, in the JSON-RPC range reserved for
// implementations (-32000 to -32099). docs/protocol.md lists them.
const (
	// CodeMessageTooLarge: a frame exceeded the hub's message size limit.
	CodeMessageTooLarge = -32001
	// CodeUnauthorized: the credential is missing, wrong, expired or revoked.
	CodeUnauthorized = -32010
	// CodeNotFound: no such project, file or object — or one the caller may
	// not know exists, which is deliberately indistinguishable.
	CodeNotFound = -32011
	// CodeForbidden: the caller is a member but their role does not allow this.
	CodeForbidden = -32012
	// CodeConflict: an optimistic-concurrency check (etag, version) failed.
	CodeConflict = -32013
	// CodeInvalidPath: a path was refused by the sandbox's validator.
	CodeInvalidPath = -32014
	// CodeTooLarge: a payload (file, search result) exceeds a configured limit.
	CodeTooLarge = -32015
	// CodeRateLimited: slow down; data.retryAfterMs says when to try again.
	CodeRateLimited = -32016
	// CodeUnavailable: a dependency (store, provider) cannot serve now.
	CodeUnavailable = -32017
	// CodeNotJoined: the request names a project this connection has not joined.
	CodeNotJoined = -32018
	// CodeExists: the target of a create already exists.
	CodeExists = -32019
	// CodeUnsupported: the operation is not allowed on this kind of object.
	CodeUnsupported = -32020
	// CodeShuttingDown: the hub is stopping; reconnect later.
	CodeShuttingDown = -32021
)

// Error is a JSON-RPC error object. Handlers return it (or wrap it) to choose
// the code a client sees; any other error becomes CodeInternalError with a
// generic message, so internal details never leak to clients.
type Error struct {
	Code    int64           `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

// Error implements error.
func (e *Error) Error() string { return fmt.Sprintf("jsonrpc error %d: %s", e.Code, e.Message) }

// Errorf builds an *Error with a formatted message.
func Errorf(code int64, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithData returns a copy of e carrying data, marshalled to JSON.
func (e *Error) WithData(data any) *Error {
	c := *e
	if b, err := json.Marshal(data); err == nil {
		c.Data = b
	}
	return &c
}

// AsError finds the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

// ID is a JSON-RPC request id: a number or a string, kept in its original
// JSON form so a response echoes exactly what the client sent.
type ID struct{ raw json.RawMessage }

// NewNumberID makes an id from an integer, for requests we originate.
func NewNumberID(n int64) ID { return ID{raw: json.RawMessage(fmt.Sprint(n))} }

// NullID is the id of a response to a message whose id could not be read
// (a parse error), which JSON-RPC 2.0 requires to be null.
var NullID = ID{raw: json.RawMessage("null")}

// IsZero reports whether the id is absent (a notification).
func (id ID) IsZero() bool { return len(id.raw) == 0 }

// String returns the id's JSON text, handy as a map key and in logs.
func (id ID) String() string { return string(id.raw) }

// MarshalJSON implements json.Marshaler; an absent id encodes as null.
func (id ID) MarshalJSON() ([]byte, error) {
	if len(id.raw) == 0 {
		return []byte("null"), nil
	}
	return id.raw, nil
}

// UnmarshalJSON accepts numbers and strings, as JSON-RPC 2.0 allows, and
// rejects other JSON types.
func (id *ID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
		return errors.New("empty id")
	case bytes.Equal(b, []byte("null")):
		id.raw = nil
		return nil
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("id: %w", err)
		}
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return fmt.Errorf("id: %w", err)
		}
	default:
		return errors.New("id must be a number or a string")
	}
	id.raw = append(json.RawMessage(nil), b...)
	return nil
}

// Message is the JSON-RPC 2.0 envelope of every frame: a request (ID and
// Method), a notification (Method only) or a response (ID and Result or
// Error). Decoding into one type keeps the read path allocation-light and
// lets one function classify a frame.
type Message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      ID              `json:"id,omitzero"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// IsRequest reports whether m expects a response.
func (m *Message) IsRequest() bool { return m.Method != "" && !m.ID.IsZero() }

// IsNotification reports whether m is a method call without a response.
func (m *Message) IsNotification() bool { return m.Method != "" && m.ID.IsZero() }

// IsResponse reports whether m answers one of our requests.
func (m *Message) IsResponse() bool { return m.Method == "" && !m.ID.IsZero() }

// Decode parses one frame and checks it is a well-formed JSON-RPC 2.0
// message. A parse failure returns an *Error with CodeParseError; a
// structurally wrong message returns CodeInvalidRequest together with
// whatever id could be read, so the caller can still answer it.
func Decode(data []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(data, &m); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) || !json.Valid(data) {
			return nil, Errorf(CodeParseError, "parse error: %v", err)
		}
		// Valid JSON of the wrong shape (e.g. an array, a bad id type).
		return &m, Errorf(CodeInvalidRequest, "invalid request: %v", err)
	}
	if m.JSONRPC != "2.0" {
		return &m, Errorf(CodeInvalidRequest, `invalid request: "jsonrpc" must be "2.0"`)
	}
	if m.Method == "" && m.ID.IsZero() {
		return &m, Errorf(CodeInvalidRequest, "invalid request: neither method nor id")
	}
	if m.Method != "" && (m.Result != nil || m.Error != nil) {
		return &m, Errorf(CodeInvalidRequest, "invalid request: a call cannot carry result or error")
	}
	return &m, nil
}

// NewRequest builds a request envelope.
func NewRequest(id ID, method string, params any) (*Message, error) {
	p, err := marshalParams(params)
	if err != nil {
		return nil, fmt.Errorf("marshal %s params: %w", method, err)
	}
	return &Message{JSONRPC: "2.0", ID: id, Method: method, Params: p}, nil
}

// NewNotification builds a notification envelope.
func NewNotification(method string, params any) (*Message, error) {
	p, err := marshalParams(params)
	if err != nil {
		return nil, fmt.Errorf("marshal %s params: %w", method, err)
	}
	return &Message{JSONRPC: "2.0", Method: method, Params: p}, nil
}

// NewResponse builds a response to id carrying either result or rpcErr.
func NewResponse(id ID, result any, rpcErr *Error) (*Message, error) {
	m := &Message{JSONRPC: "2.0", ID: id}
	if rpcErr != nil {
		m.Error = rpcErr
		return m, nil
	}
	if result == nil {
		m.Result = json.RawMessage("null")
		return m, nil
	}
	b, err := json.Marshal(result)
	if err != nil {
		return nil, fmt.Errorf("marshal result: %w", err)
	}
	m.Result = b
	return m, nil
}

func marshalParams(params any) (json.RawMessage, error) {
	if params == nil {
		return nil, nil
	}
	if raw, ok := params.(json.RawMessage); ok {
		return raw, nil
	}
	return json.Marshal(params)
}
