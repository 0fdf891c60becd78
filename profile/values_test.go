package profile

import (
	"testing"
	"time"
)

func TestParseBool(t *testing.T) {
	for _, s := range []string{"y", "yes", "true", "t", "1", "on", "YES", "True", "oN"} {
		if b, err := ParseBool(s); err != nil || !b {
			t.Errorf("ParseBool(%q) = %v, %v; want true", s, b, err)
		}
	}
	for _, s := range []string{"n", "no", "false", "nil", "0", "off", "NO", "False", "NIL"} {
		if b, err := ParseBool(s); err != nil || b {
			t.Errorf("ParseBool(%q) = %v, %v; want false", s, b, err)
		}
	}
	// "f" is false only for the kadm5 parser, as in MIT.
	for _, s := range []string{"", "f", "2", "yes ", " yes", "enable", "ｙｅｓ"} {
		if b, err := ParseBool(s); err == nil {
			t.Errorf("ParseBool(%q) = %v, want error", s, b)
		}
	}
	if b, err := parseBool("F", true); err != nil || b {
		t.Errorf("kadm5 parseBool(F) = %v, %v", b, err)
	}
}

func TestParseInt(t *testing.T) {
	for s, want := range map[string]int{"0": 0, "42": 42, "-7": -7, "+7": 7, " \t12": 12, "2147483647": 2147483647, "-2147483648": -2147483648} {
		if n, err := ParseInt(s); err != nil || n != want {
			t.Errorf("ParseInt(%q) = %d, %v; want %d", s, n, err, want)
		}
	}
	for _, s := range []string{"", " ", "12 ", "1x", "0x10", "2147483648", "1_000", "1.5"} {
		if n, err := ParseInt(s); err == nil {
			t.Errorf("ParseInt(%q) = %d, want error", s, n)
		}
	}
}

func TestParseFlagSpec(t *testing.T) {
	// Masks are what MIT kadmin.local gives new principals with the same
	// default_principal_flags.
	tests := []struct {
		in   string
		want uint32
	}{
		{"+preauth", 0x80},
		{"-allow_tix,+preauth", 0xc0},
		{"preauth allow-tickets", 0x80},
		{"-ALLOW-TIX", 0x40},
		{"0x80", 0x80},
		{"+preauth -0x80", 0},
		{"needchange,\tok_as_delegate", 0x100200},
		{"preauth , hwauth\tpwservice", 0x2180},
		{"-postdateable -forwardable -tgt_based -renewable -proxiable -dup_skey", 0x3f},
		{"disallow_postdated +disallow_svr -service", 0x1001},
		{"requires_pre_auth requires_hwauth requires_pwchange password_changing_service", 0x2380},
		{"md5 support_desmd5 new_princ", 0xc000},
		{"ok_to_auth_as_delegate no_auth_data_required lockdown_keys", 0xe00000},
		{"0XFFFFFFFF", 0xffffffff},
	}
	for _, tt := range tests {
		if got, err := ParseFlagSpec(tt.in); err != nil || got != tt.want {
			t.Errorf("ParseFlagSpec(%q) = %#x, %v; want %#x", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{
		"bogus", "", "+preauth,", "a,,b", "+preauth -allow_tix,+preauth", "++preauth",
		"0x", "0x12zz", "0xffffffffff", "preauth!",
	} {
		if got, err := ParseFlagSpec(in); err == nil {
			t.Errorf("ParseFlagSpec(%q) = %#x, want error", in, got)
		}
	}
}

func TestParseTimestamp(t *testing.T) {
	// Expected values come from MIT's krb5_string_to_timestamp logic run
	// against glibc's strptime and mktime with TZ=UTC and the same now.
	now := time.Date(2024, 6, 15, 10, 20, 30, 0, time.UTC)
	tests := []struct {
		in   string
		want string
	}{
		{"20250101000000", "2025-01-01T00:00:00Z"},
		{"2025.01.01.00.00.00", "2025-01-01T00:00:00Z"},
		{"250101000000", "2025-01-01T00:00:00Z"},
		{"2501010000", "2025-01-01T00:00:30Z"},
		{"12:30", "2024-06-15T12:30:30Z"},
		{"12:30:45", "2024-06-15T12:30:45Z"},
		{"1230", "2024-06-15T12:30:30Z"},
		{"123045", "2024-06-15T12:30:45Z"},
		{"123456", "2012-03-04T05:06:30Z"},
		{"01-Jan-2025:00:00", "2025-01-01T00:00:30Z"},
		{"01-jan-2025:00:00:00", "2025-01-01T00:00:00Z"},
		{"1-January-2025:1:2", "2025-01-01T01:02:30Z"},
		{"06/15/24:10:20:30", "2024-06-15T10:20:30Z"},
		{"19010101000000", "1901-01-01T00:00:00Z"},
		{"991231235959", "9912-03-12T03:59:59Z"},
		{" 20250101000000", "2025-01-01T00:00:00Z"},
		{"20250101000000 ", "2025-01-01T00:00:00Z"},
		{"20250230000000", "2025-03-02T00:00:00Z"},
		{"2025.2.3.4.5.6", "2025-02-03T04:05:06Z"},
	}
	for _, tt := range tests {
		got, err := ParseTimestamp(tt.in, now)
		if err != nil || got.Format(time.RFC3339) != tt.want {
			t.Errorf("ParseTimestamp(%q) = %v, %v; want %s", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"19000101000000", "20251301000000", "x", "", " ", "2025-01-01", "25:00", "23:60", "15-Junk-2025:1:2", "20250101000000x"} {
		if got, err := ParseTimestamp(in, now); err == nil {
			t.Errorf("ParseTimestamp(%q) = %v, want error", in, got)
		}
	}
}

func TestParseTimestampDST(t *testing.T) {
	// glibc's mktime keeps the tm_isdst MIT copies from the current time:
	// in a Berlin summer, a winter date comes out an hour early (checked
	// against glibc with TZ=Europe/Berlin).
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no time zone database:", err)
	}
	summer := time.Date(2024, 6, 15, 12, 20, 30, 0, berlin)
	for in, want := range map[string]int64{
		"20250101000000": 1735682400,
		"20250615000000": 1749938400,
		"7140488":        39593310, // 1971, when Berlin had no DST: glibc assumes one hour
	} {
		if got, err := ParseTimestamp(in, summer); err != nil || got.Unix() != want {
			t.Errorf("ParseTimestamp(%q) = %d, %v; want %d", in, got.Unix(), err, want)
		}
	}
}
