package tokens

import (
	"crypto/sha256"
	"errors"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

var (
	now    = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	future = now.Add(48 * time.Hour)
)

var allPurposes = []Purpose{Confirm, Preferences, Unsubscribe, Export, Erase, Session, Archive}

// testKey derives a distinct 32-byte key per name, so tests need no key
// literals.
func testKey(name string) []byte {
	sum := sha256.Sum256([]byte("radiogram test key " + name))
	return sum[:]
}

func newRing(t testing.TB, current string, ids ...string) *Keyring {
	t.Helper()
	keys := make(map[string][]byte, len(ids))
	for _, id := range ids {
		keys[id] = testKey(id)
	}
	ring, err := NewKeyring(current, keys)
	if err != nil {
		t.Fatalf("NewKeyring: %v", err)
	}
	return ring
}

// signFields builds a token from raw fields with a valid MAC under the key
// named keyID, to reach the checks Verify makes after the MAC.
func signFields(ver, keyID, subject, purpose, expiry string) string {
	signed := strings.Join([]string{ver, keyID, subject, purpose, expiry}, ".")
	return signed + "." + b64.EncodeToString(mac(testKey(keyID), signed))
}

// replaceField swaps one dot-separated field of a token.
func replaceField(token string, i int, value string) string {
	fields := strings.Split(token, ".")
	fields[i] = value
	return strings.Join(fields, ".")
}

// flipChar toggles the lowest bit of the base64url character at index i of
// field f: the result is still base64url, and in the last character of the
// MAC the bit toggled is one of the unused ones.
func flipChar(token string, f, i int) string {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	fields := strings.Split(token, ".")
	b := []byte(fields[f])
	b[i] = alphabet[strings.IndexByte(alphabet, b[i])^1]
	fields[f] = string(b)
	return strings.Join(fields, ".")
}

func TestRoundTrip(t *testing.T) {
	ring := newRing(t, "k1", "k1")
	for _, purpose := range allPurposes {
		for _, expires := range []time.Time{{}, future} {
			name := string(purpose) + "/never"
			if !expires.IsZero() {
				name = string(purpose) + "/expiring"
			}
			t.Run(name, func(t *testing.T) {
				token := ring.Sign("sub-42", purpose, expires)
				got, err := ring.Verify(token, purpose, now)
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if got != "sub-42" {
					t.Errorf("subject = %q, want %q", got, "sub-42")
				}
			})
		}
	}
}

func TestNeverExpiringTokenVerifiesFarAhead(t *testing.T) {
	ring := newRing(t, "k1", "k1")
	token := ring.Sign("sub-42", Unsubscribe, time.Time{})
	if _, err := ring.Verify(token, Unsubscribe, now.AddDate(50, 0, 0)); err != nil {
		t.Errorf("Verify 50 years on: %v", err)
	}
}

func TestSubjectsRoundTrip(t *testing.T) {
	ring := newRing(t, "k1", "k1")
	subjects := []string{
		"a",
		"sub.with.dots",
		"a/b/../c",
		"ünïcødé 放射線 ☢",
		"1.k1.c3Vi.confirm.0",
		"spaces and = + ? & # % :",
		`quote " back\slash`,
		strings.Repeat("x", maxSubjectBytes),
		strings.Repeat("é", maxSubjectBytes/2),
	}
	for _, subject := range subjects {
		token := ring.Sign(subject, Preferences, future)
		got, err := ring.Verify(token, Preferences, now)
		if err != nil {
			t.Errorf("Verify(Sign(%q)): %v", subject, err)
			continue
		}
		if got != subject {
			t.Errorf("subject = %q, want %q", got, subject)
		}
	}
}

func TestTokensAreURLSafe(t *testing.T) {
	ring := newRing(t, "key_ID-2", "key_ID-2")
	safe := regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
	for _, subject := range []string{"plain", "a/b+c=d?e&f", "ünïcødé", strings.Repeat("\xff", maxSubjectBytes)} {
		for _, purpose := range allPurposes {
			token := ring.Sign(subject, purpose, future)
			if url.QueryEscape(token) != token {
				t.Errorf("token for %q/%s needs escaping: %s", subject, purpose, token)
			}
			if !safe.MatchString(token) {
				t.Errorf("token for %q/%s has characters outside [A-Za-z0-9_.-]: %s", subject, purpose, token)
			}
			if len(token) > maxTokenLen {
				t.Errorf("token for %q/%s is %d bytes, over the %d Verify accepts", subject, purpose, len(token), maxTokenLen)
			}
		}
	}
}

func TestTokenLayout(t *testing.T) {
	ring := newRing(t, "k1", "k1")
	token := ring.Sign("sub", Confirm, time.Unix(1700000000, 0))
	fields := strings.Split(token, ".")
	if len(fields) != 6 {
		t.Fatalf("token has %d fields, want 6: %s", len(fields), token)
	}
	want := []string{"1", "k1", "c3Vi", "confirm", "1700000000"}
	for i, w := range want {
		if fields[i] != w {
			t.Errorf("field %d = %q, want %q", i, fields[i], w)
		}
	}
	if len(fields[5]) != 43 {
		t.Errorf("MAC field is %d chars, want 43 (the full 32 bytes)", len(fields[5]))
	}
}

func TestForged(t *testing.T) {
	ring := newRing(t, "k1", "k1", "k2")
	token := ring.Sign("sub-42", Preferences, future)
	other := ring.Sign("sub-99", Preferences, future)
	never := ring.Sign("sub-42", Preferences, time.Time{})
	tests := []struct {
		name  string
		token string
	}{
		{"MAC char flipped", flipChar(token, 5, 0)},
		{"MAC char flipped mid", flipChar(token, 5, 20)},
		{"subject char flipped", flipChar(token, 2, 0)},
		{"subject last char flipped", flipChar(token, 2, len(strings.Split(token, ".")[2])-1)},
		{"purpose changed", replaceField(token, 3, "unsubscrib")},
		{"purpose changed to same length", replaceField(token, 3, "preferencez")},
		{"expiry extended", replaceField(token, 4, "9999999999")},
		{"expiry removed", replaceField(token, 4, "0")},
		{"expiry added to a never token", replaceField(never, 4, "9999999999")},
		{"subject swapped in from another token", replaceField(token, 2, strings.Split(other, ".")[2])},
		{"MAC swapped in from another token", replaceField(token, 5, strings.Split(other, ".")[5])},
		{"key id switched to another key in the ring", replaceField(token, 1, "k2")},
		{"subject is garbage", replaceField(token, 2, "!!!")},
		{"expiry is not a number", replaceField(token, 4, "soon")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token == token {
				t.Fatal("test did not change the token")
			}
			got, err := ring.Verify(tt.token, Preferences, now)
			if !errors.Is(err, ErrBadSignature) {
				t.Errorf("err = %v, want ErrBadSignature", err)
			}
			if got != "" {
				t.Errorf("subject = %q, want empty on error", got)
			}
		})
	}
}

func TestExpired(t *testing.T) {
	ring := newRing(t, "k1", "k1")
	expiry := time.Unix(1772366400, 0)
	token := ring.Sign("sub", Confirm, expiry)
	tests := []struct {
		name    string
		now     time.Time
		wantErr error
	}{
		{"a day before", expiry.Add(-24 * time.Hour), nil},
		{"a nanosecond before", expiry.Add(-time.Nanosecond), nil},
		{"exactly at expiry", expiry, ErrExpired},
		{"a nanosecond after", expiry.Add(time.Nanosecond), ErrExpired},
		{"a second after", expiry.Add(time.Second), ErrExpired},
		{"a year after", expiry.AddDate(1, 0, 0), ErrExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ring.Verify(token, Confirm, tt.now)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Errorf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestExpiryAtOrBeforeEpochIsNotNever(t *testing.T) {
	ring := newRing(t, "k1", "k1")
	for _, expires := range []time.Time{time.Unix(0, 0), time.Unix(-5, 0), time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC)} {
		token := ring.Sign("sub", Export, expires)
		if _, err := ring.Verify(token, Export, now); !errors.Is(err, ErrExpired) {
			t.Errorf("expiry %s: err = %v, want ErrExpired", expires, err)
		}
	}
}

func TestWrongPurpose(t *testing.T) {
	ring := newRing(t, "k1", "k1")
	tests := []struct {
		signed, presented Purpose
	}{
		{Preferences, Unsubscribe},
		{Unsubscribe, Preferences},
		{Confirm, Erase},
		{Export, Erase},
		{Erase, Export},
		{Confirm, Session},
		{Session, Confirm},
		{Confirm, Purpose("")},
		{Confirm, Purpose("Confirm")},
	}
	for _, tt := range tests {
		t.Run(string(tt.signed)+" as "+string(tt.presented), func(t *testing.T) {
			token := ring.Sign("sub", tt.signed, time.Time{})
			if _, err := ring.Verify(token, tt.presented, now); !errors.Is(err, ErrWrongPurpose) {
				t.Errorf("err = %v, want ErrWrongPurpose", err)
			}
		})
	}
}

func TestWrongPurposeIsCheckedBeforeExpiry(t *testing.T) {
	ring := newRing(t, "k1", "k1")
	token := ring.Sign("sub", Confirm, now.Add(-time.Hour))
	if _, err := ring.Verify(token, Erase, now); !errors.Is(err, ErrWrongPurpose) {
		t.Errorf("err = %v, want ErrWrongPurpose", err)
	}
}

func TestUnknownKeyID(t *testing.T) {
	signer := newRing(t, "zz", "zz")
	verifier := newRing(t, "k1", "k1")
	token := signer.Sign("sub", Confirm, future)
	_, err := verifier.Verify(token, Confirm, now)
	if !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("err = %v, want ErrUnknownKey", err)
	}
	if !strings.Contains(err.Error(), `"zz"`) {
		t.Errorf("error %q does not name the key id", err)
	}
}

func TestRotation(t *testing.T) {
	before := newRing(t, "k1", "k1")
	rotated := newRing(t, "k2", "k1", "k2")
	retired := newRing(t, "k2", "k2")

	old := before.Sign("sub", Unsubscribe, time.Time{})
	if _, err := rotated.Verify(old, Unsubscribe, now); err != nil {
		t.Errorf("token signed with k1, verified after rotation to k2: %v", err)
	}
	fresh := rotated.Sign("sub", Unsubscribe, time.Time{})
	if got := strings.Split(fresh, ".")[1]; got != "k2" {
		t.Errorf("rotated ring signs with key %q, want k2", got)
	}
	if _, err := retired.Verify(fresh, Unsubscribe, now); err != nil {
		t.Errorf("token signed with k2, verified after k1 removed: %v", err)
	}
	if _, err := retired.Verify(old, Unsubscribe, now); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("token signed with k1, after k1 removed: err = %v, want ErrUnknownKey", err)
	}
}

func TestSameKeyIDOtherKeyring(t *testing.T) {
	ours := newRing(t, "k1", "k1")
	theirs, err := NewKeyring("k1", map[string][]byte{"k1": testKey("someone else's")})
	if err != nil {
		t.Fatal(err)
	}
	token := theirs.Sign("sub", Erase, future)
	if _, err := ours.Verify(token, Erase, now); !errors.Is(err, ErrBadSignature) {
		t.Errorf("err = %v, want ErrBadSignature", err)
	}
}

func TestMalformed(t *testing.T) {
	ring := newRing(t, "k1", "k1")
	valid := ring.Sign("sub", Confirm, future)
	tests := []struct {
		name  string
		token string
	}{
		{"empty", ""},
		{"garbage", "not a token"},
		{"only dots", "....."},
		{"too long", strings.Repeat("a", maxTokenLen+1)},
		{"too long but well formed", replaceField(valid, 2, strings.Repeat("A", maxTokenLen))},
		{"too few fields", strings.Join(strings.Split(valid, ".")[:5], ".")},
		{"extra dot at end", valid + "."},
		{"extra dot at start", "." + valid},
		{"extra field", replaceField(valid, 2, "c3Vi.c3Vi")},
		{"wrong version", replaceField(valid, 0, "2")},
		{"empty version", replaceField(valid, 0, "")},
		{"key id with bad characters", replaceField(valid, 1, "k+1")},
		{"key id too long", replaceField(valid, 1, strings.Repeat("k", 17))},
		{"empty key id", replaceField(valid, 1, "")},
		{"MAC not base64url", replaceField(valid, 5, strings.Repeat("+", 43))},
		{"MAC padded", replaceField(valid, 5, strings.Split(valid, ".")[5]+"=")},
		{"MAC truncated", replaceField(valid, 5, strings.Split(valid, ".")[5][:42])},
		{"MAC non-canonical last char", flipChar(valid, 5, 42)},
		{"MAC empty", replaceField(valid, 5, "")},
		// The rest carry a valid MAC, so only the field checks can catch them.
		{"signed wrong version", signFields("2", "k1", "c3Vi", "confirm", "0")},
		{"signed bad base64 subject", signFields("1", "k1", "c3V!", "confirm", "0")},
		{"signed padded subject", signFields("1", "k1", "c3Vi=", "confirm", "0")},
		{"signed empty subject", signFields("1", "k1", "", "confirm", "0")},
		{"signed non-numeric expiry", signFields("1", "k1", "c3Vi", "confirm", "soon")},
		{"signed empty expiry", signFields("1", "k1", "c3Vi", "confirm", "")},
		{"signed negative expiry", signFields("1", "k1", "c3Vi", "confirm", "-1")},
		{"signed expiry with plus sign", signFields("1", "k1", "c3Vi", "confirm", "+1")},
		{"signed expiry with leading zero", signFields("1", "k1", "c3Vi", "confirm", "01")},
		{"signed expiry overflowing int64", signFields("1", "k1", "c3Vi", "confirm", "99999999999999999999")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ring.Verify(tt.token, Confirm, now)
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("err = %v, want ErrMalformed", err)
			}
			if got != "" {
				t.Errorf("subject = %q, want empty on error", got)
			}
		})
	}
}

func TestSignPanicsOnCallerBugs(t *testing.T) {
	ring := newRing(t, "k1", "k1")
	tests := []struct {
		name    string
		subject string
		purpose Purpose
	}{
		{"unknown purpose", "sub", Purpose("admin")},
		{"purpose with a dot", "sub", Purpose("confirm.x")},
		{"empty purpose", "sub", Purpose("")},
		{"empty subject", "", Confirm},
		{"subject too long", strings.Repeat("x", maxSubjectBytes+1), Confirm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("Sign did not panic")
				}
			}()
			ring.Sign(tt.subject, tt.purpose, time.Time{})
		})
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{ErrMalformed, true},
		{ErrBadSignature, true},
		{ErrExpired, true},
		{ErrWrongPurpose, true},
		{ErrUnknownKey, true},
		{errors.Join(errors.New("context"), ErrExpired), true},
		{nil, false},
		{errors.New("tokens: malformed token"), false},
	}
	for _, tt := range tests {
		if got := Invalid(tt.err); got != tt.want {
			t.Errorf("Invalid(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}

	// Every refusal Verify makes must count, wrapped or not.
	ring := newRing(t, "k1", "k1")
	for _, token := range []string{"", "x", ring.Sign("s", Confirm, now), ring.Sign("s", Erase, time.Time{})} {
		if _, err := ring.Verify(token, Confirm, now); !Invalid(err) {
			t.Errorf("Verify(%q) error %v is not Invalid", token, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	ring := newRing(f, "k1", "k1", "k2")
	signers := map[string]*Keyring{"k1": ring, "k2": newRing(f, "k2", "k1", "k2")}
	valid := ring.Sign("sub-42", Preferences, future)
	f.Add(valid, string(Preferences))
	f.Add(valid, string(Unsubscribe))
	f.Add(ring.Sign("a.b/c", Confirm, time.Time{}), string(Confirm))
	f.Add(signers["k2"].Sign("ü", Erase, future), string(Erase))
	f.Add(replaceField(valid, 1, "zz"), string(Preferences))
	f.Add(flipChar(valid, 5, 0), string(Preferences))
	f.Add(signFields("1", "k1", "c3Vi", "confirm", "soon"), string(Confirm))
	f.Add("", "")
	f.Add(".....", "confirm")
	f.Add("1.k1.....", "confirm")
	f.Fuzz(func(t *testing.T, token, purpose string) {
		subject, err := ring.Verify(token, Purpose(purpose), now)
		if err != nil {
			if !Invalid(err) {
				t.Errorf("Verify error %v is not Invalid", err)
			}
			if subject != "" {
				t.Errorf("subject %q returned with error %v", subject, err)
			}
			return
		}
		// Only a token Sign made can verify, and tokens have one spelling:
		// signing its contents again must give the same token back.
		fields := strings.Split(token, ".")
		expires := time.Time{}
		if expiry, _ := strconv.ParseInt(fields[4], 10, 64); expiry != 0 {
			expires = time.Unix(expiry, 0)
		}
		signer := signers[fields[1]]
		if again := signer.Sign(subject, Purpose(purpose), expires); again != token {
			t.Errorf("verified %q, but its contents sign as %q", token, again)
		}
	})
}

func BenchmarkSign(b *testing.B) {
	ring := newRing(b, "k1", "k1")
	b.ReportAllocs()
	for b.Loop() {
		ring.Sign("01JD3Z8Q4X7W2N5M6B9C0V1R2T", Unsubscribe, time.Time{})
	}
}

func BenchmarkVerify(b *testing.B) {
	ring := newRing(b, "k1", "k1")
	token := ring.Sign("01JD3Z8Q4X7W2N5M6B9C0V1R2T", Unsubscribe, time.Time{})
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ring.Verify(token, Unsubscribe, now); err != nil {
			b.Fatal(err)
		}
	}
}
