package sesmail

import (
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	netmail "net/mail"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/radiogram/radiogram/internal/awsconfig"
	"github.com/radiogram/radiogram/internal/email"
	"github.com/radiogram/radiogram/internal/letters"
	"github.com/radiogram/radiogram/internal/localenv"
	"github.com/radiogram/radiogram/internal/subscribers"
)

// TestSendThroughMoto sends composed mails to a real moto_server and reads
// back what SES stored: the raw MIME, with both parts and the headers.
func TestSendThroughMoto(t *testing.T) {
	if testing.Short() {
		t.Skip("starts moto_server; skipped in -short mode")
	}
	if _, err := exec.LookPath("moto_server"); err != nil {
		t.Skip("moto_server is not on PATH")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	env, err := localenv.Start(ctx, localenv.Options{})
	if err != nil {
		t.Fatalf("localenv.Start: %v", err)
	}
	defer env.Close()

	cfg, err := awsconfig.Load(ctx, env.Region, env.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	// No pooled connections: they would outlive the server.
	cfg.HTTPClient = &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	client := sesv2.NewFromConfig(cfg)
	if _, err := client.CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: aws.String("news@radiogram.example")}); err != nil {
		t.Fatalf("CreateEmailIdentity: %v", err)
	}

	// moto 5.2.1 has no route for SES v2 GetAccount (a 404); the reader
	// falls back to SES v1 GetSendQuota, which moto answers with fixed
	// sandbox figures.
	acct, err := NewAccountReader(client, cfg).Read(ctx)
	if err != nil || acct.MaxSendRate <= 0 || acct.Max24HourSend <= 0 {
		t.Fatalf("account limits from moto: %+v, %v", acct, err)
	}
	if acct.Source != "GetSendQuota" {
		t.Logf("moto now answers %s: the GetSendQuota fallback is no longer needed there", acct.Source)
	}

	composer := letters.NewComposer(letters.Product{
		Name:          "Radiogram",
		Link:          "https://radiogram.example",
		PostalAddress: "Musterstraße 1, 1010 Wien, Austria",
		From:          "Radiogram <news@radiogram.example>",
	})
	sub := subscribers.Subscriber{
		Email: "alice@example.org",
		Preferences: subscribers.Preferences{
			Topics: []string{"neuro"}, Frequency: subscribers.Weekly, Day: "monday", Hour: 7, TimeZone: "UTC", Format: subscribers.FormatHTML,
		},
	}
	links := subscribers.Links{
		Confirm:     "https://radiogram.example/confirm?token=c0nf1rm",
		Preferences: "https://radiogram.example/preferences?token=pr3fs",
		Unsubscribe: "https://radiogram.example/unsubscribe?token=unsub",
		Export:      "https://radiogram.example/me/export?token=exp0rt",
		Erase:       "https://radiogram.example/me/erase?token=3rase",
	}
	confirmation, err := composer.Confirmation(sub, []string{"Neuroradiology"}, links)
	if err != nil {
		t.Fatal(err)
	}
	manage, err := composer.Manage(sub, links)
	if err != nil {
		t.Fatal(err)
	}

	sender := NewSender(client, "")
	ids := map[string]email.Message{}
	for _, m := range []email.Message{confirmation, manage} {
		id, err := sender.Send(ctx, m)
		if err != nil {
			t.Fatalf("Send %s: %v", m.Tags["kind"], err)
		}
		ids[id] = m
	}

	stored := storedRawMessages(t, env.Endpoint)
	if len(stored) != len(ids) {
		t.Fatalf("moto holds %d raw messages, want %d", len(stored), len(ids))
	}
	for id, m := range ids {
		kind := m.Tags["kind"]
		raw, ok := stored[id]
		if !ok {
			t.Fatalf("%s: moto holds no message with the id Send returned (%s)", kind, id)
		}
		msg, parts := readMIME(t, raw)
		if got := parts["text/plain"]; got != m.Text {
			t.Errorf("%s: stored text part:\n%s\nwant\n%s", kind, got, m.Text)
		}
		if got := parts["text/html"]; got != m.HTML {
			t.Errorf("%s: stored HTML part differs from the composed one", kind)
		}
		if got := msg.Header.Get("Subject"); got != m.Subject {
			t.Errorf("%s: Subject = %q, want %q", kind, got, m.Subject)
		}
		wantHeaders := map[string]string{
			"List-Unsubscribe":      "<" + links.Unsubscribe + ">",
			"List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
		}
		for name, want := range wantHeaders {
			got := msg.Header.Get(name)
			if kind == letters.KindManage && got != want {
				t.Errorf("manage: %s = %q, want %q", name, got, want)
			}
			if kind == letters.KindConfirmation && got != "" {
				t.Errorf("confirmation: %s = %q, want none before the subscriber confirms", name, got)
			}
		}
	}
}

// storedRawMessages returns the raw messages moto's SES has accepted, by
// message id.
func storedRawMessages(t *testing.T, endpoint string) map[string]string {
	t.Helper()
	resp, err := http.Get(endpoint + "/moto-api/data.json")
	if err != nil {
		t.Fatalf("GET data.json: %v", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET data.json: %s", resp.Status)
	}
	var data struct {
		SES struct {
			RawMessage []struct {
				ID      string `json:"id"`
				RawData string `json:"raw_data"`
			}
		} `json:"ses"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&data); err != nil {
		t.Fatalf("data.json: %v", err)
	}
	out := map[string]string{}
	for _, m := range data.SES.RawMessage {
		out[m.ID] = m.RawData
	}
	return out
}

// readMIME parses a multipart/alternative message with the standard
// library and returns its decoded parts by media type.
func readMIME(t *testing.T, raw string) (*netmail.Message, map[string]string) {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v", err)
	}
	mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mediaType != "multipart/alternative" {
		t.Fatalf("Content-Type %q (%v), want multipart/alternative", msg.Header.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		// NextPart undoes the quoted-printable encoding.
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		partType, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[partType] = strings.ReplaceAll(string(body), "\r\n", "\n")
	}
	return msg, parts
}
