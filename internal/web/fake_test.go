package web

import (
	"context"
	"errors"
	"maps"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// fakeSubscribers is an in-memory Subscribers. Its tokens are
// "<purpose>:<subscriber id>"; "expired:<anything>" is a well-formed link
// past its date, and anything else is forged. It validates with the real
// Normalize and Diff, so the pages see the service's own errors and changes.
type fakeSubscribers struct {
	catalog Catalog
	baseURL string

	mu      sync.Mutex
	subs    map[string]subscribers.Subscriber // by id
	signUps []subscribers.SignUp
	manage  []string // addresses that asked for a manage link
	// dataLinks are the subscribers (by id) mailed the manage mail from
	// their preferences page: the real service's one manage mail each.
	dataLinks []string
	// mutating counts calls of the methods that may change state, whatever
	// their outcome.
	mutating int
	// fail, when set, is what every method returns.
	fail error
}

func newFake(cat Catalog) *fakeSubscribers {
	return &fakeSubscribers{catalog: cat, baseURL: "http://radiogram.test", subs: map[string]subscribers.Subscriber{}}
}

func (f *fakeSubscribers) add(sub subscribers.Subscriber) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs[sub.ID] = sub
}

func (f *fakeSubscribers) get(id string) (subscribers.Subscriber, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sub, ok := f.subs[id]
	return sub, ok
}

// snapshot copies the state, to show that a request changed none of it.
func (f *fakeSubscribers) snapshot() (map[string]subscribers.Subscriber, int, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.subs), len(f.signUps), len(f.manage) + len(f.dataLinks)
}

func (f *fakeSubscribers) dataLinksSoFar() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.dataLinks)
}

func (f *fakeSubscribers) signUpsSoFar() []subscribers.SignUp {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.signUps)
}

func (f *fakeSubscribers) mutations() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.mutating
}

func token(purpose, id string) string { return purpose + ":" + id }

// subscriberFor must be called with f.mu held.
func (f *fakeSubscribers) subscriberFor(tok, purpose string) (subscribers.Subscriber, error) {
	if f.fail != nil {
		return subscribers.Subscriber{}, f.fail
	}
	p, id, ok := strings.Cut(tok, ":")
	switch {
	case ok && p == "expired":
		return subscribers.Subscriber{}, subscribers.ErrExpiredToken
	case !ok || p != purpose || id == "":
		return subscribers.Subscriber{}, subscribers.ErrInvalidToken
	}
	sub, found := f.subs[id]
	if !found {
		return subscribers.Subscriber{}, subscribers.ErrNotFound
	}
	return sub, nil
}

func (f *fakeSubscribers) Subscribe(ctx context.Context, req subscribers.SignUp) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mutating++
	if f.fail != nil {
		return f.fail
	}
	email, err := subscribers.NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	prefs, err := req.Preferences.Normalize(catalogCheck(f.catalog))
	if err != nil {
		return err
	}
	req.Email, req.Preferences = email, prefs
	f.signUps = append(f.signUps, req)
	for _, sub := range f.subs {
		if sub.Email == email {
			return nil // the real service mails a manage link instead
		}
	}
	id := "s" + string(rune('a'+len(f.subs)))
	f.subs[id] = subscribers.Subscriber{ID: id, Email: email, Status: subscribers.StatusPending, Preferences: prefs, SignupIP: req.ClientIP}
	return nil
}

func (f *fakeSubscribers) RequestManageLink(ctx context.Context, email, clientIP string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mutating++
	if f.fail != nil {
		return f.fail
	}
	email, err := subscribers.NormalizeEmail(email)
	if err != nil {
		return err
	}
	f.manage = append(f.manage, email)
	return nil
}

func (f *fakeSubscribers) PendingConfirmation(ctx context.Context, tok string) (subscribers.Subscriber, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.subscriberFor(tok, "confirm")
}

func (f *fakeSubscribers) Confirm(ctx context.Context, tok, clientIP string) (subscribers.Subscriber, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mutating++
	sub, err := f.subscriberFor(tok, "confirm")
	if err != nil {
		return sub, err
	}
	sub.Status, sub.ConfirmIP = subscribers.StatusConfirmed, clientIP
	f.subs[sub.ID] = sub
	return sub, nil
}

func (f *fakeSubscribers) Preferences(ctx context.Context, tok string) (subscribers.Subscriber, subscribers.Links, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sub, err := f.subscriberFor(tok, "preferences")
	if err != nil {
		return sub, subscribers.Links{}, err
	}
	link := func(path, purpose string) string {
		return f.baseURL + path + "?token=" + url.QueryEscape(token(purpose, sub.ID))
	}
	return sub, subscribers.Links{
		Preferences: link("/preferences", "preferences"),
		Unsubscribe: link("/unsubscribe", "unsubscribe"),
	}, nil
}

func (f *fakeSubscribers) RequestDataLinks(ctx context.Context, tok, clientIP string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mutating++
	sub, err := f.subscriberFor(tok, "preferences")
	if err != nil {
		return err
	}
	f.dataLinks = append(f.dataLinks, sub.ID)
	return nil
}

func (f *fakeSubscribers) UpdatePreferences(ctx context.Context, tok string, p subscribers.Preferences) (subscribers.Subscriber, []subscribers.Change, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mutating++
	sub, err := f.subscriberFor(tok, "preferences")
	if err != nil {
		return sub, nil, err
	}
	p, err = p.Normalize(catalogCheck(f.catalog))
	if err != nil {
		return sub, nil, err
	}
	changes := subscribers.Diff(sub.Preferences, p)
	sub.Preferences = p
	f.subs[sub.ID] = sub
	return sub, changes, nil
}

func (f *fakeSubscribers) Unsubscribe(ctx context.Context, tok string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mutating++
	sub, err := f.subscriberFor(tok, "unsubscribe")
	if errors.Is(err, subscribers.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	sub.Status = subscribers.StatusUnsubscribed
	f.subs[sub.ID] = sub
	return nil
}

func (f *fakeSubscribers) Export(ctx context.Context, tok string) (subscribers.Export, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	sub, err := f.subscriberFor(tok, "export")
	if err != nil {
		return subscribers.Export{}, err
	}
	return subscribers.Export{Subscriber: sub, ExportedAt: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}, nil
}

func (f *fakeSubscribers) Erase(ctx context.Context, tok string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mutating++
	sub, err := f.subscriberFor(tok, "erase")
	if errors.Is(err, subscribers.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	delete(f.subs, sub.ID)
	return nil
}

// catalogCheck lets the real Normalize validate against a test catalog.
type catalogCheck Catalog

func (c catalogCheck) KnownTopic(id string) bool {
	return slices.ContainsFunc(c.Topics, func(t topics.Topic) bool { return t.ID == id })
}

func (c catalogCheck) KnownSociety(id string) bool {
	return slices.ContainsFunc(c.Societies, func(s Society) bool { return s.ID == id })
}
