package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/radiogram/radiogram/internal/subscribers"
	"github.com/radiogram/radiogram/internal/topics"
)

// The answers to a sign-up and to a request for a manage link are the same
// whoever asks, so that the forms reveal nothing about who subscribes.
const (
	checkInboxMessage = "Check your inbox: we've sent you an email with a link to finish signing up."
	manageSentMessage = "If that address is subscribed, we've sent it an email with a link to manage the subscription."
)

func (s *site) signUpPage(w http.ResponseWriter, r *http.Request) {
	cat, err := s.catalog(r.Context())
	if err != nil {
		s.fail(w, r, fmt.Errorf("read catalog: %w", err), expiredOtherAdvice)
		return
	}
	choices := newChoicesView(cat, defaultPreferences())
	choices.GuessZone = true
	s.render(w, r, http.StatusOK, "signup.html", signUpView{frame: s.frame("Subscribe"), Choices: choices})
}

// signUpJSON is the JSON body of POST /subscribe.
type signUpJSON struct {
	Email     string   `json:"email"`
	Topics    []string `json:"topics"`
	Societies []string `json:"societies"`
	Frequency string   `json:"frequency"`
	Day       string   `json:"day"`
	Hour      *int     `json:"hour"` // absent means the default, not midnight
	TimeZone  string   `json:"timezone"`
	Format    string   `json:"format"`
	Keywords  []string `json:"keywords"`
	Mute      []string `json:"mute"`
}

func (b signUpJSON) preferences() subscribers.Preferences {
	p := subscribers.Preferences{
		Topics:    b.Topics,
		Societies: b.Societies,
		Frequency: subscribers.Frequency(b.Frequency),
		Day:       b.Day,
		Hour:      subscribers.DefaultHour,
		TimeZone:  b.TimeZone,
		Format:    subscribers.Format(b.Format),
		Keywords:  b.Keywords,
		Mute:      b.Mute,
	}
	if b.Hour != nil {
		p.Hour = *b.Hour
	}
	return p
}

func (s *site) subscribe(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch bodyKind(r) {
	case jsonBody:
		var body signUpJSON
		if err := decodeJSON(r, &body); err != nil {
			s.readFailed(w, r, err, true)
			return
		}
		req := subscribers.SignUp{Email: body.Email, Preferences: body.preferences(), ClientIP: s.clientIP(r)}
		if err := s.subs.Subscribe(ctx, req); err != nil {
			s.failJSON(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "pending", "message": checkInboxMessage})
	case formBody:
		if err := parseForm(r); err != nil {
			s.readFailed(w, r, err, false)
			return
		}
		email := r.PostForm.Get("email")
		prefs, err := readPreferences(r.PostForm)
		if err == nil {
			err = s.subs.Subscribe(ctx, subscribers.SignUp{Email: email, Preferences: prefs, ClientIP: s.clientIP(r)})
		}
		if err == nil {
			s.renderMessage(w, r, http.StatusOK, messageView{
				Heading:    "Check your inbox",
				Paragraphs: []string{checkInboxMessage, "The link works for 7 days. If the email doesn't arrive within a few minutes, look in your spam folder."},
			})
			return
		}
		if fp := fieldProblemFor(err, "email"); fp != nil {
			s.reshowSignUp(w, r, signUpView{Email: email}, prefs, false, fp)
			return
		}
		s.fail(w, r, err, expiredOtherAdvice)
	default:
		writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Error: "the body must be application/json or a form"})
	}
}

// reshowSignUp shows the sign-up page again with what the person typed and
// the error next to its field.
func (s *site) reshowSignUp(w http.ResponseWriter, r *http.Request, v signUpView, prefs subscribers.Preferences, guessZone bool, fp *fieldProblem) {
	cat, err := s.catalog(r.Context())
	if err != nil {
		s.fail(w, r, fmt.Errorf("read catalog: %w", err), expiredOtherAdvice)
		return
	}
	v.frame = s.frame("Error: Subscribe") // the title is read first: say at once that something is wrong
	v.Problem = fp
	v.Choices = newChoicesView(cat, prefs)
	v.Choices.GuessZone = guessZone
	s.render(w, r, http.StatusBadRequest, "signup.html", v)
}

func (s *site) requestManageLink(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	switch bodyKind(r) {
	case jsonBody:
		var body struct {
			Email string `json:"email"`
		}
		if err := decodeJSON(r, &body); err != nil {
			s.readFailed(w, r, err, true)
			return
		}
		if err := s.subs.RequestManageLink(ctx, body.Email, s.clientIP(r)); err != nil {
			s.failJSON(w, r, err)
			return
		}
		writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent", "message": manageSentMessage})
	case formBody:
		if err := parseForm(r); err != nil {
			s.readFailed(w, r, err, false)
			return
		}
		email := r.PostForm.Get("email")
		err := s.subs.RequestManageLink(ctx, email, s.clientIP(r))
		if err == nil {
			s.renderMessage(w, r, http.StatusOK, messageView{
				Heading:    "Check your inbox",
				Paragraphs: []string{manageSentMessage, "If nothing arrives within a few minutes, look in your spam folder, or subscribe again."},
				Links:      []link{{URL: "/", Text: "Back to the sign-up page"}},
			})
			return
		}
		if fp := fieldProblemFor(err, "manage_email"); fp != nil {
			// The sign-up form was not touched, so it starts afresh.
			s.reshowSignUp(w, r, signUpView{ManageEmail: email}, defaultPreferences(), true, fp)
			return
		}
		s.fail(w, r, err, expiredOtherAdvice)
	default:
		writeJSON(w, http.StatusUnsupportedMediaType, errorBody{Error: "the body must be application/json or a form"})
	}
}

// confirmPage only shows whom the link is for: mail scanners open every
// link, so confirming takes the button's POST.
func (s *site) confirmPage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	sub, err := s.subs.PendingConfirmation(r.Context(), token)
	if err != nil {
		s.fail(w, r, err, expiredConfirmAdvice)
		return
	}
	if sub.Status == subscribers.StatusConfirmed {
		s.renderMessage(w, r, http.StatusOK, messageView{
			Heading:    "You're already subscribed",
			Paragraphs: []string{"There is nothing more to do. Every Radiogram email ends with a link to change your preferences or unsubscribe."},
		})
		return
	}
	s.render(w, r, http.StatusOK, "action.html", actionView{
		frame:      s.frame("Confirm your subscription"),
		Heading:    "Confirm your subscription",
		Paragraphs: []string{"Confirm that " + maskEmail(sub.Email) + " should receive Radiogram's news."},
		Action:     "/confirm",
		Token:      token,
		Button:     "Confirm",
	})
}

func (s *site) confirm(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.readFailed(w, r, err, false)
		return
	}
	if _, err := s.subs.Confirm(r.Context(), r.FormValue("token"), s.clientIP(r)); err != nil {
		s.fail(w, r, err, expiredConfirmAdvice)
		return
	}
	s.renderMessage(w, r, http.StatusOK, messageView{
		Heading: "You're subscribed",
		Paragraphs: []string{
			"Thank you. Radiogram will send you the news you chose.",
			"Every email ends with a link to change your topics, societies or schedule, and a link to unsubscribe.",
		},
	})
}

func (s *site) preferencesPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	token := r.URL.Query().Get("token")
	sub, links, err := s.subs.Preferences(ctx, token)
	if err != nil {
		s.fail(w, r, err, expiredOtherAdvice)
		return
	}
	cat, err := s.catalog(ctx)
	if err != nil {
		s.fail(w, r, fmt.Errorf("read catalog: %w", err), expiredOtherAdvice)
		return
	}
	s.render(w, r, http.StatusOK, "preferences.html", s.preferencesView(cat, token, sub, links, sub.Preferences))
}

func (s *site) savePreferences(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := parseForm(r); err != nil {
		s.readFailed(w, r, err, false)
		return
	}
	token := r.FormValue("token")
	// Reading first checks the link before the form, and gives the page
	// its links whatever happens next.
	sub, links, err := s.subs.Preferences(ctx, token)
	if err != nil {
		s.fail(w, r, err, expiredOtherAdvice)
		return
	}
	cat, err := s.catalog(ctx)
	if err != nil {
		s.fail(w, r, fmt.Errorf("read catalog: %w", err), expiredOtherAdvice)
		return
	}
	prefs, err := readPreferences(r.PostForm)
	if err == nil {
		var saved subscribers.Subscriber
		var changes []subscribers.Change
		if saved, changes, err = s.subs.UpdatePreferences(ctx, token, prefs); err == nil {
			v := s.preferencesView(cat, token, saved, links, saved.Preferences)
			v.Saved, v.Changes = true, describeChanges(cat, changes)
			s.render(w, r, http.StatusOK, "preferences.html", v)
			return
		}
	}
	if fp := fieldProblemFor(err, "email"); fp != nil {
		v := s.preferencesView(cat, token, sub, links, prefs)
		v.Title, v.Problem = "Error: "+v.Title, fp
		s.render(w, r, http.StatusBadRequest, "preferences.html", v)
		return
	}
	s.fail(w, r, err, expiredOtherAdvice)
}

// requestDataLinks is the preferences page's "email me a link to download
// or erase my data": the links come only by mail, to the subscriber, never
// on a page that a forwarded preferences link opens. It answers as a
// request for a manage link does.
func (s *site) requestDataLinks(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.readFailed(w, r, err, false)
		return
	}
	if err := s.subs.RequestDataLinks(r.Context(), r.FormValue("token"), s.clientIP(r)); err != nil {
		s.fail(w, r, err, expiredOtherAdvice)
		return
	}
	s.renderMessage(w, r, http.StatusOK, messageView{
		Heading:    "Check your inbox",
		Paragraphs: []string{manageSentMessage, "Its links to download or erase your data work for an hour. If nothing arrives within a few minutes, look in your spam folder."},
	})
}

// preferencesView is the preferences page of sub showing prefs: the saved
// choices, or the submitted ones when the form is shown again with an error.
func (s *site) preferencesView(cat Catalog, token string, sub subscribers.Subscriber, links subscribers.Links, prefs subscribers.Preferences) preferencesView {
	return preferencesView{
		frame:        s.frame("Your preferences"),
		Token:        token,
		MaskedEmail:  maskEmail(sub.Email),
		Unsubscribed: sub.Status == subscribers.StatusUnsubscribed,
		Links:        links,
		Choices:      newChoicesView(cat, prefs),
	}
}

func (s *site) unsubscribePage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		s.fail(w, r, subscribers.ErrInvalidToken, expiredOtherAdvice)
		return
	}
	s.render(w, r, http.StatusOK, "action.html", actionView{
		frame:      s.frame("Unsubscribe"),
		Heading:    "Unsubscribe from Radiogram",
		Paragraphs: []string{"You will get no more email from Radiogram. You can subscribe again at any time."},
		Action:     "/unsubscribe",
		Token:      token,
		Button:     "Unsubscribe",
	})
}

// unsubscribe takes both the page's button and the RFC 8058 one-click POST
// that mail clients send to the List-Unsubscribe URL, token in the query.
func (s *site) unsubscribe(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.readFailed(w, r, err, false)
		return
	}
	oneClick := r.PostForm.Get("List-Unsubscribe") == "One-Click"
	err := s.subs.Unsubscribe(r.Context(), r.FormValue("token"))
	if oneClick {
		// A mail client, not a person, reads this answer.
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err != nil {
			p := s.problemFor(r, err, expiredOtherAdvice)
			w.WriteHeader(p.status)
			io.WriteString(w, p.heading+"\n")
			return
		}
		io.WriteString(w, "Unsubscribed.\n")
		return
	}
	if err != nil {
		s.fail(w, r, err, expiredOtherAdvice)
		return
	}
	s.renderMessage(w, r, http.StatusOK, messageView{
		Heading:    "You're unsubscribed",
		Paragraphs: []string{"Radiogram will send you no more email. Changed your mind? You can subscribe again at any time."},
		Links:      []link{{URL: "/", Text: "Subscribe again"}},
	})
}

func (s *site) export(w http.ResponseWriter, r *http.Request) {
	data, err := s.subs.Export(r.Context(), r.URL.Query().Get("token"))
	if err != nil {
		s.fail(w, r, err, expiredDataAdvice)
		return
	}
	body, err := json.MarshalIndent(data, "", "  ")
	if err != nil {
		s.fail(w, r, fmt.Errorf("encode export: %w", err), expiredOtherAdvice)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="radiogram-data.json"`)
	w.Write(append(body, '\n'))
}

func (s *site) erasePage(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if token == "" {
		s.fail(w, r, subscribers.ErrInvalidToken, expiredOtherAdvice)
		return
	}
	s.render(w, r, http.StatusOK, "action.html", actionView{
		frame:   s.frame("Erase your data"),
		Heading: "Erase your data",
		Paragraphs: []string{
			"This deletes your address, your preferences and the record of your sign-up, and stops all email at once. It cannot be undone.",
			"Radiogram keeps only a one-way hash of your address, so that it never mails you again unless you subscribe anew.",
		},
		Action: "/me/erase",
		Token:  token,
		Button: "Erase my data",
		Danger: true,
	})
}

func (s *site) erase(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		s.readFailed(w, r, err, false)
		return
	}
	if err := s.subs.Erase(r.Context(), r.FormValue("token")); err != nil {
		s.fail(w, r, err, expiredDataAdvice)
		return
	}
	s.renderMessage(w, r, http.StatusOK, messageView{
		Heading:    "Your data is erased",
		Paragraphs: []string{"Radiogram no longer holds your address or your preferences, and will send you no more email."},
		Links:      []link{{URL: "/", Text: "Go to the sign-up page"}},
	})
}

// topicsJSON lists what a sign-up can choose, for scripts and other clients.
func (s *site) topicsJSON(w http.ResponseWriter, r *http.Request) {
	cat, err := s.catalog(r.Context())
	if err != nil {
		s.failJSON(w, r, fmt.Errorf("read catalog: %w", err))
		return
	}
	body := struct {
		Topics    []topics.Topic `json:"topics"`
		Societies []Society      `json:"societies"`
	}{Topics: cat.Topics, Societies: cat.Societies}
	if body.Topics == nil {
		body.Topics = []topics.Topic{}
	}
	if body.Societies == nil {
		body.Societies = []Society{}
	}
	writeJSON(w, http.StatusOK, body)
}

// readPreferences reads the choices of a posted sign-up or preferences form.
func readPreferences(form url.Values) (subscribers.Preferences, error) {
	p := subscribers.Preferences{
		Topics:    form["topics"],
		Societies: form["societies"],
		Frequency: subscribers.Frequency(form.Get("frequency")),
		Day:       form.Get("day"),
		Hour:      subscribers.DefaultHour,
		TimeZone:  form.Get("timezone"),
		Format:    subscribers.Format(form.Get("format")),
		Keywords:  formPhrases(form["keywords"]),
		Mute:      formPhrases(form["mute"]),
	}
	if raw := strings.TrimSpace(form.Get("hour")); raw != "" {
		hour, err := strconv.Atoi(raw)
		if err != nil {
			return p, &subscribers.FieldError{Field: "hour", Reason: "must be a whole hour from 0 to 23"}
		}
		p.Hour = hour
	}
	return p, nil
}

// formPhrases reads a form's phrases: one a line in a text area, or one
// per field when a client repeats the field. Blank lines are dropped by
// the validation.
func formPhrases(values []string) []string {
	var out []string
	for _, v := range values {
		for line := range strings.SplitSeq(v, "\n") {
			out = append(out, strings.TrimSuffix(line, "\r"))
		}
	}
	return out
}

type requestBody int

const (
	unsupportedBody requestBody = iota
	jsonBody
	formBody
)

// bodyKind tells a JSON post from a form post. A body without a type is
// taken as JSON, as the API takes it.
func bodyKind(r *http.Request) requestBody {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return jsonBody
	}
	mt, _, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return unsupportedBody
	case mt == "application/json":
		return jsonBody
	case mt == "application/x-www-form-urlencoded", mt == "multipart/form-data":
		return formBody
	}
	return unsupportedBody
}

// parseForm reads a form body of either encoding: RFC 8058 one-click posts
// may come as multipart/form-data.
func parseForm(r *http.Request) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		return r.ParseMultipartForm(maxBodyBytes)
	}
	return r.ParseForm()
}

// decodeJSON reads one JSON object, refusing unknown fields and trailing
// data, as the API does.
func decodeJSON(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.Decode(new(json.RawMessage)) != io.EOF {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}
