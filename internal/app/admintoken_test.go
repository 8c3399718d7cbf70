package app

import (
	"context"
	"strings"
	"testing"

	"github.com/radiogram/radiogram/internal/config"
)

// A short admin token is refused however it arrives; the environment's is
// refused by config.FromEnv, a secret's (here a value set past the parser)
// by AdminToken, without repeating it.
func TestAdminTokenShorterThan32IsRefused(t *testing.T) {
	for _, token := range []string{"hunter2", strings.Repeat("h", 31), " " + strings.Repeat("h", 31) + "\n"} {
		a := &App{Config: config.Config{AdminToken: token}}
		if _, err := a.AdminToken(context.Background()); err == nil || !strings.Contains(err.Error(), "at least 32") || strings.Contains(err.Error(), "hhh") || strings.Contains(err.Error(), "hunter") {
			t.Errorf("token of %d characters: err = %v, want a refusal that does not repeat it", len(token), err)
		}
	}
	a := &App{Config: config.Config{AdminToken: strings.Repeat("h", 32)}}
	if _, err := a.AdminToken(context.Background()); err != nil {
		t.Errorf("token of 32 characters: %v", err)
	}
}
