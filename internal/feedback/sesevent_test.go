package feedback

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestParseSESEvent(t *testing.T) {
	at := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		fixture string
		want    Event
		wantTag [2]string // a tag name and its first value, if set
	}{
		{
			fixture: "event-bounce-permanent.json",
			want: Event{
				Kind:       KindPermanentBounce,
				MessageID:  "0102018e0a2b1f00-3c1d9a4e-2b7f-4e0a-9d51-6f3a8c2b1e7d-000000",
				Recipients: []string{"jane.roe@hospital.example", "j.doe@clinic.example"},
				At:         at("2026-03-02T07:01:12.431Z"),
				Detail:     "Permanent/General 5.1.1 smtp; 550 5.1.1 <*@hospital.example>: Recipient address rejected: User unknown in local recipient table",
			},
			wantTag: [2]string{"kind", "digest"},
		},
		{
			fixture: "event-bounce-transient.json",
			want: Event{
				Kind:       KindTransientBounce,
				MessageID:  "0102018e0a2f5b77-8a9b0c1d-2e3f-4a5b-6c7d-8e9f0a1b2c3d-000000",
				Recipients: []string{"busy.reader@radiology.example"},
				At:         at("2026-03-02T07:05:44.020Z"),
				Detail:     "Transient/MailboxFull 5.2.2 smtp; 552 5.2.2 Mailbox full",
			},
			wantTag: [2]string{"ses:configuration-set", "radiogram"},
		},
		{
			fixture: "event-bounce-undetermined.json",
			want: Event{
				Kind:       KindTransientBounce,
				MessageID:  "0102018e0a6aff00-0a1b2c3d-4e5f-4607-8192-a3b4c5d6e7f8-000000",
				Recipients: []string{"unsure@imaging.example"},
				At:         at("2026-03-02T08:10:00Z"),
				Detail:     "Undetermined/Undetermined",
			},
		},
		{
			fixture: "event-complaint.json",
			want: Event{
				Kind:       KindComplaint,
				MessageID:  "0102018e0ae4c3b2-1a2b3c4d-5e6f-4a7b-8c9d-0e1f2a3b4c5d-000000",
				Recipients: []string{"angry.reader@mail.example"},
				At:         at("2026-03-03T12:30:15Z"),
				Detail:     "abuse",
			},
			wantTag: [2]string{"kind", "digest"},
		},
		{
			fixture: "event-delivery.json",
			want: Event{
				Kind:       KindDelivery,
				MessageID:  "0102018e0a2a9d31-6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d-000000",
				Recipients: []string{"reader@hospital.example"},
				At:         at("2026-03-02T07:00:03.412Z"),
				Detail:     "250 2.0.0 OK 1709362803 x12-20020a05 - gsmtp",
			},
			wantTag: [2]string{"ses:outgoing-ip", "198.51.100.7"},
		},
		{
			fixture: "event-send.json",
			want: Event{
				Kind:       KindSend,
				MessageID:  "0102018e0a2a9d31-6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d-000000",
				Recipients: []string{"reader@hospital.example"},
				At:         at("2026-03-02T07:00:01.100Z"),
			},
			wantTag: [2]string{"kind", "digest"},
		},
		{
			fixture: "event-reject.json",
			want: Event{
				Kind:       KindReject,
				MessageID:  "0102018e0a3c0000-aa11bb22-cc33-4d44-8e55-ff6677889900-000000",
				Recipients: []string{"reader@hospital.example"},
				At:         at("2026-03-02T07:20:00Z"),
				Detail:     "Bad content",
			},
		},
		{
			fixture: "event-open.json",
			want: Event{
				Kind:       KindOther,
				MessageID:  "0102018e0a2a9d31-6b5a4c3d-2e1f-4a0b-9c8d-7e6f5a4b3c2d-000000",
				Recipients: []string{"reader@hospital.example"},
				At:         at("2026-03-02T07:00:01.100Z"),
				Detail:     "Open",
			},
		},
		{
			fixture: "notification-bounce.json",
			want: Event{
				Kind:       KindPermanentBounce,
				MessageID:  "0102018e0c0d0000-11223344-5566-4778-899a-abbccddeeff0-000000",
				Recipients: []string{"former.member@society.example"},
				At:         at("2026-03-04T10:00:00.123Z"),
				Detail:     "Permanent/Suppressed 5.1.1 Amazon SES has suppressed sending to this address because it has a recent history of bouncing as an invalid address.",
			},
		},
		{
			fixture: "notification-complaint.json",
			want: Event{
				Kind:       KindComplaint,
				MessageID:  "0102018e0b9f0000-deadbeef-0000-4111-8222-933344455566-000000",
				Recipients: []string{"reader@isp.example"},
				At:         at("2026-03-04T11:20:05.402Z"),
			},
		},
		{
			fixture: "notification-delivery.json",
			want: Event{
				Kind:       KindDelivery,
				MessageID:  "0102018e0b9f1111-cafebabe-0000-4111-8222-933344455566-000000",
				Recipients: []string{"reader@hospital.example"},
				At:         at("2026-03-04T06:00:01.900Z"),
				Detail:     "250 ok: Message 1234567 accepted",
			},
		},
		{
			fixture: "notification-subscription-succeeded.json",
			want:    Event{Kind: KindOther, Detail: "AmazonSnsSubscriptionSucceeded"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			got, err := ParseSESEvent(readFixture(t, tt.fixture))
			if err != nil {
				t.Fatal(err)
			}
			if got.Kind != tt.want.Kind || got.MessageID != tt.want.MessageID || !got.At.Equal(tt.want.At) || got.Detail != tt.want.Detail {
				t.Errorf("ParseSESEvent =\n %v %s %v %q\nwant\n %v %s %v %q",
					got.Kind, got.MessageID, got.At, got.Detail, tt.want.Kind, tt.want.MessageID, tt.want.At, tt.want.Detail)
			}
			if !slices.Equal(got.Recipients, tt.want.Recipients) {
				t.Errorf("Recipients = %q, want %q", got.Recipients, tt.want.Recipients)
			}
			if name := tt.wantTag[0]; name != "" {
				if v := got.Tags[name]; len(v) == 0 || v[0] != tt.wantTag[1] {
					t.Errorf("Tags[%q] = %q, want [%q]", name, v, tt.wantTag[1])
				}
			}
		})
	}
}

func TestParseSESEventErrors(t *testing.T) {
	tests := map[string]string{
		"not JSON":                    `<Notification/>`,
		"truncated":                   `{"eventType":"Bounce","bounce":{`,
		"no type":                     `{"mail":{"messageId":"m"}}`,
		"wrong field type":            `{"eventType":"Bounce","bounce":{"bounceType":5}}`,
		"bounce without its object":   `{"eventType":"Bounce","mail":{"messageId":"m"}}`,
		"bounce without recipients":   `{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[]},"mail":{"messageId":"m"}}`,
		"complaint of blank address":  `{"notificationType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"  "}]},"mail":{"messageId":"m"}}`,
		"delivery without its object": `{"notificationType":"Delivery"}`,
	}
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			if e, err := ParseSESEvent(body); err == nil {
				t.Errorf("ParseSESEvent = %+v, want an error", e)
			}
		})
	}
}

func TestSafeDetail(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"smtp; 550 5.1.1 <Jane.Roe@hospital.example>: unknown", "smtp; 550 5.1.1 <*@hospital.example>: unknown"},
		{"mailbox jane+news@hospital.example is full", "mailbox *@hospital.example is full"},
		{"two a@x.example, b.c@y.example", "two *@x.example, *@y.example"},
		{"line one\r\nline\ttwo\x00three", "line one line two three"},
		{"   ", ""},
		{strings.Repeat("a", maxDetail+10), strings.Repeat("a", maxDetail) + "…"},
		{strings.Repeat("a", maxDetail-1) + "éé", strings.Repeat("a", maxDetail-1) + "…"},
	}
	for _, tt := range tests {
		if got := safeDetail(tt.in); got != tt.want {
			t.Errorf("safeDetail(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseSESEvent(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no fixtures: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b))
	}
	f.Add(`{"eventType":"Bounce","bounce":{"bounceType":"Permanent","bouncedRecipients":[{"emailAddress":"x"}]}}`)
	f.Add(`{"notificationType":"Complaint","complaint":null}`)
	f.Add(`null`)

	kinds := []Kind{KindPermanentBounce, KindTransientBounce, KindComplaint, KindDelivery, KindSend, KindReject, KindOther}
	f.Fuzz(func(t *testing.T, body string) {
		e, err := ParseSESEvent(body)
		if err != nil {
			return
		}
		if !slices.Contains(kinds, e.Kind) {
			t.Fatalf("Kind = %q", e.Kind)
		}
		if len(e.Detail) > maxDetail+len("…") || !utf8.ValidString(e.Detail) {
			t.Fatalf("Detail too long or not UTF-8: %q", e.Detail)
		}
		for _, r := range e.Recipients {
			if r == "" || r != strings.ToLower(r) {
				t.Fatalf("recipient %q not normalised", r)
			}
		}
		if (e.Kind == KindPermanentBounce || e.Kind == KindTransientBounce || e.Kind == KindComplaint) && len(e.Recipients) == 0 {
			t.Fatal("bounce or complaint with no recipient")
		}
	})
}
