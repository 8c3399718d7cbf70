package subscribers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/radiogram/radiogram/internal/tokens"
)

// In-memory stores: the flows are tested without AWS here; the DynamoDB
// adapter and the SES mail are tested against moto in internal/app.
type memStore struct {
	mu   sync.Mutex
	byID map[string]Subscriber
}

func (m *memStore) Create(_ context.Context, s Subscriber) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, x := range m.byID {
		if x.Email == s.Email {
			return ErrExists
		}
	}
	m.byID[s.ID] = s
	return nil
}

func (m *memStore) Get(_ context.Context, id string) (Subscriber, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byID[id]
	if !ok {
		return s, ErrNotFound
	}
	return s, nil
}

func (m *memStore) GetByEmail(_ context.Context, email string) (Subscriber, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.byID {
		if s.Email == email {
			return s, nil
		}
	}
	return Subscriber{}, ErrNotFound
}

func (m *memStore) Update(_ context.Context, s Subscriber) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.byID[s.ID] = s
	return nil
}

func (m *memStore) MarkNotified(_ context.Context, id string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.byID[id]
	if !ok {
		return ErrNotFound
	}
	s.NotifiedAt = at
	m.byID[id] = s
	return nil
}

func (m *memStore) Delete(_ context.Context, s Subscriber) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.byID, s.ID)
	return nil
}

type memSuppressions map[string]Suppression

func (m memSuppressions) Get(_ context.Context, h string) (Suppression, bool, error) {
	s, ok := m[h]
	return s, ok, nil
}
func (m memSuppressions) Put(_ context.Context, s Suppression) error { m[s.EmailHash] = s; return nil }
func (m memSuppressions) Delete(_ context.Context, h string) error   { delete(m, h); return nil }

type memLimiter map[string]int

func (m memLimiter) Allow(_ context.Context, key string, limit int, _ time.Duration) (bool, error) {
	m[key]++
	return m[key] <= limit, nil
}

type sentMail struct {
	kind  string
	to    Subscriber
	links Links
}

type memNotifier struct{ sent []sentMail }

func (m *memNotifier) SendConfirmation(_ context.Context, s Subscriber, l Links) error {
	m.sent = append(m.sent, sentMail{"confirmation", s, l})
	return nil
}

func (m *memNotifier) SendManage(_ context.Context, s Subscriber, l Links) error {
	m.sent = append(m.sent, sentMail{"manage", s, l})
	return nil
}

// inlineRequests hands each queued request to the service at once, as the
// sender function does moments after the API's answer, then moves the
// fixture's clock on a second: no two real requests share an instant,
// and a request handled again at its own instant mails nobody twice.
type inlineRequests struct {
	f      *fixture
	queued []Request
}

func (q *inlineRequests) EnqueueRequest(ctx context.Context, r Request) error {
	q.queued = append(q.queued, r)
	err := q.f.svc.HandleRequest(ctx, r)
	q.f.now = q.f.now.Add(time.Second)
	return err
}

type fixture struct {
	svc   *Service
	reqs  *inlineRequests
	store *memStore
	supp  memSuppressions
	sends memSendLog
	mail  *memNotifier
	now   time.Time
}

// testHasher keys addresses in the tests' suppressions and rate limits.
var testHasher = func() AddressHasher {
	h, err := NewAddressHasher(strings.Repeat("pepper-", 6))
	if err != nil {
		panic(err)
	}
	return h
}()

// memSendLog is the send log, by subscriber id.
type memSendLog map[string][]Send

func (m memSendLog) SendsTo(_ context.Context, id string) ([]Send, error) { return m[id], nil }

func newFixture(t testing.TB) *fixture {
	t.Helper()
	keys, err := tokens.NewKeyring("k1", map[string][]byte{"k1": []byte(strings.Repeat("k", 32))})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{store: &memStore{byID: map[string]Subscriber{}}, supp: memSuppressions{}, sends: memSendLog{}, mail: &memNotifier{}, now: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)}
	f.svc = &Service{
		Store: f.store, Suppressions: f.supp, Hasher: testHasher, SendLog: f.sends, Limiter: memLimiter{}, Notifier: f.mail, Signer: keys, Catalog: catalog{},
		BaseURL: "https://radiogram.example", Now: func() time.Time { return f.now },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	f.reqs = &inlineRequests{f: f}
	f.svc.Requests = f.reqs
	return f
}

func tokenOf(t testing.TB, link string) string {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

func (f *fixture) lastMail(t testing.TB) sentMail {
	t.Helper()
	if len(f.mail.sent) == 0 {
		t.Fatal("no mail sent")
	}
	return f.mail.sent[len(f.mail.sent)-1]
}

var ctx = context.Background()

func signUp(email string) SignUp {
	return SignUp{Email: email, Preferences: Preferences{Topics: []string{"ai"}}, ClientIP: "198.51.100.7"}
}

func TestSubscribeConfirmLifecycle(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.Subscribe(ctx, signUp("Ada@Example.org")); err != nil {
		t.Fatal(err)
	}
	m := f.lastMail(t)
	if m.kind != "confirmation" || m.to.Email != "ada@example.org" || m.to.Status != StatusPending || m.to.SignupIP != "198.51.100.7" {
		t.Fatalf("first mail: %+v", m)
	}
	if !strings.HasPrefix(m.links.Confirm, "https://radiogram.example/confirm?token=") || !strings.HasPrefix(m.links.Unsubscribe, "https://radiogram.example/unsubscribe?token=") {
		t.Errorf("links: %+v", m.links)
	}
	confirm := tokenOf(t, m.links.Confirm)

	// Looking at the confirm page changes nothing.
	if s, err := f.svc.PendingConfirmation(ctx, confirm); err != nil || s.Status != StatusPending {
		t.Fatalf("pending confirmation: %+v %v", s, err)
	}
	// A confirm token is no preferences or unsubscribe token.
	if _, _, err := f.svc.Preferences(ctx, confirm); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("confirm token as preferences token: %v", err)
	}
	if err := f.svc.Unsubscribe(ctx, confirm); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("confirm token as unsubscribe token: %v", err)
	}
	s, err := f.svc.Confirm(ctx, confirm, "203.0.113.9")
	if err != nil || s.Status != StatusConfirmed || s.ConfirmIP != "203.0.113.9" || !s.ConfirmedAt.Equal(f.now) {
		t.Fatalf("confirm: %+v %v", s, err)
	}
	if _, err := f.svc.Confirm(ctx, confirm, "203.0.113.9"); err != nil {
		t.Errorf("confirming twice: %v", err)
	}

	// Signing up again while confirmed sends a manage mail, not a second
	// confirmation, and does not change the preferences.
	again := signUp("ada@example.org")
	again.Preferences.Topics = []string{"safety"}
	if err := f.svc.Subscribe(ctx, again); err != nil {
		t.Fatal(err)
	}
	if m := f.lastMail(t); m.kind != "manage" || m.links.Confirm != "" {
		t.Errorf("second sign-up sent %q with confirm link %q", m.kind, m.links.Confirm)
	}
	if got, _ := f.store.Get(ctx, s.ID); strings.Join(got.Preferences.Topics, ",") != "ai" {
		t.Errorf("an unauthenticated sign-up changed preferences to %v", got.Preferences.Topics)
	}
}

func TestConfirmLinkExpires(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.Subscribe(ctx, signUp("ada@example.org")); err != nil {
		t.Fatal(err)
	}
	confirm := tokenOf(t, f.lastMail(t).links.Confirm)
	f.now = f.now.Add(7*24*time.Hour + time.Second)
	if _, err := f.svc.Confirm(ctx, confirm, ""); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("8-day-old confirm link: %v, want ErrExpiredToken", err)
	}
	if _, err := f.svc.Confirm(ctx, confirm[:len(confirm)-2]+"xx", ""); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("forged link: %v, want ErrInvalidToken", err)
	}
}

func TestPreferencesUnsubscribeExportErase(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.Subscribe(ctx, signUp("ada@example.org")); err != nil {
		t.Fatal(err)
	}
	links := f.lastMail(t).links
	if _, err := f.svc.Confirm(ctx, tokenOf(t, links.Confirm), ""); err != nil {
		t.Fatal(err)
	}
	prefs := tokenOf(t, links.Preferences)

	sub, changes, err := f.svc.UpdatePreferences(ctx, prefs, Preferences{Topics: []string{"ai", "screening"}, Frequency: Weekly, Day: "friday", Hour: 8, TimeZone: "Europe/Vienna"})
	if err != nil || len(changes) != 5 || sub.Preferences.Day != "friday" {
		t.Fatalf("update: %v %+v %v", sub.Preferences, changes, err)
	}
	if _, changes, _ := f.svc.UpdatePreferences(ctx, prefs, sub.Preferences); len(changes) != 0 {
		t.Errorf("saving unchanged preferences reports %+v", changes)
	}
	var fe *FieldError
	if _, _, err := f.svc.UpdatePreferences(ctx, prefs, Preferences{Topics: []string{"astrology"}}); !errors.As(err, &fe) {
		t.Errorf("bad preferences: %v", err)
	}

	unsub := tokenOf(t, links.Unsubscribe)
	for range 2 { // idempotent
		if err := f.svc.Unsubscribe(ctx, unsub); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := f.store.Get(ctx, sub.ID)
	if got.Status != StatusUnsubscribed || f.supp[testHasher.HashEmail("ada@example.org")].Reason != ReasonUnsubscribed {
		t.Errorf("after unsubscribe: %s, suppression %+v", got.Status, f.supp)
	}

	// The data links come only in the manage mail, asked for from the
	// preferences page, and work for an hour.
	if links.Export != "" || links.Erase != "" {
		t.Errorf("the confirmation mail carries data links: %+v", links)
	}
	if err := f.svc.RequestDataLinks(ctx, prefs, ""); err != nil {
		t.Fatal(err)
	}
	dataLinks := f.lastMail(t).links
	// The export carries the subscriber's send log, and nobody else's.
	f.sends[sub.ID] = []Send{{Period: "2026-11-22T07:00:00Z#digest", Kind: "digest", Status: "sent", SentAt: f.now, MessageID: "msg-ada"}}
	f.sends["someone-else"] = []Send{{Period: "2026-11-22T07:00:00Z#digest", Kind: "digest", Status: "sent", MessageID: "msg-other"}}
	exp, err := f.svc.Export(ctx, tokenOf(t, dataLinks.Export))
	if err != nil || exp.Subscriber.Email != "ada@example.org" || exp.Suppression == nil {
		t.Errorf("export: %+v %v", exp, err)
	}
	if len(exp.Sends) != 1 || exp.Sends[0].MessageID != "msg-ada" || exp.Sends[0].Status != "sent" || !exp.Sends[0].SentAt.Equal(f.now) {
		t.Errorf("export's send log = %+v, want ada's one send", exp.Sends)
	}
	f.now = f.now.Add(time.Hour)
	if _, err := f.svc.Export(ctx, tokenOf(t, dataLinks.Export)); !errors.Is(err, ErrExpiredToken) {
		t.Errorf("an hour-old export link: %v", err)
	}
	// Preferences and unsubscribe links never expire: every mail carries them.
	if _, _, err := f.svc.Preferences(ctx, prefs); err != nil {
		t.Errorf("old preferences link: %v", err)
	}

	if err := f.svc.RequestDataLinks(ctx, prefs, ""); err != nil {
		t.Fatal(err)
	}
	erase := tokenOf(t, f.lastMail(t).links.Erase)
	if err := f.svc.Erase(ctx, erase); err != nil {
		t.Fatal(err)
	}
	if len(f.store.byID) != 0 {
		t.Errorf("erase left %v", f.store.byID)
	}
	if s := f.supp[testHasher.HashEmail("ada@example.org")]; s.Reason != ReasonErased || strings.Contains(s.EmailHash, "@") {
		t.Errorf("erase must leave only a hashed suppression: %+v", s)
	}
	if err := f.svc.Erase(ctx, erase); err != nil {
		t.Errorf("erasing twice: %v", err)
	}
	if err := f.svc.Unsubscribe(ctx, unsub); err != nil {
		t.Errorf("unsubscribing an erased subscriber: %v", err)
	}

	// Subscribing anew gets a new identity: the old links stay dead.
	f.svc.Limiter = memLimiter{} // the hour's sign-up limits have passed
	if err := f.svc.Subscribe(ctx, signUp("ada@example.org")); err != nil {
		t.Fatal(err)
	}
	fresh := f.lastMail(t)
	if fresh.kind != "confirmation" || fresh.to.ID == sub.ID {
		t.Errorf("re-subscription: %+v", fresh)
	}
	if _, _, err := f.svc.Preferences(ctx, prefs); !errors.Is(err, ErrNotFound) {
		t.Errorf("an erased subscriber's old link: %v", err)
	}
	if _, err := f.svc.Confirm(ctx, tokenOf(t, fresh.links.Confirm), ""); err != nil {
		t.Fatal(err)
	}
	if _, suppressed := f.supp[testHasher.HashEmail("ada@example.org")]; suppressed {
		t.Error("confirming anew must lift the erasure's suppression")
	}
}

func TestBouncedAndComplainedAreNeverMailed(t *testing.T) {
	for _, reason := range []Reason{ReasonBounced, ReasonComplained} {
		f := newFixture(t)
		f.supp[testHasher.HashEmail("ada@example.org")] = Suppression{EmailHash: testHasher.HashEmail("ada@example.org"), Reason: reason}
		if err := f.svc.Subscribe(ctx, signUp("ada@example.org")); err != nil {
			t.Fatalf("%s: the answer must look like success: %v", reason, err)
		}
		if err := f.svc.RequestManageLink(ctx, "ada@example.org", ""); err != nil {
			t.Fatal(err)
		}
		if len(f.mail.sent) != 0 {
			t.Errorf("%s address was mailed: %+v", reason, f.mail.sent)
		}
	}
}

func TestManageLinkAnswersAlike(t *testing.T) {
	f := newFixture(t)
	if err := f.svc.RequestManageLink(ctx, "nobody@example.org", ""); err != nil || len(f.mail.sent) != 0 {
		t.Errorf("unknown address: %v, %d mails", err, len(f.mail.sent))
	}
	if err := f.svc.Subscribe(ctx, signUp("ada@example.org")); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.RequestManageLink(ctx, "ada@example.org", ""); err != nil || f.lastMail(t).kind != "confirmation" {
		t.Errorf("pending address gets its confirmation again: %v", err)
	}
	if err := f.svc.RequestManageLink(ctx, "not an address", ""); !errors.Is(err, ErrInvalidEmail) {
		t.Errorf("bad address: %v", err)
	}
}

func TestSignUpRateLimits(t *testing.T) {
	f := newFixture(t)
	var limited int
	for range 5 {
		if err := f.svc.Subscribe(ctx, signUp("ada@example.org")); errors.Is(err, ErrRateLimited) {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if len(f.mail.sent) != perAddressPerHour || limited != 5-perAddressPerHour {
		t.Errorf("%d mails and %d refusals for 5 sign-ups of one address; want %d mails", len(f.mail.sent), limited, perAddressPerHour)
	}
	f.mail.sent = nil
	for i := range perClientPerHour + 5 {
		req := signUp(strings.Repeat("a", i+1) + "@example.org")
		if err := f.svc.Subscribe(ctx, req); errors.Is(err, ErrRateLimited) {
			break
		}
	}
	// The 3 admitted sign-ups above used the client's allowance; the 2
	// refused at the address limit did not.
	if want := perClientPerHour - perAddressPerHour; len(f.mail.sent) != want {
		t.Errorf("one client got %d confirmations out, want %d", len(f.mail.sent), want)
	}
}

func TestBaseURLFromContext(t *testing.T) {
	f := newFixture(t)
	f.svc.BaseURL = ""
	c := WithBaseURL(ctx, "https://abc123.execute-api.eu-west-1.amazonaws.com/")
	if err := f.svc.Subscribe(c, signUp("ada@example.org")); err != nil {
		t.Fatal(err)
	}
	if l := f.lastMail(t).links.Preferences; !strings.HasPrefix(l, "https://abc123.execute-api.eu-west-1.amazonaws.com/preferences?token=") {
		t.Errorf("link %q", l)
	}
}
