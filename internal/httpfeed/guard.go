package httpfeed

import (
	"fmt"
	"net/netip"
	"syscall"
)

// globalUnicast6 is the only IPv6 space with public hosts. Outside it lie
// loopback ::1, unspecified ::, IPv4-compatible ::/96, discard 100::/64,
// local NAT64 64:ff9b:1::/48, unique-local fc00::/7 (including the AWS
// metadata address fd00:ec2::254), link-local fe80::/10, site-local
// fec0::/10 and multicast ff00::/8.
var globalUnicast6 = netip.MustParsePrefix("2000::/3")

// nat64 is the well-known NAT64 prefix (RFC 6052): a gateway dials the IPv4
// address in its last 32 bits, so that address is the one to judge.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// nonPublic lists the special-purpose ranges (IANA registries, RFC 6890)
// that are not globally reachable, or hold nothing a feed is served from.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network", unspecified
	netip.MustParsePrefix("10.0.0.0/8"),      // private
	netip.MustParsePrefix("100.64.0.0/10"),   // carrier-grade NAT
	netip.MustParsePrefix("127.0.0.0/8"),     // loopback
	netip.MustParsePrefix("169.254.0.0/16"),  // link-local, cloud metadata 169.254.169.254
	netip.MustParsePrefix("172.16.0.0/12"),   // private
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast, deprecated
	netip.MustParsePrefix("192.168.0.0/16"),  // private
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("224.0.0.0/4"),     // multicast
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments: Teredo, benchmarking, ORCHID
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4: tunnels to an embedded IPv4 address
	netip.MustParsePrefix("3fff::/20"),       // documentation
}

// IsPublicAddr reports whether addr is a public internet address that a feed
// fetch may connect to.
func IsPublicAddr(addr netip.Addr) bool {
	// A zone only scopes link-local and multicast addresses.
	if !addr.IsValid() || addr.Zone() != "" {
		return false
	}
	addr = addr.Unmap()
	if nat64.Contains(addr) {
		embedded := addr.As16()
		addr = netip.AddrFrom4([4]byte(embedded[12:]))
	}
	if addr.Is6() && !globalUnicast6.Contains(addr) {
		return false
	}
	for _, prefix := range nonPublic {
		if prefix.Contains(addr) {
			return false
		}
	}
	return true
}

// dialGuard returns a net.Dialer Control function that refuses any
// connection to a non-public address; loopback passes when allowed.
func dialGuard(allowLoopback bool) func(network, address string, _ syscall.RawConn) error {
	return func(network, address string, _ syscall.RawConn) error {
		addrPort, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("unexpected %s address %q: %w", network, address, ErrBlockedAddress)
		}
		addr := addrPort.Addr().Unmap()
		if allowLoopback && addr.IsLoopback() {
			return nil
		}
		if !IsPublicAddr(addr) {
			return ErrBlockedAddress // the dialer's error already names the address
		}
		return nil
	}
}
