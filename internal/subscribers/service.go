package subscribers

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/radiogram/radiogram/internal/tokens"
)

// Errors the service reports in terms a handler can answer with.
var (
	ErrNotFound     = errors.New("subscriber not found")
	ErrExists       = errors.New("a subscriber with this address exists")
	ErrInvalidToken = errors.New("this link is not valid")
	ErrExpiredToken = errors.New("this link has expired")
	ErrRateLimited  = errors.New("too many requests; try again later")
	// ErrBusy is ErrRateLimited when the whole service, not one address
	// or client, has had too many sign-ups this hour.
	ErrBusy = fmt.Errorf("%w: too many sign-ups across the service this hour", ErrRateLimited)
)

// Store keeps subscribers, one per address.
type Store interface {
	// Create stores a new subscriber, or fails with ErrExists when the
	// address already has one.
	Create(ctx context.Context, s Subscriber) error
	Get(ctx context.Context, id string) (Subscriber, error)
	GetByEmail(ctx context.Context, email string) (Subscriber, error)
	Update(ctx context.Context, s Subscriber) error
	// MarkNotified records that the subscriber was mailed for the request
	// made at at, changing nothing else.
	MarkNotified(ctx context.Context, id string, at time.Time) error
	// Delete removes the subscriber and every record of its address.
	Delete(ctx context.Context, s Subscriber) error
}

// Suppressions is the list of addresses never to mail, by address hash.
type Suppressions interface {
	Get(ctx context.Context, emailHash string) (Suppression, bool, error)
	Put(ctx context.Context, s Suppression) error
	Delete(ctx context.Context, emailHash string) error
}

// RateLimiter admits at most limit events per key and window.
type RateLimiter interface {
	Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, error)
}

// SendLog lists the mails sent, or tried, to a subscriber: the ledger.
type SendLog interface {
	SendsTo(ctx context.Context, subscriberID string) ([]Send, error)
}

// Notifier sends a subscriber the mails of signing up.
type Notifier interface {
	SendConfirmation(ctx context.Context, s Subscriber, links Links) error
	SendManage(ctx context.Context, s Subscriber, links Links) error
}

// Requests queues subscriber requests for HandleRequest, which the sender
// function runs (*sqsqueue.Queue).
type Requests interface {
	EnqueueRequest(ctx context.Context, r Request) error
}

// RequestKind names what a queued subscriber request asks for.
type RequestKind string

// The kinds of subscriber requests.
const (
	RequestSignUp   RequestKind = "signup"
	RequestManage   RequestKind = "manage"
	RequestDataLink RequestKind = "data-link"
)

// Request is one valid, admitted sign-up, manage-link or data-link request,
// queued by the API and handled by HandleRequest after the answer.
type Request struct {
	Kind         RequestKind `json:"kind"`
	Email        string      `json:"email,omitempty"`         // normalized; sign-up and manage
	Preferences  Preferences `json:"preferences,omitzero"`    // normalized; sign-up
	SubscriberID string      `json:"subscriber_id,omitempty"` // from the verified link; data-link
	ClientIP     string      `json:"client_ip,omitempty"`
	// BaseURL is what the API's links would have used.
	BaseURL string    `json:"base_url,omitempty"`
	At      time.Time `json:"at"`
}

// Signer signs and verifies the tokens in links.
type Signer interface {
	Sign(subject string, purpose tokens.Purpose, expires time.Time) string
	Verify(token string, purpose tokens.Purpose, now time.Time) (string, error)
}

// Limits on sign-up and manage-link requests, so that the form cannot be
// used to flood someone's inbox.
const (
	perAddressPerHour = 3
	perAddressPerDay  = 6
	perClientPerHour  = 30
	globalPerHour     = 500 // every sign-up and manage-link request together
	confirmValidity   = 7 * 24 * time.Hour
	// dataLinkValidity bounds the export and erase links, which only the
	// manage mail carries: a forwarded mail must not expose or erase data
	// for long.
	dataLinkValidity = time.Hour
)

// Service runs the subscriber flows. Its fields are set once at start-up.
type Service struct {
	Store        Store
	Suppressions Suppressions
	Limiter      RateLimiter
	// Hasher keys addresses in suppression and rate-limit records.
	Hasher AddressHasher
	// SendLog is the send log an export includes.
	SendLog  SendLog
	Notifier Notifier
	// Requests carries sign-up, manage and data-link requests from the API
	// to HandleRequest.
	Requests Requests
	Signer   Signer
	Catalog  Catalog
	// BaseURL is the public address links point at, without a trailing
	// slash; when empty, the one WithBaseURL put in the request's context.
	BaseURL string
	Now     func() time.Time
	Log     *slog.Logger
}

// SignUp is a request to subscribe.
type SignUp struct {
	Email       string
	Preferences Preferences
	ClientIP    string
}

// Subscribe starts a double opt-in. It answers the same, after the same
// work, whether or not the address is known, so that neither the form's
// answer nor its timing reveals who subscribes: after the limits it queues
// the request, and HandleRequest (in the sender function) mails a new or
// pending address a confirmation, a confirmed one a "manage your
// subscription" mail, a bounced or complained one nothing.
func (s *Service) Subscribe(ctx context.Context, req SignUp) error {
	email, err := NormalizeEmail(req.Email)
	if err != nil {
		return err
	}
	prefs, err := req.Preferences.Normalize(s.Catalog)
	if err != nil {
		return err
	}
	if err := s.limit(ctx, email, req.ClientIP); err != nil {
		return err
	}
	return s.enqueue(ctx, Request{Kind: RequestSignUp, Email: email, Preferences: prefs, ClientIP: req.ClientIP})
}

// RequestManageLink queues a fresh manage mail (preferences and unsubscribe
// links, and export and erase links valid for an hour) for a subscribed
// address, and answers the same, after the same work, for any other.
func (s *Service) RequestManageLink(ctx context.Context, email, clientIP string) error {
	email, err := NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := s.limit(ctx, email, clientIP); err != nil {
		return err
	}
	return s.enqueue(ctx, Request{Kind: RequestManage, Email: email, ClientIP: clientIP})
}

func (s *Service) enqueue(ctx context.Context, req Request) error {
	req.At, req.BaseURL = s.now(), s.baseURL(ctx)
	if err := s.Requests.EnqueueRequest(ctx, req); err != nil {
		return fmt.Errorf("queue %s request: %w", req.Kind, err)
	}
	return nil
}

// HandleRequest does what a queued request asks, after the API has
// answered: the lookups, the writes and the mail that would otherwise make
// a known address slower to answer than an unknown one. A request handled
// again (SQS delivers at least once) mails nobody twice: a subscriber
// mailed for this request, or a later one, is not mailed again.
func (s *Service) HandleRequest(ctx context.Context, req Request) error {
	if req.BaseURL != "" { // s.BaseURL, when set, still comes first
		ctx = WithBaseURL(ctx, req.BaseURL)
	}
	switch req.Kind {
	case RequestSignUp:
		return s.handleSignUp(ctx, req)
	case RequestManage:
		return s.handleManage(ctx, req)
	case RequestDataLink:
		return s.handleDataLink(ctx, req)
	}
	return fmt.Errorf("unknown subscriber request %q", req.Kind)
}

func (s *Service) handleSignUp(ctx context.Context, req Request) error {
	blocked, err := s.blocked(ctx, req.Email)
	if err != nil || blocked {
		return err
	}
	sub, err := s.Store.GetByEmail(ctx, req.Email)
	switch {
	case errors.Is(err, ErrNotFound):
		sub = Subscriber{ID: newID(), Email: req.Email, Status: StatusPending, Preferences: req.Preferences, CreatedAt: req.At, UpdatedAt: req.At, SignupIP: req.ClientIP}
		if err := s.Store.Create(ctx, sub); err != nil {
			if errors.Is(err, ErrExists) { // a concurrent sign-up won; its mail is on its way
				return nil
			}
			return fmt.Errorf("create subscriber: %w", err)
		}
	case err != nil:
		return fmt.Errorf("look up subscriber: %w", err)
	case s.notified(ctx, sub, req):
		return nil
	case sub.Status == StatusConfirmed:
		return s.notify(ctx, sub, req, true)
	default: // pending or unsubscribed: this sign-up's choices, confirmed anew
		sub.Status, sub.Preferences, sub.UpdatedAt, sub.SignupIP = StatusPending, req.Preferences, req.At, req.ClientIP
		if err := s.Store.Update(ctx, sub); err != nil {
			return fmt.Errorf("update subscriber: %w", err)
		}
	}
	return s.notify(ctx, sub, req, false)
}

func (s *Service) handleManage(ctx context.Context, req Request) error {
	sub, err := s.Store.GetByEmail(ctx, req.Email)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up subscriber: %w", err)
	}
	blocked, err := s.blocked(ctx, req.Email)
	if err != nil || blocked || s.notified(ctx, sub, req) {
		return err
	}
	switch sub.Status {
	case StatusConfirmed:
		return s.notify(ctx, sub, req, true)
	case StatusPending:
		return s.notify(ctx, sub, req, false)
	}
	return nil
}

func (s *Service) handleDataLink(ctx context.Context, req Request) error {
	sub, err := s.Store.Get(ctx, req.SubscriberID)
	if errors.Is(err, ErrNotFound) { // erased since
		return nil
	}
	if err != nil {
		return fmt.Errorf("look up subscriber: %w", err)
	}
	blocked, err := s.blocked(ctx, sub.Email)
	if err != nil || blocked || s.notified(ctx, sub, req) {
		return err
	}
	return s.notify(ctx, sub, req, true)
}

// notified reports whether the subscriber was mailed for this request, or
// for a later one: a redelivered request mails nobody again.
func (s *Service) notified(ctx context.Context, sub Subscriber, req Request) bool {
	if sub.NotifiedAt.IsZero() || sub.NotifiedAt.Before(req.At) {
		return false
	}
	s.Log.InfoContext(ctx, "subscriber request already handled", "kind", req.Kind, "subscriber", sub.ID)
	return true
}

// notify sends the manage mail or the confirmation, then records that the
// request was handled. A failed mail is an error, so that the request comes
// back; a failed record only risks a second mail on a redelivery, so it is
// logged.
func (s *Service) notify(ctx context.Context, sub Subscriber, req Request, manage bool) error {
	var err error
	if manage {
		err = s.Notifier.SendManage(ctx, sub, s.manageLinks(ctx, sub))
	} else {
		err = s.Notifier.SendConfirmation(ctx, sub, s.links(ctx, sub))
	}
	if err != nil {
		return err
	}
	if err := s.Store.MarkNotified(ctx, sub.ID, req.At); err != nil {
		s.Log.WarnContext(ctx, "record subscriber mail", "subscriber", sub.ID, "err", err)
	}
	return nil
}

// PendingConfirmation returns whom a confirm link is for, changing nothing:
// mail scanners follow every link, so only the POST confirms.
func (s *Service) PendingConfirmation(ctx context.Context, token string) (Subscriber, error) {
	return s.subscriberFor(ctx, token, tokens.Confirm)
}

// Confirm completes the double opt-in; confirming twice is harmless.
func (s *Service) Confirm(ctx context.Context, token, clientIP string) (Subscriber, error) {
	sub, err := s.subscriberFor(ctx, token, tokens.Confirm)
	if err != nil || sub.Status == StatusConfirmed {
		return sub, err
	}
	now := s.now()
	sub.Status, sub.ConfirmedAt, sub.UpdatedAt, sub.UnsubscribedAt, sub.ConfirmIP = StatusConfirmed, now, now, time.Time{}, clientIP
	if err := s.Store.Update(ctx, sub); err != nil {
		return sub, fmt.Errorf("confirm subscriber: %w", err)
	}
	// Subscribing anew lifts an unsubscribe or an erasure, never a bounce
	// or a complaint: Subscribe sends nothing to those.
	if err := s.Suppressions.Delete(ctx, s.Hasher.HashEmail(sub.Email)); err != nil {
		return sub, fmt.Errorf("lift suppression: %w", err)
	}
	s.Log.InfoContext(ctx, "subscriber confirmed", "subscriber", sub.ID)
	return sub, nil
}

// Preferences returns the subscriber a preferences link is for and the
// links their page shows: never export or erase links, which a preferences
// link (in every digest, never expiring) must not lead to.
func (s *Service) Preferences(ctx context.Context, token string) (Subscriber, Links, error) {
	sub, err := s.subscriberFor(ctx, token, tokens.Preferences)
	if err != nil {
		return sub, Links{}, err
	}
	return sub, s.links(ctx, sub), nil
}

// RequestDataLinks queues, for the subscriber a preferences link is for, a
// fresh manage mail whose export and erase links expire after an hour: the
// data links go only to the subscriber's inbox, never to whoever holds a
// forwarded preferences link. The limits of sign-ups apply, and
// HandleRequest mails no bounced or complained address.
func (s *Service) RequestDataLinks(ctx context.Context, token, clientIP string) error {
	sub, err := s.subscriberFor(ctx, token, tokens.Preferences)
	if err != nil {
		return err
	}
	if err := s.limit(ctx, sub.Email, clientIP); err != nil {
		return err
	}
	return s.enqueue(ctx, Request{Kind: RequestDataLink, SubscriberID: sub.ID, ClientIP: clientIP})
}

// UpdatePreferences saves new choices and says what changed. Saving from a
// preferences link also confirms a pending subscriber: the link came by mail.
func (s *Service) UpdatePreferences(ctx context.Context, token string, p Preferences) (Subscriber, []Change, error) {
	sub, err := s.subscriberFor(ctx, token, tokens.Preferences)
	if err != nil {
		return sub, nil, err
	}
	p, err = p.Normalize(s.Catalog)
	if err != nil {
		return sub, nil, err
	}
	changes := Diff(sub.Preferences, p)
	if len(changes) == 0 {
		return sub, nil, nil
	}
	sub.Preferences, sub.UpdatedAt = p, s.now()
	if err := s.Store.Update(ctx, sub); err != nil {
		return sub, nil, fmt.Errorf("save preferences: %w", err)
	}
	return sub, changes, nil
}

// Unsubscribe stops all mail at once. It is idempotent, and a valid link for
// a subscriber who has since been erased is a success too.
func (s *Service) Unsubscribe(ctx context.Context, token string) error {
	sub, err := s.subscriberFor(ctx, token, tokens.Unsubscribe)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	now := s.now()
	if sub.Status != StatusUnsubscribed {
		sub.Status, sub.UnsubscribedAt, sub.UpdatedAt = StatusUnsubscribed, now, now
		if err := s.Store.Update(ctx, sub); err != nil {
			return fmt.Errorf("unsubscribe: %w", err)
		}
		s.Log.InfoContext(ctx, "subscriber left", "subscriber", sub.ID)
	}
	return s.suppress(ctx, sub.Email, ReasonUnsubscribed, now)
}

// Export returns all data held about the subscriber.
func (s *Service) Export(ctx context.Context, token string) (Export, error) {
	sub, err := s.dataLinkSubscriber(ctx, token, tokens.MailedExport, tokens.Export)
	if err != nil {
		return Export{}, err
	}
	out := Export{Subscriber: sub, ExportedAt: s.now()}
	if out.Sends, err = s.SendLog.SendsTo(ctx, sub.ID); err != nil {
		return Export{}, fmt.Errorf("read send log: %w", err)
	}
	if out.Sends == nil {
		out.Sends = []Send{}
	}
	if supp, ok, err := s.Suppressions.Get(ctx, s.Hasher.HashEmail(sub.Email)); err != nil {
		return Export{}, fmt.Errorf("read suppression: %w", err)
	} else if ok {
		out.Suppression = &supp
	}
	return out, nil
}

// Erase deletes everything about the subscriber but a hash of the address,
// kept so that it is never mailed again unless it subscribes anew.
func (s *Service) Erase(ctx context.Context, token string) error {
	sub, err := s.dataLinkSubscriber(ctx, token, tokens.MailedErase, tokens.Erase)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	// Suppress first: if the delete then fails, the address is still safe.
	if err := s.suppress(ctx, sub.Email, ReasonErased, s.now()); err != nil {
		return err
	}
	if err := s.Store.Delete(ctx, sub); err != nil {
		return fmt.Errorf("erase subscriber: %w", err)
	}
	s.Log.InfoContext(ctx, "subscriber erased", "subscriber", sub.ID)
	return nil
}

// Links returns the signed links for a subscriber's mail and pages: the
// preferences and unsubscribe links, and the confirm link while pending.
// It never mints export or erase links; only the manage mail has those.
func (s *Service) Links(ctx context.Context, sub Subscriber) Links { return s.links(ctx, sub) }

// PreviewLinkPath is where the inert links of a preview point.
const PreviewLinkPath = "/preview-link"

// PreviewLinks returns inert links for a preview of a subscriber's mail:
// they say they are a preview's and carry no token, so that following one
// changes nothing about the subscriber.
func (s *Service) PreviewLinks(ctx context.Context) Links {
	return PreviewLinksAt(s.baseURL(ctx))
}

// PreviewLinksAt returns the inert links of a preview, served at base.
func PreviewLinksAt(base string) Links {
	link := func(what string) string { return base + PreviewLinkPath + "?what=" + what }
	return Links{
		Preferences: link("preferences"),
		Unsubscribe: link("unsubscribe"),
		Export:      link("export"),
		Erase:       link("erase"),
	}
}

func (s *Service) baseURL(ctx context.Context) string {
	if s.BaseURL != "" {
		return s.BaseURL
	}
	base, _ := ctx.Value(baseURLKey{}).(string)
	return base
}

func (s *Service) links(ctx context.Context, sub Subscriber) Links {
	link := s.linkSigner(ctx, sub)
	l := Links{
		Preferences: link("/preferences", tokens.Preferences, 0),
		Unsubscribe: link("/unsubscribe", tokens.Unsubscribe, 0),
	}
	if sub.Status != StatusConfirmed {
		l.Confirm = link("/confirm", tokens.Confirm, confirmValidity)
	}
	return l
}

// manageLinks are the manage mail's links, the only ones with export and
// erase links: signed for their own purposes, they expire after an hour.
func (s *Service) manageLinks(ctx context.Context, sub Subscriber) Links {
	l := s.links(ctx, sub)
	link := s.linkSigner(ctx, sub)
	l.Export = link("/me/export", tokens.MailedExport, dataLinkValidity)
	l.Erase = link("/me/erase", tokens.MailedErase, dataLinkValidity)
	return l
}

// linkSigner returns what builds sub's links: path on the base URL with a
// token for purpose, valid for validity from now, or for ever when zero.
func (s *Service) linkSigner(ctx context.Context, sub Subscriber) func(path string, purpose tokens.Purpose, validity time.Duration) string {
	now, base := s.now(), s.baseURL(ctx)
	return func(path string, purpose tokens.Purpose, validity time.Duration) string {
		var expires time.Time
		if validity > 0 {
			expires = now.Add(validity)
		}
		return base + path + "?token=" + url.QueryEscape(s.Signer.Sign(sub.ID, purpose, expires))
	}
}

// dataLinkSubscriber checks an export or erase link. A link signed for the
// former purpose, which any page or mail minted for a day, is refused as
// expired whatever its date: it may come from a forwarded mail.
func (s *Service) dataLinkSubscriber(ctx context.Context, token string, purpose, former tokens.Purpose) (Subscriber, error) {
	sub, err := s.subscriberFor(ctx, token, purpose)
	if errors.Is(err, ErrInvalidToken) {
		if _, ferr := s.Signer.Verify(token, former, s.now()); ferr == nil || errors.Is(ferr, tokens.ErrExpired) {
			s.Log.InfoContext(ctx, "link refused", "purpose", former, "reason", "a former day-long data link")
			return Subscriber{}, ErrExpiredToken
		}
	}
	return sub, err
}

func (s *Service) subscriberFor(ctx context.Context, token string, purpose tokens.Purpose) (Subscriber, error) {
	id, err := s.Signer.Verify(token, purpose, s.now())
	if err != nil {
		s.Log.InfoContext(ctx, "link refused", "purpose", purpose, "reason", err)
		if errors.Is(err, tokens.ErrExpired) {
			return Subscriber{}, ErrExpiredToken
		}
		return Subscriber{}, ErrInvalidToken
	}
	sub, err := s.Store.Get(ctx, id)
	if err != nil {
		return Subscriber{}, err
	}
	return sub, nil
}

// limit applies the per-address and per-client sign-up limits. Addresses
// are hashed in the keys: rate-limit records must not hold addresses.
func (s *Service) limit(ctx context.Context, email, clientIP string) error {
	type check struct {
		key    string
		limit  int
		window time.Duration
		err    error // what a refusal returns
	}
	h := s.Hasher.HashEmail(email)
	checks := []check{
		{"addr-h:" + h, perAddressPerHour, time.Hour, ErrRateLimited},
		{"addr-d:" + h, perAddressPerDay, 24 * time.Hour, ErrRateLimited},
	}
	if clientIP != "" {
		checks = append(checks, check{"client:" + ClientKey(clientIP), perClientPerHour, time.Hour, ErrRateLimited})
	}
	// Last, so that a request one of the limits above refused does not
	// count against everyone's.
	checks = append(checks, check{globalSignUpKey, globalPerHour, time.Hour, ErrBusy})
	for _, c := range checks {
		ok, err := s.Limiter.Allow(ctx, c.key, c.limit, c.window)
		if err != nil {
			return fmt.Errorf("rate limit: %w", err)
		}
		if !ok {
			s.Log.WarnContext(ctx, "sign-up rate limited", "key", c.key)
			return c.err
		}
	}
	return nil
}

// globalSignUpKey counts every sign-up and manage-link request.
const globalSignUpKey = "global#signup"

// ClientKey is the key of a client address in per-client rate limits: an
// IPv4 address as is (an IPv4-mapped IPv6 address too, as IPv4), an IPv6
// address by its /64, which one client commonly holds whole and could
// rotate through. Anything that is not an address shares one key, so that
// it cannot be varied to escape the limit.
func ClientKey(clientIP string) string {
	addr, err := netip.ParseAddr(strings.TrimSpace(clientIP))
	if err != nil {
		return "unknown"
	}
	addr = addr.Unmap().WithZone("")
	if addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}

// blocked reports whether an address bounced or complained: such an address
// is never mailed, whatever a form says.
func (s *Service) blocked(ctx context.Context, email string) (bool, error) {
	supp, ok, err := s.Suppressions.Get(ctx, s.Hasher.HashEmail(email))
	if err != nil {
		return false, fmt.Errorf("read suppression: %w", err)
	}
	if ok && !supp.Lifted() {
		s.Log.InfoContext(ctx, "sign-up for a suppressed address ignored", "reason", supp.Reason)
		return true, nil
	}
	return false, nil
}

func (s *Service) suppress(ctx context.Context, email string, reason Reason, at time.Time) error {
	if err := s.Suppressions.Put(ctx, Suppression{EmailHash: s.Hasher.HashEmail(email), Reason: reason, At: at}); err != nil {
		return fmt.Errorf("suppress address: %w", err)
	}
	return nil
}

func (s *Service) now() time.Time { return s.Now().UTC() }

// MinAddressPepperLen is the shortest address pepper accepted; the stack
// generates one of 64 characters.
const MinAddressPepperLen = 32

// AddressHasher keys an address in the records that outlive it or must not
// hold it (suppressions, rate limits): HMAC-SHA256 with a secret pepper, so
// that a copy of those tables cannot be matched against a list of
// addresses. Changing the pepper forgets every suppression. The zero value
// has no pepper and panics when used: it is always built by NewAddressHasher.
type AddressHasher struct {
	key []byte
}

// NewAddressHasher returns the hasher keyed with pepper.
func NewAddressHasher(pepper string) (AddressHasher, error) {
	pepper = strings.TrimSpace(pepper)
	if n := len(pepper); n < MinAddressPepperLen {
		// The pepper is a secret: the error names its length, never it.
		return AddressHasher{}, fmt.Errorf("address pepper is %d characters: want at least %d", n, MinAddressPepperLen)
	}
	return AddressHasher{key: []byte(pepper)}, nil
}

// HashEmail is the key of an address in suppression and rate-limit records.
func (h AddressHasher) HashEmail(email string) string {
	return h.HashEmails([]string{email})[0]
}

// HashEmails is HashEmail of each address, with one HMAC reset between
// them: a planner hashes a list of thousands.
func (h AddressHasher) HashEmails(emails []string) []string {
	if len(h.key) == 0 {
		panic("subscribers: AddressHasher used without a pepper (use NewAddressHasher)")
	}
	mac := hmac.New(sha256.New, h.key)
	hashes := make([]string, len(emails))
	var sum []byte
	for i, email := range emails {
		mac.Reset()
		mac.Write([]byte(strings.ToLower(strings.TrimSpace(email))))
		sum = mac.Sum(sum[:0])
		hashes[i] = hex.EncodeToString(sum)
	}
	return hashes
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID is random, so that an address that erases itself and subscribes
// again gets a new identity and its old links stay dead.
func newID() string {
	b := make([]byte, 16)
	rand.Read(b)
	return strings.ToLower(idEncoding.EncodeToString(b))
}

// Diff lists what changed between two sets of preferences.
func Diff(from, to Preferences) []Change {
	var changes []Change
	add := func(field, a, b string) {
		if a != b {
			changes = append(changes, Change{Field: field, From: a, To: b})
		}
	}
	add("topics", strings.Join(from.Topics, ", "), strings.Join(to.Topics, ", "))
	add("societies", societiesText(from.Societies), societiesText(to.Societies))
	add("frequency", string(from.Frequency), string(to.Frequency))
	if to.Frequency == Weekly || from.Frequency == Weekly {
		add("day", from.Day, to.Day)
	}
	add("hour", hourText(from.Hour), hourText(to.Hour))
	add("timezone", from.TimeZone, to.TimeZone)
	add("format", string(from.Format), string(to.Format))
	add("keywords", strings.Join(from.Keywords, ", "), strings.Join(to.Keywords, ", "))
	add("mute", strings.Join(from.Mute, ", "), strings.Join(to.Mute, ", "))
	return changes
}

func societiesText(ids []string) string {
	if len(ids) == 0 {
		return "all societies"
	}
	return strings.Join(slices.Sorted(slices.Values(ids)), ", ")
}

func hourText(h int) string {
	return fmt.Sprintf("%02d:00", h)
}

type baseURLKey struct{}

// WithBaseURL records the public address a request was served on, for links
// when no base URL is configured. Only a trusted source may set it: the
// domain API Gateway reports, never a client's Host header.
func WithBaseURL(ctx context.Context, base string) context.Context {
	return context.WithValue(ctx, baseURLKey{}, strings.TrimSuffix(base, "/"))
}
