// Package digest owns the rules of digests and alerts: when a subscriber is
// due, what period a digest covers, and which items match whom. It is pure
// logic: no storage, no clock, no I/O.
package digest

import (
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/radiogram/radiogram/internal/items"
	"github.com/radiogram/radiogram/internal/keywords"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// Kind is what a mail of news is; it is also the value of the "kind"
// message tag and part of each send's ledger key.
type Kind string

const (
	KindDigest Kind = "digest" // the daily or weekly summary
	KindAlert  Kind = "alert"  // sent soon after matching items arrive
)

// NextDue returns the first delivery time strictly after `after` for daily
// or weekly preferences: the subscriber's local Hour:00 every day (daily) or
// on Day (weekly), in TimeZone. A local time that does not exist (spring
// forward) delivers at the first instant after the gap, so 02:30 becomes
// 03:00 on that day; an ambiguous local time (fall back) delivers once, at
// its first occurrence. Instant preferences have no schedule and return an
// error. The result is in UTC.
func NextDue(p subscribers.Preferences, after time.Time) (time.Time, error) {
	if p.Frequency != subscribers.Daily && p.Frequency != subscribers.Weekly {
		return time.Time{}, fmt.Errorf("next due: frequency %q has no schedule", p.Frequency)
	}
	if p.Hour < 0 || p.Hour > 23 {
		return time.Time{}, fmt.Errorf("next due: hour %d is not from 0 to 23", p.Hour)
	}
	var weekday time.Weekday
	if p.Frequency == subscribers.Weekly {
		i := slices.Index(subscribers.Weekdays, p.Day)
		if i < 0 {
			return time.Time{}, fmt.Errorf("next due: %q is not a day of the week", p.Day)
		}
		weekday = time.Weekday((i + 1) % 7) // Weekdays starts on Monday, time.Weekday on Sunday
	}
	loc, err := subscribers.LoadLocation(p.TimeZone)
	if err != nil {
		return time.Time{}, fmt.Errorf("next due: %w", err)
	}

	// The delivery of any day before after's local date is not after it, so
	// the search starts there; a week and a day covers every weekly day.
	local := after.In(loc)
	for i := range 9 {
		// A UTC date carries the local calendar date without zone arithmetic.
		day := time.Date(local.Year(), local.Month(), local.Day()+i, 0, 0, 0, 0, time.UTC)
		if p.Frequency == subscribers.Weekly && day.Weekday() != weekday {
			continue
		}
		due := wallInstant(day.Year(), day.Month(), day.Day(), p.Hour, loc)
		if due.After(after) {
			return due.UTC(), nil
		}
	}
	// Unreachable for real zones: every day has an instant at or after
	// any of its hours.
	return time.Time{}, fmt.Errorf("next due: no delivery within 9 days after %s in %s", after.UTC().Format(time.RFC3339), p.TimeZone)
}

// maxZoneOffset bounds how far any zone's clock is from UTC, with margin
// (real offsets stay within -12h and +14h).
const maxZoneOffset = 26 * time.Hour

// wallInstant returns the instant at which loc's clocks first read
// hour:00 on the given date, or, when the clocks skip that time, the
// instant they skip to. time.Date leaves both cases unspecified, hence the
// walk over the zone's periods.
func wallInstant(year int, month time.Month, day, hour int, loc *time.Location) time.Time {
	// The wall time read as if it were UTC: subtracting a period's offset
	// gives the instant that period would show it at.
	wall := time.Date(year, month, day, hour, 0, 0, 0, time.UTC)
	t := wall.Add(-maxZoneOffset).In(loc)
	for {
		_, offset := t.Zone()
		start, end := t.ZoneBounds()
		at := wall.Add(-time.Duration(offset) * time.Second)
		if !start.IsZero() && at.Before(start) {
			// The previous period had already passed this wall time and
			// this one starts beyond it: the clocks jumped over it.
			return start
		}
		if end.IsZero() || at.Before(end) {
			return at // the first period showing the wall time is the first occurrence
		}
		t = end
	}
}

// slotLayout is the UTC hour a slot names.
const slotLayout = "2006-01-02T15"

// Slot is the UTC hour bucket that indexes due subscribers: "2006-01-02T15".
func Slot(t time.Time) string {
	return t.UTC().Format(slotLayout)
}

// SlotStart returns the first instant of a slot's hour.
func SlotStart(slot string) (time.Time, error) {
	t, err := time.Parse(slotLayout, slot)
	if err != nil {
		return time.Time{}, fmt.Errorf("parse slot %q: %w", slot, err)
	}
	return t, nil
}

// SlotsBetween lists the slots of every hour in (from, to], oldest first: the
// slot of each full hour h with from < h <= to. At most max are returned,
// the newest ones: a planner that missed many hours catches up only the
// recent ones. An hour belongs to the window in which it begins, so the
// windows (a, b] and (b, c] together list each slot of (a, c] exactly once.
func SlotsBetween(from, to time.Time, max int) []string {
	if max <= 0 || !to.After(from) {
		return nil
	}
	// Truncate rounds in absolute time, which is aligned with UTC hours.
	last := to.Truncate(time.Hour)
	first := from.Truncate(time.Hour).Add(time.Hour)
	if last.Before(first) {
		return nil
	}
	n := int(last.Sub(first)/time.Hour) + 1
	if n > max {
		first = last.Add(-time.Duration(max-1) * time.Hour)
		n = max
	}
	slots := make([]string, n)
	for i := range slots {
		slots[i] = Slot(first.Add(time.Duration(i) * time.Hour))
	}
	return slots
}

// Lookback is how far a first digest looks back: one period (24h daily,
// 7 days weekly; instant alerts 24h).
func Lookback(f subscribers.Frequency) time.Duration {
	if f == subscribers.Weekly {
		return 7 * 24 * time.Hour
	}
	return 24 * time.Hour
}

// Since returns the start of the period a send covers: the watermark, but
// never more than one Lookback before until, so that a first digest, or one
// after a long pause, never sends the whole archive.
func Since(watermark, until time.Time, f subscribers.Frequency) time.Time {
	earliest := until.Add(-Lookback(f))
	if watermark.Before(earliest) {
		return earliest
	}
	return watermark
}

// AlertSince returns where the period of an alert after an ingest starts:
// Since of the watermark, except that an instant subscriber never sent an
// alert starts at their confirmation, not a Lookback back. An alert brings
// what arrived since sign-up: the first one must not back-fill a day of
// news (the ingest that triggers it stored its items after the
// confirmation, or the subscriber was not yet there to be planned). An
// admin's send still looks one Lookback back.
func AlertSince(sub subscribers.Subscriber, watermark, until time.Time) time.Time {
	f := sub.Preferences.Frequency
	if f == subscribers.Instant && watermark.IsZero() && !sub.ConfirmedAt.IsZero() && sub.ConfirmedAt.Before(until) {
		return Since(sub.ConfirmedAt, until, f)
	}
	return Since(watermark, until, f)
}

// Matches reports whether an item is for a subscriber by topic and
// society: one of its topics is among the subscriber's topics, and its
// society is among theirs (none chosen means every society). Keywords and
// mute phrases, which need the run's tokenised texts, are applied by
// Run.Pick, and so by Select and Pick.
func Matches(p subscribers.Preferences, it items.Item) bool {
	if len(p.Societies) > 0 && !slices.Contains(p.Societies, it.Society) {
		return false
	}
	return hasTopic(p, &it)
}

// IsFor reports whether an item is for a subscriber by the whole rule Pick
// applies, whatever its period: Matches, or a keyword matches it within
// the subscriber's societies, and no mute phrase matches it. It compiles
// the phrases on each call, so it suits the few items a run does not hold
// (the earlier members of a story, StorySent), not a run's items.
func IsFor(p subscribers.Preferences, it items.Item) bool {
	if len(p.Keywords)+len(p.Mute) == 0 {
		return Matches(p, it)
	}
	if len(p.Societies) > 0 && !slices.Contains(p.Societies, it.Society) {
		return false
	}
	text := keywords.Tokenize(it.Title, it.Summary)
	if _, muted := keywords.First(keywords.Compile(p.Mute), text); muted {
		return false
	}
	if hasTopic(p, &it) {
		return true
	}
	_, followed := keywords.First(keywords.Compile(p.Keywords), text)
	return followed
}

// MatchKey names what Pick reads of the preferences: two subscribers
// with the same key are matched to the same items. The planner selects
// once per key and period, not once per subscriber. Keywords and mute
// phrases are in it, sorted, so that subscribers with different phrases
// never share a selection; without phrases the key is what it always was.
func MatchKey(p subscribers.Preferences) string {
	return string(AppendMatchKey(nil, p))
}

// AppendMatchKey appends MatchKey(p) to dst: a planner looking up a
// million keys builds each in one buffer.
func AppendMatchKey(dst []byte, p subscribers.Preferences) []byte {
	dst = appendJoined(dst, p.Topics, ",")
	dst = append(dst, '|')
	dst = appendJoined(dst, p.Societies, ",")
	if len(p.Keywords) > 0 || len(p.Mute) > 0 {
		// Phrases hold no control characters, so \x1f separates them.
		var scratch [subscribers.MaxPhrases]string
		for _, list := range [][]string{p.Keywords, p.Mute} {
			sorted := append(scratch[:0], list...)
			slices.Sort(sorted)
			dst = append(dst, '|')
			dst = appendJoined(dst, sorted, "\x1f")
		}
	}
	return dst
}

// MatchKeys appends MatchKey of many preferences, as AppendMatchKey does,
// sorting each distinct list of phrases once rather than once per
// subscriber. The zero value is ready to use; it is not safe for
// concurrent use.
type MatchKeys struct {
	sorted map[string]string // a list as written, joined → sorted and joined
	buf    []byte
}

// Append appends MatchKey(p) to dst.
func (m *MatchKeys) Append(dst []byte, p subscribers.Preferences) []byte {
	if len(p.Keywords) == 0 && len(p.Mute) == 0 {
		return AppendMatchKey(dst, p)
	}
	if m.sorted == nil {
		m.sorted = map[string]string{}
	}
	dst = appendJoined(dst, p.Topics, ",")
	dst = append(dst, '|')
	dst = appendJoined(dst, p.Societies, ",")
	for _, list := range [][]string{p.Keywords, p.Mute} {
		m.buf = appendJoined(m.buf[:0], list, "\x1f")
		joined, ok := m.sorted[string(m.buf)]
		if !ok {
			sorted := slices.Sorted(slices.Values(list))
			joined = string(appendJoined(nil, sorted, "\x1f"))
			m.sorted[string(m.buf)] = joined
		}
		dst = append(append(dst, '|'), joined...)
	}
	return dst
}

func appendJoined(dst []byte, list []string, sep string) []byte {
	for i, s := range list {
		if i > 0 {
			dst = append(dst, sep...)
		}
		dst = append(dst, s...)
	}
	return dst
}

// Select returns the items first seen in (since, until] that are for a
// subscriber (see Run.Pick), newest published first, ties by key. Only
// FirstSeen places an item in a period: an item updated later is not sent
// again as new.
func Select(p subscribers.Preferences, all []items.Item, since, until time.Time) []items.Item {
	picked := Pick(p, all, since, until)
	selected := make([]items.Item, len(picked))
	for i, n := range picked {
		selected[i] = all[n]
	}
	return selected
}

// Pick is Select returning the selected items' positions in all. A
// planner picking for many subscribers uses a Run, which tokenises and
// matches phrases once for all of them.
func Pick(p subscribers.Preferences, all []items.Item, since, until time.Time) []int {
	return NewRun(all).Pick(p, since, until)
}

// newestFirst orders items by publication, newest first, then by key so
// that the order never depends on the order they were read in.
func newestFirst(a, b items.Item) int {
	if c := b.Published.Compare(a.Published); c != 0 {
		return c
	}
	return cmp.Compare(a.Key, b.Key)
}

// ContentKey identifies a distinct digest content: the same kind, format,
// chosen topics (they decide the grouping) and items give the same key,
// whatever the order of topics and item keys. It is 32 hex digits of a
// SHA-256.
func ContentKey(kind string, format subscribers.Format, topics []string, itemKeys []string) string {
	h := sha256.New()
	// Every field is length-prefixed, so no two different inputs can be
	// concatenated into the same bytes. The planner keys a selection per
	// distinct choice, a million with keywords: one buffer for the
	// lengths, one copy of each set.
	var n [binary.MaxVarintLen64]byte
	write := func(s string) {
		h.Write(binary.AppendUvarint(n[:0], uint64(len(s))))
		h.Write([]byte(s))
	}
	writeSet := func(values []string) {
		set := slices.Clone(values)
		slices.Sort(set)
		set = slices.Compact(set)
		h.Write(binary.AppendUvarint(n[:0], uint64(len(set))))
		for _, v := range set {
			write(v)
		}
	}
	write(kind)
	write(string(format))
	writeSet(topics)
	writeSet(itemKeys)
	return hex.EncodeToString(h.Sum(nil)[:16])
}

// Section is one topic's part of a digest.
type Section struct {
	Topic string
	Items []items.Item
}

// GroupByTopic orders items for display. Each item goes under its
// highest-scoring topic among those chosen (the earlier one on a tie of
// scores); an item with none of them is left out. Sections follow the
// taxonomy's display order topicOrder, chosen topics it does not list come
// last in the order chosen; within a section the newest published come
// first, ties by key. Only sections with items are returned.
func GroupByTopic(chosen []string, topicOrder []string, list []items.Item) []Section {
	byTopic := map[string][]items.Item{}
	for _, it := range list {
		if topic, ok := primaryTopic(chosen, it); ok {
			byTopic[topic] = append(byTopic[topic], it)
		}
	}
	order := make([]string, 0, len(chosen))
	for _, t := range topicOrder {
		if slices.Contains(chosen, t) {
			order = append(order, t)
		}
	}
	for _, t := range chosen {
		if !slices.Contains(order, t) {
			order = append(order, t)
		}
	}
	var sections []Section
	for _, t := range order {
		if list := byTopic[t]; len(list) > 0 {
			slices.SortFunc(list, newestFirst)
			sections = append(sections, Section{Topic: t, Items: list})
		}
	}
	return sections
}

// primaryTopic is the item's highest-scoring topic among the chosen.
func primaryTopic(chosen []string, it items.Item) (string, bool) {
	var best items.TopicScore
	found := false
	for _, t := range it.Topics {
		if slices.Contains(chosen, t.ID) && (!found || t.Score > best.Score) {
			best, found = t, true
		}
	}
	return best.ID, found
}

// PeriodLabel describes a period in the subscriber's zone for the mail:
//
//	Sunday 22 November 2026              one local day, or an alert
//	16–22 November 2026                  within a month
//	28 November – 4 December 2026        across months
//	28 December 2026 – 3 January 2027    across years
//
// An alert is a moment rather than a period: pass a zero since (or one not
// before until) and until's day is named. A nil loc means UTC.
func PeriodLabel(since, until time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	end := until.In(loc)
	if since.IsZero() || !since.Before(until) {
		return end.Format("Monday 2 January 2006")
	}
	start := since.In(loc)
	switch {
	case start.Year() != end.Year():
		return start.Format("2 January 2006") + " – " + end.Format("2 January 2006")
	case start.Month() != end.Month():
		return start.Format("2 January") + " – " + end.Format("2 January 2006")
	case start.Day() != end.Day():
		return start.Format("2") + "–" + end.Format("2 January 2006")
	}
	return end.Format("Monday 2 January 2006")
}

// DueSlot is the slot a due time is planned in: the first whole UTC hour at
// or after it. The planner runs on the hour with the hour as the period's
// end, so a time off the hour (India's :30, Chatham's :45) is sent at most
// an hour late, never early, and the next due time after it always falls
// in a later slot.
func DueSlot(due time.Time) string {
	return Slot(due.UTC().Add(time.Hour - 1).Truncate(time.Hour))
}
