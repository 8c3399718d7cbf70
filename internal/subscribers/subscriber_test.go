package subscribers

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeEmail(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"Ada@Example.ORG", "ada@example.org", true},
		{"  ada.lovelace+radiology@example.org ", "ada.lovelace+radiology@example.org", true},
		{"ada@sub.example.co.uk", "ada@sub.example.co.uk", true},
		{"", "", false},
		{"ada", "", false},
		{"ada@", "", false},
		{"@example.org", "", false},
		{"ada@localhost", "", false},
		{"ada@[127.0.0.1]", "", false},
		{"Ada <ada@example.org>", "", false},
		{"ada@example.org\r\nBcc: victim@example.org", "", false},
		{"ada@example.org\nX: y", "", false},
		{"ada @example.org", "", false},
		{"ada@example.org,eve@example.org", "", false},
		{`"ada lovelace"@example.org`, "", false},
		{strings.Repeat("a", 65) + "@example.org", "", false},
		{"a@" + strings.Repeat("b", 250) + ".org", "", false},
		{"ada@.example.org", "", false},
		{"jürgen@example.org", "", false},
		{"ada@bücher.example", "ada@bücher.example", true},
	}
	for _, tt := range tests {
		got, err := NormalizeEmail(tt.in)
		if tt.ok != (err == nil) || got != tt.want {
			t.Errorf("NormalizeEmail(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalidEmail) {
			t.Errorf("NormalizeEmail(%q): error %v does not wrap ErrInvalidEmail", tt.in, err)
		}
	}
}

type catalog struct{}

func (catalog) KnownTopic(id string) bool   { return id == "ai" || id == "screening" || id == "safety" }
func (catalog) KnownSociety(id string) bool { return id == "esr" || id == "rsna" }

func TestPreferencesNormalize(t *testing.T) {
	tests := []struct {
		name      string
		in        Preferences
		wantField string
		check     func(t *testing.T, p Preferences)
	}{
		{name: "defaults", in: Preferences{Topics: []string{"ai"}}, check: func(t *testing.T, p Preferences) {
			if p.Frequency != Daily || p.Hour != 0 || p.TimeZone != "UTC" || p.Format != FormatHTML || len(p.Societies) != 0 {
				t.Errorf("defaults: %+v", p)
			}
		}},
		{name: "cleans ids", in: Preferences{Topics: []string{" AI ", "screening,ai", ""}, Societies: []string{"rsna", "esr", "RSNA"}}, check: func(t *testing.T, p Preferences) {
			if strings.Join(p.Topics, ",") != "ai,screening" || strings.Join(p.Societies, ",") != "esr,rsna" {
				t.Errorf("cleaned: %v %v", p.Topics, p.Societies)
			}
		}},
		{name: "weekly defaults to monday", in: Preferences{Topics: []string{"ai"}, Frequency: "Weekly"}, check: func(t *testing.T, p Preferences) {
			if p.Frequency != Weekly || p.Day != "monday" {
				t.Errorf("weekly: %+v", p)
			}
		}},
		{name: "day dropped unless weekly", in: Preferences{Topics: []string{"ai"}, Frequency: Daily, Day: "friday"}, check: func(t *testing.T, p Preferences) {
			if p.Day != "" {
				t.Errorf("day kept: %q", p.Day)
			}
		}},
		{name: "zone", in: Preferences{Topics: []string{"ai"}, TimeZone: "Europe/Vienna", Hour: 23}, check: func(t *testing.T, p Preferences) {
			if p.TimeZone != "Europe/Vienna" || p.Hour != 23 {
				t.Errorf("zone: %+v", p)
			}
		}},
		{name: "no topics", in: Preferences{}, wantField: "topics"},
		{name: "unknown topic", in: Preferences{Topics: []string{"astrology"}}, wantField: "topics"},
		{name: "unknown society", in: Preferences{Topics: []string{"ai"}, Societies: []string{"nasa"}}, wantField: "societies"},
		{name: "bad frequency", in: Preferences{Topics: []string{"ai"}, Frequency: "hourly"}, wantField: "frequency"},
		{name: "bad day", in: Preferences{Topics: []string{"ai"}, Frequency: Weekly, Day: "funday"}, wantField: "day"},
		{name: "hour too big", in: Preferences{Topics: []string{"ai"}, Hour: 24}, wantField: "hour"},
		{name: "negative hour", in: Preferences{Topics: []string{"ai"}, Hour: -1}, wantField: "hour"},
		{name: "unknown zone", in: Preferences{Topics: []string{"ai"}, TimeZone: "Mars/Olympus"}, wantField: "timezone"},
		{name: "Local is no zone", in: Preferences{Topics: []string{"ai"}, TimeZone: "Local"}, wantField: "timezone"},
		{name: "path is no zone", in: Preferences{Topics: []string{"ai"}, TimeZone: "../../etc/passwd"}, wantField: "timezone"},
		{name: "bad format", in: Preferences{Topics: []string{"ai"}, Format: "pdf"}, wantField: "format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := tt.in.Normalize(catalog{})
			if tt.wantField != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != tt.wantField {
					t.Fatalf("err = %v, want a FieldError on %q", err, tt.wantField)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, p)
		})
	}
}

func TestDiff(t *testing.T) {
	from := Preferences{Topics: []string{"ai"}, Frequency: Daily, Hour: 7, TimeZone: "UTC", Format: FormatHTML}
	to := Preferences{Topics: []string{"ai", "screening"}, Societies: []string{"esr"}, Frequency: Weekly, Day: "friday", Hour: 7, TimeZone: "UTC", Format: FormatHTML}
	got := Diff(from, to)
	want := []Change{
		{Field: "topics", From: "ai", To: "ai, screening"},
		{Field: "societies", From: "all societies", To: "esr"},
		{Field: "frequency", From: "daily", To: "weekly"},
		{Field: "day", From: "", To: "friday"},
	}
	if len(got) != len(want) {
		t.Fatalf("Diff = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("change %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if d := Diff(from, from); len(d) != 0 {
		t.Errorf("no change gives %+v", d)
	}
}
