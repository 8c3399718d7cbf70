package tokens

import (
	"strings"
	"testing"
	"time"
)

// FuzzTamper signs a fuzzed subject, purpose and expiry with a two-key ring,
// checks that the token verifies as signed, then damages it (replaces,
// inserts or deletes one byte at a fuzzed place) and checks that the damaged
// token never verifies, whatever purpose it is presented for: a token is
// accepted only as Sign wrote it.
func FuzzTamper(f *testing.F) {
	ring := newRing(f, "k1", "k1", "k2")
	other := newRing(f, "k2", "k1", "k2") // signs with k2, verifies with both
	// Purposes stable across the package's history; the index picks one.
	purposes := []Purpose{Confirm, Preferences, Unsubscribe, Session}
	for _, seed := range []struct {
		subject string
		purpose uint8
		expiry  int64
		useK2   bool
		op      uint8
		pos     uint16
		b       byte
		as      string
	}{
		{"sub-42", 1, future.Unix(), false, 0, 0, 'x', "preferences"},
		{"sub-42", 1, future.Unix(), false, 0, 3, '2', "preferences"}, // key id k1 -> k2
		{"sub-42", 2, 0, false, 1, 40, '.', "unsubscribe"},
		{"jane@example.org", 0, future.Unix(), true, 2, 10, 0, "confirm"},
		{"a.b/c", 0, 0, false, 0, 65535, 'A', "confirm"},
		{"ü", 3, now.Add(-time.Second).Unix(), false, 0, 20, '1', "session"},
		{"s1", 1, 1, false, 2, 0, 0, "preferences"},
		{strings.Repeat("x", maxSubjectBytes), 2, future.Unix(), true, 1, 300, 'Q', "unsubscribe"},
		{"sub", 1, future.Unix(), false, 0, 6, '-', "confirm"}, // and the wrong purpose
	} {
		f.Add(seed.subject, seed.purpose, seed.expiry, seed.useK2, seed.op, seed.pos, seed.b, seed.as)
	}
	f.Fuzz(func(t *testing.T, subject string, purposeIndex uint8, expiry int64, useK2 bool, op uint8, pos uint16, b byte, as string) {
		if subject == "" || len(subject) > maxSubjectBytes || expiry < 0 || expiry > 1<<40 {
			return // Sign refuses these as caller bugs
		}
		purpose := purposes[int(purposeIndex)%len(purposes)]
		expires := time.Time{}
		if expiry != 0 {
			expires = time.Unix(expiry, 0)
		}
		signer := ring
		if useK2 {
			signer = other
		}
		token := signer.Sign(subject, purpose, expires)

		got, err := ring.Verify(token, purpose, now)
		switch {
		case expiry != 0 && !now.Before(expires):
			if !Invalid(err) || got != "" {
				t.Fatalf("expired token verified: subject %q, err %v", got, err)
			}
		case err != nil || got != subject:
			t.Fatalf("Verify(Sign(%q)) = %q, %v", subject, got, err)
		}
		if Purpose(as) != purpose {
			if got, err := ring.Verify(token, Purpose(as), now); err == nil || !Invalid(err) || got != "" {
				t.Fatalf("token for %q accepted for %q: %q, %v", purpose, as, got, err)
			}
		}

		i := int(pos) % (len(token) + 1)
		var damaged string
		switch op % 3 {
		case 0:
			if i == len(token) {
				i--
			}
			damaged = token[:i] + string([]byte{b}) + token[i+1:]
		case 1:
			damaged = token[:i] + string([]byte{b}) + token[i:]
		default:
			if i == len(token) {
				i--
			}
			damaged = token[:i] + token[i+1:]
		}
		if damaged == token {
			return
		}
		for _, p := range []Purpose{purpose, Purpose(as)} {
			got, err := ring.Verify(damaged, p, now)
			if err == nil || got != "" {
				t.Fatalf("damaged token %q (from %q) verified for %q: subject %q", damaged, token, p, got)
			}
			if !Invalid(err) {
				t.Fatalf("Verify error %v is not Invalid", err)
			}
		}
	})
}
