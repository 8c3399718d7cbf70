package pagekit

import (
	"bytes"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func testGuard(logs io.Writer) Guard {
	return Guard{
		ContentSecurityPolicy: "default-src 'self'",
		CacheControl:          "no-store",
		MaxBodyBytes:          16,
		Log:                   slog.New(slog.NewTextHandler(logs, nil)),
		Problem: func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "Something went wrong", http.StatusInternalServerError)
		},
	}
}

func TestGuard(t *testing.T) {
	tests := []struct {
		name       string
		body       string
		handler    http.HandlerFunc
		wantStatus int
		wantBody   string
		wantHeader map[string]string
		wantLog    string
	}{
		{
			name: "headers on every answer",
			handler: func(w http.ResponseWriter, r *http.Request) {
				io.WriteString(w, "page")
			},
			wantStatus: 200, wantBody: "page",
			wantHeader: map[string]string{
				"Content-Security-Policy": "default-src 'self'",
				"Referrer-Policy":         "no-referrer",
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-store",
			},
		},
		{
			name: "a handler may change a header",
			handler: func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Cache-Control", "public, max-age=300")
				io.WriteString(w, "static file")
			},
			wantStatus: 200, wantBody: "static file",
			wantHeader: map[string]string{"Cache-Control": "public, max-age=300", "Referrer-Policy": "no-referrer"},
		},
		{
			name: "body within the bound",
			body: strings.Repeat("x", 16),
			handler: func(w http.ResponseWriter, r *http.Request) {
				b, err := io.ReadAll(r.Body)
				if err != nil {
					http.Error(w, err.Error(), http.StatusBadRequest)
					return
				}
				io.WriteString(w, "read "+string(b))
			},
			wantStatus: 200, wantBody: "read xxxxxxxxxxxxxxxx",
		},
		{
			name: "body beyond the bound",
			body: strings.Repeat("x", 17),
			handler: func(w http.ResponseWriter, r *http.Request) {
				_, err := io.ReadAll(r.Body)
				var tooLarge *http.MaxBytesError
				if !errors.As(err, &tooLarge) {
					io.WriteString(w, "read it all")
					return
				}
				http.Error(w, "too large", http.StatusRequestEntityTooLarge)
			},
			wantStatus: 413, wantBody: "too large",
		},
		{
			name: "panic becomes the problem page",
			handler: func(w http.ResponseWriter, r *http.Request) {
				panic("nil map in catalog")
			},
			wantStatus: 500, wantBody: "Something went wrong",
			wantHeader: map[string]string{"Content-Security-Policy": "default-src 'self'", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"},
			wantLog:    "nil map in catalog",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var logs bytes.Buffer
			rec := httptest.NewRecorder()
			testGuard(&logs).Wrap(tc.handler).ServeHTTP(rec, httptest.NewRequest("POST", "/page", strings.NewReader(tc.body)))
			if rec.Code != tc.wantStatus {
				t.Errorf("status = %d, want %d", rec.Code, tc.wantStatus)
			}
			if got := rec.Body.String(); !strings.Contains(got, tc.wantBody) {
				t.Errorf("body = %q, want %q", got, tc.wantBody)
			}
			if strings.Contains(rec.Body.String(), "goroutine") {
				t.Errorf("the answer shows the stack: %q", rec.Body)
			}
			for name, want := range tc.wantHeader {
				if got := rec.Header().Get(name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Errorf("the log lacks %q:\n%s", tc.wantLog, logs.String())
			}
			if tc.wantLog == "" && logs.Len() != 0 {
				t.Errorf("unexpected log:\n%s", logs.String())
			}
		})
	}
}

// The server aborts a response with http.ErrAbortHandler; the guard must
// not turn that into an error page.
func TestGuardLetsAnAbortThrough(t *testing.T) {
	var logs bytes.Buffer
	h := testGuard(&logs).Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		panic(http.ErrAbortHandler)
	}))
	rec := httptest.NewRecorder()
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Errorf("recovered %v, want http.ErrAbortHandler", p)
		}
		if rec.Body.Len() != 0 || logs.Len() != 0 {
			t.Errorf("an abort wrote %q and logged %q", rec.Body, logs.String())
		}
	}()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/page", nil))
}

func TestRemoteIP(t *testing.T) {
	tests := []struct{ remoteAddr, want string }{
		{"203.0.113.9:51234", "203.0.113.9"},
		{"[2001:db8::1]:443", "2001:db8::1"},
		{"203.0.113.9", "203.0.113.9"}, // no port: kept as it is
		{"", ""},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = tt.remoteAddr
		if got := RemoteIP(r); got != tt.want {
			t.Errorf("RemoteIP with RemoteAddr %q = %q, want %q", tt.remoteAddr, got, tt.want)
		}
	}
}
