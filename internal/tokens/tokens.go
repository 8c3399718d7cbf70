// Package tokens owns the signed tokens in every link Radiogram mails
// (confirm, preferences, unsubscribe, export, erase) and the admin session:
// there is no login, the link is the credential.
//
// A token is six fields joined by ".":
//
//	1.<key id>.<base64url subject>.<purpose>.<expiry>.<base64url HMAC-SHA256>
//
// The version is "1"; the expiry is unix seconds, "0" for never. None of the
// first five fields can contain a ".", so the HMAC, taken over all of them as
// written, binds each value to its place: a token for one purpose never works
// for another, and no part of a subject can pass for another field.
package tokens

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Purpose says what a token allows; Verify refuses a token presented for any
// other purpose than the one it was signed for.
type Purpose string

// The purposes of the links Radiogram mails, and of the admin session.
const (
	Confirm     Purpose = "confirm"
	Preferences Purpose = "preferences"
	Unsubscribe Purpose = "unsubscribe"
	// MailedExport and MailedErase are the data links: only the manage
	// mail carries them, and they expire after an hour.
	MailedExport Purpose = "mailed-export"
	MailedErase  Purpose = "mailed-erase"
	Session      Purpose = "session" // admin console session cookies and their CSRF tokens
	// Archive opens a reader's own filter of the archive for one period:
	// the "more in the archive" link of a digest.
	Archive Purpose = "archive"

	// Export and Erase are the data links' former purposes: any page or
	// mail minted them, valid for a day. Nothing mints them any more; they
	// are kept so that such a link can be recognized and refused as expired.
	Export Purpose = "export"
	Erase  Purpose = "erase"
)

func (p Purpose) known() bool {
	switch p {
	case Confirm, Preferences, Unsubscribe, MailedExport, MailedErase, Export, Erase, Session, Archive:
		return true
	}
	return false
}

// maxSubjectBytes bounds a subject so that every token fits well within
// maxTokenLen.
const maxSubjectBytes = 200

// maxTokenLen is far above the longest token Sign makes (about 370 bytes);
// anything longer is refused before any work is done on it.
const maxTokenLen = 1024

const (
	version    = "1"
	separator  = "."
	fieldCount = 6
)

var b64 = base64.RawURLEncoding.Strict()

// The reasons Verify refuses a token. Handlers show one page for all of them
// (see Invalid); the wrapped error says which, for the logs.
var (
	ErrMalformed    = errors.New("tokens: malformed token")
	ErrBadSignature = errors.New("tokens: bad signature")
	ErrExpired      = errors.New("tokens: token expired")
	ErrWrongPurpose = errors.New("tokens: token is for another purpose")
	ErrUnknownKey   = errors.New("tokens: unknown key id")
)

// Invalid reports whether err is one of the reasons Verify refuses a token.
func Invalid(err error) bool {
	return errors.Is(err, ErrMalformed) ||
		errors.Is(err, ErrBadSignature) ||
		errors.Is(err, ErrExpired) ||
		errors.Is(err, ErrWrongPurpose) ||
		errors.Is(err, ErrUnknownKey)
}

// Sign returns a token binding subject, purpose and expiry, signed with the
// current key. The token uses only [A-Za-z0-9_.-], so it needs no escaping
// in a URL or a cookie. A zero expires means the token never expires:
// unsubscribe and preferences links must keep working forever.
//
// Sign panics if the purpose is not one of this package's constants or the
// subject is empty or longer than 200 bytes: those are bugs in the caller,
// and a link that could never verify must not be mailed.
func (k *Keyring) Sign(subject string, purpose Purpose, expires time.Time) string {
	if !purpose.known() {
		panic(fmt.Sprintf("tokens: Sign with unknown purpose %q", purpose))
	}
	if subject == "" || len(subject) > maxSubjectBytes {
		panic(fmt.Sprintf("tokens: Sign with a subject of %d bytes, want 1 to %d", len(subject), maxSubjectBytes))
	}
	signed := strings.Join([]string{
		version,
		k.current,
		b64.EncodeToString([]byte(subject)),
		string(purpose),
		strconv.FormatInt(expiryUnix(expires), 10),
	}, separator)
	return signed + separator + b64.EncodeToString(mac(k.keys[k.current], signed))
}

// expiryUnix is the expiry as written in a token. A time at or before the
// epoch becomes 1 (long expired), not 0, which would mean never.
func expiryUnix(expires time.Time) int64 {
	if expires.IsZero() {
		return 0
	}
	return max(expires.Unix(), 1)
}

// Verify checks a token signed for purpose and returns its subject. now is
// the time to check the expiry against. Every error satisfies Invalid.
func (k *Keyring) Verify(token string, purpose Purpose, now time.Time) (subject string, err error) {
	if len(token) > maxTokenLen {
		return "", fmt.Errorf("%w: %d bytes, limit %d", ErrMalformed, len(token), maxTokenLen)
	}
	fields := strings.Split(token, separator)
	if len(fields) != fieldCount {
		return "", fmt.Errorf("%w: %d fields, want %d", ErrMalformed, len(fields), fieldCount)
	}
	if fields[0] != version {
		return "", fmt.Errorf("%w: unsupported version", ErrMalformed)
	}
	keyID := fields[1]
	if !validKeyID(keyID) {
		return "", fmt.Errorf("%w: bad key id", ErrMalformed)
	}
	key, ok := k.keys[keyID]
	if !ok {
		return "", fmt.Errorf("%w %q", ErrUnknownKey, keyID)
	}
	// The decoder skips \r and \n; a token has one spelling, so refuse them.
	gotMAC, err := b64.DecodeString(fields[5])
	if err != nil || len(gotMAC) != sha256.Size || strings.ContainsAny(fields[5], "\r\n") {
		return "", fmt.Errorf("%w: signature is not %d bytes of base64url", ErrMalformed, sha256.Size)
	}
	signed := token[:strings.LastIndex(token, separator)]
	if !hmac.Equal(gotMAC, mac(key, signed)) {
		return "", fmt.Errorf("%w (key %q)", ErrBadSignature, keyID)
	}

	// From here on the fields are as Sign wrote them.
	rawSubject, err := b64.DecodeString(fields[2])
	if err != nil || len(rawSubject) == 0 {
		return "", fmt.Errorf("%w: subject is not base64url", ErrMalformed)
	}
	if got := Purpose(fields[3]); got != purpose {
		return "", fmt.Errorf("%w: signed for %q, presented for %q", ErrWrongPurpose, got, purpose)
	}
	expiry, err := parseExpiry(fields[4])
	if err != nil {
		return "", err
	}
	if expiry != 0 && !now.Before(time.Unix(expiry, 0)) {
		return "", fmt.Errorf("%w at %s", ErrExpired, time.Unix(expiry, 0).UTC().Format(time.RFC3339))
	}
	return string(rawSubject), nil
}

// parseExpiry accepts only what strconv.FormatInt writes for a non-negative
// number: no sign, no leading zeros.
func parseExpiry(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != s {
		return 0, fmt.Errorf("%w: expiry is not unix seconds", ErrMalformed)
	}
	return n, nil
}

func mac(key []byte, signed string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(signed))
	return m.Sum(nil)
}
