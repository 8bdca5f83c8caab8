package hub_test

import (
	"strings"
	"testing"
	"time"

	"github.com/rubberduckhub/rubberduck/hub/hubtest"
	"github.com/rubberduckhub/rubberduck/lsp/protocol"
	"github.com/rubberduckhub/rubberduck/lsp/wsrpc"
)

// addPerson creates a user with a token and, when role is not empty, a
// role in the demo project; it returns the token.
func addPerson(t *testing.T, owner *wsrpc.Client, name, role string) string {
	t.Helper()
	if err := owner.Call(ctx(t), protocol.MethodUserAdd, protocol.UserAddParams{Name: name}, nil); err != nil {
		t.Fatal(err)
	}
	var tok protocol.TokenCreateResult
	if err := owner.Call(ctx(t), protocol.MethodTokenCreate, protocol.TokenCreateParams{User: name, Name: "test"}, &tok); err != nil {
		t.Fatal(err)
	}
	if role != "" {
		if err := owner.Call(ctx(t), protocol.MethodProjectGrant, protocol.GrantParams{Project: "demo", User: name, Role: role}, nil); err != nil {
			t.Fatal(err)
		}
	}
	return tok.Token
}

func TestMembershipDecidesWhatAPersonSees(t *testing.T) {
	h := hubtest.Start(t)
	owner := h.Connect(t)
	tests := []struct {
		role     string
		wantJoin int64 // 0: joins
	}{
		{"owner", 0},
		{"writer", 0},
		{"reader", 0},
		{"", protocol.CodeNotFound}, // a non-member is told the project does not exist
	}
	for i, tt := range tests {
		t.Run("role "+tt.role, func(t *testing.T) {
			tok := addPerson(t, owner, "person"+string(rune('a'+i)), tt.role)
			c := h.DialWith(t, hubtest.Auth(tok), nil)
			hubtest.Initialize(t, c, "")
			var res protocol.JoinResult
			err := c.Call(ctx(t), protocol.MethodProjectJoin, protocol.JoinParams{Project: "demo"}, &res)
			if rpcCode(err) != tt.wantJoin {
				t.Fatalf("join = %v, want code %d", err, tt.wantJoin)
			}
			missing := c.Call(ctx(t), protocol.MethodProjectJoin, protocol.JoinParams{Project: "no-such-project"}, nil)
			if tt.wantJoin != 0 && strings.ReplaceAll(missing.Error(), "no-such-project", "demo") != err.Error() {
				t.Fatalf("non-member sees %q, missing project %q: they must be identical", err, missing)
			}
			if tt.wantJoin == 0 && res.Role != tt.role {
				t.Fatalf("role = %q, want %q", res.Role, tt.role)
			}
		})
	}
}

func TestRevocationClosesLiveConnectionsWithinOneSecond(t *testing.T) {
	h := hubtest.Start(t)
	owner := h.Connect(t)
	tests := []struct {
		name   string
		revoke func(t *testing.T, user, tokenID string)
	}{
		{"token revoked", func(t *testing.T, _, tokenID string) {
			if err := owner.Call(ctx(t), protocol.MethodTokenRevoke, protocol.TokenRef{ID: tokenID}, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"role revoked", func(t *testing.T, user, _ string) {
			if err := owner.Call(ctx(t), protocol.MethodProjectRevoke, protocol.RevokeParams{Project: "demo", User: user}, nil); err != nil {
				t.Fatal(err)
			}
		}},
		{"user removed", func(t *testing.T, user, _ string) {
			if err := owner.Call(ctx(t), protocol.MethodUserRemove, protocol.UserRef{User: user}, nil); err != nil {
				t.Fatal(err)
			}
		}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			user := "revokee" + string(rune('a'+i))
			if err := owner.Call(ctx(t), protocol.MethodUserAdd, protocol.UserAddParams{Name: user}, nil); err != nil {
				t.Fatal(err)
			}
			var tok struct {
				Token string `json:"token"`
				Info  struct {
					ID string `json:"id"`
				} `json:"info"`
			}
			if err := owner.Call(ctx(t), protocol.MethodTokenCreate, protocol.TokenCreateParams{User: user, Name: "t"}, &tok); err != nil {
				t.Fatal(err)
			}
			if err := owner.Call(ctx(t), protocol.MethodProjectGrant, protocol.GrantParams{Project: "demo", User: user, Role: "writer"}, nil); err != nil {
				t.Fatal(err)
			}
			c := h.DialWith(t, hubtest.Auth(tok.Token), nil)
			hubtest.Initialize(t, c, "demo")

			start := time.Now()
			tt.revoke(t, user, tok.Info.ID)
			select {
			case <-c.Done():
				if d := time.Since(start); d > time.Second {
					t.Fatalf("connection closed after %v, want within 1s", d)
				}
			case <-time.After(time.Second):
				t.Fatal("live connection still open 1s after the revocation")
			}
			// And the credential or role no longer opens anything.
			if tt.name != "role revoked" {
				if _, err := wsrpc.Dial(ctx(t), h.LSPURL(), hubtest.Auth(tok.Token), nil, wsrpc.Options{}); err == nil {
					t.Fatal("revoked credential still accepted")
				}
			}
		})
	}
}
