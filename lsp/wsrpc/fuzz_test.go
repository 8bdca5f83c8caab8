package wsrpc

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

// FuzzDispatch feeds arbitrary frames through decode and dispatch. The
// properties: nothing panics, and every frame that is not a notification or
// a response gets exactly one well-formed reply.
func FuzzDispatch(f *testing.F) {
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"echo","params":{"a":1}}`,
		`{"jsonrpc":"2.0","method":"note","params":[1]}`,
		`{"jsonrpc":"2.0","id":"s","result":null}`,
		`{"jsonrpc":"2.0","id":1,"method":"boom"}`,
		`{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":1}}`,
		`{"jsonrpc":"2.0","id":1e400,"method":"echo"}`,
		`{"jsonrpc":"2.0","id":-0.5,"method":"echo"}`,
		`{"jsonrpc":"2.0","id":null,"method":"echo"}`,
		`{"jsonrpc":"2.0","id":1,"method":"echo","result":1}`,
		`[]`, `null`, `"str"`, `{`, "\xff\xfe", `{"jsonrpc":"2.0","id":[1]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h := HandlerFunc(func(ctx context.Context, c *Conn, m *protocol.Message) (any, error) {
			switch m.Method {
			case "boom":
				panic("fuzz")
			case "echo":
				return m.Params, nil
			}
			return nil, nil
		})
		c := New(nil, h, Options{SendQueue: 16})
		c.dispatch(context.Background(), data)
		c.workers.Wait()
		close(c.out)
		for frame := range c.out {
			var m protocol.Message
			if err := json.Unmarshal(frame, &m); err != nil {
				t.Fatalf("reply is not JSON: %s", frame)
			}
			if m.JSONRPC != "2.0" || (m.Result == nil) == (m.Error == nil) {
				t.Fatalf("malformed reply: %s", frame)
			}
		}
	})
}
