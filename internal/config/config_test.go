package config

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{name: "defaults", env: map[string]string{}, check: func(t *testing.T, c Config) {
			if c.FetchTimeout != 10*time.Second || c.MaxBodyBytes != 5<<20 || c.FetchConcurrency != 8 || c.AllowLoopback || c.Region != "us-east-1" || c.LogLevel != slog.LevelInfo {
				t.Errorf("unexpected defaults: %+v", c)
			}
		}},
		{name: "overrides", env: map[string]string{"RADIOGRAM_FETCH_TIMEOUT": "3s", "RADIOGRAM_MAX_BODY_BYTES": "2048", "RADIOGRAM_ALLOW_LOOPBACK": "1", "RADIOGRAM_LOG_LEVEL": "debug", "RADIOGRAM_FEEDS_TABLE": " f "}, check: func(t *testing.T, c Config) {
			if c.FetchTimeout != 3*time.Second || c.MaxBodyBytes != 2048 || !c.AllowLoopback || c.LogLevel != slog.LevelDebug || c.FeedsTable != "f" {
				t.Errorf("overrides not applied: %+v", c)
			}
		}},
		{name: "bad duration", env: map[string]string{"RADIOGRAM_FETCH_TIMEOUT": "soon"}, wantErr: "RADIOGRAM_FETCH_TIMEOUT"},
		{name: "negative duration", env: map[string]string{"RADIOGRAM_FETCH_TIMEOUT": "-1s"}, wantErr: "positive duration"},
		{name: "concurrency out of range", env: map[string]string{"RADIOGRAM_FETCH_CONCURRENCY": "0"}, wantErr: "from 1 to 64"},
		{name: "bad bool", env: map[string]string{"RADIOGRAM_ALLOW_LOOPBACK": "maybe"}, wantErr: "RADIOGRAM_ALLOW_LOOPBACK"},
		{name: "bad level", env: map[string]string{"RADIOGRAM_LOG_LEVEL": "loud"}, wantErr: "RADIOGRAM_LOG_LEVEL"},
		// More items than 50 could take a mail's HTML past Gmail's 90 KB.
		{name: "mail items above the bound", env: map[string]string{"RADIOGRAM_MAIL_MAX_ITEMS": "51"}, wantErr: "RADIOGRAM_MAIL_MAX_ITEMS"},
		{name: "mail items", env: map[string]string{"RADIOGRAM_MAIL_MAX_ITEMS": "10"}, check: func(t *testing.T, c Config) {
			if c.MailMaxItems != 10 {
				t.Errorf("MailMaxItems = %d, want 10", c.MailMaxItems)
			}
		}},
		{name: "max items per feed default", env: map[string]string{}, check: func(t *testing.T, c Config) {
			if c.MaxItemsPerFeed != 200 {
				t.Errorf("MaxItemsPerFeed = %d, want 200", c.MaxItemsPerFeed)
			}
		}},
		{name: "max items per feed set", env: map[string]string{"RADIOGRAM_MAX_ITEMS_PER_FEED": "10000"}, check: func(t *testing.T, c Config) {
			if c.MaxItemsPerFeed != 10000 {
				t.Errorf("MaxItemsPerFeed = %d, want 10000", c.MaxItemsPerFeed)
			}
		}},
		{name: "max items per feed zero", env: map[string]string{"RADIOGRAM_MAX_ITEMS_PER_FEED": "0"}, wantErr: "RADIOGRAM_MAX_ITEMS_PER_FEED=\"0\": want a whole number from 1 to 10000"},
		{name: "max items per feed too many", env: map[string]string{"RADIOGRAM_MAX_ITEMS_PER_FEED": "10001"}, wantErr: "from 1 to 10000"},
		{name: "max items per feed not a number", env: map[string]string{"RADIOGRAM_MAX_ITEMS_PER_FEED": "lots"}, wantErr: "RADIOGRAM_MAX_ITEMS_PER_FEED"},
		{name: "sends retention default", env: map[string]string{}, check: func(t *testing.T, c Config) {
			if c.SendsRetention != 400*24*time.Hour {
				t.Errorf("SendsRetention = %v, want 400 days", c.SendsRetention)
			}
		}},
		{name: "sends retention set", env: map[string]string{"RADIOGRAM_SENDS_RETENTION_DAYS": "30"}, check: func(t *testing.T, c Config) {
			if c.SendsRetention != 30*24*time.Hour {
				t.Errorf("SendsRetention = %v, want 30 days", c.SendsRetention)
			}
		}},
		{name: "sends retention zero", env: map[string]string{"RADIOGRAM_SENDS_RETENTION_DAYS": "0"}, wantErr: "RADIOGRAM_SENDS_RETENTION_DAYS"},
		{name: "short admin token", env: map[string]string{"RADIOGRAM_ADMIN_TOKEN": "test-admin-token"}, wantErr: "RADIOGRAM_ADMIN_TOKEN is 16 characters: want at least 32"},
		{name: "admin token of 32 characters", env: map[string]string{"RADIOGRAM_ADMIN_TOKEN": strings.Repeat("t", 32)}, check: func(t *testing.T, c Config) {
			if c.AdminToken != strings.Repeat("t", 32) {
				t.Errorf("admin token %q", c.AdminToken)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c)
		})
	}
}

// The error about a short admin token names the setting, never the token.
func TestShortAdminTokenIsNotRepeated(t *testing.T) {
	_, err := FromEnv(func(k string) string {
		if k == "RADIOGRAM_ADMIN_TOKEN" {
			return "hunter2-hunter2"
		}
		return ""
	})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v, want an error that does not repeat the token", err)
	}
}

func TestCheck(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	tests := []struct {
		name    string
		env     func(string) string
		roles   []Role
		wantErr string // "" for ready
	}{
		{name: "feedback ready", roles: []Role{Feedback},
			env: env("RADIOGRAM_SUPPRESSIONS_TABLE", "s", "RADIOGRAM_SENDS_TABLE", "l", "RADIOGRAM_FEEDBACK_TOPIC_ARN", "arn",
				"RADIOGRAM_ADDRESS_PEPPER", "a-pepper-of-at-least-thirty-two-characters")},
		{name: "feedback lacks the address pepper", roles: []Role{Feedback},
			env:     env("RADIOGRAM_SUPPRESSIONS_TABLE", "s", "RADIOGRAM_SENDS_TABLE", "l", "RADIOGRAM_FEEDBACK_TOPIC_ARN", "arn"),
			wantErr: "RADIOGRAM_ADDRESS_PEPPER or RADIOGRAM_ADDRESS_PEPPER_SECRET_ARN: must be set"},
		{name: "feedback lacks its topic", roles: []Role{Feedback},
			env:     env("RADIOGRAM_SUPPRESSIONS_TABLE", "s", "RADIOGRAM_SENDS_TABLE", "l"),
			wantErr: "RADIOGRAM_FEEDBACK_TOPIC_ARN: must be set"},
		{name: "blank counts as unset", roles: []Role{Feedback},
			env:     env("RADIOGRAM_SUPPRESSIONS_TABLE", " ", "RADIOGRAM_SENDS_TABLE", "l", "RADIOGRAM_FEEDBACK_TOPIC_ARN", "arn"),
			wantErr: "RADIOGRAM_SUPPRESSIONS_TABLE"},
		{name: "a secret stands for its value", roles: []Role{Sender},
			env: env("RADIOGRAM_FEEDS_TABLE", "f", "RADIOGRAM_SUBSCRIBERS_TABLE", "s", "RADIOGRAM_ITEMS_TABLE", "i",
				"RADIOGRAM_SUPPRESSIONS_TABLE", "x", "RADIOGRAM_SENDS_TABLE", "l", "RADIOGRAM_ADMIN_TABLE", "a", "RADIOGRAM_BASE_URL", "https://n.example",
				"RADIOGRAM_SIGNING_KEYS_SECRET_ARN", "arn", "RADIOGRAM_ADDRESS_PEPPER_SECRET_ARN", "arn")},
		{name: "either alternative named", roles: []Role{Sender},
			env: env("RADIOGRAM_FEEDS_TABLE", "f", "RADIOGRAM_SUBSCRIBERS_TABLE", "s", "RADIOGRAM_ITEMS_TABLE", "i",
				"RADIOGRAM_SUPPRESSIONS_TABLE", "x", "RADIOGRAM_SENDS_TABLE", "l", "RADIOGRAM_ADMIN_TABLE", "a", "RADIOGRAM_BASE_URL", "https://n.example"),
			wantErr: "RADIOGRAM_SIGNING_KEYS or RADIOGRAM_SIGNING_KEYS_SECRET_ARN: must be set"},
		{name: "every missing name, once, for several roles", roles: []Role{Planner, Feedback}, env: env(),
			wantErr: "RADIOGRAM_ADMIN_TABLE, RADIOGRAM_FEEDBACK_TOPIC_ARN, RADIOGRAM_ITEMS_TABLE, RADIOGRAM_PLAN_QUEUE_URL, RADIOGRAM_SENDS_TABLE, " +
				"RADIOGRAM_SEND_QUEUE_URL, RADIOGRAM_SUBSCRIBERS_TABLE, RADIOGRAM_SUPPRESSIONS_TABLE: must be set"},
		{name: "unknown role", roles: []Role{"mailer"}, env: env(), wantErr: `unknown role "mailer"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := FromEnv(tt.env)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(tt.roles...)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Check = %v, want ready", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Check = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestNeedsReads(t *testing.T) {
	if !NeedsOf(API).Reads("RADIOGRAM_ADMIN_TOKEN_SECRET_ARN") || !NeedsOf(API).Reads("RADIOGRAM_ADMIN_TOKEN") {
		t.Error("the API reads both forms of the admin token")
	}
	if !NeedsOf(Planner).Reads("RADIOGRAM_LOG_LEVEL") {
		t.Error("every role reads the common settings")
	}
	if !NeedsOf(Ingest).Reads("RADIOGRAM_MAX_ITEMS_PER_FEED") {
		t.Error("the ingest role runs ingests, so reads RADIOGRAM_MAX_ITEMS_PER_FEED")
	}
	// The API queues ingest runs; the ingest function runs them.
	if NeedsOf(API).Reads("RADIOGRAM_FETCH_TIMEOUT") || !NeedsOf(API).Reads("RADIOGRAM_INGEST_QUEUE_URL") {
		t.Error("the API queues ingest runs and fetches no feed")
	}
	if NeedsOf(Feedback).Reads("RADIOGRAM_SEND_QUEUE_URL") || NeedsOf(Ingest).Reads("RADIOGRAM_SIGNING_KEYS") {
		t.Error("a role reads a variable it has no use for")
	}
}
