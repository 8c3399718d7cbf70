package console

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"time"

	"github.com/radiogram/radiogram/internal/tokens"
)

// SessionStore keeps the console's sessions on the server, so that signing
// out and a new admin token end them (*dynamo.AdminStore implements it).
type SessionStore interface {
	// PutSession stores a new session until expires; binding names the
	// admin secret it was opened with.
	PutSession(ctx context.Context, id, binding string, expires time.Time) error
	// Session returns a stored session's binding and expiry; found is false
	// for a session never opened or ended.
	Session(ctx context.Context, id string) (binding string, expires time.Time, found bool, err error)
	// DeleteSession ends a session; ending one that is not stored is no
	// error.
	DeleteSession(ctx context.Context, id string) error
}

// sessionKeyLabel derives the key of the session cookies and CSRF tokens
// from the admin token. The console's key is its own: the link-signing
// keys, which more functions hold, sign nothing of the console's.
const sessionKeyLabel = "radiogram console sessions v1"

// sessionKeyID is the key id the console's tokens carry.
const sessionKeyID = "console"

// sessionKeys returns the keyring of the console's tokens for an admin
// token, and the binding that ties a stored session to it: a hash of the
// derived key, which tells nothing of the token. A new admin token makes
// new keys, so every cookie of the old one fails; its records no longer
// match either. No token, no keys.
func sessionKeys(adminToken string) (*tokens.Keyring, string) {
	if adminToken == "" {
		return nil, ""
	}
	mac := hmac.New(sha256.New, []byte(adminToken))
	mac.Write([]byte(sessionKeyLabel))
	key := mac.Sum(nil)
	keys, err := tokens.NewKeyring(sessionKeyID, map[string][]byte{sessionKeyID: key})
	if err != nil {
		panic("console: session keys: " + err.Error()) // a 32-byte key and a valid id cannot fail
	}
	sum := sha256.Sum256(key)
	return keys, hex.EncodeToString(sum[:16])
}

var errNoSessionStore = errors.New("console: no session store configured")
