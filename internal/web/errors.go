package web

import (
	"errors"
	"net/http"
	"strings"

	"github.com/radiogram/radiogram/internal/subscribers"
)

// retryAfterSeconds is the Retry-After of a rate-limited request: the
// service's sign-up limits are per hour.
const retryAfterSeconds = "3600"

// problem is an error page: what went wrong, worded for the subscriber.
type problem struct {
	status     int
	heading    string
	paragraphs []string
	links      []link
}

var internalProblem = problem{
	status:     http.StatusInternalServerError,
	heading:    "Something went wrong",
	paragraphs: []string{"Something went wrong on our side, and nothing was changed. Please try again in a few minutes."},
}

// Advice for an expired link, which depends on the kind of link.
const (
	expiredConfirmAdvice = "Confirmation links work for 7 days. Sign up again to get a new one."
	expiredDataAdvice    = "Links to download or erase your data work for an hour. Open your preferences from any Radiogram email and ask for a fresh one: it comes by email."
	expiredOtherAdvice   = "Ask for a new link with the form on the sign-up page."
)

// problemFor maps a service error to its page; anything unexpected is
// logged and shown only as a generic failure.
func (s *site) problemFor(r *http.Request, err error, expiredAdvice string) problem {
	home := []link{{URL: "/", Text: "Go to the sign-up page"}}
	switch {
	case errors.Is(err, subscribers.ErrInvalidToken):
		return problem{http.StatusBadRequest, "This link is not valid",
			[]string{"The link may be incomplete: some mail programs break long links. Open it again from the email, or copy the whole link into the address bar."}, home}
	case errors.Is(err, subscribers.ErrExpiredToken):
		return problem{http.StatusGone, "This link has expired", []string{expiredAdvice},
			[]link{{URL: "/", Text: "Sign up again or ask for a new link"}}}
	case errors.Is(err, subscribers.ErrNotFound):
		return problem{http.StatusNotFound, "This subscription no longer exists",
			[]string{"Its data may have been erased. You can subscribe again at any time."}, home}
	case errors.Is(err, subscribers.ErrBusy):
		return problem{http.StatusTooManyRequests, "Too many sign-ups",
			[]string{"We've had too many sign-ups in the last hour. Please try again in an hour."}, home}
	case errors.Is(err, subscribers.ErrRateLimited):
		return problem{http.StatusTooManyRequests, "Too many requests",
			[]string{"We've had too many requests for this address or from your network. Please try again in an hour."}, home}
	}
	if fp := fieldProblemFor(err, "email"); fp != nil {
		return problem{http.StatusBadRequest, "Please check what you entered", []string{fp.Label + ": " + fp.Reason}, home}
	}
	s.log.ErrorContext(r.Context(), "page request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return internalProblem
}

func (s *site) fail(w http.ResponseWriter, r *http.Request, err error, expiredAdvice string) {
	s.renderProblem(w, r, s.problemFor(r, err, expiredAdvice))
}

func (s *site) renderProblem(w http.ResponseWriter, r *http.Request, p problem) {
	if p.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	s.renderMessage(w, r, p.status, messageView{
		Heading:    p.heading,
		Paragraphs: p.paragraphs,
		Links:      p.links,
	})
}

// failJSON answers a JSON request with the API's error shape.
func (s *site) failJSON(w http.ResponseWriter, r *http.Request, err error) {
	if fp := fieldProblemFor(err, "email"); fp != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: fp.Reason, Field: fp.Field})
		return
	}
	p := s.problemFor(r, err, expiredOtherAdvice)
	if p.status == http.StatusTooManyRequests {
		w.Header().Set("Retry-After", retryAfterSeconds)
	}
	reason := "internal error"
	if p.status != http.StatusInternalServerError {
		reason = err.Error()
	}
	writeJSON(w, p.status, errorBody{Error: reason})
}

// fieldProblemFor says which form field an error is about, or nil when it
// is not a validation error. emailField is the field that took the address.
func fieldProblemFor(err error, emailField string) *fieldProblem {
	var fe *subscribers.FieldError
	if errors.As(err, &fe) {
		return &fieldProblem{Field: fe.Field, Label: fieldLabel(fe.Field), Reason: upperFirst(fe.Reason)}
	}
	if errors.Is(err, subscribers.ErrInvalidEmail) {
		reason := strings.TrimPrefix(err.Error(), subscribers.ErrInvalidEmail.Error()+": ")
		return &fieldProblem{Field: emailField, Label: fieldLabel(emailField), Reason: upperFirst(reason)}
	}
	return nil
}

// readFailed answers a body that could not be read.
func (s *site) readFailed(w http.ResponseWriter, r *http.Request, err error, asJSON bool) {
	status, reason := http.StatusBadRequest, "the form could not be read"
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		status, reason = http.StatusRequestEntityTooLarge, "the body must be at most 64 KiB"
	} else if asJSON {
		reason = "invalid JSON body: " + err.Error()
	}
	if asJSON {
		writeJSON(w, status, errorBody{Error: reason})
		return
	}
	s.renderProblem(w, r, problem{status: status, heading: "This form could not be read",
		paragraphs: []string{"Please go back and try again (" + reason + ")."}})
}
