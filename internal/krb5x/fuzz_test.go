package krb5x

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/asn1der"
)

var writeFuzzSeeds = flag.Bool("write-fuzz-seeds", false, "rewrite the seed corpora in testdata/fuzz from the captured sessions")

// checkWireError fails unless err is an *Error a peer could be sent.
func checkWireError(t *testing.T, err error) {
	t.Helper()
	var ke *Error
	if !errors.As(err, &ke) {
		t.Fatalf("%v is not an *Error", err)
	}
	if ke.Code < 0 || ke.Code > 127 || (ke.Code == CodeGeneric && ke.Text == "") {
		t.Fatalf("error %d %q", ke.Code, ke.Text)
	}
}

func fuzzSession(f *testing.F) session {
	f.Helper()
	s := loadSession(f, sessions[0].file, sessions[0].keytab)
	s.lookup = keytabLookup(f, sessions[0].keytab, sessions[1].keytab)
	return s
}

func FuzzReadSafe(f *testing.F) {
	s := fuzzSession(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		m, err := ReadSafe(s.key, der)
		if err != nil {
			checkWireError(t, err)
			return
		}
		again, err := MakeSafe(s.key, m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ReadSafe(s.key, again)
		if err != nil || !bytes.Equal(m2.UserData, m.UserData) || m2.Seq != m.Seq || !m2.SAddr.Equal(m.SAddr) || (m2.RAddr == nil) != (m.RAddr == nil) {
			t.Fatalf("re-encoded message reads %+v, %v; was %+v", m2, err, m)
		}
	})
}

// sealRaw wraps plaintext, encrypted with key and usage from the zero
// state, in an EncryptedData, so that fuzzed plaintexts reach the
// decoders behind the integrity check.
func sealRaw(t *testing.T, key types.EncryptionKey, usage uint32, plaintext []byte) []byte {
	c, err := NewCipher(key, usage)
	if err != nil {
		t.Fatal(err)
	}
	ct, _, err := c.Encrypt(nil, plaintext)
	if err != nil {
		t.Fatal(err)
	}
	return AppendEncryptedData(nil, EncryptedData{EType: key.KeyType, Cipher: ct})
}

// wrapMessage encodes [APPLICATION app] { pvno, msg-type, [n] inner }.
func wrapMessage(app, n int, inner []byte) []byte {
	var body []byte
	body = asn1der.AppendCtxInt(body, 0, PVNO)
	body = asn1der.AppendCtxInt(body, 1, int64(app))
	body = asn1der.AppendCtx(body, n, inner)
	return asn1der.AppendTLV(nil, asn1der.AppTag(app), asn1der.AppendTLV(nil, asn1der.TagSequence, body))
}

// FuzzPrivOpen opens fuzzed KRB-PRIV messages; an input starting with a
// zero byte is instead the plaintext of one, sealed before it is opened.
func FuzzPrivOpen(f *testing.F) {
	s := fuzzSession(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		if len(der) > 0 && der[0] == 0 {
			der = wrapMessage(AppKRBPriv, 3, sealRaw(t, s.key, keyUsageKRBPriv, der[1:]))
		}
		m, err := streamAt(t, s.key, nil).Open(der)
		if err != nil {
			checkWireError(t, err)
			return
		}
		again, err := streamAt(t, s.key, nil).Seal(m)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := streamAt(t, s.key, nil).Open(again)
		if err != nil || !bytes.Equal(m2.UserData, m.UserData) || m2.Seq != m.Seq || !m2.SAddr.Equal(m.SAddr) {
			t.Fatalf("re-sealed message reads %+v, %v", m2, err)
		}
	})
}

func FuzzReadAPReq(f *testing.F) {
	s := fuzzSession(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		info, err := ReadAPReq(der, s.lookup, s.cp.start, 0)
		if err != nil {
			checkWireError(t, err)
			return
		}
		rep, err := MakeAPRep(info.SessionKey, info.CTime, info.CUsec, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := ReadAPRep(info.SessionKey, rep, info.CTime, info.CUsec); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzReadAPRep reads fuzzed AP-REPs; an input starting with a zero byte
// is instead the plaintext of one, encrypted first.
func FuzzReadAPRep(f *testing.F) {
	s := fuzzSession(f)
	f.Fuzz(func(t *testing.T, der []byte) {
		if len(der) > 0 && der[0] == 0 {
			der = wrapMessage(AppAPRep, 2, sealRaw(t, s.key, keyUsageAPRepEncPart, der[1:]))
		}
		if _, _, err := ReadAPRep(s.key, der, s.info.CTime, s.info.CUsec); err != nil {
			checkWireError(t, err)
		}
	})
}

func FuzzReadError(f *testing.F) {
	f.Fuzz(func(t *testing.T, der []byte) {
		e, err := ReadError(der)
		if err != nil {
			checkWireError(t, err)
			return
		}
		if e.SUsec < 0 || e.SUsec > 999999 {
			return // MakeError takes susec from a time.Time
		}
		again, err := MakeError(e, e.STime.Add(time.Duration(e.SUsec)*time.Microsecond))
		if err != nil {
			t.Fatal(err)
		}
		e2, err := ReadError(again)
		if err != nil {
			t.Fatal(err)
		}
		if e2.Code != e.Code || e2.Text != e.Text || e2.STime.Unix() != e.STime.Unix() || e2.SUsec != e.SUsec ||
			kerberosSeconds(e2.CTime) != kerberosSeconds(e.CTime) || e2.CUsec != e.CUsec || e2.Realm != e.Realm ||
			(e2.CName == nil) != (e.CName == nil) || e2.CRealm != e.CRealm || !bytes.Equal(e2.EData, e.EData) {
			t.Fatalf("re-encoded error reads %+v; was %+v", e2, e)
		}
	})
}

// FuzzDecryptedParts feeds the decoders of the encrypted parts (ticket,
// authenticator, AP-REP and KRB-PRIV contents) directly.
func FuzzDecryptedParts(f *testing.F) {
	f.Fuzz(func(t *testing.T, b []byte) {
		var info APReqInfo
		for _, err := range []error{
			parseEncTicketPart(b, &info),
			func() error { _, _, err := parseAuthenticator(b, &info); return err }(),
			func() error { _, _, _, _, err := parseEncAPRepPart(b); return err }(),
			func() error { _, err := parseEncKrbPrivPart(b); return err }(),
		} {
			if err != nil {
				checkWireError(t, wireError(err))
			}
		}
	})
}

// TestWriteFuzzSeeds regenerates testdata/fuzz from the captures when run
// with -write-fuzz-seeds.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*writeFuzzSeeds {
		t.Skip("run with -write-fuzz-seeds to regenerate the seed corpora")
	}
	s := loadSession(t, sessions[0].file, sessions[0].keytab)
	s384 := loadSession(t, sessions[1].file, sessions[1].keytab)
	empty := loadCapture(t, "empty-dump.json")
	bad := loadCapture(t, "error-bad-integrity-block1.json")
	nokey := loadCapture(t, "error-nokey.json")
	smallMsg := PrivMessage{UserData: []byte("kdb5_util load_dump version 7\n"), Seq: 5, SAddr: loopback, RAddr: &loopback}
	small, err := streamAt(t, s.key, nil).Seal(smallMsg)
	if err != nil {
		t.Fatal(err)
	}
	kpropErr, err := MakeError(&Error{Code: 60, Text: "Premature EOF found for database file!", CTime: s.info.CTime, CUsec: s.info.CUsec,
		CRealm: "KRBTEST.COM", CName: &hostVM, Realm: "KRBTEST.COM", SName: hostVM}, time.Unix(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	plain := func(key types.EncryptionKey, usage uint32, ct []byte) []byte {
		c, err := NewCipher(key, usage)
		if err != nil {
			t.Fatal(err)
		}
		pt, _, err := c.Decrypt(nil, ct)
		if err != nil {
			t.Fatal(err)
		}
		return pt
	}
	tkt, err := ParseTicket(func() []byte {
		req, _ := asn1der.TopLevel(s.cp.c2s[2], AppAPReq)
		f, _ := asn1der.Sequence(req.Content, 0x1f, 0)
		return f[3]
	}())
	if err != nil {
		t.Fatal(err)
	}
	svc, err := s.lookup(tkt.SName.NameString, tkt.Realm, tkt.EncPart.KVNO, tkt.EncPart.EType)
	if err != nil {
		t.Fatal(err)
	}
	encAPRep := plain(s.key, keyUsageAPRepEncPart, cipherOf(t, s.cp.s2c[1], AppAPRep, 2))
	smallPlain := plain(s.key, keyUsageKRBPriv, cipherOf(t, small, AppKRBPriv, 3))
	seeds := map[string][][]byte{
		"FuzzDecryptedParts": {
			plain(svc, keyUsageTicket, tkt.EncPart.Cipher),
			plain(s.key, keyUsageAuthenticator, cipherOf(t, s.cp.c2s[2], AppAPReq, 4)),
			encAPRep,
			smallPlain,
		},
		"FuzzReadSafe":  {s.cp.c2s[3], s.cp.s2c[2], s384.cp.c2s[3], empty.c2s[3]},
		"FuzzPrivOpen":  {s.cp.c2s[4], s.cp.c2s[6], small, append([]byte{0}, smallPlain...)},
		"FuzzReadAPReq": {s.cp.c2s[2], s384.cp.c2s[2], bad.c2s[2], empty.c2s[2], nokey.c2s[2]},
		"FuzzReadAPRep": {s.cp.s2c[1], s384.cp.s2c[1], append([]byte{0}, encAPRep...)},
		"FuzzReadError": {nokey.s2c[0], bad.s2c[2], kpropErr},
	}
	for target, list := range seeds {
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		for i, b := range list {
			content := "go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n"
			if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("mit-%d", i)), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
}
