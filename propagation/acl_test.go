package propagation

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

const (
	aes256 = krb5x.EnctypeAES256CTSHMACSHA196
	aes128 = krb5x.EnctypeAES128CTSHMACSHA196
	sha384 = krb5x.EnctypeAES256CTSHMACSHA384
)

func TestMatchACL(t *testing.T) {
	const me = "host/primary.example.com@EXAMPLE.COM"
	long := strings.Repeat("x", 1100)
	tests := []struct {
		name   string
		acl    string
		client string
		etype  int32
		want   bool
	}{
		{"exact", me + "\n", me, aes256, true},
		{"no final newline", me, me, aes256, true},
		{"among others", "host/a@EXAMPLE.COM\n" + me + "\nhost/b@EXAMPLE.COM\n", me, aes256, true},
		{"empty file", "", me, aes256, false},
		{"not listed", "host/other.example.com@EXAMPLE.COM\n", me, aes256, false},
		{"prefix of a longer name", me + "x\n", me, aes256, false},
		{"longer client than line", "host/primary.example.com@EXAMPLE\n", me, aes256, false},
		{"case matters", strings.ToUpper(me) + "\n", me, aes256, false},
		{"realm matters", "host/primary.example.com\n", me, aes256, false},
		{"leading space", " " + me + "\n", me, aes256, false},
		{"comment line ignored only by mismatch", "# " + me + "\n", me, aes256, false},
		{"trailing space alone", me + " \n", me, aes256, true},
		{"trailing tab alone", me + "\t\n", me, aes256, true},
		{"CRLF", me + "\r\n", me, aes256, true},
		{"enctype", me + " aes256-cts-hmac-sha1-96\n", me, aes256, true},
		{"enctype alias", me + " aes256-cts\n", me, aes256, true},
		{"enctype alias 2", me + " aes256-sha1\n", me, aes256, true},
		{"enctype case-insensitive", me + " AES256-CTS\n", me, aes256, true},
		{"sha2 alias", me + " aes256-sha2\n", me, sha384, true},
		{"tab before enctype", me + "\taes256-cts\n", me, aes256, true},
		{"several blanks before enctype", me + "  \t aes256-cts\n", me, aes256, true},
		{"wrong enctype", me + " aes128-cts\n", me, aes256, false},
		{"wrong enctype then right line", me + " aes128-cts\n" + me + " aes256-cts\n", me, aes256, true},
		{"trailing space after enctype", me + " aes256-cts \n", me, aes256, false},
		{"CRLF after enctype", me + " aes256-cts\r\n", me, aes256, false},
		{"unknown enctype", me + " aes512-cts\n", me, aes256, false},
		{"removed enctype", me + " des-cbc-crc\n", me, 1, false},
		{"number is not a name", me + " 18\n", me, aes256, false},
		{"two enctypes", me + " aes256-cts aes128-cts\n", me, aes256, false},
		{"unicode fold is not ASCII fold", me + " aes256-ctſ\n", me, aes256, false},
		{"NUL ends the line", me + "\x00garbage\n", me, aes256, true},
		{"NUL inside name", "host/pri\x00mary.example.com@EXAMPLE.COM\n", me, aes256, false},
		{"NUL before enctype junk", me + " aes256-cts\x00 junk\n", me, aes256, true},
		{"escaped name", `host/a\/b@EXAMPLE.COM` + "\n", `host/a\/b@EXAMPLE.COM`, aes256, true},
		{"escaped name unescaped in file", "host/a/b@EXAMPLE.COM\n", `host/a\/b@EXAMPLE.COM`, aes256, false},
		{"escaped tab", `host/a\tb@EXAMPLE.COM` + "\n", `host/a\tb@EXAMPLE.COM`, aes256, true},
		{"vertical tab separates", me + "\vaes256-cts\n", me, aes256, true},
		{"form feed separates", me + "\faes256-cts\n", me, aes256, true},
		{"high byte does not separate", me + "\xa0aes256-cts\n", me, aes256, false},
		// fgets reads 1023 bytes at a time: a long line is several lines,
		// and its continuation can match on its own.
		{"long line junk after name", me + " " + long + "\n", me, aes256, false},
		{"name in continuation chunk", strings.Repeat("y", 1023) + me + "\n", me, aes256, true},
		{"name split across chunks", strings.Repeat("y", 1010) + me + "\n", me, aes256, false},
		{"line of exactly 1023 then name", strings.Repeat("z", 1023) + "\n" + me + "\n", me, aes256, true},
		{"name ends chunk, enctype in next", me + strings.Repeat(" ", 1023-len(me)) + "aes128-cts\n", me, aes256, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := MatchACL(strings.NewReader(tt.acl), tt.client, tt.etype)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("MatchACL(%q) = %v, want %v", tt.acl, got, tt.want)
			}
			if ref := refAuthorized([]byte(tt.acl), tt.client, tt.etype); ref != tt.want {
				t.Fatalf("reference implementation says %v", ref)
			}
		})
	}
}

func TestCheckACLFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "kpropd.acl")
	const me = "host/p@R"
	if ok, err := CheckACL(path, me, aes256); ok || err == nil {
		t.Fatalf("missing file: %v, %v", ok, err)
	}
	if err := os.WriteFile(path, []byte(me+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, err := CheckACL(path, me, aes256); !ok || err != nil {
		t.Fatalf("listed: %v, %v", ok, err)
	}
	// Re-read on every call: an edit takes effect at once.
	if err := os.WriteFile(path, []byte("host/q@R\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ok, _ := CheckACL(path, me, aes256); ok {
		t.Fatal("edit not seen")
	}
	// A directory cannot be read: everyone is rejected.
	if ok, err := CheckACL(dir, me, aes256); ok || err == nil {
		t.Fatalf("directory: %v, %v", ok, err)
	}
}

// refAuthorized is MIT's authorized_principal transcribed literally: a
// 1024-byte buffer filled as fgets fills it, strlen, strncmp and isspace,
// to check MatchACL against on arbitrary input.
func refAuthorized(file []byte, name string, etype int32) bool {
	pos := 0
	for {
		var buf [1024]byte
		// fgets(buf, 1024, f)
		n := 0
		for n < 1023 && pos < len(file) {
			c := file[pos]
			pos++
			buf[n] = c
			n++
			if c == '\n' {
				break
			}
		}
		if n == 0 {
			return false
		}
		buf[n] = 0
		strlen := func(b []byte) int {
			i := 0
			for b[i] != 0 {
				i++
			}
			return i
		}
		end := strlen(buf[:]) - 1
		if end >= 0 && buf[end] == '\n' {
			buf[end] = 0
		}
		match := true
		for i := 0; i < len(name); i++ {
			if buf[i] != name[i] {
				match = false
				break
			}
			if buf[i] == 0 {
				match = false
				break
			}
		}
		if match {
			p := len(name)
			if buf[p] != 0 && !cIsSpace(buf[p]) {
				continue
			}
			for buf[p] != 0 && cIsSpace(buf[p]) {
				p++
			}
			if buf[p] != 0 {
				rest := buf[p : p+strlen(buf[p:])]
				e, ok := aclEnctype(rest)
				if !ok || e != etype {
					continue
				}
			}
			return true
		}
	}
}

func FuzzACL(f *testing.F) {
	const me = "host/primary.example.com@EXAMPLE.COM"
	for _, s := range []string{
		me + "\n",
		me + " aes256-cts\n",
		me + "\taes128-sha2\r\n",
		"host/a@R\n" + me + " aes256-cts \n",
		strings.Repeat("a", 1030) + "\n" + me,
		"\x00\n\n",
		me + "\x00 x",
	} {
		f.Add([]byte(s), me, int32(aes256))
	}
	f.Add([]byte("x\ty z\n"), "x", int32(aes128))
	f.Add([]byte(`a\/b@R aes256-cts`), `a\/b@R`, int32(aes256))
	f.Fuzz(func(t *testing.T, acl []byte, client string, etype int32) {
		got, err := MatchACL(bytes.NewReader(acl), client, etype)
		if err != nil {
			t.Fatal(err)
		}
		// The C code reads a NUL-terminated name.
		if strings.IndexByte(client, 0) >= 0 || len(client) >= 1023 {
			return
		}
		if want := refAuthorized(acl, client, etype); got != want {
			t.Fatalf("MatchACL = %v, reference = %v", got, want)
		}
	})
}
