package localenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	"github.com/radiogram/radiogram/internal/awsconfig"
)

// VerifyEmailIdentity verifies a sender identity (a domain or an address),
// as an operator does once in the console; moto sends from nothing else.
func (e *Env) VerifyEmailIdentity(ctx context.Context, identity string) error {
	cfg, err := awsconfig.Load(ctx, e.Region, e.Endpoint)
	if err != nil {
		return err
	}
	if _, err := sesv2.NewFromConfig(cfg).CreateEmailIdentity(ctx, &sesv2.CreateEmailIdentityInput{EmailIdentity: &identity}); err != nil {
		return fmt.Errorf("verify SES identity %s: %w", identity, err)
	}
	return nil
}

// SentMessage is a raw message moto's SES accepted.
type SentMessage struct {
	ID           string   `json:"id"`
	Source       string   `json:"source"`
	Destinations []string `json:"destinations"`
	Raw          string   `json:"raw_data"` // the MIME message as sent
}

// SentMessages returns every raw message moto's SES accepted so far, in
// order: what a subscriber would have received.
func (e *Env) SentMessages(ctx context.Context) ([]SentMessage, error) {
	// moto builds its state dump by walking every model while other requests
	// may change them; a dump that races a write fails with a 500. A fresh
	// attempt sees a settled state.
	var err error
	for attempt := range stateAttempts {
		var msgs []SentMessage
		if msgs, err = e.sentMessages(ctx); err == nil {
			return msgs, nil
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Duration(attempt+1) * 50 * time.Millisecond):
		}
	}
	return nil, err
}

const stateAttempts = 5

func (e *Env) sentMessages(ctx context.Context) ([]SentMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.Endpoint+"/moto-api/data.json", nil)
	if err != nil {
		return nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read moto state: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("read moto state: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("read moto state: %s", resp.Status)
	}
	var state struct {
		SES struct {
			RawMessage []SentMessage `json:"RawMessage"`
		} `json:"ses"`
	}
	if err := json.Unmarshal(body, &state); err != nil {
		return nil, fmt.Errorf("decode moto state: %w", err)
	}
	return state.SES.RawMessage, nil
}
