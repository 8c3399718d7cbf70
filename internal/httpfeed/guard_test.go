package httpfeed

import (
	"errors"
	"net/netip"
	"testing"
)

func TestIsPublicAddr(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		// Public.
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"93.184.215.14", true},
		{"100.63.255.255", true},  // just below CGNAT
		{"100.128.0.0", true},     // just above CGNAT
		{"172.15.255.255", true},  // just below 172.16/12
		{"172.32.0.0", true},      // just above 172.16/12
		{"223.255.255.255", true}, // last before multicast
		{"2606:4700:4700::1111", true},
		{"2a00:1450:4001:80b::200e", true},
		{"::ffff:8.8.8.8", true},   // IPv4-mapped public
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2001:4860:4860::8888", true},

		// Loopback.
		{"127.0.0.1", false},
		{"127.255.255.254", false},
		{"::1", false},
		{"::ffff:127.0.0.1", false},
		// Private.
		{"10.0.0.1", false},
		{"10.255.255.255", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:192.168.0.1", false},
		{"fc00::1", false},
		{"fd12:3456:789a::1", false},
		// Link-local and cloud metadata.
		{"169.254.0.1", false},
		{"169.254.169.254", false},
		{"::ffff:169.254.169.254", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fd00:ec2::254", false},
		// Unspecified and "this network".
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"::", false},
		{"::ffff:0.0.0.0", false},
		// Multicast, broadcast, reserved.
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"255.255.255.255", false},
		{"240.0.0.1", false},
		{"ff02::1", false},
		{"ff05::2", false},
		// Carrier-grade NAT.
		{"100.64.0.1", false},
		{"100.127.255.255", false},
		// Documentation, benchmarking, protocol assignments.
		{"192.0.0.8", false},
		{"192.0.2.1", false},
		{"198.18.0.1", false},
		{"198.51.100.7", false},
		{"203.0.113.9", false},
		{"2001:db8::1", false},
		{"3fff::1", false},
		// Tunnels and translations that would reach inside.
		{"64:ff9b::7f00:1", false},    // NAT64 of 127.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"64:ff9b:1::a00:1", false},   // local-use NAT64
		{"2002:7f00:1::1", false},     // 6to4 of 127.0.0.1
		{"2001::1", false},            // Teredo
		{"::7f00:1", false},           // IPv4-compatible 127.0.0.1
		// Other non-global IPv6.
		{"fec0::1", false}, // site-local
		{"100::1", false},  // discard-only
	}
	for _, tt := range tests {
		addr := netip.MustParseAddr(tt.addr)
		if got := IsPublicAddr(addr); got != tt.want {
			t.Errorf("IsPublicAddr(%s) = %v, want %v", tt.addr, got, tt.want)
		}
	}
	if IsPublicAddr(netip.Addr{}) {
		t.Error("IsPublicAddr(zero Addr) = true, want false")
	}
}

func TestDialGuard(t *testing.T) {
	tests := []struct {
		address       string
		allowLoopback bool
		wantBlocked   bool
	}{
		{"8.8.8.8:443", false, false},
		{"[2606:4700:4700::1111]:80", false, false},
		{"127.0.0.1:8080", false, true},
		{"127.0.0.1:8080", true, false},
		{"[::1]:8080", false, true},
		{"[::1]:8080", true, false},
		{"[::ffff:127.0.0.1]:8080", true, false},
		{"10.0.0.1:80", true, true}, // the loopback allowance is only that
		{"169.254.169.254:80", true, true},
		{"[fd00:ec2::254]:80", true, true},
		{"0.0.0.0:80", true, true},
		{"not-an-address", true, true},
	}
	for _, tt := range tests {
		err := dialGuard(tt.allowLoopback)("tcp", tt.address, nil)
		if blocked := errors.Is(err, ErrBlockedAddress); blocked != tt.wantBlocked || (err != nil && !blocked) {
			t.Errorf("dial %s (allow loopback %v) = %v, want blocked %v", tt.address, tt.allowLoopback, err, tt.wantBlocked)
		}
	}
}
