package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParseTrustedProxies parses PARLEY_TRUSTED_PROXIES: comma-separated CIDRs
// or addresses of reverse proxies whose X-Forwarded-For is believed.
func ParseTrustedProxies(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if a, err := netip.ParseAddr(part); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("PARLEY_TRUSTED_PROXIES: %q is not a CIDR or an address", part)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// clientAddr is the caller's IP address: the connection's peer, or, when
// that peer is a trusted proxy, the nearest address in X-Forwarded-For that
// is not one. Untrusted peers cannot choose their address by sending the
// header, so the login throttle cannot be dodged with it.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	peer = peer.Unmap()
	isTrusted := func(a netip.Addr) bool {
		for _, p := range trusted {
			if p.Contains(a) {
				return true
			}
		}
		return false
	}
	if !isTrusted(peer) {
		return peer.String()
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break
		}
		if a = a.Unmap(); !isTrusted(a) {
			return a.String()
		}
	}
	return peer.String()
}

func clientAddrFrom(ctx context.Context) string {
	s, _ := ctx.Value(keyClientAddr).(string)
	return s
}
