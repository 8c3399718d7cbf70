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

	"github.com/radiogram/radiogram/internal/feeds"
	"github.com/radiogram/radiogram/internal/ingestruns"
	"github.com/radiogram/radiogram/internal/items"
)

// memFeeds is an in-memory feed registry.
type memFeeds struct {
	feeds map[string]feeds.Feed
	err   error // returned by every call when set
}

func (m *memFeeds) ListFeeds(context.Context) ([]feeds.Feed, error) {
	if m.err != nil {
		return nil, m.err
	}
	var out []feeds.Feed
	for _, f := range m.feeds {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b feeds.Feed) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

func (m *memFeeds) Societies(context.Context) ([]string, error) {
	if m.err != nil {
		return nil, m.err
	}
	var out []string
	for _, f := range m.feeds {
		if !slices.Contains(out, f.Society) {
			out = append(out, f.Society)
		}
	}
	slices.Sort(out)
	return out, nil
}

func (m *memFeeds) Create(_ context.Context, f feeds.Feed) error {
	if m.err != nil {
		return m.err
	}
	if _, ok := m.feeds[f.ID]; ok {
		return feeds.ErrExists
	}
	m.feeds[f.ID] = f
	return nil
}

func (m *memFeeds) Delete(_ context.Context, id string) error {
	if m.err != nil {
		return m.err
	}
	if _, ok := m.feeds[id]; !ok {
		return feeds.ErrNotFound
	}
	delete(m.feeds, id)
	return nil
}

// memItems records the queries it is asked.
type memItems struct {
	ItemLister
	queries []items.PageQuery
}

// Page has one item of esr or rsna, and none of any other society.
func (m *memItems) Page(_ context.Context, q items.PageQuery) (items.Page, error) {
	m.queries = append(m.queries, q)
	for _, soc := range q.Societies {
		if soc != "esr" && soc != "rsna" {
			return items.Page{}, nil
		}
	}
	return items.Page{Items: []items.Item{{Key: "k1", Society: "esr"}}, Next: "next"}, nil
}

// memAudit is the audit log of a run store; the rest of RunStore is not
// used by the feed actions.
type memAudit struct {
	RunStore
	entries []AuditEntry
	err     error
}

func (m *memAudit) Record(_ context.Context, e AuditEntry) error {
	if m.err != nil {
		return m.err
	}
	m.entries = append(m.entries, e)
	return nil
}

// fakeIngest starts run "ingest-1" once; later requests name it, until
// it is done.
type fakeIngest struct {
	runs map[string]ingestruns.Run
	err  error
}

func (f *fakeIngest) Start(_ context.Context, startedBy string) (ingestruns.Run, bool, error) {
	if f.err != nil {
		return ingestruns.Run{}, false, f.err
	}
	if run, ok := f.runs["ingest-1"]; ok {
		return run, false, nil
	}
	run := ingestruns.Run{ID: "ingest-1", Status: ingestruns.StatusRunning, StartedBy: startedBy, StartedAt: testNow}
	f.runs[run.ID] = run
	return run, true, nil
}

func (f *fakeIngest) Get(_ context.Context, id string) (ingestruns.Run, error) {
	if f.err != nil {
		return ingestruns.Run{}, f.err
	}
	run, ok := f.runs[id]
	if !ok {
		return ingestruns.Run{}, ingestruns.ErrNotFound
	}
	return run, nil
}

var testNow = time.Date(2026, 11, 20, 9, 30, 0, 0, time.FixedZone("CET", 3600))

type feedHarness struct {
	svc    *Service
	feeds  *memFeeds
	items  *memItems
	audit  *memAudit
	ingest *fakeIngest
	log    *bytes.Buffer
}

func newFeedHarness(existing ...feeds.Feed) feedHarness {
	h := feedHarness{
		feeds:  &memFeeds{feeds: map[string]feeds.Feed{}},
		items:  &memItems{},
		audit:  &memAudit{},
		ingest: &fakeIngest{runs: map[string]ingestruns.Run{}},
		log:    &bytes.Buffer{},
	}
	for _, f := range existing {
		h.feeds.feeds[f.ID] = f
	}
	h.svc = &Service{
		FeedStore:  h.feeds,
		Ingest:     h.ingest,
		ItemStore:  h.items,
		RunStore:   h.audit,
		KnownTopic: func(id string) bool { return id == "ai" || id == "ultrasound" },
		Now:        func() time.Time { return testNow },
		Log:        slog.New(slog.NewTextHandler(h.log, nil)),
	}
	return h
}

// clientCtx is a request's context as the HTTP layer hands it on.
func clientCtx() context.Context { return WithClient(context.Background(), "203.0.113.7") }

const testActor = "admin (api)"

func TestCreateFeed(t *testing.T) {
	h := newFeedHarness()
	f, err := h.svc.CreateFeed(clientCtx(), NewFeed{Society: " wfumb ", Name: " WFUMB ", URL: " https://wfumb.info/feed/ ", Topics: []string{"ultrasound"}}, testActor)
	if err != nil {
		t.Fatal(err)
	}
	id := feeds.IDFor("wfumb", "https://wfumb.info/feed/")
	want := feeds.Feed{ID: id, Society: "wfumb", Name: "WFUMB", URL: "https://wfumb.info/feed/", Enabled: true, Topics: []string{"ultrasound"}}
	if !equalFeed(f, want) {
		t.Errorf("CreateFeed = %+v, want %+v", f, want)
	}
	if stored, ok := h.feeds.feeds[id]; !ok || !equalFeed(stored, want) {
		t.Errorf("stored %+v, %v; want %+v", stored, ok, want)
	}
	wantAudit := []AuditEntry{{At: testNow.UTC(), Actor: testActor, Action: "feed.create", Detail: id + " https://wfumb.info/feed/", Client: "203.0.113.7"}}
	if !slices.Equal(h.audit.entries, wantAudit) {
		t.Errorf("audit %+v, want %+v", h.audit.entries, wantAudit)
	}
	if !strings.Contains(h.log.String(), "feed registered") {
		t.Errorf("registration not logged: %s", h.log)
	}

	disabled := false
	f, err = h.svc.CreateFeed(clientCtx(), NewFeed{Society: "esr", Name: "ESR", URL: "https://www.myesr.org/feed", Enabled: &disabled}, testActor)
	if err != nil || f.Enabled {
		t.Errorf("a feed registered disabled: %+v, %v", f, err)
	}
}

func equalFeed(a, b feeds.Feed) bool {
	return a.ID == b.ID && a.Society == b.Society && a.Name == b.Name && a.URL == b.URL && a.Enabled == b.Enabled && slices.Equal(a.Topics, b.Topics)
}

func TestCreateFeedRefusesInvalidFeeds(t *testing.T) {
	tests := []struct {
		name    string
		in      NewFeed
		wantErr error
		reason  string
	}{
		{"no society", NewFeed{Name: "ISR", URL: "https://x.org/feed"}, ErrBadRequest, `society "" must be a lower-case id of letters, digits and dashes (at most 40)`},
		{"upper-case society", NewFeed{Society: "ISR", Name: "ISR", URL: "https://x.org/feed"}, ErrBadRequest, `society "ISR" must be a lower-case id of letters, digits and dashes (at most 40)`},
		{"no name", NewFeed{Society: "isr", Name: "  ", URL: "https://x.org/feed"}, ErrBadRequest, "name is required"},
		{"long name", NewFeed{Society: "isr", Name: strings.Repeat("x", 201), URL: "https://x.org/feed"}, ErrBadRequest, "name must be at most 200 characters"},
		{"no url", NewFeed{Society: "isr", Name: "ISR"}, ErrBadRequest, "url is required"},
		{"ftp url", NewFeed{Society: "isr", Name: "ISR", URL: "ftp://x.org/feed"}, ErrBadRequest, `url "ftp://x.org/feed" must use http or https`},
		{"credentials", NewFeed{Society: "isr", Name: "ISR", URL: "https://u:p@x.org/feed"}, ErrBadRequest, `url "https://u:p@x.org/feed" must not carry credentials`},
		{"unknown topic", NewFeed{Society: "isr", Name: "ISR", URL: "https://x.org/feed", Topics: []string{"ai", "astrology"}}, ErrUnknownTopic, `unknown topic "astrology"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFeedHarness()
			_, err := h.svc.CreateFeed(clientCtx(), tt.in, testActor)
			if !errors.Is(err, tt.wantErr) || err.Error() != tt.reason {
				t.Errorf("CreateFeed: %v, want %v reading %q", err, tt.wantErr, tt.reason)
			}
			if len(h.feeds.feeds) != 0 || len(h.audit.entries) != 0 {
				t.Errorf("an invalid feed was stored (%v) or audited (%v)", h.feeds.feeds, h.audit.entries)
			}
		})
	}
}

func TestCreateFeedTwiceConflicts(t *testing.T) {
	h := newFeedHarness()
	in := NewFeed{Society: "isr", Name: "ISR", URL: "https://x.org/feed"}
	first, err := h.svc.CreateFeed(clientCtx(), in, testActor)
	if err != nil {
		t.Fatal(err)
	}
	in.Name = "International Society of Radiology"
	_, err = h.svc.CreateFeed(clientCtx(), in, testActor)
	if !errors.Is(err, ErrConflict) || !errors.Is(err, feeds.ErrExists) {
		t.Fatalf("second CreateFeed: %v, want ErrConflict", err)
	}
	if want := "feed " + first.ID + " is already registered"; err.Error() != want {
		t.Errorf("reason %q, want %q", err, want)
	}
	if errors.Is(err, ErrBadRequest) || errors.Is(err, ErrNotFound) {
		t.Errorf("a conflict also reads as another kind: %v", err)
	}
	if h.feeds.feeds[first.ID].Name != "ISR" {
		t.Error("the registered feed was overwritten")
	}
	if len(h.audit.entries) != 1 {
		t.Errorf("audit %+v, want only the first registration", h.audit.entries)
	}
}

func TestDeleteFeed(t *testing.T) {
	esr := feeds.Feed{ID: "esr-1234abcd", Society: "esr", Name: "ESR", URL: "https://www.myesr.org/feed", Enabled: true}
	h := newFeedHarness(esr)
	if err := h.svc.DeleteFeed(clientCtx(), esr.ID, testActor); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.feeds.feeds[esr.ID]; ok {
		t.Error("the feed is still registered")
	}
	wantAudit := []AuditEntry{{At: testNow.UTC(), Actor: testActor, Action: "feed.delete", Detail: esr.ID, Client: "203.0.113.7"}}
	if !slices.Equal(h.audit.entries, wantAudit) {
		t.Errorf("audit %+v, want %+v", h.audit.entries, wantAudit)
	}

	err := h.svc.DeleteFeed(clientCtx(), esr.ID, testActor)
	if !errors.Is(err, ErrNotFound) || !errors.Is(err, feeds.ErrNotFound) || err.Error() != `no feed "esr-1234abcd"` {
		t.Errorf("deleting it again: %v, want ErrNotFound reading no feed %q", err, esr.ID)
	}
	if len(h.audit.entries) != 1 {
		t.Errorf("a failed delete was audited: %+v", h.audit.entries)
	}
}

func TestFeedStoreFailuresAreNotTheCallersMistake(t *testing.T) {
	h := newFeedHarness()
	broken := errors.New("dynamodb: throttled")
	h.feeds.err = broken
	_, createErr := h.svc.CreateFeed(clientCtx(), NewFeed{Society: "isr", Name: "ISR", URL: "https://x.org/feed"}, testActor)
	deleteErr := h.svc.DeleteFeed(clientCtx(), "isr-1", testActor)
	// A society with no items is checked against the registry.
	_, listErr := h.svc.ListItems(clientCtx(), ItemQuery{Societies: []string{"isr"}})
	for name, err := range map[string]error{"CreateFeed": createErr, "DeleteFeed": deleteErr, "ListItems": listErr} {
		if !errors.Is(err, broken) {
			t.Errorf("%s: %v, want the store's error", name, err)
		}
		for _, kind := range []error{ErrBadRequest, ErrUnknownTopic, ErrNotFound, ErrConflict, ErrInvalidTarget, ErrNothingNew} {
			if errors.Is(err, kind) {
				t.Errorf("%s: the store's failure reads as %v", name, kind)
			}
		}
	}
	if len(h.audit.entries) != 0 {
		t.Errorf("failed actions were audited: %+v", h.audit.entries)
	}
}

func TestAuditFailureDoesNotUndoTheAction(t *testing.T) {
	h := newFeedHarness()
	h.audit.err = errors.New("audit table unavailable")
	f, err := h.svc.CreateFeed(clientCtx(), NewFeed{Society: "isr", Name: "ISR", URL: "https://x.org/feed"}, testActor)
	if err != nil {
		t.Fatalf("CreateFeed failed because the audit did: %v", err)
	}
	if _, ok := h.feeds.feeds[f.ID]; !ok {
		t.Error("the feed was not registered")
	}
	if !strings.Contains(h.log.String(), "audit table unavailable") {
		t.Errorf("the lost audit entry was not logged: %s", h.log)
	}
}

func TestStartIngest(t *testing.T) {
	h := newFeedHarness()
	run, err := h.svc.StartIngest(clientCtx(), testActor)
	if err != nil || run.ID != "ingest-1" || run.Status != ingestruns.StatusRunning || run.StartedBy != testActor {
		t.Fatalf("StartIngest = %+v, %v", run, err)
	}
	// A second request while it runs names the same run, and is not
	// audited: nothing was started.
	again, err := h.svc.StartIngest(clientCtx(), testActor)
	if err != nil || again.ID != run.ID {
		t.Fatalf("second StartIngest = %+v, %v; want %s", again, err, run.ID)
	}
	wantAudit := []AuditEntry{{At: testNow.UTC(), Actor: testActor, Action: "ingest.start", Detail: "ingest-1", Client: "203.0.113.7"}}
	if !slices.Equal(h.audit.entries, wantAudit) {
		t.Errorf("audit %+v, want %+v", h.audit.entries, wantAudit)
	}
	if got, err := h.svc.IngestRun(context.Background(), "ingest-1"); err != nil || got.ID != "ingest-1" {
		t.Errorf("IngestRun = %+v, %v", got, err)
	}
	_, err = h.svc.IngestRun(context.Background(), "ingest-nope")
	if !errors.Is(err, ErrNotFound) || err.Error() != `no ingest run "ingest-nope"` {
		t.Errorf("IngestRun(unknown) = %v, want ErrNotFound with a reason", err)
	}

	h.ingest.err = errors.New("admin table unavailable")
	if _, err := h.svc.StartIngest(clientCtx(), testActor); !errors.Is(err, h.ingest.err) {
		t.Errorf("failed start: %v", err)
	}
	if len(h.audit.entries) != 1 {
		t.Errorf("a failed start was audited: %+v", h.audit.entries)
	}
}

func TestListItems(t *testing.T) {
	esr := feeds.Feed{ID: "esr-1", Society: "esr"}
	rsna := feeds.Feed{ID: "rsna-1", Society: "rsna"}
	tests := []struct {
		name    string
		q       ItemQuery
		want    items.PageQuery
		wantErr error
		reason  string
	}{
		{name: "defaults", q: ItemQuery{}, want: items.PageQuery{Limit: DefaultItemLimit}},
		{name: "a later page", q: ItemQuery{Cursor: " abc "}, want: items.PageQuery{Cursor: "abc", Limit: DefaultItemLimit}},
		{name: "everything", q: ItemQuery{Topic: " ai ", Societies: []string{"rsna"}, Since: "2026-11-19", Limit: " 2 "},
			want: items.PageQuery{Topic: "ai", Societies: []string{"rsna"}, Since: time.Date(2026, 11, 19, 0, 0, 0, 0, time.UTC), Limit: 2}},
		{name: "since a time", q: ItemQuery{Since: "2026-11-20T08:00:00+01:00", Limit: "200"},
			want: items.PageQuery{Since: time.Date(2026, 11, 20, 7, 0, 0, 0, time.UTC), Limit: 200}},
		{name: "unknown topic", q: ItemQuery{Topic: "astrology"}, wantErr: ErrUnknownTopic, reason: `unknown topic "astrology"`},
		{name: "bad since", q: ItemQuery{Since: "yesterday"}, wantErr: ErrBadRequest, reason: `since "yesterday" must be a date (2026-11-01) or an RFC 3339 time`},
		{name: "limit zero", q: ItemQuery{Limit: "0"}, wantErr: ErrBadRequest, reason: `limit "0" must be a whole number from 1 to 200`},
		{name: "limit too big", q: ItemQuery{Limit: "5000"}, wantErr: ErrBadRequest, reason: `limit "5000" must be a whole number from 1 to 200`},
		{name: "limit not a number", q: ItemQuery{Limit: "ten"}, wantErr: ErrBadRequest, reason: `limit "ten" must be a whole number from 1 to 200`},
		{name: "unknown society", q: ItemQuery{Societies: []string{"esr", "nasa"}}, wantErr: ErrBadRequest, reason: `unknown society "nasa"`},
		// The first thing wrong is the one reported, in the order the
		// fields are listed.
		{name: "topic before since", q: ItemQuery{Topic: "astrology", Since: "yesterday", Limit: "0", Societies: []string{"nasa"}}, wantErr: ErrUnknownTopic, reason: `unknown topic "astrology"`},
		{name: "since before limit", q: ItemQuery{Since: "yesterday", Limit: "0", Societies: []string{"nasa"}}, wantErr: ErrBadRequest, reason: `since "yesterday" must be a date (2026-11-01) or an RFC 3339 time`},
		{name: "limit before society", q: ItemQuery{Limit: "0", Societies: []string{"nasa"}}, wantErr: ErrBadRequest, reason: `limit "0" must be a whole number from 1 to 200`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newFeedHarness(esr, rsna)
			got, err := h.svc.ListItems(clientCtx(), tt.q)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || err.Error() != tt.reason {
					t.Errorf("ListItems: %v, want %v reading %q", err, tt.wantErr, tt.reason)
				}
				// A society is checked only when its page comes back empty.
				if len(h.items.queries) != 0 && !strings.HasPrefix(tt.reason, "unknown society") {
					t.Errorf("the store was asked %+v", h.items.queries)
				}
				return
			}
			if err != nil || len(got.Items) != 1 || got.Next != "next" {
				t.Fatalf("ListItems = %v, %v", got, err)
			}
			if len(h.items.queries) != 1 {
				t.Fatalf("store asked %d times", len(h.items.queries))
			}
			q := h.items.queries[0]
			if q.Topic != tt.want.Topic || !slices.Equal(q.Societies, tt.want.Societies) || !q.Since.Equal(tt.want.Since) || q.Limit != tt.want.Limit || q.Cursor != tt.want.Cursor {
				t.Errorf("store asked %+v, want %+v", q, tt.want)
			}
		})
	}
}

func TestFeedsListsTheRegistry(t *testing.T) {
	h := newFeedHarness(feeds.Feed{ID: "esr-1", Society: "esr", LastStatus: feeds.StatusFailed, ConsecutiveFailures: 2})
	list, err := h.svc.Feeds(context.Background())
	if err != nil || len(list) != 1 || list[0].ConsecutiveFailures != 2 {
		t.Errorf("Feeds = %+v, %v", list, err)
	}
}

type staticCatalog []feeds.Society

func (c staticCatalog) Societies(context.Context) ([]feeds.Society, error) { return c, nil }

// With a catalog, neither the console's filter nor the check of a society
// reads the feed registry.
func TestSocietiesComeFromTheCatalog(t *testing.T) {
	h := newFeedHarness()
	h.feeds.err = errors.New("the registry must not be read")
	h.svc.Catalog = staticCatalog{{ID: "rsna", Name: "RSNA"}, {ID: "esr", Name: "ESR"}, {ID: "isr", Name: "ISR"}}
	ids, err := h.svc.SocietyIDs(clientCtx())
	if err != nil || !slices.Equal(ids, []string{"esr", "isr", "rsna"}) {
		t.Errorf("SocietyIDs = %v, %v", ids, err)
	}
	if page, err := h.svc.ListItems(clientCtx(), ItemQuery{Societies: []string{"isr"}}); err != nil || len(page.Items) != 0 {
		t.Errorf("a known society without items: %v, %v", page, err)
	}
	if _, err := h.svc.ListItems(clientCtx(), ItemQuery{Societies: []string{"nasa"}}); !errors.Is(err, ErrBadRequest) || err.Error() != `unknown society "nasa"` {
		t.Errorf("an unknown society: %v", err)
	}
}
