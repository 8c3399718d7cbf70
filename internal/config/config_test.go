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
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parse(func(k string) string { return tt.env[k] })
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
