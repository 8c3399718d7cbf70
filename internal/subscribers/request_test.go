package subscribers

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// The finding: /manage answered a known address measurably slower than an
// unknown one, because only a known address was mailed before the answer.
// Now the API does the same work for every valid request: the limits, then
// one queued request. These tests check the work, not the clock.

// recordingRequests keeps the queued requests and handles none.
type recordingRequests struct{ queued []Request }

func (q *recordingRequests) EnqueueRequest(_ context.Context, r Request) error {
	q.queued = append(q.queued, r)
	return nil
}

// countingStore and countingSuppressions count every call the request path
// makes to them.
type countingStore struct {
	Store
	calls *int
}

func (s countingStore) Get(ctx context.Context, id string) (Subscriber, error) {
	*s.calls++
	return s.Store.Get(ctx, id)
}

func (s countingStore) GetByEmail(ctx context.Context, email string) (Subscriber, error) {
	*s.calls++
	return s.Store.GetByEmail(ctx, email)
}

func (s countingStore) Create(ctx context.Context, sub Subscriber) error {
	*s.calls++
	return s.Store.Create(ctx, sub)
}

func (s countingStore) Update(ctx context.Context, sub Subscriber) error {
	*s.calls++
	return s.Store.Update(ctx, sub)
}

func (s countingStore) MarkNotified(ctx context.Context, id string, at time.Time) error {
	*s.calls++
	return s.Store.MarkNotified(ctx, id, at)
}

type countingSuppressions struct {
	Suppressions
	calls *int
}

func (s countingSuppressions) Get(ctx context.Context, h string) (Suppression, bool, error) {
	*s.calls++
	return s.Suppressions.Get(ctx, h)
}

// addressCases sets up a confirmed, a pending and a bounced subscriber, and
// names an unknown address.
func addressCases(t *testing.T, f *fixture) map[string]string {
	t.Helper()
	f.confirmed(t, "confirmed@example.org")
	if err := f.svc.Subscribe(ctx, signUp("pending@example.org")); err != nil {
		t.Fatal(err)
	}
	f.confirmed(t, "bounced@example.org")
	f.supp[testHasher.HashEmail("bounced@example.org")] = Suppression{EmailHash: testHasher.HashEmail("bounced@example.org"), Reason: ReasonBounced, At: f.now}
	return map[string]string{
		"confirmed": "confirmed@example.org", "pending": "pending@example.org",
		"bounced": "bounced@example.org", "unknown": "unknown@example.org",
	}
}

// apiWork is what one API call did: its limiter keys (the address's hash
// written as <addr>), its queued requests (the address written as <addr>),
// its store, suppression and mail calls, and its error.
func apiWork(t *testing.T, f *fixture, email string, call func(svc *Service) error) string {
	t.Helper()
	svc := *f.svc
	limiter := &recordingLimiter{}
	queue := &recordingRequests{}
	var storeCalls, suppCalls int
	mailBefore := len(f.mail.sent)
	svc.Limiter, svc.Requests = limiter, queue
	svc.Store = countingStore{Store: f.store, calls: &storeCalls}
	svc.Suppressions = countingSuppressions{Suppressions: f.supp, calls: &suppCalls}
	err := call(&svc)
	h := testHasher.HashEmail(email)
	keys := strings.ReplaceAll(strings.Join(limiter.asked, " "), h, "<addr>")
	var reqs []string
	for _, r := range queue.queued {
		r.Email = strings.ReplaceAll(r.Email, email, "<addr>")
		reqs = append(reqs, fmt.Sprintf("%+v", r))
	}
	return fmt.Sprintf("err=%v limits=[%s] queued=%v store=%d suppressions=%d mails=%d",
		err, keys, reqs, storeCalls, suppCalls, len(f.mail.sent)-mailBefore)
}

func TestAPIDoesTheSameWorkForEveryAddress(t *testing.T) {
	for _, route := range []struct {
		name string
		call func(svc *Service, email string) error
		kind RequestKind
	}{
		{"/subscribe", func(svc *Service, email string) error { return svc.Subscribe(ctx, signUp(email)) }, RequestSignUp},
		{"/manage", func(svc *Service, email string) error { return svc.RequestManageLink(ctx, email, "198.51.100.7") }, RequestManage},
	} {
		t.Run(route.name, func(t *testing.T) {
			f := newFixture(t)
			cases := addressCases(t, f)
			f.now = f.now.Add(time.Hour)
			var first, firstName string
			for _, name := range []string{"confirmed", "pending", "bounced", "unknown"} {
				email := cases[name]
				got := apiWork(t, f, email, func(svc *Service) error { return route.call(svc, email) })
				if !strings.Contains(got, "err=<nil>") || !strings.Contains(got, "Kind:"+string(route.kind)) ||
					!strings.Contains(got, "store=0 suppressions=0 mails=0") {
					t.Errorf("%s address: %s; want one queued %s request, and no store, suppression or mail call", name, got, route.kind)
				}
				if first == "" {
					first, firstName = got, name
				} else if got != first {
					t.Errorf("the API's work differs by address:\n%s: %s\n%s: %s", firstName, first, name, got)
				}
			}
		})
	}
}

// A benchmark of the API's side of /manage, for a known and an unknown
// address, with in-memory fakes: the figures should match.
func BenchmarkManageKnownVsUnknown(b *testing.B) {
	f := newFixture(b)
	f.confirmed(b, "known@example.org")
	queue := &recordingRequests{}
	f.svc.Requests = queue
	f.svc.Limiter = allowAll{} // the limits' cost is the same for both; no limit is reached
	for _, email := range []string{"known@example.org", "unknown@example.org"} {
		b.Run(strings.Split(email, "@")[0], func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if i%100 == 0 {
					queue.queued = queue.queued[:0]
				}
				if err := f.svc.RequestManageLink(ctx, email, ""); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

type allowAll struct{}

func (allowAll) Allow(context.Context, string, int, time.Duration) (bool, error) { return true, nil }

// handled runs one queued request of the fixture's through HandleRequest
// and returns the mails it sent.
func (f *fixture) handled(t *testing.T, req Request) []sentMail {
	t.Helper()
	before := len(f.mail.sent)
	if err := f.svc.HandleRequest(ctx, req); err != nil {
		t.Fatal(err)
	}
	return f.mail.sent[before:]
}

// queued returns the request an API call queued, without handling it, and
// moves the clock on a second (no two requests share an instant). The
// limits are not under test here.
func (f *fixture) queued(t *testing.T, call func() error) Request {
	t.Helper()
	queue := &recordingRequests{}
	f.svc.Requests, f.svc.Limiter = queue, allowAll{}
	defer func() { f.svc.Requests, f.now = f.reqs, f.now.Add(time.Second) }()
	if err := call(); err != nil {
		t.Fatal(err)
	}
	if len(queue.queued) != 1 {
		t.Fatalf("%d requests queued, want 1", len(queue.queued))
	}
	return queue.queued[0]
}

func kinds(mails []sentMail) string {
	var k []string
	for _, m := range mails {
		k = append(k, m.kind)
	}
	return strings.Join(k, ",")
}

func TestHandleRequest(t *testing.T) {
	subscribe := func(f *fixture, email string) func() error {
		return func() error { return f.svc.Subscribe(ctx, signUp(email)) }
	}
	manage := func(f *fixture, email string) func() error {
		return func() error { return f.svc.RequestManageLink(ctx, email, "") }
	}
	t.Run("new address: pending, one confirmation, once", func(t *testing.T) {
		f := newFixture(t)
		req := f.queued(t, subscribe(f, "new@example.org"))
		if got := kinds(f.handled(t, req)); got != "confirmation" {
			t.Fatalf("mails %q, want one confirmation", got)
		}
		sub, err := f.store.GetByEmail(ctx, "new@example.org")
		if err != nil || sub.Status != StatusPending || !sub.CreatedAt.Equal(req.At) || !sub.NotifiedAt.Equal(req.At) {
			t.Errorf("stored %+v %v; want pending, created and notified at the request's time", sub, err)
		}
		// SQS delivers at least once: the same request again, even a
		// minute later, mails nobody.
		f.now = f.now.Add(time.Minute)
		if got := kinds(f.handled(t, req)); got != "" {
			t.Errorf("the redelivered sign-up sent %q", got)
		}
	})
	t.Run("pending: a new confirmation, once", func(t *testing.T) {
		f := newFixture(t)
		subscribe(f, "pending@example.org")()
		req := f.queued(t, subscribe(f, "pending@example.org"))
		if got := kinds(f.handled(t, req)); got != "confirmation" {
			t.Fatalf("mails %q, want one confirmation", got)
		}
		if got := kinds(f.handled(t, req)); got != "" {
			t.Errorf("the redelivered sign-up sent %q", got)
		}
		req = f.queued(t, manage(f, "pending@example.org"))
		if got := kinds(f.handled(t, req)); got != "confirmation" {
			t.Errorf("a manage request for a pending address sent %q, want a confirmation", got)
		}
	})
	t.Run("confirmed: a manage mail, once", func(t *testing.T) {
		f := newFixture(t)
		sub, links := f.confirmed(t, "confirmed@example.org")
		for _, call := range []func() error{subscribe(f, "confirmed@example.org"), manage(f, "confirmed@example.org")} {
			req := f.queued(t, call)
			mails := f.handled(t, req)
			if kinds(mails) != "manage" || mails[0].links.Export == "" || mails[0].links.Confirm != "" {
				t.Fatalf("%s: mails %+v, want one manage mail with data links", req.Kind, mails)
			}
			if got := kinds(f.handled(t, req)); got != "" {
				t.Errorf("the redelivered %s request sent %q", req.Kind, got)
			}
		}
		req := f.queued(t, func() error { return f.svc.RequestDataLinks(ctx, tokenOf(t, links.Preferences), "") })
		if req.SubscriberID != sub.ID || req.Email != "" {
			t.Errorf("data-link request %+v: want the subscriber's id and no address", req)
		}
		if got := kinds(f.handled(t, req)); got != "manage" {
			t.Errorf("data-link: mails %q, want one manage mail", got)
		}
		if got := kinds(f.handled(t, req)); got != "" {
			t.Errorf("the redelivered data-link request sent %q", got)
		}
	})
	t.Run("blocked: nothing", func(t *testing.T) {
		f := newFixture(t)
		_, links := f.confirmed(t, "bounced@example.org")
		f.supp[testHasher.HashEmail("bounced@example.org")] = Suppression{EmailHash: testHasher.HashEmail("bounced@example.org"), Reason: ReasonComplained, At: f.now}
		f.supp[testHasher.HashEmail("never@example.org")] = Suppression{EmailHash: testHasher.HashEmail("never@example.org"), Reason: ReasonBounced, At: f.now}
		for _, call := range []func() error{
			subscribe(f, "bounced@example.org"), manage(f, "bounced@example.org"), subscribe(f, "never@example.org"),
			func() error { return f.svc.RequestDataLinks(ctx, tokenOf(t, links.Preferences), "") },
		} {
			req := f.queued(t, call)
			if got := kinds(f.handled(t, req)); got != "" {
				t.Errorf("%s request for a blocked address sent %q", req.Kind, got)
			}
		}
		if _, err := f.store.GetByEmail(ctx, "never@example.org"); err != ErrNotFound {
			t.Errorf("a blocked sign-up stored a subscriber: %v", err)
		}
	})
	t.Run("unknown address, manage: nothing", func(t *testing.T) {
		f := newFixture(t)
		req := f.queued(t, manage(f, "nobody@example.org"))
		if got := kinds(f.handled(t, req)); got != "" {
			t.Errorf("sent %q", got)
		}
		if _, err := f.store.GetByEmail(ctx, "nobody@example.org"); err != ErrNotFound {
			t.Errorf("a manage request stored a subscriber: %v", err)
		}
	})
	t.Run("a failed mail comes back and is sent on redelivery", func(t *testing.T) {
		f := newFixture(t)
		req := f.queued(t, subscribe(f, "flaky@example.org"))
		f.svc.Notifier = failingNotifier{}
		if err := f.svc.HandleRequest(ctx, req); err == nil {
			t.Fatal("a failed mail was not reported")
		}
		f.svc.Notifier = f.mail
		if got := kinds(f.handled(t, req)); got != "confirmation" {
			t.Errorf("redelivery after a failed mail sent %q, want the confirmation", got)
		}
	})
	t.Run("unknown kind is an error", func(t *testing.T) {
		f := newFixture(t)
		if err := f.svc.HandleRequest(ctx, Request{Kind: "other", At: f.now}); err == nil {
			t.Error("no error for an unknown request")
		}
	})
}

type failingNotifier struct{}

func (failingNotifier) SendConfirmation(context.Context, Subscriber, Links) error {
	return fmt.Errorf("SES throttled")
}

func (failingNotifier) SendManage(context.Context, Subscriber, Links) error {
	return fmt.Errorf("SES throttled")
}
