package httpfeed

import (
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 11, 3, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		value string
		want  time.Duration
	}{
		{"", 0},
		{"0", 0},
		{"120", 2 * time.Minute},
		{" 30 ", 30 * time.Second},
		{"99999999999999999999999", maxDeltaSeconds * time.Second},
		{"-5", 0},
		{"+5", 0},
		{"1.5", 0},
		{"soon", 0},
		{"Mon, 03 Nov 2025 09:10:00 GMT", 10 * time.Minute},  // IMF-fixdate
		{"Monday, 03-Nov-25 09:00:30 GMT", 30 * time.Second}, // RFC 850
		{"Mon Nov  3 10:00:00 2025", time.Hour},              // asctime
		{"Mon, 03 Nov 2025 08:00:00 GMT", 0},                 // in the past
		{"Mon, 03 Nov 2025 09:00:00 GMT", 0},                 // now
		{"Mon, 03 Nov 2025 09:10:00 +0100", 0},               // not an HTTP-date
	}
	for _, tt := range tests {
		if got := ParseRetryAfter(tt.value, now); got != tt.want {
			t.Errorf("ParseRetryAfter(%q) = %v, want %v", tt.value, got, tt.want)
		}
	}
}

func TestParseMaxAge(t *testing.T) {
	tests := []struct {
		name  string
		value []string
		want  time.Duration
	}{
		{"absent", nil, 0},
		{"max-age", []string{"max-age=300"}, 5 * time.Minute},
		{"among others", []string{"public, max-age=3600, must-revalidate"}, time.Hour},
		{"upper case, spaces", []string{"Public , MAX-AGE = 60"}, time.Minute},
		{"quoted", []string{`max-age="120"`}, 2 * time.Minute},
		{"zero", []string{"max-age=0"}, 0},
		{"negative", []string{"max-age=-1"}, 0},
		{"garbage", []string{"max-age=soon"}, 0},
		{"huge", []string{"max-age=99999999999999999999"}, maxDeltaSeconds * time.Second},
		{"first of duplicates", []string{"max-age=60, max-age=3600"}, time.Minute},
		{"s-maxage is for shared caches", []string{"s-maxage=600"}, 0},
		{"no-cache", []string{"no-cache, max-age=300"}, 0},
		{"no-store", []string{"max-age=300, no-store"}, 0},
		{"no-cache in a second header", []string{"max-age=300", "no-cache"}, 0},
		{"split over headers", []string{"public", "max-age=90"}, 90 * time.Second},
		{"private", []string{"private, max-age=30"}, 30 * time.Second},
	}
	for _, tt := range tests {
		if got := parseMaxAge(tt.value); got != tt.want {
			t.Errorf("%s: parseMaxAge(%q) = %v, want %v", tt.name, tt.value, got, tt.want)
		}
	}
}
