package localenv

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"

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
