package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/radiogram/radiogram/internal/admin"
)

// apiActor names the caller of the bearer-token API in the audit log.
const apiActor = "admin (api)"

// adminError answers the admin service's errors: the caller's mistakes
// with a 4xx and the reason, anything else as an internal error.
func (s *Server) adminError(w http.ResponseWriter, r *http.Request, err error) {
	switch {
	case r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)):
		// The client went away (nginx's 499): not a server error, and no
		// one is left to answer.
		s.Log.InfoContext(r.Context(), "client went away", "method", r.Method, "path", r.URL.Path, "err", err)
	case errors.Is(err, admin.ErrNotFound), errors.Is(err, admin.ErrNothingNew):
		writeError(w, http.StatusNotFound, err.Error())
	case errors.Is(err, admin.ErrInvalidTarget), errors.Is(err, admin.ErrUnknownTopic), errors.Is(err, admin.ErrBadRequest):
		writeError(w, http.StatusBadRequest, err.Error())
	case errors.Is(err, admin.ErrConflict):
		writeError(w, http.StatusConflict, err.Error())
	default:
		s.internalError(w, r, err)
	}
}

func (s *Server) triggerSend(w http.ResponseWriter, r *http.Request) {
	var req admin.TriggerRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	req.IdempotencyKey = strings.TrimSpace(r.Header.Get("Idempotency-Key"))
	if len(req.IdempotencyKey) > 200 {
		writeError(w, http.StatusBadRequest, "Idempotency-Key must be at most 200 characters")
		return
	}
	req.Actor = apiActor
	run, err := s.Admin.Trigger(r.Context(), req)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	if req.DryRun && run.Status == admin.RunPlanned {
		writeJSON(w, http.StatusOK, map[string]any{"run_id": run.ID, "dry_run": true, "status": run.Status, "plan": run.Plan})
		return
	}
	// Planned elsewhere, shard by shard: the run's page shows its progress.
	w.Header().Set("Location", "/admin/sends/"+run.ID)
	writeJSON(w, http.StatusAccepted, map[string]any{"run_id": run.ID, "dry_run": req.DryRun, "status": run.Status})
}

func (s *Server) listRuns(w http.ResponseWriter, r *http.Request) {
	limit, ok := parseLimit(w, r, 20, 100)
	if !ok {
		return
	}
	runs, err := s.Admin.Runs(r.Context(), limit)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	if runs == nil {
		runs = []admin.Run{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
}

func (s *Server) getRun(w http.ResponseWriter, r *http.Request) {
	run, err := s.Admin.Run(r.Context(), r.PathValue("id"))
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// preview answers the mail itself: HTML (sandboxed, so that nothing in it
// runs with the API's origin) or, with format=text, the plain text.
func (s *Server) preview(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	msg, err := s.Admin.Preview(r.Context(), admin.PreviewRequest{Subscriber: q.Get("subscriber"), Topic: q.Get("topic")})
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Radiogram-Subject", mimeSafe(msg.Subject))
	if q.Get("format") == "text" || msg.HTML == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = w.Write([]byte(msg.Text))
		return
	}
	w.Header().Set("Content-Security-Policy", "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'")
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(msg.HTML))
}

// mimeSafe keeps a header value to printable ASCII.
func mimeSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return '?'
		}
		return r
	}, s)
}

type previewSendRequest struct {
	Subscriber string `json:"subscriber"`
	Topic      string `json:"topic"`
	To         string `json:"to"`
}

func (s *Server) previewSend(w http.ResponseWriter, r *http.Request) {
	var req previewSendRequest
	if !decodeJSON(w, r, &req) {
		return
	}
	if err := s.Admin.TestSend(r.Context(), admin.PreviewRequest{Subscriber: req.Subscriber, Topic: req.Topic}, req.To, apiActor); err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]string{"status": "sent"})
}

func (s *Server) getSubscriber(w http.ResponseWriter, r *http.Request) {
	email := r.URL.Query().Get("email")
	if email == "" {
		writeError(w, http.StatusBadRequest, "email is required")
		return
	}
	d, err := s.Admin.Subscriber(r.Context(), email)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) subscriberSummary(w http.ResponseWriter, r *http.Request) {
	sum, err := s.Admin.Summary(r.Context())
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, sum)
}

func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) {
	limit, ok := parseLimit(w, r, 50, 500)
	if !ok {
		return
	}
	entries, err := s.Admin.Audit(r.Context(), limit)
	if err != nil {
		s.adminError(w, r, err)
		return
	}
	if entries == nil {
		entries = []admin.AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
}

// parseLimit reads ?limit=, answering the client itself when it is wrong.
func parseLimit(w http.ResponseWriter, r *http.Request, def, most int) (int, bool) {
	raw := r.URL.Query().Get("limit")
	if raw == "" {
		return def, true
	}
	n, err := strconv.Atoi(raw)
	if err != nil || n < 1 || n > most {
		writeError(w, http.StatusBadRequest, "limit must be a whole number from 1 to "+strconv.Itoa(most))
		return 0, false
	}
	return n, true
}
