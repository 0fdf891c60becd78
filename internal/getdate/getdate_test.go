package getdate

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

func mustLoc(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Skipf("time zone %s: %v", name, err)
	}
	return loc
}

// readMITTable reads a tab-separated golden file of MIT results: time
// zone, now, input, result.
func readMITTable(t *testing.T, path string) [][4]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rows [][4]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.SplitN(line, "\t", 4)
		if len(parts) != 4 {
			t.Fatalf("%s: bad line %q", path, line)
		}
		rows = append(rows, [4]string{parts[0], parts[1], parts[2], parts[3]})
	}
	return rows
}

// TestGetDateMatchesMIT replays what MIT's kadmin.local stored for
// -expire arguments in three time zones.
func TestGetDateMatchesMIT(t *testing.T) {
	for _, r := range readMITTable(t, "testdata/getdate-mit.tsv") {
		loc := mustLoc(t, r[0])
		now, _ := strconv.ParseInt(r[1], 10, 64)
		got, ok := Get(r[2], time.Unix(now, 0), loc)
		if r[3] == "BAD" {
			if ok {
				t.Errorf("%s %q: got %d, MIT rejects it", r[0], r[2], got)
			}
			continue
		}
		want, _ := strconv.ParseInt(r[3], 10, 64)
		if !ok {
			t.Errorf("%s %q: rejected, MIT gives %d", r[0], r[2], want)
			continue
		}
		// MIT stores the date as a 32-bit timestamp.
		if int32(got) != int32(want) {
			t.Errorf("%s %q: got %d (%s), MIT %d (%s)", r[0], r[2], int32(got),
				time.Unix(got, 0).UTC(), want, time.Unix(int64(uint32(want)), 0).UTC())
		}
	}
}

// TestParseIntervalMatchesMIT replays MIT's -maxlife results.
func TestParseIntervalMatchesMIT(t *testing.T) {
	for _, r := range readMITTable(t, "testdata/interval-mit.tsv") {
		loc := mustLoc(t, r[0])
		now, _ := strconv.ParseInt(r[1], 10, 64)
		got, err := ParseInterval(r[2], time.Unix(now, 0), loc)
		if msg, isErr := strings.CutPrefix(r[3], "ERR "); isErr {
			if err == nil || err.Error() != msg {
				t.Errorf("%s %q: got %d, %v; MIT says %q", r[0], r[2], got, err, msg)
			}
			continue
		}
		want, _ := strconv.ParseInt(r[3], 10, 64)
		if err != nil || int32(got) != int32(want) {
			t.Errorf("%s %q: got %d, %v; MIT %d", r[0], r[2], got, err, want)
		}
	}
}

// TestGetDate covers the grammar's corners with a fixed clock.
func TestGetDate(t *testing.T) {
	utc := time.UTC
	now := time.Date(2026, 11, 23, 15, 30, 0, 0, utc) // a Monday
	midnight := time.Date(2026, 11, 23, 0, 0, 0, 0, utc).Unix()
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"never", 0, true},
		{"never 1 day", 86400, true},
		{"1 day never", 0, false}, // "never" only first
		{"", midnight, true},      // nothing: today at midnight
		{"UTC", midnight, true},   // a zone alone: also midnight
		{"now", now.Unix(), true},
		{"2030-01-01", time.Date(2030, 1, 1, 0, 0, 0, 0, utc).Unix(), true},
		{"2030-01-01 12:00:00 +0100", time.Date(2030, 1, 1, 11, 0, 0, 0, utc).Unix(), true},
		{"Jan 1 2030", 0, false}, // a month name and day take a year only after a comma
		{"Jan 1, 2030", time.Date(2030, 1, 1, 0, 0, 0, 0, utc).Unix(), true},
		{"jan. 2", time.Date(2026, 1, 2, 0, 0, 0, 0, utc).Unix(), true},
		{"12pm", time.Date(2026, 11, 24, 0, 0, 0, 0, utc).Unix(), true}, // 12 pm is hour 24 in getdate.y
		{"noon", 0, false},
		{"1 fortnight", now.Unix() + 14*86400, true},
		{"3 secs", now.Unix() + 3, true},
		{"sec", now.Unix() + 1, true},
		{"2 days ago 1 day", now.Unix() - 86400, true}, // "ago" negates everything so far
		{"tuesday", midnight + 86400, true},
		{"2 tuesday", midnight + 8*86400, true},
		{"10:00 10:00", 0, false},
		{"2030-01-01 2031-01-01", 0, false},
		{"u.t.c. 10:00", time.Date(2026, 11, 23, 10, 0, 0, 0, utc).Unix(), true},
		{"2030-02-30", 0, false},
		{"2106-02-07 06:28:15 UTC", 4294967295 + 86400, true}, // 2100 counted as leap, see below
		{"2107-01-01", 0, false},
		{"10:00 (unclosed", time.Date(2026, 11, 23, 10, 0, 0, 0, utc).Unix(), true},
		{"@", 0, false},
		{"- 5 days", now.Unix() + 5*86400, true}, // a lone sign is skipped
	}
	for _, tt := range tests {
		got, ok := Get(tt.in, now, utc)
		if ok != tt.ok || (ok && got != tt.want) {
			t.Errorf("Get(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

// TestGetDateCenturyQuirk checks the leap-day count MIT computes with the
// target year's century rule: 2100 counts as a leap year on the way to
// 2101.
func TestGetDateCenturyQuirk(t *testing.T) {
	got, ok := Get("2101-01-01 00:00:00 UTC", time.Unix(0, 0), time.UTC)
	want := time.Date(2101, 1, 1, 0, 0, 0, 0, time.UTC).Unix() + 86400
	if !ok || got != want {
		t.Errorf("got %d, %v; want %d", got, ok, want)
	}
}

func TestParseDeltat(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"10x", 10, true},
		{"1D", 1, true},
		{"5m junk", 300, true},
		{"2 weeks", 0, false},
		{"+1", 0, false},
		{"1d2h3m4s", 93784, true},
		{"-1:00", -3600, true},
	}
	for _, tt := range tests {
		got, ok := ParseDeltat(tt.in)
		if ok != tt.ok || got != tt.want {
			t.Errorf("ParseDeltat(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func FuzzGetDate(f *testing.F) {
	for _, s := range []string{"2030-01-01 00:00:00 UTC", "next monday", "1/2/2030 10:00pm EDT", "2 weeks ago", "(x) never", "17-JUN-1992"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		Get(s, time.Unix(1800000000, 0), time.UTC)
		ParseInterval(s, time.Unix(1800000000, 0), time.UTC)
	})
}
