package tokens

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
	"time"
)

func TestParseKeyring(t *testing.T) {
	k1, k2 := testKey("k1"), testKey("k2")
	std := base64.StdEncoding.EncodeToString
	rawURL := base64.RawURLEncoding.EncodeToString
	short := base64.StdEncoding.EncodeToString(testKey("short")[:31])

	tests := []struct {
		name        string
		spec        string
		wantCurrent string
		wantKeys    map[string][]byte
		wantErr     string // a part of the error message
	}{
		{
			name:        "JSON",
			spec:        `{"current":"k2","keys":{"k1":"` + std(k1) + `","k2":"` + rawURL(k2) + `"}}`,
			wantCurrent: "k2",
			wantKeys:    map[string][]byte{"k1": k1, "k2": k2},
		},
		{
			name:        "JSON with whitespace, as pasted into a secret",
			spec:        "\n  {\n  \"current\": \"k1\",\n  \"keys\": { \"k1\": \" " + std(k1) + " \" }\n}\n",
			wantCurrent: "k1",
			wantKeys:    map[string][]byte{"k1": k1},
		},
		{
			name:        "compact, first is current",
			spec:        "k2:" + std(k2) + ",k1:" + rawURL(k1),
			wantCurrent: "k2",
			wantKeys:    map[string][]byte{"k1": k1, "k2": k2},
		},
		{
			name:        "compact with spaces and URL-safe padded base64",
			spec:        " k_1-a : " + base64.URLEncoding.EncodeToString(k1) + " , k2:" + base64.RawStdEncoding.EncodeToString(k2) + "\n",
			wantCurrent: "k_1-a",
			wantKeys:    map[string][]byte{"k_1-a": k1, "k2": k2},
		},
		{
			name:        "compact, one key, 16-char id",
			spec:        "ABCDEFGHIJKLMNOP:" + std(k1),
			wantCurrent: "ABCDEFGHIJKLMNOP",
			wantKeys:    map[string][]byte{"ABCDEFGHIJKLMNOP": k1},
		},
		{name: "empty spec", spec: "", wantErr: "key spec is empty"},
		{name: "blank spec", spec: " \n\t", wantErr: "key spec is empty"},
		{name: "compact short key", spec: "k1:" + short, wantErr: `key "k1": is 31 bytes, need at least 32`},
		{name: "JSON short key", spec: `{"current":"k1","keys":{"k1":"` + short + `"}}`, wantErr: `key "k1": is 31 bytes`},
		{name: "compact empty key", spec: "k1:", wantErr: `key "k1": is empty`},
		{name: "compact bad base64", spec: "k1:" + std(k1)[:20] + "*!" + std(k1)[22:], wantErr: `key "k1": is not valid base64`},
		{name: "JSON bad base64", spec: `{"current":"k1","keys":{"k1":"` + std(k1) + `%"}}`, wantErr: `key "k1": is not valid base64`},
		{name: "compact bad id", spec: "k.1:" + std(k1), wantErr: "entry 1: key id of 3 bytes does not match"},
		{name: "compact id too long", spec: "k1:" + std(k1) + ",abcdefghijklmnopq:" + std(k2), wantErr: "entry 2: key id of 17 bytes"},
		{name: "JSON bad id", spec: `{"current":"k1","keys":{"k1":"` + std(k1) + `","k 2":"` + std(k2) + `"}}`, wantErr: "key id of 3 bytes does not match"},
		{name: "JSON key pasted as id", spec: `{"current":"k1","keys":{"` + std(k1) + `":"` + std(k1) + `"}}`, wantErr: "key id of 44 bytes"},
		{name: "compact key without id", spec: std(k1), wantErr: "entry 1 is not id:base64"},
		{name: "compact empty entry", spec: "k1:" + std(k1) + ",", wantErr: "entry 2 is not id:base64"},
		{name: "compact duplicate id", spec: "k1:" + std(k1) + ",k1:" + std(k2), wantErr: `entry 2: key id "k1" appears twice`},
		{name: "current not in keys", spec: `{"current":"k3","keys":{"k1":"` + std(k1) + `"}}`, wantErr: `current key "k3" is not in the keyring`},
		{name: "current is a key", spec: `{"current":"` + std(k2) + `","keys":{"k1":"` + std(k1) + `"}}`, wantErr: "current key id of 44 bytes"},
		{name: "JSON without current", spec: `{"keys":{"k1":"` + std(k1) + `"}}`, wantErr: `no "current" key id`},
		{name: "JSON without keys", spec: `{"current":"k1"}`, wantErr: "no keys"},
		{name: "JSON syntax error", spec: `{"current":"k1","keys":{"k1":"` + std(k1) + `"}`, wantErr: "not valid JSON"},
		{name: "JSON keys of the wrong type", spec: `{"current":"k1","keys":["` + std(k1) + `"]}`, wantErr: "JSON must look like"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring, err := ParseKeyring(tt.spec)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ParseKeyring succeeded, want error containing %q", tt.wantErr)
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not contain %q", err, tt.wantErr)
				}
				assertNoKeyMaterial(t, err, tt.spec)
				return
			}
			if err != nil {
				t.Fatalf("ParseKeyring: %v", err)
			}
			if ring.current != tt.wantCurrent {
				t.Errorf("current = %q, want %q", ring.current, tt.wantCurrent)
			}
			if len(ring.keys) != len(tt.wantKeys) {
				t.Errorf("ring has %d keys, want %d", len(ring.keys), len(tt.wantKeys))
			}
			for id, want := range tt.wantKeys {
				if !bytes.Equal(ring.keys[id], want) {
					t.Errorf("key %q decoded wrongly", id)
				}
			}
		})
	}
}

// assertNoKeyMaterial fails if err repeats any run of 8 or more characters
// that could be part of a key in spec.
func assertNoKeyMaterial(t *testing.T, err error, spec string) {
	t.Helper()
	isKeyChar := func(r rune) bool {
		return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || strings.ContainsRune("+/-_", r)
	}
	words := strings.FieldsFunc(spec, func(r rune) bool { return !isKeyChar(r) })
	for _, word := range words {
		for i := 0; i+8 <= len(word); i++ {
			if strings.Contains(err.Error(), word[i:i+8]) {
				t.Errorf("error %q repeats key material %q", err, word[i:i+8])
			}
		}
	}
}

func TestParsedKeyringSignsWithCurrent(t *testing.T) {
	enc := base64.StdEncoding.EncodeToString
	ring, err := ParseKeyring("k2:" + enc(testKey("k2")) + ",k1:" + enc(testKey("k1")))
	if err != nil {
		t.Fatal(err)
	}
	token := ring.Sign("sub", Confirm, time.Time{})
	if _, err := newRing(t, "k2", "k2").Verify(token, Confirm, now); err != nil {
		t.Errorf("token from the parsed ring does not verify with its current key: %v", err)
	}
}

func TestNewKeyring(t *testing.T) {
	good := testKey("good")
	tests := []struct {
		name    string
		current string
		keys    map[string][]byte
		wantErr string
	}{
		{"one key", "k1", map[string][]byte{"k1": good}, ""},
		{"no keys", "k1", nil, "no keys"},
		{"short key", "k1", map[string][]byte{"k1": good[:16]}, `key "k1" is 16 bytes, need at least 32`},
		{"bad id", "k1", map[string][]byte{"k1": good, "k/2": good}, "key id of 3 bytes does not match"},
		{"current missing", "k9", map[string][]byte{"k1": good}, `current key "k9" is not in the keyring`},
		{"current empty", "", map[string][]byte{"k1": good}, "current key id of 0 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewKeyring(tt.current, tt.keys)
			if tt.wantErr == "" {
				if err != nil {
					t.Errorf("NewKeyring: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestNewKeyringCopiesKeys(t *testing.T) {
	key := testKey("k1")
	ring, err := NewKeyring("k1", map[string][]byte{"k1": key})
	if err != nil {
		t.Fatal(err)
	}
	token := ring.Sign("sub", Erase, time.Time{})
	key[0] ^= 0xff
	if _, err := ring.Verify(token, Erase, now); err != nil {
		t.Errorf("changing the caller's key slice changed the ring: %v", err)
	}
}

func TestKeyringErrorsAreNotTokenErrors(t *testing.T) {
	_, err := ParseKeyring("k1:AAAA")
	if err == nil || Invalid(err) {
		t.Errorf("ParseKeyring error %v: a configuration fault must not look like a bad link", err)
	}
}
