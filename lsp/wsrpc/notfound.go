package wsrpc

import (
	"context"

	"github.com/rubberduckhub/rubberduck/lsp/protocol"
)

func notFound(_ context.Context, _ *Conn, m *protocol.Message) (any, error) {
	return nil, protocol.Errorf(protocol.CodeMethodNotFound, "method not found: %s", m.Method)
}
