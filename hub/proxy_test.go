package hub_test

import (
	"net/http"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/rubberduckhub/rubberduck/hub"
	"github.com/rubberduckhub/rubberduck/hub/hubtest"
)

// TestFailedLoginLimitIsPerClientBehindATrustedProxy: behind a reverse
// proxy every connection comes from the proxy; with the proxy trusted, the
// failed-login limit counts each client (X-Forwarded-For) on its own, so
// one person guessing tokens does not lock everyone else out.
func TestFailedLoginLimitIsPerClientBehindATrustedProxy(t *testing.T) {
	h := hubtest.Start(t, func(c *hub.Config) { c.TrustedProxies = []string{"127.0.0.1"} })
	dial := func(client, token string) int {
		hdr := http.Header{"Authorization": {"Bearer " + token}, "X-Forwarded-For": {client}}
		c, resp, err := websocket.DefaultDialer.Dial(h.LSPURL(), hdr)
		if err == nil {
			_ = c.Close()
			return http.StatusSwitchingProtocols
		}
		if resp == nil {
			t.Fatal(err)
		}
		return resp.StatusCode
	}
	got429 := false
	for range 20 {
		if dial("198.51.100.1", "rd_wrong") == http.StatusTooManyRequests {
			got429 = true
			break
		}
	}
	if !got429 {
		t.Fatal("the guessing client was never limited")
	}
	if code := dial("198.51.100.2", h.Token); code != http.StatusSwitchingProtocols {
		t.Fatalf("another client behind the same proxy got %d; want the upgrade", code)
	}
	if code := dial("198.51.100.1", h.Token); code != http.StatusTooManyRequests {
		t.Fatalf("the limited client got %d with a valid token; want 429 until its budget refills", code)
	}
}
