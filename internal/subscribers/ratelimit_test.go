package subscribers

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestClientKey(t *testing.T) {
	tests := []struct{ ip, want string }{
		{"192.0.2.7", "192.0.2.7"},
		{" 192.0.2.7 ", "192.0.2.7"},
		{"::ffff:1.2.3.4", "1.2.3.4"},
		{"::ffff:192.0.2.7", "192.0.2.7"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:DB8:1:2:aaaa::5", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"not an address", "unknown"},
		{"192.0.2.7:443", "unknown"},
		{"2001:db8::/64", "unknown"},
	}
	for _, tt := range tests {
		if got := ClientKey(tt.ip); got != tt.want {
			t.Errorf("ClientKey(%q) = %q, want %q", tt.ip, got, tt.want)
		}
	}
	same := func(a, b string) bool { return ClientKey(a) == ClientKey(b) }
	if !same("2001:db8:1:2::1", "2001:db8:1:2:dead:beef:0:42") {
		t.Error("two addresses of one /64 have different keys")
	}
	if same("2001:db8:1:2::1", "2001:db8:1:3::1") {
		t.Error("two /64s share a key")
	}
	if same("192.0.2.7", "192.0.2.8") {
		t.Error("two IPv4 addresses share a key")
	}
	if !same("::ffff:192.0.2.7", "192.0.2.7") {
		t.Error("an IPv4-mapped address is keyed apart from its IPv4 address")
	}
}

// An IPv6 client rotating through its /64 is one client to the limit.
func TestSignUpClientLimitPerIPv6Prefix(t *testing.T) {
	f := newFixture(t)
	var admitted int
	for i := range perClientPerHour + 5 {
		req := signUp(fmt.Sprintf("reader%d@example.org", i))
		req.ClientIP = fmt.Sprintf("2001:db8:1:2::%x", i+1)
		err := f.svc.Subscribe(ctx, req)
		if errors.Is(err, ErrRateLimited) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		admitted++
	}
	if admitted != perClientPerHour {
		t.Errorf("one /64 got %d sign-ups through, want %d", admitted, perClientPerHour)
	}
	req := signUp("other@example.org")
	req.ClientIP = "2001:db8:1:3::1"
	if err := f.svc.Subscribe(ctx, req); err != nil {
		t.Errorf("another /64 refused: %v", err)
	}
}

// recordingLimiter refuses the keys in refuse and records every key asked.
type recordingLimiter struct {
	refuse map[string]bool
	asked  []string
	limits map[string]int
}

func (l *recordingLimiter) Allow(_ context.Context, key string, limit int, window time.Duration) (bool, error) {
	l.asked = append(l.asked, key)
	if l.limits == nil {
		l.limits = map[string]int{}
	}
	l.limits[key] = limit
	if window != time.Hour && !strings.HasPrefix(key, "addr-d:") {
		return false, fmt.Errorf("key %s: window %s", key, window)
	}
	return !l.refuse[key], nil
}

func TestGlobalSignUpCap(t *testing.T) {
	f := newFixture(t)
	lim := &recordingLimiter{}
	f.svc.Limiter = lim
	if err := f.svc.Subscribe(ctx, signUp("ada@example.org")); err != nil {
		t.Fatal(err)
	}
	if lim.limits["global#signup"] != globalPerHour {
		t.Fatalf("keys asked %v, limits %v: want global#signup at %d an hour", lim.asked, lim.limits, globalPerHour)
	}
	if last := lim.asked[len(lim.asked)-1]; last != "global#signup" {
		t.Errorf("global cap asked before the narrower limits: %v", lim.asked)
	}
	sent := len(f.mail.sent)

	lim.refuse = map[string]bool{"global#signup": true}
	err := f.svc.Subscribe(ctx, signUp("bob@example.org"))
	if !errors.Is(err, ErrRateLimited) || !errors.Is(err, ErrBusy) || !strings.Contains(err.Error(), "across the service") {
		t.Errorf("sign-up over the global cap: %v, want ErrBusy", err)
	}
	if err := f.svc.RequestManageLink(ctx, "ada@example.org", "192.0.2.1"); !errors.Is(err, ErrBusy) {
		t.Errorf("manage link over the global cap: %v, want ErrBusy", err)
	}
	if len(f.mail.sent) != sent {
		t.Errorf("%d mails went out over the global cap", len(f.mail.sent)-sent)
	}
	if _, err := f.store.GetByEmail(ctx, "bob@example.org"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a sign-up over the global cap was stored (%v)", err)
	}
}
