package conversation

import (
	"strings"
	"testing"
)

func TestNormalizePhone(t *testing.T) {
	t.Parallel()
	tests := []struct {
		raw, country, want, err string
	}{
		{raw: "+15551234567", want: "+15551234567"},
		{raw: "+1 (555) 123-4567", want: "+15551234567"},
		{raw: "912 345 678", country: "pt", want: "+351912345678"},
		{raw: "912 345 678", err: "is not a phone number"},
		{raw: "+1 555", err: "is not a possible phone number"},
		{raw: "hello", country: "US", err: "is not a phone number"},
	}
	for _, tc := range tests {
		got, err := NormalizePhone(tc.raw, tc.country)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("NormalizePhone(%q, %q) = %q, %v; want an error saying %q", tc.raw, tc.country, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("NormalizePhone(%q, %q) = %q, %v; want %q", tc.raw, tc.country, got, err, tc.want)
		}
	}
}
