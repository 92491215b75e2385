package config

import (
	"strings"
	"testing"
	"time"
)

func TestFromEnv(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, c Config)
	}{
		{"defaults", nil, "", func(t *testing.T, c Config) {
			if c.Addr != "127.0.0.1:8080" || c.DataDir != "data" || c.PublicURL != "http://127.0.0.1:8080" || c.UsesPostgres() || c.ChannelLogRetention != 7*24*time.Hour || c.ChannelLog != ChannelLogAll {
				t.Fatalf("%+v", c)
			}
		}},
		{"overrides", map[string]string{"PARLEY_ADDR": ":9000", "DATABASE_URL": "postgres://x/y", "PARLEY_SESSION_TTL": "2h", "PARLEY_PUBLIC_URL": "https://chat.example.com/"}, "", func(t *testing.T, c Config) {
			if c.Addr != ":9000" || !c.UsesPostgres() || c.SessionTTL != 2*time.Hour || c.PublicURL != "https://chat.example.com" || !c.SecureCookies {
				t.Fatalf("%+v", c)
			}
		}},
		{"retention in days", map[string]string{"PARLEY_CHANNEL_LOG_RETENTION": "14d"}, "", func(t *testing.T, c Config) {
			if c.ChannelLogRetention != 14*24*time.Hour {
				t.Fatalf("retention = %v", c.ChannelLogRetention)
			}
		}},
		{"retention as a duration", map[string]string{"PARLEY_CHANNEL_LOG_RETENTION": "36h"}, "", func(t *testing.T, c Config) {
			if c.ChannelLogRetention != 36*time.Hour {
				t.Fatalf("retention = %v", c.ChannelLogRetention)
			}
		}},
		{"channel log of failures only", map[string]string{"PARLEY_CHANNEL_LOG": "failures"}, "", func(t *testing.T, c Config) {
			if c.ChannelLog != ChannelLogFailures {
				t.Fatalf("channel log = %q", c.ChannelLog)
			}
		}},
		{"bad channel log", map[string]string{"PARLEY_CHANNEL_LOG": "errors"}, `PARLEY_CHANNEL_LOG "errors" must be all or failures`, nil},
		{"bad retention", map[string]string{"PARLEY_CHANNEL_LOG_RETENTION": "0d"}, "PARLEY_CHANNEL_LOG_RETENTION", nil},
		{"bad duration", map[string]string{"PARLEY_SESSION_TTL": "soon"}, "PARLEY_SESSION_TTL", nil},
		{"bad database url", map[string]string{"DATABASE_URL": "mysql://x"}, "DATABASE_URL", nil},
		{"bad log level", map[string]string{"PARLEY_LOG_LEVEL": "loud"}, "log level", nil},
		{"bad body limit", map[string]string{"PARLEY_MAX_BODY_BYTES": "12"}, "PARLEY_MAX_BODY_BYTES", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, err := FromEnv(func(k string) string { return tc.env[k] })
			if err == nil {
				err = c.Finish()
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error = %v, want it to mention %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, c)
		})
	}
}
