package main

import (
	"testing"

	"github.com/radiogram/radiogram/internal/localenv"
)

// TestProcessEnvOverridesTheStack: make run runs with every function's
// environment from the stack, and a RADIOGRAM_* variable (or AWS_REGION) set
// in its own environment wins; the endpoint stays the stack's moto.
func TestProcessEnvOverridesTheStack(t *testing.T) {
	env := &localenv.Env{Endpoint: "http://127.0.0.1:1", Region: "us-east-1", Functions: map[string]localenv.Function{
		"ApiFunction":    {Environment: map[string]string{"RADIOGRAM_MAIL_FROM": "Radiogram <news@example.org>", "RADIOGRAM_FEEDS_TABLE": "s-feeds"}},
		"SenderFunction": {Environment: map[string]string{"RADIOGRAM_SENDS_TABLE": "s-sends", "RADIOGRAM_MAIL_FROM": "Radiogram <news@example.org>"}},
	}}
	t.Setenv("RADIOGRAM_MAIL_FROM", "Society News <news@society.test>")
	t.Setenv("RADIOGRAM_FEEDS", "/tmp/feeds.json")
	t.Setenv("RADIOGRAM_AWS_ENDPOINT", "http://127.0.0.1:2")
	t.Setenv("UNRELATED", "x")
	vars, err := processEnv(env)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{
		"RADIOGRAM_MAIL_FROM":    "Society News <news@society.test>",
		"RADIOGRAM_FEEDS":        "/tmp/feeds.json",
		"RADIOGRAM_FEEDS_TABLE":  "s-feeds",
		"RADIOGRAM_SENDS_TABLE":  "s-sends",
		"RADIOGRAM_AWS_ENDPOINT": "http://127.0.0.1:1",
	} {
		if vars[name] != want {
			t.Errorf("%s = %q, want %q", name, vars[name], want)
		}
	}
	if _, ok := vars["UNRELATED"]; ok {
		t.Error("a variable that is not Radiogram's reached the app")
	}
}
