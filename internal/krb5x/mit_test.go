package krb5x

import (
	"bytes"
	"encoding/asn1"
	"encoding/binary"
	"encoding/hex"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/keytab"
)

// stashKey reads the master key from an MIT stash file (a keytab).
func stashKey(t *testing.T, path string) types.EncryptionKey {
	t.Helper()
	entries, err := keytab.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Principal.Components[0] != "K" {
		t.Fatalf("%s: want one K/M entry, have %+v", path, entries)
	}
	return entries[0].Key
}

// dumpKey is one key_data group of a dump record (mit-dump-kdb.md §1.3).
type dumpKey struct {
	kvno     int
	etype    int32
	contents []byte // element 0: LE16 length + krb5_c_encrypt(master key, usage 0)
	salt     []byte // element 1, when present
}

// dumpKeys returns the key data of principal name in an MIT dump
// ("kdb5_util load_dump version 7" record layout).
func dumpKeys(t *testing.T, dump []byte, name string) []dumpKey {
	t.Helper()
	for _, line := range strings.Split(string(dump), "\n") {
		f := strings.Split(line, "\t")
		if len(f) < 15 || f[0] != "princ" || f[6] != name {
			continue
		}
		num := func(s string) int {
			n, err := strconv.Atoi(s)
			if err != nil {
				t.Fatalf("%s: %q: %v", name, s, err)
			}
			return n
		}
		data := func(s string) []byte {
			if s == "-1" {
				return nil
			}
			b, err := hex.DecodeString(s)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		i := 15 + 3*num(f[3]) // past the fixed fields and the tl-data triples
		var keys []dumpKey
		for range num(f[4]) {
			ver, kvno := num(f[i]), num(f[i+1])
			k := dumpKey{kvno: kvno, etype: int32(num(f[i+2])), contents: data(f[i+4])}
			if ver == 2 {
				k.salt = data(f[i+7])
			}
			keys = append(keys, k)
			i += 2 + 3*ver
		}
		return keys
	}
	t.Fatalf("no record for %s", name)
	return nil
}

// checkKeyData decrypts a dump key element 0 with the master key, checks
// it against want, and checks that encrypting want again with MIT's own
// confounder reproduces MIT's bytes exactly.
func checkKeyData(t *testing.T, what string, mkey types.EncryptionKey, contents, want []byte) {
	t.Helper()
	if len(contents) < 2 {
		t.Fatalf("%s: key data of %d bytes", what, len(contents))
	}
	n := int(binary.LittleEndian.Uint16(contents))
	c, err := NewCipher(mkey, 0)
	if err != nil {
		t.Fatal(err)
	}
	buf, _, err := c.open(nil, contents[2:])
	if err != nil {
		t.Fatalf("%s: decrypt: %v", what, err)
	}
	conf, plain := buf[:c.confounderSize()], buf[c.confounderSize():]
	if n > len(plain) || !bytes.Equal(plain[:n], want) {
		t.Fatalf("%s: decrypted %x (length %d), want %x", what, plain, n, want)
	}
	again, _, err := c.seal(bytes.NewReader(conf), nil, plain)
	if err != nil || !bytes.Equal(again, contents[2:]) {
		t.Errorf("%s: re-encryption with MIT's confounder = %x, %v; want %x", what, again, err, contents[2:])
	}
	ct, err := Encrypt(mkey, 0, want)
	if err != nil {
		t.Fatal(err)
	}
	if len(ct) != len(contents)-2 {
		t.Errorf("%s: Encrypt gives %d bytes, MIT %d", what, len(ct), len(contents)-2)
	}
	if pt, err := Decrypt(mkey, 0, ct); err != nil || !bytes.Equal(pt[:n], want) {
		t.Errorf("%s: usage 0 round trip = %x, %v", what, pt, err)
	}
}

func TestMITDumpKeyData(t *testing.T) {
	mkey := stashKey(t, filepath.Join("testdata", "basic.stash"))
	dump, err := os.ReadFile(filepath.Join("testdata", "basic.dump.r111"))
	if err != nil {
		t.Fatal(err)
	}
	km := dumpKeys(t, dump, "K/M@FIXTURE.TEST")
	checkKeyData(t, "K/M", mkey, km[0].contents, mkey.KeyValue)
	derived, err := StringToKey(EnctypeAES256CTSHMACSHA196, "fixture-master-pw", "FIXTURE.TESTKM")
	if err != nil || !bytes.Equal(derived.KeyValue, mkey.KeyValue) {
		t.Errorf("master key from password = %x, %v; stash has %x", derived.KeyValue, err, mkey.KeyValue)
	}

	passwords := map[string]map[int]string{
		"alice": {1: "alice-pw-1", 2: "alice-pw-2"},
		"bob":   {2: "Bob-pw-34"},
	}
	checked := 0
	for user, pws := range passwords {
		for _, k := range dumpKeys(t, dump, user+"@FIXTURE.TEST") {
			salt := "FIXTURE.TEST" + user // normal salt
			if k.salt != nil {
				salt = string(k.salt)
			}
			want, err := StringToKey(k.etype, pws[k.kvno], salt)
			if err != nil {
				t.Fatal(err)
			}
			checkKeyData(t, user+" kvno "+strconv.Itoa(k.kvno)+" "+EnctypeName(k.etype), mkey, k.contents, want.KeyValue)
			checked++
		}
	}
	if checked != 6 {
		t.Errorf("checked %d keys, want 6", checked)
	}
}

// TestMITMasterKeyEnctypes covers key usage 0 under a master key of each
// enctype, and string-to-key for each enctype, against realms that MIT's
// kdb5_util and kadmin.local made (testdata/mit-mkeys/make.sh).
func TestMITMasterKeyEnctypes(t *testing.T) {
	for _, etype := range allEtypes {
		name := EnctypeName(etype)
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "mit-mkeys")
			mkey := stashKey(t, filepath.Join(dir, name+".stash"))
			if mkey.KeyType != etype {
				t.Fatalf("stash enctype %d", mkey.KeyType)
			}
			dump, err := os.ReadFile(filepath.Join(dir, name+".dump"))
			if err != nil {
				t.Fatal(err)
			}
			checkKeyData(t, "K/M", mkey, dumpKeys(t, dump, "K/M@MKEY.TEST")[0].contents, mkey.KeyValue)
			keys := dumpKeys(t, dump, "user@MKEY.TEST")
			if len(keys) != len(allEtypes) {
				t.Fatalf("user has %d keys, want %d", len(keys), len(allEtypes))
			}
			for _, k := range keys {
				want, err := StringToKey(k.etype, "user-pw", "MKEY.TESTuser")
				if err != nil {
					t.Fatal(err)
				}
				checkKeyData(t, "user "+EnctypeName(k.etype), mkey, k.contents, want.KeyValue)
			}
		})
	}
}

// TestMITStringToKey compares with keys MIT's ktutil derived from an ASCII
// and a non-ASCII password (testdata/mit-s2k.sh).
func TestMITStringToKey(t *testing.T) {
	entries, err := keytab.Read(filepath.Join("testdata", "mit-s2k.kt"))
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 12 {
		t.Fatalf("%d entries, want 12", len(entries))
	}
	passwords := map[uint32]string{1: "user-pw", 2: "pässwörd-𝄞"}
	for _, e := range entries {
		got, err := StringToKey(e.Key.KeyType, passwords[e.KVNO], "S2K.TESTuser")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got.KeyValue, e.Key.KeyValue) {
			t.Errorf("kvno %d %s: %x, MIT %x", e.KVNO, EnctypeName(e.Key.KeyType), got.KeyValue, e.Key.KeyValue)
		}
	}
}

// derFields parses a DER SEQUENCE of explicitly tagged fields, wrapped in
// APPLICATION app unless app < 0, into its fields' inner encodings.
func derFields(t *testing.T, b []byte, app int) map[int][]byte {
	t.Helper()
	var v asn1.RawValue
	if _, err := asn1.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if app >= 0 {
		if v.Class != asn1.ClassApplication || v.Tag != app {
			t.Fatalf("want [APPLICATION %d], have class %d tag %d", app, v.Class, v.Tag)
		}
		if _, err := asn1.Unmarshal(v.Bytes, &v); err != nil {
			t.Fatal(err)
		}
	}
	fields := map[int][]byte{}
	for rest := v.Bytes; len(rest) > 0; {
		var f asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &f); err != nil {
			t.Fatal(err)
		}
		fields[f.Tag] = f.Bytes
	}
	return fields
}

func derInt(t *testing.T, b []byte) int64 {
	t.Helper()
	var n int64
	if _, err := asn1.Unmarshal(b, &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func derOctets(t *testing.T, b []byte) []byte {
	t.Helper()
	var o []byte
	if _, err := asn1.Unmarshal(b, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

// TestMITKpropSession decrypts the KRB-PRIV blocks of captured MIT kprop
// sessions, whose cipher state chains from one block to the next
// (krb5_auth_con_initivector), and re-encrypts each with MIT's confounder
// and state to MIT's exact bytes. The session key comes from the AP-REQ's
// ticket, decrypted with the service keytab.
func TestMITKpropSession(t *testing.T) {
	for _, tt := range []struct{ session, keytab string }{
		{"session-aes256-sha1.json", "test-keytab-aes-sha1.kt"},
		{"session-aes256-sha384.json", "test-keytab-aes-sha384.kt"},
	} {
		t.Run(tt.session, func(t *testing.T) {
			dir := filepath.Join("testdata", "kprop")
			frames := loadCapture(t, tt.session).c2s
			if len(frames) != 7 {
				t.Fatalf("%d frames, want 7", len(frames))
			}

			svcKeys, err := keytab.Read(filepath.Join(dir, tt.keytab))
			if err != nil {
				t.Fatal(err)
			}
			apReq := derFields(t, frames[2], 14)
			ticket := derFields(t, apReq[3], 1)
			encPart := derFields(t, ticket[3], -1)
			etype := int32(derInt(t, encPart[0]))
			var svcKey types.EncryptionKey
			for _, e := range svcKeys {
				if e.Key.KeyType == etype {
					svcKey = e.Key
				}
			}
			encTicket, err := Decrypt(svcKey, 2, derOctets(t, encPart[2]))
			if err != nil {
				t.Fatalf("ticket: %v", err)
			}
			keyFields := derFields(t, derFields(t, encTicket, 3)[1], -1)
			session := types.EncryptionKey{KeyType: int32(derInt(t, keyFields[0])), KeyValue: derOctets(t, keyFields[1])}

			c, err := NewCipher(session, 13)
			if err != nil {
				t.Fatal(err)
			}
			var state []byte
			var dump []byte
			var seq int64
			for i, frame := range frames[4:] {
				ct := derOctets(t, derFields(t, derFields(t, frame, 21)[3], -1)[2])
				buf, next, err := c.open(state, ct)
				if err != nil {
					t.Fatalf("block %d: %v", i, err)
				}
				if i > 0 {
					if _, _, err := c.Decrypt(nil, ct); err == nil {
						t.Errorf("block %d decrypts without the chained state", i)
					}
				}
				conf, plain := buf[:16], buf[16:]
				again, againNext, err := c.seal(bytes.NewReader(conf), state, plain)
				if err != nil || !bytes.Equal(again, ct) || !bytes.Equal(againNext, next) {
					t.Errorf("block %d: re-encryption differs from MIT's", i)
				}
				priv := derFields(t, plain, 28)
				dump = append(dump, derOctets(t, priv[0])...)
				if s := derInt(t, priv[3]); i > 0 && s != seq+1 {
					t.Errorf("block %d: seq %d after %d", i, s, seq)
				} else {
					seq = s
				}
				state = next
			}
			if len(dump) != 67319 || !bytes.HasPrefix(dump, []byte("kdb5_util load_dump version 7\n")) {
				t.Errorf("dump of %d bytes starting %q", len(dump), dump[:min(len(dump), 40)])
			}
		})
	}
}
