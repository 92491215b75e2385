package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// ErrBlocked is wrapped by errors for connections to an address the SSRF
// guard refuses.
var ErrBlocked = errors.New("httpclient: address is not allowed")

// blockedPrefixes are the non-public ranges that the netip predicates
// (loopback, private, link-local, multicast, unspecified) do not already
// cover. It is an immutable table.
var blockedPrefixes = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT / shared address space
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/32"),       // Teredo (hides an IPv4 address)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64
}

// Prefixes of IPv6 forms that embed an IPv4 address, checked as that IPv4
// address.
var (
	ipv4Compatible = netip.MustParsePrefix("::/96")
	nat64          = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour      = netip.MustParsePrefix("2002::/16")
)

// Blocked reports whether the SSRF guard refuses ip when no allow-list
// applies: loopback, private (RFC 1918, ULA — which holds the AWS metadata
// address fd00:ec2::254), link-local (which holds 169.254.169.254),
// CGNAT, multicast, unspecified, reserved and documentation ranges, and
// the IPv4-mapped, IPv4-compatible, NAT64 and 6to4 forms of blocked IPv4
// addresses.
func Blocked(ip netip.Addr) bool {
	ip = ip.WithZone("")
	if !ip.IsValid() {
		return true
	}
	if ip.Is4In6() {
		return Blocked(ip.Unmap())
	}
	if ip.Is6() {
		b := ip.As16()
		switch {
		case ipv4Compatible.Contains(ip):
			// ::a.b.c.d (and :: and ::1, blocked either way).
			return true
		case nat64.Contains(ip):
			return Blocked(netip.AddrFrom4([4]byte(b[12:16])))
		case sixToFour.Contains(ip):
			if Blocked(netip.AddrFrom4([4]byte(b[2:6]))) {
				return true
			}
		}
	}
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.IsUnspecified() {
		return true
	}
	for _, p := range blockedPrefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// ParseAllowList parses PARLEY_HTTP_ALLOW: comma-separated CIDRs (a bare
// address means just that address). Blank entries are skipped.
func ParseAllowList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if !strings.Contains(part, "/") {
			a, err := netip.ParseAddr(part)
			if err != nil {
				return nil, fmt.Errorf("PARLEY_HTTP_ALLOW: %q is not a CIDR or an address: %w", part, err)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("PARLEY_HTTP_ALLOW: %q is not a CIDR: %w", part, err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// Guard is the SSRF policy for one kind of outgoing call: the addresses
// Blocked refuses, less the prefixes the operator allows
// (PARLEY_HTTP_ALLOW) and exact addresses a component allows for itself
// (the sandbox's fake Graph API). It checks the address actually dialled,
// so DNS rebinding cannot slip past it. Safe for concurrent use.
type Guard struct {
	mu    sync.RWMutex
	allow []netip.Prefix
	exact map[netip.AddrPort]bool
}

// NewGuard returns a guard allowing the prefixes.
func NewGuard(allow ...netip.Prefix) *Guard {
	return &Guard{allow: append([]netip.Prefix(nil), allow...), exact: map[netip.AddrPort]bool{}}
}

// AllowAddr allows exactly one address and port, e.g. the sandbox's.
func (g *Guard) AllowAddr(ap netip.AddrPort) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.exact[netip.AddrPortFrom(ap.Addr().Unmap().WithZone(""), ap.Port())] = true
}

// Check returns an error wrapping ErrBlocked when ap may not be dialled.
func (g *Guard) Check(ap netip.AddrPort) error {
	ip := ap.Addr().WithZone("")
	g.mu.RLock()
	defer g.mu.RUnlock()
	if g.exact[netip.AddrPortFrom(ip.Unmap(), ap.Port())] {
		return nil
	}
	for _, p := range g.allow {
		if p.Contains(ip) || (ip.Is4In6() && p.Contains(ip.Unmap())) {
			return nil
		}
	}
	if Blocked(ip) {
		// The address is not named: a caller probing the network through
		// the guard must not learn what internal names resolve to.
		return errBlockedAddr
	}
	return nil
}

// errBlockedAddr is the guard's refusal, deliberately without the address.
var errBlockedAddr = fmt.Errorf("%w: the host resolves to a loopback, private, link-local or reserved address (an operator can allow ranges with PARLEY_HTTP_ALLOW)", ErrBlocked)

// Control is a net.Dialer Control function: it runs after DNS resolution,
// just before connecting, with the address really dialled.
func (g *Guard) Control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot parse the dialled address", ErrBlocked)
	}
	return g.Check(ap)
}

// CheckURL resolves a URL's host and checks every address it has, for a
// clear answer when a URL is saved (dialling checks again). It returns an
// error wrapping ErrBlocked, naming no address, when one is refused, and
// another error when the host cannot be resolved.
func (g *Guard) CheckURL(ctx context.Context, u *url.URL) error {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	p, err := strconv.ParseUint(port, 10, 16)
	if err != nil {
		return fmt.Errorf("the port %q is not a number", port)
	}
	host := u.Hostname()
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else if addrs, err = net.DefaultResolver.LookupNetIP(ctx, "ip", host); err != nil {
		return fmt.Errorf("resolving %s: %w", host, err)
	}
	for _, a := range addrs {
		if g.Check(netip.AddrPortFrom(a, uint16(p))) != nil {
			return fmt.Errorf("%w: %s resolves to a loopback, private or otherwise internal address", ErrBlocked, host)
		}
	}
	return nil
}
