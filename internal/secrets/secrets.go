// Package secrets is the Secrets Manager adapter: it reads the secrets the
// stack generates (the admin token and the link-signing keys).
package secrets

import (
	"context"
	"fmt"
	"strings"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// API is the part of the Secrets Manager client this package uses.
type API interface {
	GetSecretValue(context.Context, *secretsmanager.GetSecretValueInput, ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// String reads a secret's string value.
func String(ctx context.Context, api API, arn string) (string, error) {
	out, err := api.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &arn})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", arn, err)
	}
	if out.SecretString == nil || strings.TrimSpace(*out.SecretString) == "" {
		return "", fmt.Errorf("secret %s is empty", arn)
	}
	return strings.TrimSpace(*out.SecretString), nil
}
