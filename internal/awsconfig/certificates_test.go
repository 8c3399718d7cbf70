package awsconfig

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// The certificate of a SigningCertURL is fetched from the endpoint, at the
// URL's path, signed for SNS so that the emulator routes it to SNS.
func TestSNSCertificates(t *testing.T) {
	const pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case !strings.Contains(r.Header.Get("Authorization"), "/us-east-1/sns/aws4_request"):
			http.Error(w, "not routed to SNS", http.StatusNotFound)
		case r.URL.Path == "/SimpleNotificationService-abc.pem":
			w.Write([]byte(pem))
		case r.URL.Path == "/SimpleNotificationService-huge.pem":
			w.Write([]byte(strings.Repeat("x", maxCertificateBytes+1)))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cfg, err := Load(context.Background(), "us-east-1", srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	fetch := SNSCertificates(cfg, srv.URL+"/")
	tests := []struct {
		url     string
		want    string
		wantErr string
	}{
		{url: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-abc.pem", want: pem},
		{url: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-missing.pem", wantErr: "404"},
		{url: "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-huge.pem", wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			got, err := fetch(context.Background(), tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("fetch = %q, %v; want an error with %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil || string(got) != tt.want {
				t.Errorf("fetch = %q, %v; want the certificate", got, err)
			}
		})
	}
}
