package krb5x

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"net"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/asn1der"
	"github.com/krb5prop/krb5prop/internal/keytab"
)

// capture is one MIT kprop -> kpropd session as mitm_proxy.py logged it
// (testdata/kprop/*.json): the sendauth frames each way, the server's
// one-byte version reply, and when the session started.
type capture struct {
	c2s, s2c [][]byte
	reply    []byte
	start    time.Time
}

// loadCapture reads testdata/kprop/name and splits both directions into
// their len32 frames; server-to-client starts with the unframed version
// byte (spec §2.1).
func loadCapture(t testing.TB, name string) capture {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "kprop", name))
	if err != nil {
		t.Fatal(err)
	}
	var chunks [][3]any
	if err := json.Unmarshal(raw, &chunks); err != nil {
		t.Fatal(err)
	}
	var c capture
	var c2s, s2c []byte
	for i, ch := range chunks {
		dir, _ := ch[1].(string)
		data, _ := ch[2].(string)
		if i == 0 {
			ts, _ := ch[0].(float64)
			c.start = time.Unix(int64(ts), 0)
		}
		if data == "EOF" || (dir != "C2S" && dir != "S2C") {
			continue
		}
		b, err := hex.DecodeString(data)
		if err != nil {
			t.Fatal(err)
		}
		if dir == "C2S" {
			c2s = append(c2s, b...)
		} else {
			s2c = append(s2c, b...)
		}
	}
	split := func(b []byte) [][]byte {
		var frames [][]byte
		for len(b) >= 4 {
			n := int(binary.BigEndian.Uint32(b))
			if n > len(b)-4 {
				t.Fatalf("%s: truncated frame", name)
			}
			frames = append(frames, b[4:4+n])
			b = b[4+n:]
		}
		if len(b) != 0 {
			t.Fatalf("%s: %d stray bytes", name, len(b))
		}
		return frames
	}
	c.c2s = split(c2s)
	if len(s2c) > 0 {
		c.reply = s2c[:1]
		c.s2c = split(s2c[1:])
	}
	return c
}

// keytabLookup finds service keys in keytab files the way MIT's
// krb5_kt_get_entry does for an explicit principal.
func keytabLookup(t testing.TB, files ...string) func([]string, string, uint32, int32) (types.EncryptionKey, error) {
	t.Helper()
	var entries []keytab.Entry
	for _, file := range files {
		e, err := keytab.Read(filepath.Join("testdata", "kprop", file))
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, e...)
	}
	return func(sname []string, realm string, kvno uint32, etype int32) (types.EncryptionKey, error) {
		found := false
		for _, e := range entries {
			if e.Principal.Realm != realm || !slices.Equal(e.Principal.Components, sname) {
				continue
			}
			found = true
			if e.KVNO == kvno && e.Key.KeyType == etype {
				return e.Key, nil
			}
		}
		if found {
			return types.EncryptionKey{}, ErrKeyVersion
		}
		return types.EncryptionKey{}, ErrNoKey
	}
}

// cipherOf returns the cipher octets of the EncryptedData field n of a
// message with application tag app.
func cipherOf(t testing.TB, msg []byte, app, n int) []byte {
	t.Helper()
	top, err := asn1der.TopLevel(msg, app)
	if err != nil {
		t.Fatal(err)
	}
	f, err := asn1der.Sequence(top.Content, 0x1fff, 0)
	if err != nil {
		t.Fatal(err)
	}
	ed, err := ParseEncryptedData(f[n])
	if err != nil {
		t.Fatal(err)
	}
	return ed.Cipher
}

// confounder decrypts ct with MIT's state and returns the confounder MIT
// chose and the next state.
func confounder(t testing.TB, key types.EncryptionKey, usage uint32, state, ct []byte) ([]byte, []byte) {
	t.Helper()
	c, err := NewCipher(key, usage)
	if err != nil {
		t.Fatal(err)
	}
	buf, next, err := c.open(state, ct)
	if err != nil {
		t.Fatal(err)
	}
	return buf[:c.confounderSize()], next
}

var hostVM = types.PrincipalName{NameType: 3, NameString: []string{"host", "vm"}}

var loopback = Address{Type: AddrTypeIPv4, Addr: []byte{127, 0, 0, 1}}

// TestMITSessions reads every message of two captured MIT sessions with
// the API kprop and kpropd use, and encodes each one again to MIT's exact
// bytes, given MIT's confounders.
func TestMITSessions(t *testing.T) {
	for _, tt := range []struct {
		file, keytab string
		etype        int32
		c, s         uint32
	}{
		{"session-aes256-sha1.json", "test-keytab-aes-sha1.kt", EnctypeAES256CTSHMACSHA196, 77053946, 463414755},
		{"session-aes256-sha384.json", "test-keytab-aes-sha384.kt", EnctypeAES256CTSHMACSHA384, 951842516, 705466920},
	} {
		t.Run(tt.file, func(t *testing.T) {
			cp := loadCapture(t, tt.file)
			if len(cp.c2s) != 7 || len(cp.s2c) != 3 || !bytes.Equal(cp.reply, []byte{0}) || len(cp.s2c[0]) != 0 {
				t.Fatalf("capture has %d/%d frames, reply %x", len(cp.c2s), len(cp.s2c), cp.reply)
			}
			lookup := keytabLookup(t, tt.keytab)

			// AP-REQ, as kpropd verifies it.
			info, err := ReadAPReq(cp.c2s[2], lookup, cp.start, 0)
			if err != nil {
				t.Fatalf("ReadAPReq: %v", err)
			}
			if info.ClientRealm != "KRBTEST.COM" || !slices.Equal(info.Client.NameString, hostVM.NameString) || info.Client.NameType != 3 {
				t.Errorf("client %v@%s", info.Client, info.ClientRealm)
			}
			if info.TicketRealm != "KRBTEST.COM" || !slices.Equal(info.TicketServer.NameString, hostVM.NameString) {
				t.Errorf("ticket server %v@%s", info.TicketServer, info.TicketRealm)
			}
			if info.TicketEnctype != tt.etype || info.SessionKey.KeyType != tt.etype || len(info.SessionKey.KeyValue) != 32 {
				t.Errorf("ticket enctype %d, session key %d/%d bytes", info.TicketEnctype, info.SessionKey.KeyType, len(info.SessionKey.KeyValue))
			}
			if info.Seq != tt.c || !info.MutualRequired || info.APOptions != APOptionMutualRequired || info.Subkey != nil {
				t.Errorf("seq %d, options %08x, subkey %v", info.Seq, info.APOptions, info.Subkey)
			}
			// INITIAL and PRE-AUTHENT (spec §2.3).
			if info.TicketFlags != 0x00410000 {
				t.Errorf("ticket flags %08x", info.TicketFlags)
			}
			if d := info.CTime.Sub(cp.start); d < 0 || d > time.Second {
				t.Errorf("ctime %v, capture started %v", info.CTime, cp.start)
			}
			authCT := cipherOf(t, cp.c2s[2], AppAPReq, 4)
			if !bytes.Equal(info.ReplayTag, authCT[len(authCT)-len(info.ReplayTag):]) || len(info.ReplayTag) < 12 {
				t.Errorf("replay tag %x", info.ReplayTag)
			}
			key := info.SessionKey

			// AP-REP, as kprop verifies it; then made again.
			seq, subkey, err := ReadAPRep(key, cp.s2c[1], info.CTime, info.CUsec)
			if err != nil || seq != tt.s || subkey != nil {
				t.Fatalf("ReadAPRep = %d, %v, %v", seq, subkey, err)
			}
			conf, _ := confounder(t, key, keyUsageAPRepEncPart, nil, cipherOf(t, cp.s2c[1], AppAPRep, 2))
			rep, err := makeAPRep(bytes.NewReader(conf), key, info.CTime, info.CUsec, tt.s)
			if err != nil || !bytes.Equal(rep, cp.s2c[1]) {
				t.Errorf("MakeAPRep:\n got %x, %v\nwant %x", rep, err, cp.s2c[1])
			}
			if _, _, err := ReadAPRep(key, cp.s2c[1], info.CTime, info.CUsec+1); !errors.Is(err, &Error{Code: CodeGeneric, Text: TextMutualFailed}) {
				t.Errorf("AP-REP for another cusec: %v", err)
			}
			if _, _, err := ReadAPRep(key, cp.s2c[1], info.CTime.Add(time.Second), info.CUsec); !errors.Is(err, &Error{Code: CodeGeneric, Text: TextMutualFailed}) {
				t.Errorf("AP-REP for another ctime: %v", err)
			}

			// The size message and the confirmation (KRB-SAFE).
			size := []byte{0, 1, 6, 0xf7} // 67319
			for _, m := range []struct {
				der []byte
				seq uint32
			}{{cp.c2s[3], tt.c}, {cp.s2c[2], tt.s}} {
				sm, err := ReadSafe(key, m.der)
				if err != nil {
					t.Fatalf("ReadSafe: %v", err)
				}
				if !bytes.Equal(sm.UserData, size) || sm.Seq != m.seq || !sm.SAddr.Equal(loopback) || sm.RAddr != nil {
					t.Errorf("ReadSafe = %+v", sm)
				}
				again, err := MakeSafe(key, SafeMessage{UserData: size, Seq: m.seq, SAddr: loopback})
				if err != nil || !bytes.Equal(again, m.der) {
					t.Errorf("MakeSafe:\n got %x, %v\nwant %x", again, err, m.der)
				}
			}

			// The dump blocks (KRB-PRIV, chained cipher state), opened as
			// kpropd does, then sealed again with MIT's confounders.
			stream, err := NewPrivStream(key)
			if err != nil {
				t.Fatal(err)
			}
			var dump, confs []byte
			var state []byte
			var msgs []PrivMessage
			for i, der := range cp.c2s[4:] {
				m, err := stream.Open(der)
				if err != nil {
					t.Fatalf("block %d: %v", i, err)
				}
				if m.Seq != tt.c+1+uint32(i) || !m.SAddr.Equal(loopback) || m.RAddr != nil {
					t.Errorf("block %d: seq %d, addresses %v %v", i, m.Seq, m.SAddr, m.RAddr)
				}
				dump = append(dump, m.UserData...)
				msgs = append(msgs, m)
				var conf []byte
				conf, state = confounder(t, key, keyUsageKRBPriv, state, cipherOf(t, der, AppKRBPriv, 3))
				confs = append(confs, conf...)
			}
			if len(dump) != 67319 || !bytes.HasPrefix(dump, []byte("kdb5_util load_dump version 7\n")) {
				t.Errorf("dump of %d bytes", len(dump))
			}
			sealer, err := NewPrivStream(key)
			if err != nil {
				t.Fatal(err)
			}
			sealer.random = bytes.NewReader(confs)
			for i, m := range msgs {
				der, err := sealer.Seal(PrivMessage{UserData: m.UserData, Seq: m.Seq, SAddr: loopback})
				if err != nil || !bytes.Equal(der, cp.c2s[4+i]) {
					t.Errorf("Seal block %d differs from MIT's (%v)", i, err)
				}
			}
			// A stream that starts afresh fails at the second block.
			fresh, _ := NewPrivStream(key)
			if _, err := fresh.Open(cp.c2s[5]); !errors.Is(err, &Error{Code: CodeBadIntegrity}) {
				t.Errorf("block 1 with a fresh state: %v", err)
			}

			// The ticket encodes back to the KDC's bytes, and our own
			// AP-REQ (random confounder) verifies, and our AP-REP too.
			req, err := asn1der.TopLevel(cp.c2s[2], AppAPReq)
			if err != nil {
				t.Fatal(err)
			}
			rf, _ := asn1der.Sequence(req.Content, 0x1f, 0)
			var tkt messages.Ticket
			if err := tkt.Unmarshal(rf[3]); err != nil {
				t.Fatal(err)
			}
			tktDER, err := MarshalTicket(tkt)
			if err != nil || !bytes.Equal(tktDER, rf[3]) {
				t.Errorf("MarshalTicket = %x, %v; want %x", tktDER, err, rf[3])
			}
			now := info.CTime.Add(time.Duration(info.CUsec) * time.Microsecond)
			ours, ctime, cusec, err := MakeAPReq(tktDER, key, "KRBTEST.COM", hostVM, now, info.Seq)
			if err != nil {
				t.Fatal(err)
			}
			if !ctime.Equal(info.CTime) || cusec != info.CUsec {
				t.Errorf("ctime %v cusec %d", ctime, cusec)
			}
			back, err := ReadAPReq(ours, lookup, now, 0)
			if err != nil {
				t.Fatalf("ReadAPReq(MakeAPReq): %v", err)
			}
			if back.Seq != info.Seq || back.CUsec != cusec || !back.CTime.Equal(ctime) || !bytes.Equal(back.SessionKey.KeyValue, key.KeyValue) || !back.MutualRequired {
				t.Errorf("round trip: %+v", back)
			}
			// With MIT's confounder, the whole AP-REQ is MIT's.
			conf, _ = confounder(t, key, keyUsageAuthenticator, nil, authCT)
			exact, _, _, err := makeAPReq(bytes.NewReader(conf), tktDER, key, "KRBTEST.COM", hostVM, now, info.Seq)
			if err != nil || !bytes.Equal(exact, cp.c2s[2]) {
				t.Errorf("MakeAPReq:\n got %x, %v\nwant %x", exact, err, cp.c2s[2])
			}
			rep, err = MakeAPRep(key, ctime, cusec, 777)
			if err != nil {
				t.Fatal(err)
			}
			if seq, _, err := ReadAPRep(key, rep, ctime, cusec); err != nil || seq != 777 {
				t.Errorf("AP-REP round trip: %d, %v", seq, err)
			}
		})
	}
}

// TestMITErrors reads MIT kpropd's KRB-ERRORs and encodes them again.
func TestMITErrors(t *testing.T) {
	for _, tt := range []struct {
		file   string
		code   int32
		text   string
		stime  string
		susec  int
		client bool
	}{
		{"error-nokey.json", CodeNoKey, "Service key not available", "2026-11-23T15:25:41Z", 390674, false},
		{"error-bad-integrity-block1.json", CodeBadIntegrity, "while decoding database block starting at offset 32768", "2026-11-23T15:25:09Z", 417124, true},
	} {
		t.Run(tt.file, func(t *testing.T) {
			cp := loadCapture(t, tt.file)
			der := cp.s2c[len(cp.s2c)-1]
			e, err := ReadError(der)
			if err != nil {
				t.Fatal(err)
			}
			stime, _ := time.Parse(time.RFC3339, tt.stime)
			if e.Code != tt.code || e.Text != tt.text || !e.STime.Equal(stime) || e.SUsec != tt.susec {
				t.Errorf("ReadError = %+v", e)
			}
			if e.Error() != ErrorText(tt.code) {
				t.Errorf("Error() = %q", e.Error())
			}
			if e.Realm != "KRBTEST.COM" || e.SName.NameType != 3 || !slices.Equal(e.SName.NameString, hostVM.NameString) {
				t.Errorf("server %v@%s", e.SName, e.Realm)
			}
			if tt.client != (e.CName != nil) || (tt.client && (e.CRealm != "KRBTEST.COM" || !slices.Equal(e.CName.NameString, hostVM.NameString))) {
				t.Errorf("client %v@%s", e.CName, e.CRealm)
			}
			if !e.CTime.IsZero() || e.CUsec != 0 || e.EData != nil {
				t.Errorf("unexpected fields %+v", e)
			}
			again, err := MakeError(e, stime.Add(time.Duration(tt.susec)*time.Microsecond))
			if err != nil || !bytes.Equal(again, der) {
				t.Errorf("MakeError:\n got %x, %v\nwant %x", again, err, der)
			}
		})
	}

	// The integrity failure is MIT's: block 1 was flipped by the proxy.
	cp := loadCapture(t, "error-bad-integrity-block1.json")
	info, err := ReadAPReq(cp.c2s[2], keytabLookup(t, "test-keytab-aes-sha1.kt"), cp.start, 0)
	if err != nil {
		t.Fatal(err)
	}
	if sm, err := ReadSafe(info.SessionKey, cp.c2s[3]); err != nil || sm.Seq != info.Seq || sm.Seq != 312222 {
		t.Fatalf("size message: %+v, %v", sm, err)
	}
	s, _ := NewPrivStream(info.SessionKey)
	if m, err := s.Open(cp.c2s[4]); err != nil || m.Seq != info.Seq+1 {
		t.Fatalf("block 0: %v", err)
	}
	if _, err := s.Open(cp.c2s[5]); !errors.Is(err, &Error{Code: CodeBadIntegrity}) {
		t.Errorf("flipped block 1: %v", err)
	}
}

// TestMITEmptyDump checks the 12-byte size of a 0-byte dump (spec §3.1).
func TestMITEmptyDump(t *testing.T) {
	cp := loadCapture(t, "empty-dump.json")
	info, err := ReadAPReq(cp.c2s[2], keytabLookup(t, "test-keytab-aes-sha1.kt"), cp.start, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ReadSafe(info.SessionKey, cp.c2s[3])
	if err != nil || !bytes.Equal(m.UserData, make([]byte, 12)) || m.Seq != info.Seq {
		t.Fatalf("ReadSafe = %+v, %v", m, err)
	}
	again, err := MakeSafe(info.SessionKey, m)
	if err != nil || !bytes.Equal(again, cp.c2s[3]) {
		t.Errorf("MakeSafe:\n got %x, %v\nwant %x", again, err, cp.c2s[3])
	}
}

// TestAPReqChecks covers each failure ReadAPReq maps to an MIT code.
func TestAPReqChecks(t *testing.T) {
	cp := loadCapture(t, "session-aes256-sha1.json")
	lookup := keytabLookup(t, "test-keytab-aes-sha1.kt")
	der := cp.c2s[2]
	info, err := ReadAPReq(der, lookup, cp.start, 0)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := asn1der.TopLevel(der, AppAPReq)
	rf, _ := asn1der.Sequence(req.Content, 0x1f, 0)
	tkt := rf[3]
	key := info.SessionKey
	mk := func(crealm string, cname types.PrincipalName, now time.Time) []byte {
		b, _, _, err := MakeAPReq(tkt, key, crealm, cname, now, 1)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ok := mk("KRBTEST.COM", hostVM, cp.start)
	code := func(err error) int32 {
		var ke *Error
		if !errors.As(err, &ke) {
			t.Fatalf("not an *Error: %v", err)
		}
		return ke.Code
	}
	noKey := func([]string, string, uint32, int32) (types.EncryptionKey, error) {
		return types.EncryptionKey{}, ErrNoKey
	}
	wrongKey := func([]string, string, uint32, int32) (types.EncryptionKey, error) {
		k, _ := RandomKey(EnctypeAES256CTSHMACSHA196)
		return k, nil
	}
	lookupErr := func(err error) func([]string, string, uint32, int32) (types.EncryptionKey, error) {
		return func([]string, string, uint32, int32) (types.EncryptionKey, error) { return types.EncryptionKey{}, err }
	}
	end := info.EndTime
	for _, tt := range []struct {
		name   string
		der    []byte
		lookup func([]string, string, uint32, int32) (types.EncryptionKey, error)
		now    time.Time
		code   int32
		text   string
	}{
		{"ok", ok, lookup, cp.start, 0, ""},
		{"not an AP-REQ", cp.c2s[3], lookup, cp.start, CodeMsgType, ""},
		{"garbage", []byte{0x6e, 0x03, 0x02, 0x01, 0x05}, lookup, cp.start, CodeGeneric, "ASN.1 identifier doesn't match expected value"},
		{"no key", ok, noKey, cp.start, CodeNoKey, ""},
		{"kvno", ok, lookupErr(ErrKeyVersion), cp.start, CodeBadKeyVer, ""},
		{"not us", ok, lookupErr(ErrNotUs), cp.start, CodeNotUs, ""},
		{"no keytab", ok, lookupErr(os.ErrNotExist), cp.start, CodeNoKey, ""},
		{"wrong key", ok, wrongKey, cp.start, CodeBadIntegrity, ""},
		{"other client", mk("KRBTEST.COM", types.PrincipalName{NameType: 1, NameString: []string{"eve"}}, cp.start), lookup, cp.start, CodeBadMatch, ""},
		{"other realm", mk("EVIL.COM", hostVM, cp.start), lookup, cp.start, CodeBadMatch, ""},
		{"skew ahead", mk("KRBTEST.COM", hostVM, cp.start.Add(301*time.Second)), lookup, cp.start, CodeSkew, ""},
		{"skew behind", mk("KRBTEST.COM", hostVM, cp.start.Add(-301*time.Second)), lookup, cp.start, CodeSkew, ""},
		{"skew edge", mk("KRBTEST.COM", hostVM, cp.start.Add(300*time.Second)), lookup, cp.start, 0, ""},
		{"not yet valid", mk("KRBTEST.COM", hostVM, info.AuthTime.Add(-400*time.Second)), lookup, info.AuthTime.Add(-400 * time.Second), CodeTktNYV, ""},
		{"expired", mk("KRBTEST.COM", hostVM, end.Add(400*time.Second)), lookup, end.Add(400 * time.Second), CodeTktExpired, ""},
		{"expired within skew", mk("KRBTEST.COM", hostVM, end.Add(300*time.Second)), lookup, end.Add(300 * time.Second), 0, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ReadAPReq(tt.der, tt.lookup, tt.now, 0)
			if tt.code == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if c := code(err); c != tt.code || (tt.text != "" && err.Error() != tt.text) {
				t.Errorf("code %d %q, want %d %q", c, err, tt.code, tt.text)
			}
		})
	}

	// The replay hook runs before the time checks, as MIT's rcache.
	calls := 0
	_, err = ReadAPReqReplay(mk("KRBTEST.COM", hostVM, cp.start.Add(time.Hour)), lookup, cp.start, 0, func(i *APReqInfo) error {
		calls++
		return errors.New("seen")
	})
	if code(err) != CodeRepeat || calls != 1 {
		t.Errorf("replay: %v after %d calls", err, calls)
	}
}

// TestReadSafeChecks covers ReadSafe's MIT codes with hand-made messages.
func TestReadSafeChecks(t *testing.T) {
	key, _ := RandomKey(EnctypeAES128CTSHMACSHA196)
	m := SafeMessage{UserData: []byte("size"), Seq: 0x80000000, SAddr: AddressOf(net.ParseIP("::1")), RAddr: &loopback}
	der, err := MakeSafe(key, m)
	if err != nil {
		t.Fatal(err)
	}
	// seq-number 0x80000000 is 02 05 00 80 00 00 00 (spec §3.5).
	if !bytes.Contains(der, []byte{0xa3, 0x07, 0x02, 0x05, 0x00, 0x80, 0, 0, 0}) {
		t.Errorf("no unsigned seq-number in %x", der)
	}
	got, err := ReadSafe(key, der)
	if err != nil || got.Seq != m.Seq || !got.SAddr.Equal(m.SAddr) || got.RAddr == nil || !got.RAddr.Equal(loopback) || string(got.UserData) != "size" {
		t.Fatalf("ReadSafe = %+v, %v", got, err)
	}
	body := appendSafeBody(nil, m)
	withCksum := func(cksumtype int32, sum []byte) []byte {
		return appendSafe(nil, body, appendChecksumField(nil, cksumtype, sum))
	}
	// RFC 1510 senders checksum the body alone; MIT accepts that too.
	bodySum, _ := makeChecksum(CksumHMACSHA196AES128, key, 15, body)
	md5Sum := make([]byte, 16)
	for _, tt := range []struct {
		name string
		der  []byte
		code int32
		text string
	}{
		{"body-only checksum", withCksum(CksumHMACSHA196AES128, bodySum), 0, ""},
		{"unknown checksum type", withCksum(99, bodySum), CodeGeneric, TextSumtypeNoSupp},
		{"unkeyed checksum", withCksum(CksumRSAMD5, md5Sum), CodeInappCksum, ""},
		{"checksum of another key type", withCksum(CksumHMACSHA196AES256, bodySum), CodeModified, ""},
		{"hmac-md5 of another message", withCksum(CksumHMACMD5ARCFOUR, md5Sum), CodeModified, ""},
		{"not a KRB-SAFE", []byte{0x75, 0x00}, CodeMsgType, ""},
		{"empty", nil, CodeMsgType, ""},
		{"primitive", []byte{0x54, 0x00}, CodeGeneric, "ASN.1 identifier doesn't match expected value"},
		{"PVNO", bytes.Replace(der, []byte{0xa0, 0x03, 0x02, 0x01, 0x05}, []byte{0xa0, 0x03, 0x02, 0x01, 0x04}, 1), CodeBadPVNO, ""},
		{"msg-type", bytes.Replace(der, []byte{0xa1, 0x03, 0x02, 0x01, 0x14}, []byte{0xa1, 0x03, 0x02, 0x01, 0x15}, 1), CodeGeneric, TextBadMsgType},
	} {
		_, err := ReadSafe(key, tt.der)
		if tt.code == 0 {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		var ke *Error
		if !errors.As(err, &ke) || ke.Code != tt.code || (tt.text != "" && ke.Text != tt.text) {
			t.Errorf("%s: %v (%#v), want %d %q", tt.name, err, ke, tt.code, tt.text)
		}
	}
	// hmac-md5-rc4 takes any key (MIT's checksum table has no cipher for it).
	rc4Sum, err := makeChecksum(CksumHMACMD5ARCFOUR, key, 15, appendSafe(nil, body, []byte(zeroChecksum)))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ReadSafe(key, withCksum(CksumHMACMD5ARCFOUR, rc4Sum)); err != nil {
		t.Errorf("hmac-md5-rc4 checksum: %v", err)
	}
}

// TestSealOpenAllEnctypes round-trips KRB-PRIV streams in both directions
// sharing one cipher state, and KRB-SAFE, for every supported enctype.
func TestSealOpenAllEnctypes(t *testing.T) {
	for _, etype := range allEtypes {
		t.Run(EnctypeName(etype), func(t *testing.T) {
			key, err := RandomKey(etype)
			if err != nil {
				t.Fatal(err)
			}
			a, err := NewPrivStream(key)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := NewPrivStream(key)
			for i, n := range []int{0, 1, 15, 16, 17, 100, 32768, 5, 70000} {
				msg := PrivMessage{UserData: bytes.Repeat([]byte{byte(i)}, n), Seq: uint32(i), SAddr: loopback}
				if i%3 == 2 {
					msg.RAddr = &Address{Type: AddrTypeIPv6, Addr: net.IPv6loopback}
				}
				// Alternate directions: the state is the auth context's.
				from, to := a, b
				if i%2 == 1 {
					from, to = b, a
				}
				der, err := from.Seal(msg)
				if err != nil {
					t.Fatal(err)
				}
				// Seal's output is what MIT's encoder makes of the same fields.
				if der[0] != 0x75 {
					t.Fatalf("first byte %x", der[0])
				}
				got, err := to.Open(der)
				if err != nil {
					t.Fatalf("message %d (%d bytes): %v", i, n, err)
				}
				if !bytes.Equal(got.UserData, msg.UserData) || got.Seq != msg.Seq || !got.SAddr.Equal(msg.SAddr) || (msg.RAddr == nil) != (got.RAddr == nil) {
					t.Fatalf("message %d: %+v", i, got)
				}
				// The peer's state moved with it: both now agree.
				if etype != EnctypeARCFOURHMAC && !bytes.Equal(a.state, b.state) {
					t.Fatalf("states differ after message %d", i)
				}
			}
			sm := SafeMessage{UserData: []byte{0, 0, 0, 1}, Seq: 9, SAddr: loopback}
			der, err := MakeSafe(key, sm)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := ReadSafe(key, der); err != nil || got.Seq != 9 {
				t.Errorf("KRB-SAFE: %+v, %v", got, err)
			}
			other, _ := RandomKey(etype)
			if _, err := ReadSafe(other, der); !errors.Is(err, &Error{Code: CodeModified}) {
				t.Errorf("KRB-SAFE under another key: %v", err)
			}
		})
	}
}

// TestAppendSeal checks that sealing into a reused buffer appends and
// leaves earlier messages alone.
func TestAppendSeal(t *testing.T) {
	key, _ := RandomKey(EnctypeAES256CTSHMACSHA196)
	s, _ := NewPrivStream(key)
	r, _ := NewPrivStream(key)
	buf := make([]byte, 0, 1<<16)
	buf, err := s.AppendSeal(buf, PrivMessage{UserData: []byte("one"), Seq: 1, SAddr: loopback})
	if err != nil {
		t.Fatal(err)
	}
	first := len(buf)
	buf, err = s.AppendSeal(buf, PrivMessage{UserData: []byte("two"), Seq: 2, SAddr: loopback})
	if err != nil {
		t.Fatal(err)
	}
	for i, der := range [][]byte{buf[:first], buf[first:]} {
		m, err := r.Open(der)
		if err != nil || m.Seq != uint32(i+1) {
			t.Fatalf("message %d: %+v, %v", i, m, err)
		}
	}
}

func TestOpenRejects(t *testing.T) {
	key, _ := RandomKey(EnctypeAES256CTSHMACSHA196)
	s, _ := NewPrivStream(key)
	der, _ := s.Seal(PrivMessage{UserData: []byte("x"), SAddr: loopback})
	// etype 17 instead of 18: "Bad encryption type" as 60.
	bad := bytes.Replace(der, []byte{0xa0, 0x03, 0x02, 0x01, 0x12}, []byte{0xa0, 0x03, 0x02, 0x01, 0x11}, 1)
	r, _ := NewPrivStream(key)
	if _, err := r.Open(bad); !errors.Is(err, &Error{Code: CodeGeneric, Text: TextBadEnctype}) || err.Error() != "Bad encryption type" {
		t.Errorf("wrong etype: %v", err)
	}
	// MIT's ENCTYPE_UNKNOWN (511) is accepted under any key.
	r, _ = NewPrivStream(key)
	unknown := append([]byte(nil), der...)
	i := bytes.Index(unknown, []byte{0xa0, 0x03, 0x02, 0x01, 0x12})
	unknown = slices.Replace(unknown, i, i+5, 0xa0, 0x04, 0x02, 0x02, 0x01, 0xff)
	unknown[1]++ // outer lengths grow by one (all short form here)
	unknown[3]++
	unknown[15]++
	unknown[17]++
	if m, err := r.Open(unknown); err != nil || string(m.UserData) != "x" {
		t.Errorf("ENCTYPE_UNKNOWN: %v", err)
	}
	// A ciphertext shorter than the confounder and MAC.
	r, _ = NewPrivStream(key)
	short := (&PrivStream{etype: 18}).sealShortForTest()
	if _, err := r.Open(short); !errors.Is(err, &Error{Code: CodeGeneric, Text: TextBadMsgSize}) {
		t.Errorf("short ciphertext: %v", err)
	}
}

// sealShortForTest builds a KRB-PRIV whose ciphertext is 10 bytes.
func (s *PrivStream) sealShortForTest() []byte {
	var enc []byte
	enc = asn1der.AppendCtxInt(enc, 0, int64(s.etype))
	enc = asn1der.AppendCtxString(enc, 2, asn1der.TagOctetString, make([]byte, 10))
	var body []byte
	body = asn1der.AppendCtxInt(body, 0, PVNO)
	body = asn1der.AppendCtxInt(body, 1, AppKRBPriv)
	body = asn1der.AppendCtx(body, 3, asn1der.AppendTLV(nil, asn1der.TagSequence, enc))
	return asn1der.AppendTLV(nil, asn1der.AppTag(AppKRBPriv), asn1der.AppendTLV(nil, asn1der.TagSequence, body))
}

func TestSeqNumbers(t *testing.T) {
	for i := 0; i < 1000; i++ {
		n, err := NewSeqNumber()
		if err != nil || n == 0 || n > 1<<30-1 {
			t.Fatalf("NewSeqNumber = %d, %v", n, err)
		}
	}
	if n, _ := newSeqNumber(bytes.NewReader([]byte{0xc0, 0, 0, 0})); n != 1 {
		t.Errorf("zero becomes %d, want 1", n)
	}
	for _, tt := range []struct {
		der  string
		want uint32
		ok   bool
	}{
		{"020100", 0, true},
		{"02020080", 0x80, true},
		{"0201ff", 0xffffffff, true}, // Heimdal's sign-extended encodings
		{"0204ff800000", 0xff800000, true},
		{"02050080000000", 0x80000000, true},
		{"020500ffffffff", 0xffffffff, true},
		{"02050100000000", 0, false}, // 2^32
		{"020580000000ff", 0, false}, // below -2^31
		{"0200", 0, false},
		{"020900000000000000000001", 0, false},
	} {
		b, _ := hex.DecodeString(tt.der)
		got, err := parseSeqNumber(b)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("%s: %#x, %v", tt.der, got, err)
		}
	}
	for _, v := range []uint32{0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fffffff, 0x80000000, math.MaxUint32} {
		b := appendUint(nil, v)
		if got, err := parseSeqNumber(b); err != nil || got != v {
			t.Errorf("%#x encodes as %x, reads %#x, %v", v, b, got, err)
		}
		if b[2]&0x80 != 0 || (len(b) > 3 && b[2] == 0 && b[3]&0x80 == 0) {
			t.Errorf("%#x: %x is not minimal", v, b)
		}
	}
}

func TestAddressOf(t *testing.T) {
	for _, tt := range []struct {
		ip   string
		want Address
	}{
		{"127.0.0.1", Address{2, []byte{127, 0, 0, 1}}},
		{"::ffff:10.1.2.3", Address{2, []byte{10, 1, 2, 3}}},
		{"::1", Address{24, net.ParseIP("::1")}},
		{"2001:db8::5", Address{24, net.ParseIP("2001:db8::5")}},
	} {
		if got := AddressOf(net.ParseIP(tt.ip)); !got.Equal(tt.want) {
			t.Errorf("%s: %+v", tt.ip, got)
		}
	}
	if got := AddressOf(nil); got.Type != 0 || got.Addr != nil {
		t.Errorf("nil: %+v", got)
	}
}

func TestErrorText(t *testing.T) {
	for code, want := range map[int32]string{
		31: "Decrypt integrity check failed", 41: "Message stream modified", 42: "Message out of order",
		45: "Service key not available", 60: "Generic error (see e-text)", 30: "KRB5 error code 30",
		127: "KRB5 error code 127", 200: "KRB5 error code 200",
	} {
		if got := ErrorText(code); got != want {
			t.Errorf("%d: %q", code, got)
		}
	}
	if got := (&Error{Code: 60}).Error(); got != "Generic error (see e-text)" {
		t.Errorf("60 without text: %q", got)
	}
	if got := (&Error{Code: 60, Text: "Bad encryption type"}).Error(); got != "Bad encryption type" {
		t.Errorf("60 with text: %q", got)
	}
	// kprop's errors: ctime/cusec set, stime 0 (spec §3.7).
	e := &Error{Code: 60, Text: "Premature EOF found for database file!", CTime: time.Unix(1795447446, 0), CUsec: 12,
		CRealm: "R", CName: &hostVM, Realm: "R", SName: hostVM, EData: []byte{1}}
	der, err := MakeError(e, time.Unix(0, 0))
	if err != nil || !bytes.Contains(der, []byte("19700101000000Z")) || !bytes.Contains(der, []byte("!\x00")) {
		t.Fatalf("MakeError = %x, %v", der, err)
	}
	got, err := ReadError(der)
	if err != nil || got.Code != 60 || got.Text != e.Text || !got.CTime.Equal(e.CTime) || got.CUsec != 12 || got.STime.Unix() != 0 || got.CRealm != "R" || !bytes.Equal(got.EData, []byte{1}) {
		t.Errorf("ReadError = %+v, %v", got, err)
	}
}
