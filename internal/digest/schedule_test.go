package digest

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/subscribers"
)

func mustTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func daily(zone string, hour int) subscribers.Preferences {
	return subscribers.Preferences{Frequency: subscribers.Daily, Hour: hour, TimeZone: zone}
}

func weekly(zone, day string, hour int) subscribers.Preferences {
	return subscribers.Preferences{Frequency: subscribers.Weekly, Day: day, Hour: hour, TimeZone: zone}
}

func TestNextDue(t *testing.T) {
	tests := []struct {
		name  string
		prefs subscribers.Preferences
		after string
		want  string
	}{
		// UTC: the plain rule and its edges.
		{"utc before the hour", daily("UTC", 7), "2026-11-22T06:59:59Z", "2026-11-22T07:00:00Z"},
		{"utc exactly at due gives the next day", daily("UTC", 7), "2026-11-22T07:00:00Z", "2026-11-23T07:00:00Z"},
		{"utc a nanosecond after due", daily("UTC", 7), "2026-11-22T07:00:00.000000001Z", "2026-11-23T07:00:00Z"},
		{"utc midnight across the year", daily("UTC", 0), "2026-12-31T23:59:59Z", "2027-01-01T00:00:00Z"},
		{"utc hour 23 across the month", daily("UTC", 23), "2026-02-28T23:00:00Z", "2026-03-01T23:00:00Z"},

		// Europe/Vienna: CET +1, CEST +2; 29 March and 25 October 2026.
		{"vienna winter", daily("Europe/Vienna", 7), "2026-01-10T12:00:00Z", "2026-01-11T06:00:00Z"},
		{"vienna summer", daily("Europe/Vienna", 7), "2026-07-01T00:00:00Z", "2026-07-01T05:00:00Z"},
		{"vienna day before spring forward", daily("Europe/Vienna", 7), "2026-03-28T06:00:00Z", "2026-03-29T05:00:00Z"},
		{"vienna 01:00 before the gap", daily("Europe/Vienna", 1), "2026-03-28T12:00:00Z", "2026-03-29T00:00:00Z"},
		{"vienna 02:00 in the gap delivers at 03:00 CEST", daily("Europe/Vienna", 2), "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
		{"vienna 03:00 right after the gap", daily("Europe/Vienna", 3), "2026-03-28T12:00:00Z", "2026-03-29T01:00:00Z"},
		{"vienna 02:00 the day after the gap", daily("Europe/Vienna", 2), "2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"},
		{"vienna 02:00 ambiguous, first occurrence", daily("Europe/Vienna", 2), "2026-10-24T12:00:00Z", "2026-10-25T00:00:00Z"},
		{"vienna 02:00 at first occurrence skips the repeat", daily("Europe/Vienna", 2), "2026-10-25T00:00:00Z", "2026-10-26T01:00:00Z"},
		{"vienna 02:00 between occurrences", daily("Europe/Vienna", 2), "2026-10-25T00:30:00Z", "2026-10-26T01:00:00Z"},
		{"vienna 03:00 after fall back", daily("Europe/Vienna", 3), "2026-10-24T12:00:00Z", "2026-10-25T02:00:00Z"},
		{"vienna 07:00 across fall back is 25h later", daily("Europe/Vienna", 7), "2026-10-24T05:00:00Z", "2026-10-25T06:00:00Z"},

		// America/New_York: EST -5, EDT -4; 8 March and 1 November 2026.
		{"new york day before spring forward", daily("America/New_York", 2), "2026-03-07T06:00:00Z", "2026-03-07T07:00:00Z"},
		{"new york 02:00 in the gap delivers at 03:00 EDT", daily("America/New_York", 2), "2026-03-07T07:00:00Z", "2026-03-08T07:00:00Z"},
		{"new york after a second before the gap", daily("America/New_York", 2), "2026-03-08T06:59:59Z", "2026-03-08T07:00:00Z"},
		{"new york 02:00 the day after the gap", daily("America/New_York", 2), "2026-03-08T07:00:00Z", "2026-03-09T06:00:00Z"},
		{"new york after from within the hour before the gap", daily("America/New_York", 2), "2026-03-08T06:30:00Z", "2026-03-08T07:00:00Z"},
		{"new york 01:00 ambiguous, first occurrence", daily("America/New_York", 1), "2026-10-31T12:00:00Z", "2026-11-01T05:00:00Z"},
		{"new york 01:00 at first occurrence skips the repeat", daily("America/New_York", 1), "2026-11-01T05:00:00Z", "2026-11-02T06:00:00Z"},
		{"new york 01:00 between occurrences", daily("America/New_York", 1), "2026-11-01T05:30:00Z", "2026-11-02T06:00:00Z"},
		{"new york 01:00 at the repeat", daily("America/New_York", 1), "2026-11-01T06:00:00Z", "2026-11-02T06:00:00Z"},
		{"new york 02:00 on fall back day", daily("America/New_York", 2), "2026-10-31T12:00:00Z", "2026-11-01T07:00:00Z"},

		// Asia/Kolkata: +05:30, no DST.
		{"kolkata half-hour offset", daily("Asia/Kolkata", 7), "2026-06-01T01:29:59Z", "2026-06-01T01:30:00Z"},
		{"kolkata exactly at due", daily("Asia/Kolkata", 7), "2026-06-01T01:30:00Z", "2026-06-02T01:30:00Z"},
		{"kolkata midnight is the previous UTC day", daily("Asia/Kolkata", 0), "2026-06-01T12:00:00Z", "2026-06-01T18:30:00Z"},

		// Australia/Lord_Howe: +10:30, DST +11 (a 30-minute shift) from
		// 4 October 2026 02:00 and until 5 April 2026 02:00.
		{"lord howe summer", daily("Australia/Lord_Howe", 7), "2026-01-10T00:00:00Z", "2026-01-10T20:00:00Z"},
		{"lord howe winter", daily("Australia/Lord_Howe", 7), "2026-07-01T00:00:00Z", "2026-07-01T20:30:00Z"},
		{"lord howe 02:00 in the half-hour gap delivers at 02:30", daily("Australia/Lord_Howe", 2), "2026-10-03T00:00:00Z", "2026-10-03T15:30:00Z"},
		{"lord howe 02:00 the day after the gap", daily("Australia/Lord_Howe", 2), "2026-10-03T15:30:00Z", "2026-10-04T15:00:00Z"},
		{"lord howe 01:00 before fall back", daily("Australia/Lord_Howe", 1), "2026-04-04T00:00:00Z", "2026-04-04T14:00:00Z"},
		{"lord howe 02:00 after fall back", daily("Australia/Lord_Howe", 2), "2026-04-04T14:00:00Z", "2026-04-04T15:30:00Z"},

		// Pacific/Chatham: +12:45, DST +13:45 from 27 September 2026 02:45
		// and until 5 April 2026 03:45.
		{"chatham winter", daily("Pacific/Chatham", 7), "2026-07-01T00:00:00Z", "2026-07-01T18:15:00Z"},
		{"chatham 03:00 in the gap delivers at 03:45", daily("Pacific/Chatham", 3), "2026-09-26T00:00:00Z", "2026-09-26T14:00:00Z"},
		{"chatham 03:00 ambiguous, first occurrence", daily("Pacific/Chatham", 3), "2026-04-04T00:00:00Z", "2026-04-04T13:15:00Z"},
		{"chatham 03:00 at first occurrence skips the repeat", daily("Pacific/Chatham", 3), "2026-04-04T13:15:00Z", "2026-04-05T14:15:00Z"},

		// Weekly.
		{"weekly across the week boundary", weekly("UTC", "monday", 7), "2026-11-22T23:00:00Z", "2026-11-23T07:00:00Z"},
		{"weekly exactly at due gives next week", weekly("UTC", "monday", 7), "2026-11-23T07:00:00Z", "2026-11-30T07:00:00Z"},
		{"weekly later the same day gives next week", weekly("UTC", "monday", 7), "2026-11-23T12:00:00Z", "2026-11-30T07:00:00Z"},
		{"weekly across the year", weekly("UTC", "sunday", 7), "2026-12-28T00:00:00Z", "2027-01-03T07:00:00Z"},
		{"weekly vienna from saturday", weekly("Europe/Vienna", "sunday", 7), "2026-11-21T12:00:00Z", "2026-11-22T06:00:00Z"},
		{"weekly vienna exactly at due", weekly("Europe/Vienna", "sunday", 7), "2026-11-22T06:00:00Z", "2026-11-29T06:00:00Z"},
		{"weekly vienna into the spring gap", weekly("Europe/Vienna", "sunday", 2), "2026-03-22T01:00:00Z", "2026-03-29T01:00:00Z"},
		{"weekly vienna across fall back", weekly("Europe/Vienna", "sunday", 7), "2026-10-18T05:00:00Z", "2026-10-25T06:00:00Z"},
		{"weekly new york into the spring gap", weekly("America/New_York", "sunday", 2), "2026-03-01T07:00:00Z", "2026-03-08T07:00:00Z"},
		{"weekly new york ambiguous hour", weekly("America/New_York", "sunday", 1), "2026-10-25T05:00:00Z", "2026-11-01T05:00:00Z"},
		{"weekly new york after the ambiguous hour", weekly("America/New_York", "sunday", 1), "2026-11-01T05:00:00Z", "2026-11-08T06:00:00Z"},
		{"weekly new york late saturday is sunday in UTC", weekly("America/New_York", "saturday", 23), "2026-11-28T00:00:00Z", "2026-11-29T04:00:00Z"},
		{"weekly kolkata", weekly("Asia/Kolkata", "friday", 9), "2026-11-20T03:30:00Z", "2026-11-27T03:30:00Z"},
		{"weekly chatham monday is sunday in UTC", weekly("Pacific/Chatham", "monday", 7), "2026-11-22T17:00:00Z", "2026-11-22T17:15:00Z"},
		{"weekly lord howe into the gap", weekly("Australia/Lord_Howe", "sunday", 2), "2026-09-27T15:00:00Z", "2026-10-03T15:30:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NextDue(tt.prefs, mustTime(t, tt.after))
			if err != nil {
				t.Fatal(err)
			}
			if want := mustTime(t, tt.want); !got.Equal(want) || got.Location() != time.UTC {
				t.Errorf("NextDue(%+v, %s) = %s, want %s", tt.prefs, tt.after, got, want)
			}
		})
	}
}

func TestNextDueIgnoresTheZoneOfAfter(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	after := time.Date(2026, 7, 1, 1, 0, 0, 0, ny) // 05:00Z, exactly 07:00 in Vienna
	got, err := NextDue(daily("Europe/Vienna", 7), after)
	if err != nil {
		t.Fatal(err)
	}
	if want := mustTime(t, "2026-07-02T05:00:00Z"); !got.Equal(want) {
		t.Errorf("NextDue = %s, want %s", got, want)
	}
}

func TestNextDueRefuses(t *testing.T) {
	after := mustTime(t, "2026-11-22T12:00:00Z")
	tests := []struct {
		name  string
		prefs subscribers.Preferences
	}{
		{"instant has no schedule", subscribers.Preferences{Frequency: subscribers.Instant, Hour: 7, TimeZone: "UTC"}},
		{"no frequency", subscribers.Preferences{Hour: 7, TimeZone: "UTC"}},
		{"unknown frequency", subscribers.Preferences{Frequency: "monthly", Hour: 7, TimeZone: "UTC"}},
		{"hour below 0", daily("UTC", -1)},
		{"hour above 23", daily("UTC", 24)},
		{"weekly without a day", weekly("UTC", "", 7)},
		{"weekly with an unknown day", weekly("UTC", "funday", 7)},
		{"unknown zone", daily("Mars/Olympus_Mons", 7)},
		{"local zone", daily("Local", 7)},
		{"empty zone", daily("", 7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NextDue(tt.prefs, after)
			if err == nil {
				t.Errorf("NextDue(%+v) = %s, want an error", tt.prefs, got)
			}
		})
	}
}

// TestNextDueProperties checks NextDue over random instants and preferences
// across 2026 against its contract and against a brute-force walk of the
// clock in 15-minute steps (every zone tested has offsets in whole quarter
// hours, so every delivery falls on such a step).
func TestNextDueProperties(t *testing.T) {
	zones := []string{"UTC", "Europe/Vienna", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham"}
	rng := rand.New(rand.NewPCG(2026, 11))
	start := mustTime(t, "2026-01-01T00:00:00Z")
	year := int64(365 * 24 * time.Hour)
	for range 300 {
		prefs := daily(zones[rng.IntN(len(zones))], rng.IntN(24))
		if rng.IntN(2) == 0 {
			prefs = weekly(prefs.TimeZone, subscribers.Weekdays[rng.IntN(7)], prefs.Hour)
		}
		loc, err := time.LoadLocation(prefs.TimeZone)
		if err != nil {
			t.Fatal(err)
		}
		after := start.Add(time.Duration(rng.Int64N(year)))
		// Half the schedules start in the week before a clock change, at an
		// hour near it, which plain chance would seldom try.
		if changes := clockChanges(t, loc, 2026); len(changes) > 0 && rng.IntN(2) == 0 {
			change := changes[rng.IntN(len(changes))]
			after = change.Add(-time.Duration(rng.Int64N(int64(8 * 24 * time.Hour))))
			local := change.In(loc)
			prefs.Hour = (local.Hour() + rng.IntN(3) - 1 + 24) % 24
			if prefs.Frequency == subscribers.Weekly && rng.IntN(2) == 0 {
				prefs.Day = subscribers.Weekdays[(local.Weekday()+6)%7]
			}
		}
		// Follow each schedule for three deliveries, so that the later
		// calls start exactly at a due instant.
		for range 3 {
			due, err := NextDue(prefs, after)
			if err != nil {
				t.Fatalf("NextDue(%+v, %s): %v", prefs, after, err)
			}
			if !due.After(after) {
				t.Fatalf("NextDue(%+v, %s) = %s, not after it", prefs, after, due)
			}
			if due.Sub(after) > 8*24*time.Hour {
				t.Fatalf("NextDue(%+v, %s) = %s, more than 8 days after", prefs, after, due)
			}
			local := due.In(loc)
			if local.Hour() != prefs.Hour || local.Minute() != 0 || local.Second() != 0 {
				checkGap(t, prefs, due, loc)
			}
			if prefs.Frequency == subscribers.Weekly && subscribers.Weekdays[(local.Weekday()+6)%7] != prefs.Day {
				t.Fatalf("NextDue(%+v, %s) = %s, a %s", prefs, after, local, local.Weekday())
			}
			if want := bruteNextDue(t, prefs, after, loc); !due.Equal(want) {
				t.Fatalf("NextDue(%+v, %s) = %s, brute force finds %s", prefs, after, local, want.In(loc))
			}
			after = due
		}
	}
}

// clockChanges lists the instants loc changes its offset in the year.
func clockChanges(t *testing.T, loc *time.Location, year int) []time.Time {
	t.Helper()
	var changes []time.Time
	end := time.Date(year+1, 1, 1, 0, 0, 0, 0, time.UTC)
	for at := time.Date(year, 1, 1, 0, 0, 0, 0, time.UTC); at.Before(end); {
		_, next := at.In(loc).ZoneBounds()
		if next.IsZero() || !next.Before(end) {
			break
		}
		changes = append(changes, next)
		at = next
	}
	return changes
}

// checkGap fails unless due is the end of a spring-forward gap that skipped
// the subscriber's hour.
func checkGap(t *testing.T, prefs subscribers.Preferences, due time.Time, loc *time.Location) {
	t.Helper()
	before := due.Add(-time.Nanosecond).In(loc)
	_, offsetBefore := before.Zone()
	_, offsetAt := due.In(loc).Zone()
	at := wallClock(due.In(loc))
	hour := time.Date(at.Year(), at.Month(), at.Day(), prefs.Hour, 0, 0, 0, time.UTC)
	if offsetAt <= offsetBefore || !wallClock(before).Before(hour) || !hour.Before(at) {
		t.Fatalf("NextDue(%+v) = %s, not hour %d and not the end of a gap over it", prefs, due.In(loc), prefs.Hour)
	}
}

// wallClock is what a clock in t's zone shows, as a UTC time.
func wallClock(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// bruteNextDue finds the first quarter hour after `after` at which the
// local clock reaches or passes the delivery hour of a delivery day, having
// been before it for the last two hours (longer than any clock change, so
// the clock passing the hour again after falling back does not count).
func bruteNextDue(t *testing.T, prefs subscribers.Preferences, after time.Time, loc *time.Location) time.Time {
	t.Helper()
	const step = 15 * time.Minute
	for at := after.Truncate(step).Add(step); at.Sub(after) < 10*24*time.Hour; at = at.Add(step) {
		now := wallClock(at.In(loc))
		target := time.Date(now.Year(), now.Month(), now.Day(), prefs.Hour, 0, 0, 0, time.UTC)
		if now.Before(target) || prefs.Frequency == subscribers.Weekly && subscribers.Weekdays[(target.Weekday()+6)%7] != prefs.Day {
			continue
		}
		first := true
		for back := step; back <= 2*time.Hour; back += step {
			if !wallClock(at.Add(-back).In(loc)).Before(target) {
				first = false
			}
		}
		if first {
			return at
		}
	}
	t.Fatalf("brute force found no delivery for %+v after %s", prefs, after)
	return time.Time{}
}

func TestSlot(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		at   time.Time
		want string
	}{
		{mustTime(t, "2026-11-22T07:00:00Z"), "2026-11-22T07"},
		{mustTime(t, "2026-11-22T07:59:59.999999999Z"), "2026-11-22T07"},
		{mustTime(t, "2026-12-31T23:30:00Z"), "2026-12-31T23"},
		{time.Date(2026, 6, 2, 0, 15, 0, 0, kolkata), "2026-06-01T18"},
	}
	for _, tt := range tests {
		if got := Slot(tt.at); got != tt.want {
			t.Errorf("Slot(%s) = %q, want %q", tt.at, got, tt.want)
		}
		start, err := SlotStart(tt.want)
		if err != nil {
			t.Fatal(err)
		}
		if !start.Equal(tt.at.Truncate(time.Hour)) {
			t.Errorf("SlotStart(%q) = %s, want %s", tt.want, start, tt.at.Truncate(time.Hour))
		}
	}
	for _, bad := range []string{"", "2026-11-22", "2026-11-22T24", "2026-11-22 07", "2026-11-22T07:00"} {
		if got, err := SlotStart(bad); err == nil {
			t.Errorf("SlotStart(%q) = %s, want an error", bad, got)
		}
	}
}

func TestSlotsBetween(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		from, to time.Time
		max      int
		want     []string
	}{
		{"one hour, just past the hours", mustTime(t, "2026-11-22T06:00:05Z"), mustTime(t, "2026-11-22T07:00:05Z"), 24, []string{"2026-11-22T07"}},
		{"exact hours: from excluded, to included", mustTime(t, "2026-11-22T06:00:00Z"), mustTime(t, "2026-11-22T07:00:00Z"), 24, []string{"2026-11-22T07"}},
		{"no hour begins inside", mustTime(t, "2026-11-22T06:00:00Z"), mustTime(t, "2026-11-22T06:59:59Z"), 24, nil},
		{"a nanosecond before the hour", mustTime(t, "2026-11-22T06:59:59.999999999Z"), mustTime(t, "2026-11-22T07:00:00Z"), 24, []string{"2026-11-22T07"}},
		{"empty window", mustTime(t, "2026-11-22T07:00:00Z"), mustTime(t, "2026-11-22T07:00:00Z"), 24, nil},
		{"backwards window", mustTime(t, "2026-11-22T09:00:00Z"), mustTime(t, "2026-11-22T07:00:00Z"), 24, nil},
		{"across the year", mustTime(t, "2026-12-31T23:30:00Z"), mustTime(t, "2027-01-01T02:10:00Z"), 24, []string{"2027-01-01T00", "2027-01-01T01", "2027-01-01T02"}},
		{"capped keeps the newest", mustTime(t, "2026-11-22T00:00:00Z"), mustTime(t, "2026-11-22T10:00:00Z"), 3, []string{"2026-11-22T08", "2026-11-22T09", "2026-11-22T10"}},
		{"cap equal to the count", mustTime(t, "2026-11-22T00:00:00Z"), mustTime(t, "2026-11-22T03:00:00Z"), 3, []string{"2026-11-22T01", "2026-11-22T02", "2026-11-22T03"}},
		{"cap of one", mustTime(t, "2026-11-22T00:00:00Z"), mustTime(t, "2026-11-22T03:00:00Z"), 1, []string{"2026-11-22T03"}},
		{"cap of zero", mustTime(t, "2026-11-22T00:00:00Z"), mustTime(t, "2026-11-22T03:00:00Z"), 0, nil},
		{"negative cap", mustTime(t, "2026-11-22T00:00:00Z"), mustTime(t, "2026-11-22T03:00:00Z"), -1, nil},
		{"zoned inputs use UTC hours", time.Date(2026, 6, 1, 5, 45, 0, 0, kolkata), mustTime(t, "2026-06-01T02:00:00Z"), 24, []string{"2026-06-01T01", "2026-06-01T02"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := SlotsBetween(tt.from, tt.to, tt.max); !slices.Equal(got, tt.want) {
				t.Errorf("SlotsBetween(%s, %s, %d) = %q, want %q", tt.from, tt.to, tt.max, got, tt.want)
			}
		})
	}
}

// TestSlotsBetweenPartitions checks that consecutive planner windows list
// every slot exactly once.
func TestSlotsBetweenPartitions(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	start := mustTime(t, "2026-03-01T00:00:00Z")
	for range 200 {
		a := start.Add(time.Duration(rng.Int64N(int64(48 * time.Hour))))
		b := a.Add(time.Duration(rng.Int64N(int64(30 * time.Hour))))
		c := b.Add(time.Duration(rng.Int64N(int64(30 * time.Hour))))
		joined := append(SlotsBetween(a, b, 1000), SlotsBetween(b, c, 1000)...)
		if whole := SlotsBetween(a, c, 1000); !slices.Equal(joined, whole) {
			t.Fatalf("(%s, %s] + (%s, %s] = %q, want %q", a, b, b, c, joined, whole)
		}
	}
}

func TestLookback(t *testing.T) {
	tests := []struct {
		f    subscribers.Frequency
		want time.Duration
	}{
		{subscribers.Instant, 24 * time.Hour},
		{subscribers.Daily, 24 * time.Hour},
		{subscribers.Weekly, 7 * 24 * time.Hour},
	}
	for _, tt := range tests {
		if got := Lookback(tt.f); got != tt.want {
			t.Errorf("Lookback(%q) = %s, want %s", tt.f, got, tt.want)
		}
	}
}

func TestSince(t *testing.T) {
	until := mustTime(t, "2026-11-22T07:00:00Z")
	tests := []struct {
		name      string
		watermark time.Time
		f         subscribers.Frequency
		want      time.Time
	}{
		{"first daily digest", time.Time{}, subscribers.Daily, mustTime(t, "2026-11-21T07:00:00Z")},
		{"first weekly digest", time.Time{}, subscribers.Weekly, mustTime(t, "2026-11-15T07:00:00Z")},
		{"first alert", time.Time{}, subscribers.Instant, mustTime(t, "2026-11-21T07:00:00Z")},
		{"recent watermark", mustTime(t, "2026-11-21T20:00:00Z"), subscribers.Daily, mustTime(t, "2026-11-21T20:00:00Z")},
		{"watermark exactly one period back", mustTime(t, "2026-11-21T07:00:00Z"), subscribers.Daily, mustTime(t, "2026-11-21T07:00:00Z")},
		{"watermark just beyond one period", mustTime(t, "2026-11-21T06:59:59Z"), subscribers.Daily, mustTime(t, "2026-11-21T07:00:00Z")},
		{"long pause, daily", mustTime(t, "2026-01-01T00:00:00Z"), subscribers.Daily, mustTime(t, "2026-11-21T07:00:00Z")},
		{"long pause, weekly", mustTime(t, "2026-01-01T00:00:00Z"), subscribers.Weekly, mustTime(t, "2026-11-15T07:00:00Z")},
		{"weekly within its week", mustTime(t, "2026-11-17T07:00:00Z"), subscribers.Weekly, mustTime(t, "2026-11-17T07:00:00Z")},
		{"alert shortly after the last", mustTime(t, "2026-11-22T06:45:00Z"), subscribers.Instant, mustTime(t, "2026-11-22T06:45:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Since(tt.watermark, until, tt.f); !got.Equal(tt.want) {
				t.Errorf("Since(%s, %s, %q) = %s, want %s", tt.watermark, until, tt.f, got, tt.want)
			}
		})
	}
}

func TestAlertSince(t *testing.T) {
	until := mustTime(t, "2026-11-22T07:00:00Z")
	sub := func(f subscribers.Frequency, confirmed string) subscribers.Subscriber {
		s := subscribers.Subscriber{Preferences: subscribers.Preferences{Frequency: f}}
		if confirmed != "" {
			s.ConfirmedAt = mustTime(t, confirmed)
		}
		return s
	}
	tests := []struct {
		name      string
		sub       subscribers.Subscriber
		watermark time.Time
		want      time.Time
	}{
		{"first alert: from the confirmation", sub(subscribers.Instant, "2026-11-22T06:40:00Z"), time.Time{}, mustTime(t, "2026-11-22T06:40:00Z")},
		{"first alert of a subscriber confirmed long ago: one lookback", sub(subscribers.Instant, "2026-10-01T00:00:00Z"), time.Time{}, mustTime(t, "2026-11-21T07:00:00Z")},
		{"later alert: from the watermark", sub(subscribers.Instant, "2026-11-22T06:40:00Z"), mustTime(t, "2026-11-22T06:50:00Z"), mustTime(t, "2026-11-22T06:50:00Z")},
		{"no confirmation time: one lookback", sub(subscribers.Instant, ""), time.Time{}, mustTime(t, "2026-11-21T07:00:00Z")},
		{"confirmed after the period: one lookback", sub(subscribers.Instant, "2026-11-22T08:00:00Z"), time.Time{}, mustTime(t, "2026-11-21T07:00:00Z")},
		{"first daily digest: a day back", sub(subscribers.Daily, "2026-11-22T06:40:00Z"), time.Time{}, mustTime(t, "2026-11-21T07:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := AlertSince(tt.sub, tt.watermark, until); !got.Equal(tt.want) {
				t.Errorf("AlertSince = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDueSlot(t *testing.T) {
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		due  string
		want string
	}{
		{"2026-11-22T07:00:00Z", "2026-11-22T07"},
		{"2026-11-22T07:00:00.000000001Z", "2026-11-22T08"},
		{"2026-11-22T01:30:00Z", "2026-11-22T02"},
		{"2026-11-22T23:45:00Z", "2026-11-23T00"},
		{"2026-11-22T07:00:00+05:30", "2026-11-22T02"},
	}
	for _, tt := range tests {
		if got := DueSlot(at(tt.due)); got != tt.want {
			t.Errorf("DueSlot(%s) = %s, want %s", tt.due, got, tt.want)
		}
	}
	// A Kolkata subscriber planned at their slot's hour is next due in a later slot.
	p := subscribers.Preferences{Topics: []string{"ai"}, Frequency: subscribers.Daily, Hour: 7, TimeZone: "Asia/Kolkata"}
	first, err := NextDue(p, at("2026-11-22T00:00:00Z"))
	if err != nil {
		t.Fatal(err)
	}
	slot := DueSlot(first)
	until, err := SlotStart(slot)
	if err != nil {
		t.Fatal(err)
	}
	next, err := NextDue(p, until)
	if err != nil {
		t.Fatal(err)
	}
	if until.Before(first) || DueSlot(next) <= slot {
		t.Errorf("due %v planned in %s (until %v) is next due %v in %s", first, slot, until, next, DueSlot(next))
	}
}
