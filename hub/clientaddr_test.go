package hub

import (
	"crypto/tls"
	"net/http"
	"testing"
)

// TestClientAddress: behind a trusted reverse proxy the client is the
// rightmost X-Forwarded-For entry that is not a trusted proxy itself;
// anyone else's X-Forwarded-For (a client forging it) is ignored.
func TestClientAddress(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		remote  string
		xff     string
		proto   string
		tls     bool
		want    string
		secure  bool
	}{
		{name: "no proxy configured", remote: "203.0.113.7:5000", xff: "1.2.3.4", want: "203.0.113.7:5000"},
		{name: "trusted proxy", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.2:41000", xff: "198.51.100.9", want: "198.51.100.9"},
		{name: "chain of trusted proxies", trusted: []string{"10.0.0.0/8", "127.0.0.1"}, remote: "127.0.0.1:41000", xff: "198.51.100.9, 10.1.1.1", want: "198.51.100.9"},
		{name: "client forges a prefix", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.2:41000", xff: "6.6.6.6, 198.51.100.9", want: "198.51.100.9"},
		{name: "untrusted peer's header ignored", trusted: []string{"10.0.0.0/8"}, remote: "203.0.113.7:5000", xff: "1.2.3.4", proto: "https", want: "203.0.113.7:5000"},
		{name: "trusted proxy without header", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.2:41000", want: "10.0.0.2:41000"},
		{name: "TLS at the proxy", trusted: []string{"10.0.0.2"}, remote: "10.0.0.2:41000", xff: "198.51.100.9", proto: "https", want: "198.51.100.9", secure: true},
		{name: "TLS at the hub", remote: "203.0.113.7:5000", tls: true, want: "203.0.113.7:5000", secure: true},
		{name: "IPv6 proxy", trusted: []string{"fd00::/8"}, remote: "[fd00::1]:443", xff: "2001:db8::5", want: "2001:db8::5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := newClientAddrs(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			r := &http.Request{RemoteAddr: tt.remote, Header: http.Header{}}
			if tt.xff != "" {
				r.Header.Set("X-Forwarded-For", tt.xff)
			}
			if tt.proto != "" {
				r.Header.Set("X-Forwarded-Proto", tt.proto)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := c.of(r); got != tt.want {
				t.Errorf("client = %q, want %q", got, tt.want)
			}
			if got := c.secure(r); got != tt.secure {
				t.Errorf("secure = %v, want %v", got, tt.secure)
			}
		})
	}
}

func TestTrustedProxiesMustParse(t *testing.T) {
	if _, err := newClientAddrs([]string{"10.0.0.0/33"}); err == nil {
		t.Fatal("an invalid range was accepted")
	}
}
