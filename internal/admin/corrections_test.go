package admin

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/items"
)

// memCorrections holds one item and the corrections applied to it.
type memCorrections struct {
	item    items.Item
	applied []Correction
}

func (m *memCorrections) Item(_ context.Context, id string) (items.Item, error) {
	if id != m.item.Key {
		return items.Item{}, ErrNotFound
	}
	return m.item, nil
}

func (m *memCorrections) Correct(_ context.Context, c Correction) (items.Item, Correction, error) {
	if c.ItemID != m.item.Key {
		return items.Item{}, c, ErrNotFound
	}
	c.Society, c.Title, c.Summary, c.Before = m.item.Society, m.item.Title, m.item.Summary, m.item.Topics
	m.item.Topics = c.After
	m.applied = append(m.applied, c)
	return m.item, c, nil
}

func (m *memCorrections) Corrections(_ context.Context, limit int) ([]Correction, error) {
	return m.applied[:min(limit, len(m.applied))], nil
}

func correctingService(store *memCorrections, logs *bytes.Buffer) (*Service, *memAudit) {
	audit := &memAudit{}
	known := []string{"ai", "safety", "ultrasound", "events", "workforce"}
	return &Service{
		CorrectionStore: store, MaxTopics: 4, RunStore: audit,
		KnownTopic: func(id string) bool { return slices.Contains(known, id) },
		Now:        func() time.Time { return time.Date(2026, 11, 30, 17, 0, 0, 0, time.UTC) },
		Log:        slog.New(slog.NewJSONHandler(logs, nil)),
	}, audit
}

func TestCorrectTopicsRefuses(t *testing.T) {
	tests := []struct {
		name   string
		id     string
		topics []string
		want   error
		reason string
	}{
		{"none", "esr-1", nil, ErrBadRequest, "topics must list at least one topic"},
		{"empty", "esr-1", []string{}, ErrBadRequest, "topics must list at least one topic"},
		{"unknown topic", "esr-1", []string{"ai", "astrology"}, ErrUnknownTopic, `unknown topic "astrology"`},
		{"duplicate", "esr-1", []string{"ai", "safety", "ai"}, ErrBadRequest, `topic "ai" is listed twice`},
		{"too many", "esr-1", []string{"ai", "safety", "ultrasound", "events", "workforce"}, ErrBadRequest, "an item has at most 4 topics; 5 given"},
		{"unknown item", "esr-2", []string{"ai"}, ErrNotFound, ""},
		{"no item id", "", []string{"ai"}, ErrNotFound, `no item ""`},
		{"item id too long", strings.Repeat("x", 201), []string{"ai"}, ErrNotFound, ""},
	}
	for _, tt := range tests {
		store := &memCorrections{item: items.Item{Key: "esr-1", Topics: []items.TopicScore{{ID: "workforce", Source: items.SourceFallback}}}}
		s, audit := correctingService(store, &bytes.Buffer{})
		_, err := s.CorrectTopics(context.Background(), tt.id, tt.topics, "admin (api)")
		if !errors.Is(err, tt.want) || (tt.reason != "" && err.Error() != tt.reason) {
			t.Errorf("%s: %v, want %v (%q)", tt.name, err, tt.want, tt.reason)
		}
		if len(store.applied) != 0 || store.item.Topics[0].ID != "workforce" || len(audit.entries) != 0 {
			t.Errorf("%s: a refused correction changed the item or was audited", tt.name)
		}
	}
}

func TestCorrectTopicsAppliesLogsAndAudits(t *testing.T) {
	store := &memCorrections{item: items.Item{Key: "wfumb-1", Society: "wfumb", Title: "General news", Summary: "The federation met.",
		Topics: []items.TopicScore{{ID: "workforce", Score: 0.5, Source: items.SourceFallback}}}}
	var logs bytes.Buffer
	s, audit := correctingService(store, &logs)
	ctx := WithClient(context.Background(), "203.0.113.9")
	it, err := s.CorrectTopics(ctx, "wfumb-1", []string{"ultrasound", "events"}, "admin (api)")
	if err != nil {
		t.Fatal(err)
	}
	want := []items.TopicScore{{ID: "ultrasound", Score: 1, Source: items.SourceAdmin}, {ID: "events", Score: 1, Source: items.SourceAdmin}}
	if !slices.EqualFunc(it.Topics, want, func(a, b items.TopicScore) bool { return a.ID == b.ID && a.Score == b.Score && a.Source == b.Source }) {
		t.Errorf("item topics %+v, want %+v", it.Topics, want)
	}
	if len(store.applied) != 1 {
		t.Fatalf("%d corrections applied", len(store.applied))
	}
	c := store.applied[0]
	if c.By != "admin (api)" || !c.At.Equal(s.Now()) || c.Client != "203.0.113.9" || c.ItemID != "wfumb-1" {
		t.Errorf("correction recorded as %+v", c)
	}
	if len(audit.entries) != 1 || audit.entries[0].Action != "item.topics" || audit.entries[0].Detail != "wfumb-1: workforce → ultrasound, events" {
		t.Errorf("audit log %+v", audit.entries)
	}
	for _, part := range []string{`"msg":"item topics corrected"`, `"item":"wfumb-1"`, `"before":["workforce"]`, `"after":["ultrasound","events"]`, `"by":"admin (api)"`} {
		if !strings.Contains(logs.String(), part) {
			t.Errorf("log lacks %s: %s", part, logs.String())
		}
	}
	list, err := s.Corrections(ctx, 10)
	if err != nil || len(list) != 1 || list[0].Before[0].ID != "workforce" {
		t.Errorf("corrections listed %+v (%v)", list, err)
	}
}
