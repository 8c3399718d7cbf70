package lambdaevents

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/radiogram/radiogram/internal/inbound"
)

type recordingMailHandler struct {
	mails []inbound.Mail
	err   error
}

func (h *recordingMailHandler) Handle(_ context.Context, m inbound.Mail) (inbound.Outcome, error) {
	h.mails = append(h.mails, m)
	return inbound.Ignored, h.err
}

// TestInboundReadsTheSESEvent: the sample receipt event reaches the
// processor as the mail SES describes, and only a failure to act on it is
// an error of the invocation.
func TestInboundReadsTheSESEvent(t *testing.T) {
	data, err := os.ReadFile("../../events/inbound-ses.json")
	if err != nil {
		t.Fatal(err)
	}
	var ev events.SimpleEmailEvent
	if err := json.Unmarshal(data, &ev); err != nil {
		t.Fatal(err)
	}
	h := &recordingMailHandler{}
	if err := Inbound(h, nil)(context.Background(), ev); err != nil {
		t.Fatalf("Inbound: %v", err)
	}
	if len(h.mails) != 1 {
		t.Fatalf("%d mails handled, want 1", len(h.mails))
	}
	m := h.mails[0]
	if m.MessageID != "o3vrnil0e2ic28trm7dfhrc2v0clambda4nbp0g1" || len(m.From) != 1 || m.From[0] != "Reader <reader@hospital.example>" ||
		inbound.Token(m.Subject) == "" || len(m.Recipients) != 1 || m.Recipients[0] != "unsubscribe@example.org" ||
		m.Verdicts["dmarc"] != "PASS" || m.Verdicts["spam"] != "PASS" {
		t.Errorf("mail %+v, want the sample's id, From, subject with a token, recipient and verdicts", m)
	}

	h.err = errors.New("store unavailable")
	if err := Inbound(h, nil)(context.Background(), ev); !errors.Is(err, h.err) {
		t.Errorf("Inbound with a failing processor: %v, want its error for Lambda to retry", err)
	}
}
