package subscribers

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestNormalizePhrases(t *testing.T) {
	twenty := make([]string, 20)
	for i := range twenty {
		twenty[i] = fmt.Sprintf("phrase %d", i)
	}
	tests := []struct {
		name   string
		in     []string
		want   []string
		reason string // a part of the error's reason; "" for none
	}{
		{name: "none", in: nil, want: nil},
		{name: "trimmed and spaces collapsed", in: []string{"  lung   cancer  screening "}, want: []string{"lung cancer screening"}},
		{name: "blank ones dropped", in: []string{"", "   ", "MRI"}, want: []string{"MRI"}},
		{name: "repeats ignoring case kept once, first spelling", in: []string{"COVID", "covid", "Covid "}, want: []string{"COVID"}},
		{name: "order kept", in: []string{"b phrase", "a phrase"}, want: []string{"b phrase", "a phrase"}},
		{name: "accents and punctuation allowed", in: []string{"échographie", "COVID-19", "R&D"}, want: []string{"échographie", "COVID-19", "R&D"}},
		{name: "20 phrases", in: twenty, want: twenty},
		{name: "20 phrases and repeats", in: append(slices.Clone(twenty), "PHRASE 3"), want: twenty},
		{name: "21 phrases", in: append(slices.Clone(twenty), "one more"), reason: "at most 20 phrases, not 21"},
		{name: "far too many", in: make([]string, 101), reason: "at most 20 phrases"},
		{name: "too short", in: []string{"x"}, reason: `"x" is too short: at least 2 characters`},
		{name: "too long", in: []string{strings.Repeat("a", 61)}, reason: "is too long: at most 60 characters, not 61"},
		{name: "60 characters", in: []string{strings.Repeat("é", 60)}, want: []string{strings.Repeat("é", 60)}},
		{name: "too many words", in: []string{"one two three four five six seven"}, reason: "has too many words: at most 6"},
		{name: "markup", in: []string{"<b>AI</b>"}, reason: `"<b>AI</b>" must not contain < or >`},
		{name: "a web address", in: []string{"https://example.org/ai"}, reason: "must not be a web address"},
		{name: "www", in: []string{"www.example.org"}, reason: "must not be a web address"},
		{name: "a line break", in: []string{"ai\nsafety"}, reason: "must not contain line breaks"},
		{name: "a tab", in: []string{"ai\tsafety"}, reason: "control characters"},
		{name: "no letter or digit", in: []string{"--"}, reason: `"--" must contain a letter or a digit`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NormalizePhrases("mute", tt.in)
			if tt.reason != "" {
				var fe *FieldError
				if !errors.As(err, &fe) || fe.Field != "mute" || !strings.Contains(fe.Reason, tt.reason) {
					t.Fatalf("NormalizePhrases(%q) = %q, %v; want a mute error with %q", tt.in, got, err, tt.reason)
				}
				return
			}
			if err != nil || !slices.Equal(got, tt.want) {
				t.Errorf("NormalizePhrases(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestPreferencesNormalizePhrases(t *testing.T) {
	tests := []struct {
		name          string
		keywords      []string
		mute          []string
		field, reason string
	}{
		{name: "both", keywords: []string{"lung cancer screening"}, mute: []string{"COVID"}},
		{name: "a keyword's error names keywords", keywords: []string{"<script>"}, field: "keywords", reason: "must not contain < or >"},
		{name: "a mute phrase's error names mute", mute: []string{"x"}, field: "mute", reason: "too short"},
		{name: "followed and muted", keywords: []string{"Covid"}, mute: []string{"COVID "}, field: "mute",
			reason: `"COVID" is also one of your keywords: a phrase cannot be both followed and muted`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := Preferences{Topics: []string{"ai"}, Keywords: tt.keywords, Mute: tt.mute}.Normalize(catalog{})
			if tt.field == "" {
				if err != nil || !slices.Equal(p.Keywords, tt.keywords) || !slices.Equal(p.Mute, tt.mute) {
					t.Fatalf("Normalize = %q, %q, %v", p.Keywords, p.Mute, err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field || !strings.Contains(fe.Reason, tt.reason) {
				t.Fatalf("Normalize: %v; want a %s error with %q", err, tt.field, tt.reason)
			}
		})
	}
}

func TestDiffPhrases(t *testing.T) {
	from := Preferences{Topics: []string{"ai"}, Keywords: []string{"lung cancer"}}
	to := Preferences{Topics: []string{"ai"}, Keywords: []string{"lung cancer", "MRI"}, Mute: []string{"covid"}}
	got := Diff(from, to)
	want := []Change{{Field: "keywords", From: "lung cancer", To: "lung cancer, MRI"}, {Field: "mute", From: "", To: "covid"}}
	if !slices.Equal(got, want) {
		t.Errorf("Diff = %+v, want %+v", got, want)
	}
}
