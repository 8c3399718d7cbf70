package tokens

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// minKeyBytes is the shortest signing key accepted: HMAC-SHA256 is only as
// strong as its key, and a short key is the likeliest misconfiguration.
const minKeyBytes = 32

const maxKeyIDLen = 16

// Keyring holds the HMAC keys by key id. Sign uses the current key; Verify
// accepts any key in the ring, so a rotation does not break links already
// mailed. A Keyring is immutable and safe for concurrent use; build one with
// ParseKeyring or NewKeyring.
type Keyring struct {
	current string
	keys    map[string][]byte
}

// NewKeyring builds a keyring from key ids and raw keys. It copies the keys.
func NewKeyring(current string, keys map[string][]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("tokens: keyring has no keys")
	}
	ring := &Keyring{current: current, keys: make(map[string][]byte, len(keys))}
	for _, id := range slices.Sorted(maps.Keys(keys)) {
		if !validKeyID(id) {
			return nil, fmt.Errorf("tokens: %s", describeBadKeyID(id))
		}
		if n := len(keys[id]); n < minKeyBytes {
			return nil, fmt.Errorf("tokens: key %q is %d bytes, need at least %d", id, n, minKeyBytes)
		}
		ring.keys[id] = append([]byte(nil), keys[id]...)
	}
	if _, ok := ring.keys[current]; !ok {
		if !validKeyID(current) {
			return nil, fmt.Errorf("tokens: current %s", describeBadKeyID(current))
		}
		return nil, fmt.Errorf("tokens: current key %q is not in the keyring", current)
	}
	return ring, nil
}

// ParseKeyring reads the key spec kept in configuration or Secrets Manager.
// It accepts two forms:
//
//	JSON:    {"current":"k2","keys":{"k1":"<base64>","k2":"<base64>"}}
//	compact: k2:<base64>,k1:<base64>   (the first key is current)
//
// Keys are standard or URL-safe base64, padded or not, and must decode to at
// least 32 bytes. Errors name the key id or entry at fault but never
// repeat key material, so they are safe to log.
func ParseKeyring(spec string) (*Keyring, error) {
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return nil, errors.New("tokens: key spec is empty")
	}
	if strings.HasPrefix(spec, "{") {
		return parseJSONSpec(spec)
	}
	return parseCompactSpec(spec)
}

func parseJSONSpec(spec string) (*Keyring, error) {
	var doc struct {
		Current string            `json:"current"`
		Keys    map[string]string `json:"keys"`
	}
	if err := json.Unmarshal([]byte(spec), &doc); err != nil {
		// The decoder's own messages can quote the input; say where instead.
		var syntax *json.SyntaxError
		if errors.As(err, &syntax) {
			return nil, fmt.Errorf("tokens: key spec is not valid JSON (at byte %d)", syntax.Offset)
		}
		return nil, errors.New(`tokens: key spec JSON must look like {"current":"id","keys":{"id":"base64"}}`)
	}
	if doc.Current == "" {
		return nil, errors.New(`tokens: key spec JSON has no "current" key id`)
	}
	keys := make(map[string][]byte, len(doc.Keys))
	// Sorted so that a spec with several faults always reports the same one.
	for _, id := range slices.Sorted(maps.Keys(doc.Keys)) {
		if !validKeyID(id) {
			return nil, fmt.Errorf("tokens: key spec: %s", describeBadKeyID(id))
		}
		key, err := decodeKey(doc.Keys[id])
		if err != nil {
			return nil, fmt.Errorf("tokens: key spec: key %q: %v", id, err)
		}
		keys[id] = key
	}
	return NewKeyring(doc.Current, keys)
}

func parseCompactSpec(spec string) (*Keyring, error) {
	var current string
	keys := make(map[string][]byte)
	for i, entry := range strings.Split(spec, ",") {
		n := i + 1
		id, encoded, ok := strings.Cut(entry, ":")
		if !ok {
			return nil, fmt.Errorf("tokens: key spec entry %d is not id:base64", n)
		}
		id = strings.TrimSpace(id)
		if !validKeyID(id) {
			return nil, fmt.Errorf("tokens: key spec entry %d: %s", n, describeBadKeyID(id))
		}
		if _, dup := keys[id]; dup {
			return nil, fmt.Errorf("tokens: key spec entry %d: key id %q appears twice", n, id)
		}
		key, err := decodeKey(encoded)
		if err != nil {
			return nil, fmt.Errorf("tokens: key spec entry %d: key %q: %v", n, id, err)
		}
		keys[id] = key
		if current == "" {
			current = id
		}
	}
	return NewKeyring(current, keys)
}

// decodeKey accepts standard and URL-safe base64, padded or not; both turn
// up in secrets depending on the tool that generated them.
func decodeKey(encoded string) ([]byte, error) {
	s := strings.TrimRight(strings.TrimSpace(encoded), "=")
	if s == "" {
		return nil, errors.New("is empty")
	}
	s = strings.NewReplacer("-", "+", "_", "/").Replace(s)
	key, err := base64.RawStdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("is not valid base64")
	}
	if len(key) < minKeyBytes {
		return nil, fmt.Errorf("is %d bytes, need at least %d", len(key), minKeyBytes)
	}
	return key, nil
}

// validKeyID reports whether id matches ^[A-Za-z0-9_-]{1,16}$; such ids
// cannot contain the token's field separator.
func validKeyID(id string) bool {
	if id == "" || len(id) > maxKeyIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// describeBadKeyID does not quote the id: a malformed id is often a key
// pasted in the wrong place.
func describeBadKeyID(id string) string {
	return fmt.Sprintf("key id of %d bytes does not match ^[A-Za-z0-9_-]{1,%d}$", len(id), maxKeyIDLen)
}
