package keytab

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseMITFiles(t *testing.T) {
	hostVM := Principal{Components: []string{"host", "vm"}, Realm: "KRBTEST.COM", NameType: 1}
	tests := []struct {
		file string
		want []Entry
	}{
		{"mit-stash", []Entry{{
			Principal: Principal{Components: []string{"K", "M"}, Realm: "FIXTURE.TEST", NameType: 1},
			Timestamp: time.Unix(0x6b045998, 0),
			KVNO:      1,
			Key:       types.EncryptionKey{KeyType: 18, KeyValue: mustHex(t, "9772b48eef3e74d358edcba0d24f8c4f3e1e5dce45af5e6753b60920ada0539d")},
		}}},
		{"test-keytab-aes-sha1.kt", []Entry{
			{hostVM, time.Unix(0x6b045a8c, 0), 2, types.EncryptionKey{KeyType: 18, KeyValue: mustHex(t, "63de723fe970e60c494d3216e60b2568a7132188ad509cc23fe5bfae4b8ed56c")}},
			{hostVM, time.Unix(0x6b045a8c, 0), 2, types.EncryptionKey{KeyType: 17, KeyValue: mustHex(t, "bbc76ec7ec6ae0e1a9e5e09c6279b2f0")}},
		}},
		{"test-keytab-aes-sha384.kt", []Entry{
			{hostVM, time.Unix(0x6b045b1f, 0), 3, types.EncryptionKey{KeyType: 20, KeyValue: mustHex(t, "a9561548713938028ce19ad0afd80db16f53419d1f1430b10337e54d8fbc706c")}},
		}},
		{"ktutil-foo.kt", []Entry{{
			Principal: Principal{Components: []string{"foo"}, Realm: "R", NameType: 1},
			Timestamp: time.Unix(0x6b046ede, 0),
			KVNO:      3,
			Key:       types.EncryptionKey{KeyType: 18, KeyValue: mustHex(t, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f")},
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw := readTestdata(t, tt.file)
			got, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Parse:\n got %+v\nwant %+v", got, tt.want)
			}
			again, err := Marshal(got)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, raw) {
				t.Errorf("Marshal does not reproduce the MIT file:\n got %x\nwant %x", again, raw)
			}
		})
	}
}

// record builds one raw record of the given version by hand, independently
// of appendRecord: size, then body; vno32 < 0 leaves the 32-bit kvno out.
func record(version uint16, comps []string, realm string, kvno8 byte, etype uint16, key []byte, vno32 int64, pad int) []byte {
	var order binary.AppendByteOrder = binary.BigEndian
	if version == Version1 {
		order = binary.LittleEndian
	}
	count := uint16(len(comps))
	if version == Version1 {
		count++
	}
	body := order.AppendUint16(nil, count)
	for _, f := range append([]string{realm}, comps...) {
		body = order.AppendUint16(body, uint16(len(f)))
		body = append(body, f...)
	}
	if version != Version1 {
		body = order.AppendUint32(body, 1)
	}
	body = order.AppendUint32(body, 1000)
	body = append(body, kvno8)
	body = order.AppendUint16(body, etype)
	body = order.AppendUint16(body, uint16(len(key)))
	body = append(body, key...)
	if vno32 >= 0 {
		body = order.AppendUint32(body, uint32(vno32))
	}
	body = append(body, make([]byte, pad)...)
	return append(order.AppendUint32(nil, uint32(len(body))), body...)
}

func hole(n int) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(-int32(n))), make([]byte, n)...)
}

func header(v uint16) []byte { return binary.BigEndian.AppendUint16(nil, v) }

func join(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestParseLayouts(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	ent := func(comps []string, nt int32, kvno uint32) Entry {
		return Entry{
			Principal: Principal{Components: comps, Realm: "R", NameType: nt},
			Timestamp: time.Unix(1000, 0),
			KVNO:      kvno,
			Key:       types.EncryptionKey{KeyType: 17, KeyValue: key},
		}
	}
	a := []string{"a"}
	tests := []struct {
		name string
		in   []byte
		want []Entry
	}{
		{"empty table", header(Version2), nil},
		{"kvno32 overrides kvno8", join(header(Version2), record(Version2, a, "R", 44, 17, key, 300, 0)), []Entry{ent(a, 1, 300)}},
		{"no kvno32", join(header(Version2), record(Version2, a, "R", 5, 17, key, -1, 0)), []Entry{ent(a, 1, 5)}},
		{"zero kvno32 is fill", join(header(Version2), record(Version2, a, "R", 5, 17, key, 0, 0)), []Entry{ent(a, 1, 5)}},
		{"padding after kvno32", join(header(Version2), record(Version2, a, "R", 5, 17, key, 6, 9)), []Entry{ent(a, 1, 6)}},
		{"holes skipped", join(header(Version2), hole(40), record(Version2, a, "R", 1, 17, key, 1, 0), hole(3), record(Version2, []string{"b", "c"}, "R", 2, 17, key, 2, 0)),
			[]Entry{ent(a, 1, 1), ent([]string{"b", "c"}, 1, 2)}},
		{"zero size ends table", join(header(Version2), record(Version2, a, "R", 1, 17, key, 1, 0), []byte{0, 0, 0, 0, 0xde, 0xad}), []Entry{ent(a, 1, 1)}},
		{"version 1", join(header(Version1), record(Version1, []string{"x", "y"}, "R", 3, 17, key, 3, 0)), []Entry{ent([]string{"x", "y"}, 0, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestParseNegativeEnctype(t *testing.T) {
	in := join(header(Version2), record(Version2, []string{"a"}, "R", 1, 0xff79, []byte{1}, 1, 0))
	got, err := Parse(in)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Key.KeyType != -135 {
		t.Errorf("enctype = %d, want -135", got[0].Key.KeyType)
	}
	out, err := Marshal(got)
	if err != nil || !bytes.Equal(out, in) {
		t.Errorf("re-marshal = %x, %v; want %x", out, err, in)
	}
}

func TestParseErrors(t *testing.T) {
	stash := readTestdata(t, "mit-stash")
	cutKey := append([]byte(nil), stash...)
	binary.BigEndian.PutUint32(cutKey[2:], 45) // 35 bytes of name and header, 10 of key
	key := []byte{1, 2, 3}
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"empty", nil, "unsupported key table format version number: file is 0 bytes long"},
		{"bad version", []byte{5, 3, 0, 0}, "unsupported key table format version number: 0x0503"},
		{"truncated key", cutKey, "keytab entry at offset 2: truncated key (need 32 bytes, have 10)"},
		{"truncated file", stash[:40], "keytab entry at offset 2: truncated record (need 71 bytes, have 34)"},
		{"truncated size", join(header(Version2), []byte{0, 0}), "keytab entry at offset 2: truncated record size (need 4 bytes, have 2)"},
		{"hole past end", join(header(Version2), hole(8)[:7]), "keytab entry at offset 2: truncated record (need 8 bytes, have 3)"},
		{"min int32 size", join(header(Version2), []byte{0x80, 0, 0, 0}), "invalid record size -2147483648"},
		{"huge size", join(header(Version2), []byte{0x7f, 0xff, 0xff, 0xff}), "truncated record (need 2147483647 bytes, have 0)"},
		{"zero components", join(header(Version2), record(Version2, nil, "R", 1, 17, key, 1, 0)), "invalid component count 0"},
		{"negative components", join(header(Version2), []byte{0, 0, 0, 4, 0x80, 0, 0, 0}), "invalid component count -32768"},
		{"components beyond record", join(header(Version2), []byte{0, 0, 0, 4, 0x7f, 0xff, 0, 0}), "truncated components (count 32767 in 2 bytes)"},
		{"empty realm", join(header(Version2), record(Version2, []string{"a"}, "", 1, 17, key, 1, 0)), "invalid realm length 0"},
		{"empty component", join(header(Version2), record(Version2, []string{"a", ""}, "R", 1, 17, key, 1, 0)), "invalid component 1 length 0"},
		{"empty key", join(header(Version2), record(Version2, []string{"a"}, "R", 1, 17, nil, 1, 0)), "invalid key length 0"},
		{"second entry bad", join(header(Version2), record(Version2, []string{"a"}, "R", 1, 17, key, 1, 0), []byte{0, 0, 0, 5, 0, 1, 0, 5, 'R'}),
			"keytab entry at offset 34: truncated realm (need 5 bytes, have 1)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse = %+v, want error %q", got, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want %q", err, tt.want)
			}
		})
	}
}

func TestMarshalRejects(t *testing.T) {
	good := Entry{Principal: Principal{Components: []string{"a"}, Realm: "R"}, KVNO: 1, Key: types.EncryptionKey{KeyType: 17, KeyValue: make([]byte, 16)}}
	tests := []struct {
		name   string
		modify func(*Entry)
		want   string
	}{
		{"no components", func(e *Entry) { e.Principal.Components = nil }, "invalid component count 0"},
		{"empty realm", func(e *Entry) { e.Principal.Realm = "" }, "invalid name field length 0"},
		{"long component", func(e *Entry) { e.Principal.Components = []string{strings.Repeat("x", 40000)} }, "invalid name field length 40000"},
		{"empty key", func(e *Entry) { e.Key.KeyValue = nil }, "invalid key length 0"},
		{"enctype", func(e *Entry) { e.Key.KeyType = 70000 }, "enctype 70000 does not fit in 16 bits"},
		{"timestamp", func(e *Entry) { e.Timestamp = time.Unix(-5, 0) }, "does not fit in 32 bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := good
			tt.modify(&e)
			if _, err := Marshal([]Entry{good, e}); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Marshal error = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestPrincipalString(t *testing.T) {
	p := Principal{Components: []string{"odd@x", "y/z", "t\tb\\"}, Realm: "R@"}
	if got, want := p.String(), `odd\@x/y\/z/t\tb\\@R\@`; got != want {
		t.Errorf("String = %s, want %s", got, want)
	}
}

func testEntries(t testing.TB) []Entry {
	ts := time.Unix(1_700_000_000, 0)
	return []Entry{
		{Principal{[]string{"host", "kdc.example.test"}, "EXAMPLE.TEST", 3}, ts, 1, types.EncryptionKey{KeyType: 18, KeyValue: bytes.Repeat([]byte{0xa1}, 32)}},
		{Principal{[]string{"host", "kdc.example.test"}, "EXAMPLE.TEST", 3}, ts, 2, types.EncryptionKey{KeyType: 17, KeyValue: bytes.Repeat([]byte{0xb2}, 16)}},
		{Principal{[]string{"alice"}, "EXAMPLE.TEST", 1}, ts.Add(time.Hour), 300, types.EncryptionKey{KeyType: 20, KeyValue: bytes.Repeat([]byte{0xc3}, 32)}},
	}
}

func TestNames(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"/tmp/kt", "/tmp/kt", ""},
		{"kt", "kt", ""},
		{"FILE:/tmp/kt", "/tmp/kt", ""},
		{"WRFILE:rel/kt", "rel/kt", ""},
		{"/tmp/a:b", "/tmp/a:b", ""},
		{"FILE:", "", "empty file name"},
		{"MEMORY:x", "", "type MEMORY is not a file keytab"},
		{"KEYRING:persistent:0", "", "type KEYRING is not a file keytab"},
	}
	for _, tt := range tests {
		got, err := filePath(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("filePath(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("filePath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestWriteRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kt")
	want := testEntries(t)
	if err := Write("FILE:"+path, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
	got, err := Read("WRFILE:" + path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Read:\n got %+v\nwant %+v", got, want)
	}
	// Replacing leaves no temporary files behind.
	if err := Write(path, want[:1]); err != nil {
		t.Fatal(err)
	}
	names, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "*"))
	if len(names) != 1 {
		t.Errorf("directory holds %v, want only the keytab", names)
	}
}

func TestReadErrorsNameTheFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "stash")
	stash := readTestdata(t, "mit-stash")
	binary.BigEndian.PutUint32(stash[2:], 45)
	if err := os.WriteFile(path, stash, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Read(path)
	want := path + ": keytab entry at offset 2: truncated key (need 32 bytes, have 10)"
	if err == nil || err.Error() != want {
		t.Errorf("error = %v, want %s", err, want)
	}
}

func TestAdd(t *testing.T) {
	entries := testEntries(t)
	t.Run("creates", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kt")
		if err := Add(path, entries...); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(path)
		want, _ := Marshal(entries)
		if !bytes.Equal(raw, want) {
			t.Errorf("file = %x, want %x", raw, want)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
			t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
		}
	})
	t.Run("appends", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kt")
		mit := readTestdata(t, "test-keytab-aes-sha1.kt")
		if err := os.WriteFile(path, mit, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Add(path, entries[0]); err != nil {
			t.Fatal(err)
		}
		if err := Add(path, entries[1:]...); err != nil {
			t.Fatal(err)
		}
		raw, _ := os.ReadFile(path)
		tail, _ := Marshal(entries)
		if want := join(mit, tail[2:]); !bytes.Equal(raw, want) {
			t.Errorf("file = %x, want %x", raw, want)
		}
	})
	t.Run("after zero record", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kt")
		old := join(header(Version2), hole(5), []byte{0, 0, 0, 0}, []byte("junk after the end of the table"))
		if err := os.WriteFile(path, old, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Add(path, entries[2]); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, entries[2:]) {
			t.Errorf("Read = %+v, want %+v", got, entries[2:])
		}
	})
	t.Run("version 1", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kt")
		v1 := join(header(Version1), record(Version1, []string{"x"}, "R", 3, 17, make([]byte, 16), 3, 0))
		if err := os.WriteFile(path, v1, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Add(path, entries[2]); err != nil {
			t.Fatal(err)
		}
		got, err := Read(path)
		if err != nil {
			t.Fatal(err)
		}
		want := entries[2]
		want.Principal.NameType = 0 // not stored in version 1
		if len(got) != 2 || !reflect.DeepEqual(got[1], want) {
			t.Errorf("Read = %+v, want second entry %+v", got, want)
		}
	})
	t.Run("refuses corrupt", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "kt")
		bad := readTestdata(t, "mit-stash")[:40]
		if err := os.WriteFile(path, bad, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Add(path, entries[0]); err == nil {
			t.Fatal("Add to a truncated keytab succeeded")
		}
		if raw, _ := os.ReadFile(path); !bytes.Equal(raw, bad) {
			t.Error("Add changed a keytab it could not parse")
		}
	})
}

func TestRemove(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kt")
	entries := testEntries(t)
	if err := Write(path, entries); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	n, err := Remove(path, func(e Entry) bool { return e.Principal.Components[0] == "host" })
	if err != nil || n != 2 {
		t.Fatalf("Remove = %d, %v; want 2", n, err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, entries[2:]) {
		t.Errorf("Read = %+v, want %+v", got, entries[2:])
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode = %v, want 0640 kept", fi.Mode().Perm())
	}
	n, err = Remove(path, func(Entry) bool { return false })
	if err != nil || n != 0 {
		t.Errorf("Remove nothing = %d, %v", n, err)
	}
	if _, err := Remove(filepath.Join(t.TempDir(), "missing"), func(Entry) bool { return true }); !os.IsNotExist(err) {
		t.Errorf("Remove on a missing file: %v, want not-exist", err)
	}
}

func FuzzParse(f *testing.F) {
	key := []byte{1, 2, 3, 4}
	f.Add(join(header(Version2), hole(6), record(Version2, []string{"a", "b"}, "R", 1, 17, key, 1, 2)))
	f.Add(join(header(Version1), record(Version1, []string{"x"}, "R", 1, 18, key, -1, 0), []byte{0, 0, 0, 0}))
	f.Fuzz(func(t *testing.T, b []byte) {
		entries, err := Parse(b)
		if err != nil {
			return
		}
		// Whatever parses must marshal and parse back to the same entries.
		out, err := Marshal(entries)
		if err != nil {
			t.Fatalf("Marshal of parsed entries: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("Parse of Marshal output: %v", err)
		}
		if len(entries) == 0 {
			entries = nil
		}
		if !reflect.DeepEqual(again, entries) {
			t.Fatalf("round trip changed entries:\n got %+v\nwant %+v", again, entries)
		}
	})
}

// TestAddConcurrent checks that the file lock serializes writers within
// one process too, which classic POSIX record locks would not.
func TestAddConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kt")
	base := testEntries(t)[0]
	const writers, each = 8, 10
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			var err error
			for i := range each {
				e := base
				e.KVNO = uint32(w*each + i + 1)
				if err = Add(path, e); err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[uint32]bool{}
	for _, e := range got {
		seen[e.KVNO] = true
	}
	if len(got) != writers*each || len(seen) != writers*each {
		t.Errorf("%d entries with %d distinct kvnos, want %d", len(got), len(seen), writers*each)
	}
}
