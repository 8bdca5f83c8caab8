package hub

import (
	"fmt"
	"net"
	"net/http"
	"strings"

	"github.com/realclientip/realclientip-go"
)

// clientAddrs finds the address of the person behind a request. Directly
// connected clients are their TCP peer. Behind a reverse proxy every
// request comes from the proxy, so the failed-login limit (per address)
// would lock everyone out together and the audit trail would name only the
// proxy; for peers in Config.TrustedProxies the address is taken from
// X-Forwarded-For instead: the rightmost entry not itself a trusted proxy,
// the one a client cannot forge.
type clientAddrs struct {
	trusted []net.IPNet
	header  realclientip.RightmostTrustedRangeStrategy
}

func newClientAddrs(proxies []string) (*clientAddrs, error) {
	if len(proxies) == 0 {
		return &clientAddrs{}, nil
	}
	ranges, err := realclientip.AddressesAndRangesToIPNets(proxies...)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	strat, err := realclientip.NewRightmostTrustedRangeStrategy("X-Forwarded-For", ranges)
	if err != nil {
		return nil, fmt.Errorf("trusted proxies: %w", err)
	}
	return &clientAddrs{trusted: ranges, header: strat}, nil
}

// viaTrustedProxy reports whether r's TCP peer is a trusted proxy.
func (c *clientAddrs) viaTrustedProxy(r *http.Request) bool {
	if len(c.trusted) == 0 {
		return false
	}
	ip := net.ParseIP(realclientip.RemoteAddrStrategy{}.ClientIP(nil, r.RemoteAddr))
	if ip == nil {
		return false
	}
	for _, n := range c.trusted {
		if n.Contains(ip) {
			return true
		}
	}
	return false
}

// of returns the client's address for rate limits, logs and the audit
// trail: the TCP peer, or what a trusted proxy says it forwarded for.
func (c *clientAddrs) of(r *http.Request) string {
	if c.viaTrustedProxy(r) {
		if ip := c.header.ClientIP(r.Header, r.RemoteAddr); ip != "" {
			return ip
		}
	}
	return r.RemoteAddr
}

// secure reports whether the browser reached the hub over HTTPS: directly,
// or through a trusted proxy that terminated TLS (X-Forwarded-Proto).
func (c *clientAddrs) secure(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return c.viaTrustedProxy(r) && strings.EqualFold(strings.TrimSpace(strings.Split(r.Header.Get("X-Forwarded-Proto"), ",")[0]), "https")
}
