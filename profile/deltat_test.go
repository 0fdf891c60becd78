package profile

import (
	"fmt"
	"testing"
	"time"
)

func TestParseDuration(t *testing.T) {
	// Expected values are what MIT's krb5_string_to_deltat (Debian 12,
	// krb5 1.20.1) returns for the same strings.
	tests := []struct {
		in   string
		want time.Duration
	}{
		{"10h", 10 * time.Hour},
		{"7d 0h 0m 0s", 7 * 24 * time.Hour},
		{"7d0h0m0s", 7 * 24 * time.Hour},
		{"1d", 24 * time.Hour},
		{"90m", 90 * time.Minute},
		{"1:00:00", time.Hour},
		{"1:00", time.Hour},
		{"-1h", -time.Hour},
		{"3600", time.Hour},
		{"0", 0},
		{"-5", -5 * time.Second},
		{"1s", time.Second},
		{"1m30s", 90 * time.Second},
		{"1d 30s", 86430 * time.Second},
		{"1d -1h", 23 * time.Hour},
		{"1-02:03:04", 93784 * time.Second},
		{"0:99", 99 * time.Minute},
		{" 10", 10 * time.Second},
		{"1d \t2h  ", 26 * time.Hour},
		{"10h ", 10 * time.Hour},
		{"24855d", 2147472000 * time.Second},
		{"2147483647", 2147483647 * time.Second},
		{"-2147483647", -2147483647 * time.Second},
		{"24855d 3h", 2147482800 * time.Second},
		{"596523h", 2147482800 * time.Second},
		{"35791394m", 2147483640 * time.Second},
		{"1d2h3m4s", 93784 * time.Second},
		{"02:03:04", 7384 * time.Second},
	}
	for _, tt := range tests {
		got, err := ParseDuration(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseDuration(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseDurationErrors(t *testing.T) {
	for _, in := range []string{
		// Refused by MIT too.
		"", " ", "10 ", "1d2", "1h30", "1:100", "--5", "- 5", "24856d", "2147483648",
		"1-2:3", "1:2:3:4", "d", "1d1d", "1h1d", "1:02:03s", "2147483647s 1s", "24855d 24h",
		// MIT stops at the first character it does not know and reads
		// "10x" as 10s, "1D" as 1s, "10\rs" as 10s.
		"10x", "1D", "10\rs", "10hours", "1d\r", "1h\v", "\r10", "1é",
	} {
		got, err := ParseDuration(in)
		if want := fmt.Sprintf("invalid duration %q", in); err == nil || err.Error() != want {
			t.Errorf("ParseDuration(%q) = %v, %v; want error %q", in, got, err, want)
		}
	}
}
