package httpapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"
)

// TestSampleEvents checks that every sample API event in events/ reaches
// a handler through the Lambda adapter as the request it describes, so
// `sam local invoke ApiFunction --event ...` exercises the intended route.
func TestSampleEvents(t *testing.T) {
	files, err := filepath.Glob("../../events/api-*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no sample API events: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var ev events.APIGatewayV2HTTPRequest
			if err := json.Unmarshal(data, &ev); err != nil {
				t.Fatal(err)
			}
			var got *http.Request
			var body string
			adapter := httpadapter.NewV2(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r
				b, _ := io.ReadAll(r.Body)
				body = string(b)
				w.WriteHeader(http.StatusNoContent)
			}))
			if _, err := adapter.ProxyWithContext(context.Background(), ev); err != nil {
				t.Fatal(err)
			}
			if got.Method != ev.RequestContext.HTTP.Method || got.URL.Path != ev.RawPath || got.URL.RawQuery != ev.RawQueryString {
				t.Errorf("request %s %s?%s, want %s %s?%s", got.Method, got.URL.Path, got.URL.RawQuery, ev.RequestContext.HTTP.Method, ev.RawPath, ev.RawQueryString)
			}
			if got.URL.Host != ev.RequestContext.DomainName {
				t.Errorf("host %q, want API Gateway's domain %q (links are built from it)", got.URL.Host, ev.RequestContext.DomainName)
			}
			if strings.HasPrefix(ev.RawPath, "/admin/") && !strings.HasPrefix(got.Header.Get("Authorization"), "Bearer ") {
				t.Error("an admin route's sample event carries no bearer token")
			}
			if body != "" && !json.Valid([]byte(body)) {
				t.Errorf("body is not JSON: %q", body)
			}
		})
	}
}
