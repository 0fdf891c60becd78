package dump

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/krb5prop/krb5prop/kdb"
)

const hdr7 = "kdb5_util load_dump version 7\n"

// baseFields is a small principal record, one field per element; the
// index comments are the positions the tests change.
var baseFields = []string{
	"princ", "38", "13", "1", "1", "0", // 0-5: type, len, name_len, n_tl, n_key, e_length
	"x@EXAMPLE.ORG",                              // 6
	"128", "36000", "0", "0", "0", "0", "0", "0", // 7-14: attributes … fail_auth_count
	"1", "2", "abcd", // 15-17: tl type, length, contents
	"1", "3", "18", "2", "0102", // 18-22: key ver, kvno, enctype, length, contents
	"-1;", // 23: e_data and end
}

// princLine is baseFields joined as MIT writes them, with field i set to
// v for each (i, v) pair.
func princLine(mods ...any) string {
	f := append([]string(nil), baseFields...)
	for i := 0; i < len(mods); i += 2 {
		f[mods[i].(int)] = mods[i+1].(string)
	}
	return strings.Join(f, "\t") + "\n"
}

var basePrincipal = &kdb.Principal{
	Name:       kdb.Name{Components: []string{"x"}, Realm: "EXAMPLE.ORG"},
	Attributes: 128, MaxLife: 36000,
	TLData:  []kdb.TLData{{Type: 1, Contents: []byte{0xab, 0xcd}}},
	KeyData: []kdb.KeyData{{Version: 1, KVNO: 3, Enctype: 18, Contents: []byte{1, 2}}},
}

func TestBaseRecord(t *testing.T) {
	data := hdr7 + princLine()
	_, recs, _, err := readAll(t, []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || !reflect.DeepEqual(recs[0].Principal, basePrincipal) || recs[0].Line != 2 {
		t.Fatalf("got %+v", recs)
	}
	if got := string(writeAll(t, Version7, nil, recs)); got != data {
		t.Fatalf("rewritten:\n%q\nwant\n%q", got, data)
	}
}

// TestMITBadDump is load-experiments.sh section 4: MIT says
// "bad.dump(4): cannot read key type and length".
func TestMITBadDump(t *testing.T) {
	data := testdata(t, "mit/bad.dump")
	r, err := NewReader(bytes.NewReader(data), "bad.dump", nil)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
		n++
	}
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T), want *ParseError", err, err)
	}
	if pe.Line != 4 || pe.Msg != "cannot read key type and length" || n != 2 {
		t.Fatalf("got %q after %d records", pe, n)
	}
	mitStderr := strings.SplitN(string(testdata(t, "mit/bad.dump.stderr")), "\n", 2)[0]
	if got := pe.MITMessage("kdb5_util"); got != mitStderr {
		t.Fatalf("MIT message %q, want %q", got, mitStderr)
	}
	if _, again := r.Next(); again != err {
		t.Fatalf("second Next: %v", again)
	}
}

func TestHeaderRecognition(t *testing.T) {
	r111 := testdata(t, "mit/dump.r111")
	body := r111[len(hdr7):]
	with := func(h string) []byte { return append([]byte(h), body...) }
	tests := []struct {
		name    string
		data    []byte
		forced  *Format
		format  Format
		iprop   *IpropHeader
		wantErr string
	}{
		{"v7", r111, nil, Version7, nil, ""},
		{"v4", with("kdb5_util load_dump version 4\n"), nil, Version4, nil, ""},
		{"v5", with("kdb5_util load_dump version 5\n"), nil, Version5, nil, ""},
		{"v6", with("kdb5_util load_dump version 6\n"), nil, Version6, nil, ""},
		{"trailing space", testdata(t, "mit/hdr-space.dump"), nil, 0, nil, "dump header bad in test.dump"},
		{"CRLF", testdata(t, "mit/hdr-crlf.dump"), nil, 0, nil, "dump header bad in test.dump"},
		{"version 8", testdata(t, "mit/hdr-v8.dump"), nil, 0, nil, "dump header bad in test.dump"},
		{"no newline", []byte("kdb5_util load_dump version 7"), nil, 0, nil, "dump header bad in test.dump"},
		{"empty", nil, nil, 0, nil, "can't read dump header in test.dump"},
		{"ipropx unforced", testdata(t, "mit/dump.ipropx"), nil, 0, nil, "dump header bad in test.dump"},
		{"iprop unforced", with("iprop 1 2 3\n"), nil, 0, nil, "dump header bad in test.dump"},
		// MIT's forced check compares the format's header including its
		// newline, so it is an exact match too [verified].
		{"-r18 of v7", r111, ptr(Version6), 0, nil, "dump header bad in test.dump"},
		{"-r18 with text after", with("kdb5_util load_dump version 6 extra\n"), ptr(Version6), 0, nil, "dump header bad in test.dump"},
		{"-r18", with("kdb5_util load_dump version 6\n"), ptr(Version6), Version6, nil, ""},
		{"-b7", with("kdb5_util load_dump version 4\n"), ptr(Version4), Version4, nil, ""},
		{"-i of v7", r111, ptr(Iprop), 0, nil, "dump header bad in test.dump"},
		{"-i iprop", with("iprop 1 2 3\n"), ptr(Iprop), Iprop, &IpropHeader{1, 2, 3}, ""},
		{"-i ipropx", with("ipropx 1 4 5 6\n"), ptr(Iprop), IpropX, &IpropHeader{4, 5, 6}, ""},
		{"-i ipropx 0", with("ipropx 0 4 5 6\n"), ptr(IpropX), Iprop, &IpropHeader{4, 5, 6}, ""},
		{"-i ipropx extra", with("ipropx 1 4 5 6 junk\n"), ptr(Iprop), IpropX, &IpropHeader{4, 5, 6}, ""},
		{"-i iprop stops at non-number", with("iprop 1 2 3 x\n"), ptr(Iprop), Iprop, &IpropHeader{1, 2, 3}, ""},
		{"-i iprop negative", with("iprop -1 2 3\n"), ptr(Iprop), Iprop, &IpropHeader{4294967295, 2, 3}, ""},
		{"-i iprop too many", with("iprop 1 2 3 4\n"), ptr(Iprop), 0, nil, "dump header bad in test.dump"},
		{"-i iprop too few", with("iprop 1 2\n"), ptr(Iprop), 0, nil, "dump header bad in test.dump"},
		{"-i ipropx 2", with("ipropx 2 1 2 3\n"), ptr(Iprop), 0, nil, "Unknown iprop dump version 2"},
		{"-i ipropx -1", with("ipropx 4294967295 1 2 3\n"), ptr(Iprop), 0, nil, "Unknown iprop dump version -1"},
		{"-i other", with("iproplol 1 2 3\n"), ptr(Iprop), 0, nil, "Invalid iprop header"},
		{"-i NUL", with("iprop 1 2 3\x004\n"), ptr(Iprop), Iprop, &IpropHeader{1, 2, 3}, ""},
		// A dump ending inside its first line is cut short.
		{"-i cut", []byte("iprop 1 2 3"), ptr(Iprop), 0, nil, "dump header bad in test.dump"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.data), "test.dump", tt.forced)
			if tt.wantErr != "" {
				var he *HeaderError
				if !errors.As(err, &he) || err.Error() != tt.wantErr {
					t.Fatalf("error %v (%T), want HeaderError %q", err, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Format() != tt.format || !reflect.DeepEqual(r.Iprop(), tt.iprop) {
				t.Fatalf("format %v iprop %+v, want %v %+v", r.Format(), r.Iprop(), tt.format, tt.iprop)
			}
			// The first record follows the header line.
			if rec, err := r.Next(); err != nil || rec.Line != 2 || rec.Principal.Name.String() != "K/M@FIXTURE.TEST" {
				t.Fatalf("first record %+v, %v", rec, err)
			}
		})
	}
}

// A first line longer than MIT's fgets buffer leaves its rest to the
// record reader.
func TestLongHeaderLine(t *testing.T) {
	data := "iprop 1 2 3" + strings.Repeat(" ", 9000) + "\n" + princLine()
	_, recs, _, err := readAll(t, []byte(data), ptr(Iprop))
	if err != nil || len(recs) != 1 {
		t.Fatalf("%v %v", recs, err)
	}
	data = "iprop 1 2 3" + strings.Repeat(" ", 8180) + "junk\n" + princLine()
	_, _, _, err = readAll(t, []byte(data), ptr(Iprop))
	if err == nil || !strings.Contains(err.Error(), `unknown record type "junk"`) {
		t.Fatalf("got %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	p := princLine
	tests := []struct {
		name string
		data string
		line int
		msg  string
		mit  string // MITMessage("kdb5_util") when not the default FILE(LINE) form
	}{
		{"size tokens", "princ\t38\tx\n", 2, "cannot match size tokens", ""},
		{"name too large for MIT", p(2, "2147483648"), 2, "cannot allocate principal (too large)", ""},
		{"name longer than any DB2 name", p(2, "2147483647"), 2, "principal name field of 2147483647 bytes too long (at most 65535)", ""},
		{"too many tl-data for MIT", p(3, "65536"), 2, "cannot allocate tl_data (too large)", ""},
		{"too many tl-data for DB2", p(3, "32768"), 2, "cannot allocate tl_data (too large)", ""},
		{"too many keys", p(4, "32768"), 2, "invalid key_data size", ""},
		{"e_length too large", p(5, "65536"), 2, "invalid principal extra data size", ""},
		{"e_length 1", p(5, "1", 23, "00;"), 2, "invalid principal extra data size", ""},
		{"base length 37", p(1, "37"), 2, "unsupported principal base length 37 (must be 38)", ""},
		{"base length 0", p(1, "0"), 2, "unsupported principal base length 0 (must be 38)", ""},
		{"name short", "princ\t38\t100\t0\t0\t0\tx@Y", 2, "cannot read name string", ""},
		{"malformed name", p(2, "2", 6, `a\`), 2, `Malformed representation of principal while parsing name a\`,
			`kdb5_util: Malformed representation of principal while parsing name a\`},
		{"two realms", p(2, "5", 6, "a@b@c"), 2, "Malformed representation of principal while parsing name a@b@c",
			"kdb5_util: Malformed representation of principal while parsing name a@b@c"},
		{"no realm", p(2, "1", 6, "x"), 2, "Configuration file does not specify default realm while parsing name x",
			"kdb5_util: Configuration file does not specify default realm while parsing name x"},
		{"attributes", p(9, "x"), 2, "cannot read principal attributes", ""},
		{"tl type", p(15, "x"), 2, "cannot read tagged data type and length", ""},
		{"tl type range", p(15, "32768"), 2, "data type or length overflowed", ""},
		{"tl type range negative", p(15, "-32769"), 2, "data type or length overflowed", ""},
		{"tl length range", p(16, "65536"), 2, "data type or length overflowed", ""},
		{"tl length negative", p(16, "-1"), 2, "data type or length overflowed", ""},
		{"tl non-hex", p(17, "abzz"), 2, "cannot read tagged data contents", ""},
		{"tl empty not -1", p(16, "0", 17, "0"), 2, "cannot read tagged data contents", ""},
		{"key ver", p(18, "x"), 2, "cannot read key size and version", ""},
		{"key ver 3", p(18, "3"), 2, "unsupported key_data_ver version", ""},
		{"key ver -1", p(18, "-1"), 2, "unsupported key_data_ver version", ""},
		{"kvno 70000", p(19, "70000"), 2, "invalid kvno", ""},
		{"kvno -1", p(19, "-1"), 2, "invalid kvno", ""},
		{"key length", p(21, "65536"), 2, "cannot read key type and length", ""},
		{"key length negative", p(21, "-2"), 2, "cannot read key type and length", ""},
		{"key type", p(20, "aes"), 2, "cannot read key type and length", ""},
		{"key non-hex", p(22, "01zz"), 2, "cannot read key data", ""},
		{"key hex short", p(22, "01", 23, ";"), 2, "cannot read key data", ""},
		// The next field's "-1" reads as a byte 0xff, as in MIT.
		{"key hex short before -1", p(22, "01"), 2, "cannot read extra data", ""},
		{"extra data", p(23, "0;"), 2, "cannot read extra data", ""},
		// KRB5_TL_DB_ARGS [verified: MIT's messages, and a crash for
		// the empty one].
		{"db args", p(15, "32767", 17, "6100"), 2, `Unsupported argument "a" for db2 while storing x@EXAMPLE.ORG`,
			`kdb5_util: Unsupported argument "a" for db2 while storing x@EXAMPLE.ORG`},
		{"db args unterminated", p(15, "32767", 17, "6162"), 2, "Invalid argument while storing x@EXAMPLE.ORG",
			"kdb5_util: Invalid argument while storing x@EXAMPLE.ORG"},
		{"db args empty", p(15, "32767", 16, "0", 17, "-1"), 2, "Invalid argument while storing x@EXAMPLE.ORG",
			"kdb5_util: Invalid argument while storing x@EXAMPLE.ORG"},
		{"unknown type", p() + "foo bar\n" + p(), 2, `unknown record type "foo"`, `unknown record type "foo"`},
		{"unknown type first", "\n\nfoo\n", 1, `unknown record type "foo"`, `unknown record type "foo"`},
		{"long unknown type", strings.Repeat("z", 150), 1, `unknown record type "` + strings.Repeat("z", 99) + `"`,
			`unknown record type "` + strings.Repeat("z", 99) + `"`},
		{"policy 7", "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\n", 2, "cannot parse policy (9 read)", "cannot parse policy (9 read)"},
		{"policy too few", "policy\tp\t1\t2\t3\tx\n", 2, "cannot parse policy (4 read)", "cannot parse policy (4 read)"},
		{"policy name only", "policy\tp\tx\n", 2, "cannot parse policy (1 read)", "cannot parse policy (1 read)"},
		{"policy extra fields", "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\t9\t10\tx\n", 2, "cannot parse policy (2 read)", "cannot parse policy (2 read)"},
		{"policy extra fields none", "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\tx\n", 2, "cannot parse policy (0 read)", "cannot parse policy (0 read)"},
		{"policy no tl count", "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\t9\t10\t11\t-\tx\n", 2, "cannot parse policy (4 read)", "cannot parse policy (4 read)"},
		{"policy negative tl count", "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\t9\t10\t11\t-\t-1\n", 2, "invalid policy tl-data count -1", ""},
		{"policy tl", "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\t9\t10\t11\t-\t1\t1\t2\tzz\n", 2, "cannot read tagged data contents", ""},
		{"policy NUL name", "policy\t\x00p\t1\t2\t3\t4\t5\t0\t6\t7\t8\n", 2, "empty policy name", ""},
		{"policy after princ", p() + "policy\tp\t1\n", 3, "cannot parse policy (2 read)", "cannot parse policy (2 read)"},
		// Line numbers count newlines inside names (spec §1.8).
		{"newline in name", p(2, "16", 6, "x\n\ny@EXAMPLE.ORG", 19, "-1"), 4, "invalid kvno", ""},
		// Dumps cut short are errors, where MIT would stop quietly
		// or hang.
		{"truncated after princ", p() + "princ\t", 3, "unexpected end of file (truncated dump)", ""},
		{"truncated after policy", p() + "policy ", 3, "unexpected end of file (truncated dump)", ""},
		{"no final newline", strings.TrimSuffix(p(), "\n"), 2, "unexpected end of file (truncated dump)", ""},
		{"no final ;", strings.TrimSuffix(p(), ";\n"), 2, "unexpected end of file (truncated dump)", ""},
		{"trash to EOF", strings.TrimSuffix(p(), "\n") + "junk", 2, "unexpected end of file (truncated dump)", ""},
		{"policy number cut", "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t30", 2, "unexpected end of file (truncated dump)", ""},
		{"policy cut after 10", "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8", 2, "unexpected end of file (truncated dump)", ""},
		{"policy cut after tab", "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\t", 2, "unexpected end of file (truncated dump)", ""},
		{"policy cut after count", "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\t9\t10\t11\t-\t0", 2, "unexpected end of file (truncated dump)", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := readAll(t, []byte(hdr7+tt.data), nil)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T), want *ParseError", err, err)
			}
			if pe.File != "test.dump" || pe.Line != tt.line || pe.Msg != tt.msg {
				t.Fatalf("got %q (line %d), want line %d %q", pe.Msg, pe.Line, tt.line, tt.msg)
			}
			mit := tt.mit
			if mit == "" {
				mit = pe.Error()
			}
			if got := pe.MITMessage("kdb5_util"); got != mit {
				t.Fatalf("MITMessage %q, want %q", got, mit)
			}
		})
	}
}

// TestParseErrorsOtherFormats covers the policy layouts of the older
// formats.
func TestParseErrorsOtherFormats(t *testing.T) {
	tests := []struct {
		head, data, msg string
	}{
		{"kdb5_util load_dump version 4\n", "policy\tp\t1\t2\t3\t4\t5\n", "cannot parse policy (6 read)"},
		{"kdb5_util load_dump version 5\n", "policy\tp\t1\t2\t3\t4\t5\tx\n", "cannot parse policy (6 read)"},
		{"kdb5_util load_dump version 6\n", "policy\tp\t1\t2\t3\t4\t5\t0\t1\n", "cannot parse policy (8 read)"},
		{"kdb5_util load_dump version 6\n", "policy\tp\t1\t2\t3\t4\t5\t0\t1\t2\t3", "unexpected end of file (truncated dump)"},
		{"iprop 1 2 3\n", "policy\tp\t1\t2\t3\t4\t5\t0", "unexpected end of file (truncated dump)"},
	}
	for _, tt := range tests {
		forced := ptr(Iprop)
		if !strings.HasPrefix(tt.head, "iprop") {
			forced = nil
		}
		_, _, _, err := readAll(t, []byte(tt.head+tt.data), forced)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Msg != tt.msg {
			t.Errorf("%q: got %v, want %q", tt.head+tt.data, err, tt.msg)
		}
	}
}

// TestLenientInput is what MIT's fscanf-based loader accepts beyond what
// its dumper writes, with the values it reads [verified against MIT
// 1.20.1].
func TestLenientInput(t *testing.T) {
	want := basePrincipal
	p := princLine
	tests := []struct {
		name string
		data string
		mod  func(p *kdb.Principal)
	}{
		{"spaces and newlines as separators", strings.ReplaceAll(p(), "\t", " \n\v\f\r "), nil},
		{"blank lines between records", "\n\n  \n" + p() + "\n\n", nil},
		{"name after blank lines", strings.Replace(p(), "\tx@", "\n\n\tx@", 1), nil},
		{"uppercase hex", p(17, "ABCD"), nil},
		{"hex pairs apart", p(17, "ab cd"), nil},
		{"hex 0x prefix", p(17, "0x\tcd"), func(p *kdb.Principal) { p.TLData[0].Contents = []byte{0, 0xcd} }},
		{"hex signs", p(17, "-f+1"), func(p *kdb.Principal) { p.TLData[0].Contents = []byte{0xf1, 0x01} }},
		{"hex single digit", p(17, "a cd"), func(p *kdb.Principal) { p.TLData[0].Contents = []byte{0x0a, 0xcd} }},
		{"-0001 for empty", p(16, "0", 17, "-0001"), func(p *kdb.Principal) { p.TLData[0].Contents = nil }},
		{"%d overflow saturates", p(7, "99999999999999999999"), func(p *kdb.Principal) { p.Attributes = 0xffffffff }},
		{"%d wraps to 32 bits", p(8, "4294967296"), func(p *kdb.Principal) { p.MaxLife = 0 }},
		{"%d negative overflow", p(8, "-99999999999999999999"), func(p *kdb.Principal) { p.MaxLife = 0 }},
		{"%u of -1", p(10, "-1"), func(p *kdb.Principal) { p.Expiration = 0xffffffff }},
		{"%u overflow", p(11, "99999999999999999999"), func(p *kdb.Principal) { p.PwExpiration = 0xffffffff }},
		{"plus sign", p(13, "+7"), func(p *kdb.Principal) { p.LastFailed = 7 }},
		{"kvno wraps to int", p(19, "4294967298"), func(p *kdb.Principal) { p.KeyData[0].KVNO = 2 }},
		{"key type truncated to 16 bits", p(20, "65554"), nil},
		{"princ token with NUL", strings.Replace(p(), "princ", "princ\x00zz", 1), nil},
		{"NUL in name", p(2, "16", 6, "x@EXAMPLE.ORG\x00zz"), nil},
		{"escaped name", p(2, "14", 6, `\x@EXAMPLE.ORG`), nil},
		{"base length 65574 is 38 in 16 bits", p(1, "65574"), nil},
		{"key ver 0", p(18, "0", 20, "", 21, "", 22, ""), func(p *kdb.Principal) { p.KeyData[0] = kdb.KeyData{KVNO: 3} }},
		{"End stops", p() + "End\ngarbage\n", nil},
		{"default realm", p(2, "1", 6, "x"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(hdr7+tt.data), "test.dump", nil)
			if err != nil {
				t.Fatal(err)
			}
			r.DefaultRealm = "EXAMPLE.ORG"
			rec, err := r.Next()
			if err != nil {
				t.Fatal(err)
			}
			if _, err := r.Next(); err != io.EOF {
				t.Fatalf("second Next: %v", err)
			}
			w := want.Clone()
			if tt.mod != nil {
				tt.mod(w)
			}
			if !reflect.DeepEqual(rec.Principal, w) {
				t.Fatalf("got  %+v\nwant %+v", rec.Principal, w)
			}
		})
	}
}

func TestTrashWarnings(t *testing.T) {
	p := strings.TrimSuffix(princLine(), ";\n")
	tests := []struct {
		end   string
		trash string
	}{
		{";x\n", "x"},
		{" ;\n", " ;"},
		{";;junk here\n", ";junk here"},
		{"\n", ""},
		{"x;\n", "x;"},
	}
	for _, tt := range tests {
		data := hdr7 + p + tt.end + princLine()
		_, recs, warns, err := readAll(t, []byte(data), nil)
		if err != nil {
			t.Fatalf("%q: %v", tt.end, err)
		}
		if len(recs) != 2 || len(warns) != 1 {
			t.Fatalf("%q: %d records, warnings %v", tt.end, len(recs), warns)
		}
		want := "test.dump(2): ignoring trash at end of line: " + tt.trash
		if got := warns[0].String(); got != want || warns[0].Line != 2 {
			t.Errorf("%q: warning %q, want %q", tt.end, got, want)
		}
	}
	long := hdr7 + p + ";" + strings.Repeat("x", 10000) + "\n"
	_, _, warns, err := readAll(t, []byte(long), nil)
	if err != nil || len(warns) != 1 || len(warns[0].Trash) != maxTrash || !warns[0].Truncated {
		t.Fatalf("long trash: %v, %d warnings", err, len(warns))
	}
}

// TestRecordLines checks MIT's line count: one per record after the
// header, blank lines not counted.
func TestRecordLines(t *testing.T) {
	data := hdr7 + princLine() + "\n\n" + princLine(2, "16", 6, "x\n\ny@EXAMPLE.ORG") + "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\n"
	_, recs, _, err := readAll(t, []byte(data), nil)
	if err != nil {
		t.Fatal(err)
	}
	var lines []int
	for _, r := range recs {
		lines = append(lines, r.Line)
	}
	if !reflect.DeepEqual(lines, []int{2, 5, 6}) {
		t.Fatalf("lines %v", lines)
	}
	if got := recs[1].Principal.Name.Components[0]; got != "x\n\ny" {
		t.Fatalf("name %q", got)
	}
}

func TestPolicies(t *testing.T) {
	tests := []struct {
		head, line string
		want       kdb.Policy
	}{
		{"kdb5_util load_dump version 4\n", "policy\tp\t1\t2\t3\t4\t5\t99\n",
			kdb.Policy{Name: "p", PwMinLife: 1, PwMaxLife: 2, PwMinLength: 3, PwMinClasses: 4, PwHistoryNum: 5}},
		{"kdb5_util load_dump version 6\n", "policy\tp\t1\t2\t3\t4\t5\t0\t-1\t7\t8\n",
			kdb.Policy{Name: "p", PwMinLife: 1, PwMaxLife: 2, PwMinLength: 3, PwMinClasses: 4, PwHistoryNum: 5,
				PwMaxFail: 0xffffffff, PwFailcntInterval: 7, PwLockoutDuration: 8}},
		// A 1.8-style line in a version 7 dump.
		{hdr7, "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\n",
			kdb.Policy{Name: "p", PwMinLife: 1, PwMaxLife: 2, PwMinLength: 3, PwMinClasses: 4, PwHistoryNum: 5,
				PwMaxFail: 6, PwFailcntInterval: 7, PwLockoutDuration: 8}},
		{hdr7, "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\t-2147483648\t10\t11\taes256-cts:normal\t2\t-5\t0\t-1\t300\t1\t07\n",
			kdb.Policy{Name: "p", PwMinLife: 1, PwMaxLife: 2, PwMinLength: 3, PwMinClasses: 4, PwHistoryNum: 5,
				PwMaxFail: 6, PwFailcntInterval: 7, PwLockoutDuration: 8, Attributes: 1 << 31, MaxLife: 10,
				MaxRenewableLife: 11, AllowedKeysalts: "aes256-cts:normal",
				TLData: []kdb.TLData{{Type: -5}, {Type: 300, Contents: []byte{7}}}}},
		// %hd truncates the count: 65537 is 1.
		{hdr7, "policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\t9\t10\t11\t-\t65537\t1\t1\t07\n",
			kdb.Policy{Name: "p", PwMinLife: 1, PwMaxLife: 2, PwMinLength: 3, PwMinClasses: 4, PwHistoryNum: 5,
				PwMaxFail: 6, PwFailcntInterval: 7, PwLockoutDuration: 8, Attributes: 9, MaxLife: 10,
				MaxRenewableLife: 11, TLData: []kdb.TLData{{Type: 1, Contents: []byte{7}}}}},
		// The name is a C string, and %1023s reads at most 1023 bytes.
		{hdr7, "policy\tp\x00q\t1\t2\t3\t4\t5\t0\t6\t7\t8\n",
			kdb.Policy{Name: "p", PwMinLife: 1, PwMaxLife: 2, PwMinLength: 3, PwMinClasses: 4, PwHistoryNum: 5,
				PwMaxFail: 6, PwFailcntInterval: 7, PwLockoutDuration: 8}},
		{"kdb5_util load_dump version 4\n", "policy\t" + strings.Repeat("n", 1023) + "1\t2\t3\t4\t5\t99\n",
			kdb.Policy{Name: strings.Repeat("n", 1023), PwMinLife: 1, PwMaxLife: 2, PwMinLength: 3, PwMinClasses: 4, PwHistoryNum: 5}},
	}
	for _, tt := range tests {
		_, recs, _, err := readAll(t, []byte(tt.head+tt.line), nil)
		if err != nil {
			t.Fatalf("%q: %v", tt.line, err)
		}
		if len(recs) != 1 || !reflect.DeepEqual(*recs[0].Policy, tt.want) {
			t.Fatalf("%q: got %+v", tt.line, recs)
		}
	}
}

// TestTruncated cuts MIT dumps at every byte: reading must fail, or
// succeed only when the cut falls on a record boundary, with the records
// before it.
func TestTruncated(t *testing.T) {
	for _, tt := range []struct {
		file   string
		forced *Format
	}{
		{"dump.r111", nil}, {"dump.r18", nil}, {"dump.b7", nil}, {"dump.iprop", ptr(Iprop)}, {"tricky.dump", nil},
	} {
		data := testdata(t, "mit/"+tt.file)
		_, all, _, err := readAll(t, data, tt.forced)
		if err != nil {
			t.Fatal(err)
		}
		boundary := map[int]int{} // cut offset → records before it
		n := 0
		for i, c := range data {
			if c == '\n' {
				boundary[i+1] = n
				n++
			}
		}
		for cut := 0; cut < len(data); cut++ {
			_, recs, _, err := readAll(t, data[:cut], tt.forced)
			k, ok := boundary[cut]
			switch {
			case err != nil && ok:
				t.Errorf("%s cut at %d (record boundary): %v", tt.file, cut, err)
			case err == nil && !ok:
				t.Errorf("%s cut at %d: no error, %d records", tt.file, cut, len(recs))
			case err == nil && !equalRecords(recs, all[:k]):
				t.Errorf("%s cut at %d: records differ", tt.file, cut)
			}
		}
	}
}

// TestHugeLengths checks that declared lengths are not trusted: none of
// these may allocate what they declare.
func TestHugeLengths(t *testing.T) {
	for _, data := range []string{
		princLine(2, "2000000000"),
		princLine(2, "65535"),
		princLine(3, "65535"),
		princLine(3, "32767", 15, "1", 16, "65535"),
		princLine(4, "32767"),
		princLine(16, "65535"),
		princLine(21, "65535"),
		"policy\tp\t1\t2\t3\t4\t5\t0\t6\t7\t8\t9\t10\t11\t-\t32767\n",
	} {
		var err error
		n := allocated(func() { _, _, _, err = readAll(t, []byte(hdr7+data), nil) })
		if err == nil {
			t.Errorf("%q: no error", data[:40])
		}
		if n > 1<<20 {
			t.Errorf("%q: %d bytes allocated", data[:40], n)
		}
	}
}

// allocated is how many bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func TestReadError(t *testing.T) {
	data := testdata(t, "mit/dump.r111")
	boom := errors.New("disk on fire")
	r, err := NewReader(io.MultiReader(bytes.NewReader(data[:1000]), iotest.ErrReader(boom)), "test.dump", nil)
	if err != nil {
		t.Fatal(err)
	}
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
	}
	var pe *ParseError
	if !errors.Is(err, boom) || errors.As(err, &pe) {
		t.Fatalf("got %v", err)
	}
	// A read error at a record boundary is not a clean end either.
	r, _ = NewReader(io.MultiReader(strings.NewReader(hdr7+princLine()), iotest.ErrReader(boom)), "test.dump", nil)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Next(); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
}

// checkParseName checks the Reader's handling of a name field around
// kdb.ParseName: cut at a NUL as a C string, the default realm, the length
// limit, and the shape of its errors.
func checkParseName(t *testing.T, raw []byte) {
	t.Helper()
	r := &Reader{file: "test.dump", DefaultRealm: "DEFAULT"}
	got, err := r.parseName(raw)
	cstr := raw
	if i := bytes.IndexByte(cstr, 0); i >= 0 {
		cstr = cstr[:i]
	}
	want, wantErr := kdb.ParseName(string(cstr), "DEFAULT")
	if wantErr == nil && len(want.String()) > maxNameBytes {
		wantErr = errors.New("too long")
	}
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("%q: error %v, kdb.ParseName %v", raw, err, wantErr)
	}
	if err == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: got %#v, kdb.ParseName %#v", raw, got, want)
	}
	if err != nil {
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Fatalf("%q: %T", raw, err)
		}
		if wantErr != nil && errors.Is(wantErr, kdb.ErrMalformedName) != errors.Is(err, kdb.ErrMalformedName) {
			t.Fatalf("%q: %v, kdb.ParseName %v", raw, err, wantErr)
		}
	}
}

func TestParseNameMatchesKDB(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	alphabet := []byte("ab/@\\ntb0\x00 \t\n")
	for range 20000 {
		raw := make([]byte, rng.IntN(10))
		for i := range raw {
			raw[i] = alphabet[rng.IntN(len(alphabet))]
		}
		checkParseName(t, raw)
	}
}
