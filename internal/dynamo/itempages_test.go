package dynamo

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/items"
)

func TestCursorRoundTripAndRefusals(t *testing.T) {
	q := items.PageQuery{Topic: "ai", Limit: 10}
	scope := pageScope(q)
	pub := time.Date(1995, 3, 1, 0, 0, 0, 0, time.UTC)
	good := encodeCursor(cursor{PubKey: sortableTime(pub) + "#esr-0a1b", Scope: scope})
	c, year, id, err := decodeCursor(good, scope)
	if err != nil || year != "2000" || id != "esr-0a1b" || c.PubKey != sortableTime(pub)+"#esr-0a1b" {
		t.Fatalf("decode = %+v %q %q %v; want the 2000 partition (items before 2000 are kept there)", c, year, id, err)
	}
	b64 := func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
	for name, raw := range map[string]string{
		"not base64":      "%%%",
		"padded base64":   base64.URLEncoding.EncodeToString([]byte(`{"k":"x"}`)),
		"not JSON":        b64("hello"),
		"unknown field":   b64(`{"k":"2026-11-29T08:30:00.000000000Z#esr-1","s":"` + scope + `","x":1}`),
		"other listing":   encodeCursor(cursor{PubKey: "2026-11-29T08:30:00.000000000Z#esr-1", Scope: pageScope(items.PageQuery{})}),
		"no key":          encodeCursor(cursor{Scope: scope}),
		"key not a time":  encodeCursor(cursor{PubKey: "yesterday#esr-1", Scope: scope}),
		"key with quotes": encodeCursor(cursor{PubKey: `2026-11-29T08:30:00.000000000Z#esr-1" OR 1=1`, Scope: scope}),
		"too long":        strings.Repeat("A", maxCursorBytes+1),
	} {
		if _, _, _, err := decodeCursor(raw, scope); !errors.Is(err, items.ErrBadCursor) {
			t.Errorf("%s: %v, want ErrBadCursor", name, err)
		}
	}
}

func TestPubYear(t *testing.T) {
	for in, want := range map[time.Time]string{
		time.Date(2026, 12, 31, 23, 0, 0, 0, time.FixedZone("", -3600)): "2027", // UTC decides
		time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC):                     "2000",
		time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC):                     "2000",
		{}: "2000",
	} {
		if got := pubYear(in); got != want {
			t.Errorf("pubYear(%v) = %s, want %s", in, got, want)
		}
	}
}

// FuzzDecodeCursor: whatever a client sends, a cursor either is refused
// with ErrBadCursor or names a well-formed key of its own listing.
func FuzzDecodeCursor(f *testing.F) {
	scope := pageScope(items.PageQuery{})
	f.Add(encodeCursor(cursor{PubKey: "2026-11-29T08:30:00.000000000Z#esr-1", Scope: scope}))
	f.Add("")
	f.Add("eyJrIjoiIn0")
	f.Fuzz(func(t *testing.T, raw string) {
		c, year, id, err := decodeCursor(raw, scope)
		if err != nil {
			if !errors.Is(err, items.ErrBadCursor) {
				t.Fatalf("error %v is not ErrBadCursor", err)
			}
			return
		}
		if !pubKeyPattern.MatchString(c.PubKey) || !strings.HasSuffix(c.PubKey, "#"+id) || len(year) != 4 || c.Scope != scope {
			t.Fatalf("accepted %+v (%s, %s)", c, year, id)
		}
	})
}
