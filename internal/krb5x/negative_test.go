package krb5x

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"testing"

	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// session is what the tests need from a captured session: its messages,
// session key, initial sequence numbers and the cipher state before each
// KRB-PRIV block.
type session struct {
	cp     capture
	key    types.EncryptionKey
	lookup func([]string, string, uint32, int32) (types.EncryptionKey, error)
	info   *APReqInfo
	states [][]byte // states[i]: cipher state before block i
}

func loadSession(t testing.TB, file, kt string) session {
	t.Helper()
	s := session{cp: loadCapture(t, file), lookup: keytabLookup(t, kt)}
	info, err := ReadAPReq(s.cp.c2s[2], s.lookup, s.cp.start, 0)
	if err != nil {
		t.Fatal(err)
	}
	s.info, s.key = info, info.SessionKey
	state := make([]byte, 16)
	for _, der := range s.cp.c2s[4:] {
		s.states = append(s.states, state)
		_, state = confounder(t, s.key, keyUsageKRBPriv, state, cipherOf(t, der, AppKRBPriv, 3))
	}
	return s
}

var sessions = []struct{ file, keytab string }{
	{"session-aes256-sha1.json", "test-keytab-aes-sha1.kt"},
	{"session-aes256-sha384.json", "test-keytab-aes-sha384.kt"},
}

// streamAt is a PrivStream positioned where MIT's was before a block.
func streamAt(t testing.TB, key types.EncryptionKey, state []byte) *PrivStream {
	t.Helper()
	s, err := NewPrivStream(key)
	if err != nil {
		t.Fatal(err)
	}
	copy(s.state, state)
	return s
}

// errCode returns the MIT code of err, failing the test for anything that
// is not an *Error or is a generic error without MIT's text.
func errCode(t *testing.T, what string, err error) int32 {
	t.Helper()
	var ke *Error
	if !errors.As(err, &ke) {
		t.Fatalf("%s: %v is not an *Error", what, err)
	}
	if ke.Code == CodeGeneric && ke.Text == "" {
		t.Fatalf("%s: generic error without text", what)
	}
	return ke.Code
}

// flipAll calls read on der with each single bit flipped and checks that
// every one fails with a code in allowed, except flips of bytes that
// unprotected reports as outside any integrity check, which may also be
// accepted (counted as code -1). It returns how often each code came up.
func flipAll(t *testing.T, der []byte, allowed []int32, read func([]byte) error, unprotected ...[]byte) map[int32]int {
	t.Helper()
	counts := map[int32]int{}
	buf := append([]byte(nil), der...)
	for i := range buf {
		for bit := 0; bit < 8; bit++ {
			buf[i] ^= 1 << bit
			err := read(buf)
			buf[i] ^= 1 << bit
			what := fmt.Sprintf("byte %d bit %d", i, bit)
			if err == nil {
				if !within(der, i, unprotected) {
					t.Fatalf("%s: flipped message accepted", what)
				}
				counts[-1]++
				continue
			}
			c := errCode(t, what, err)
			ok := false
			for _, a := range allowed {
				ok = ok || c == a
			}
			if !ok {
				t.Fatalf("%s: code %d (%v)", what, c, err)
			}
			counts[c]++
		}
	}
	return counts
}

// within reports whether byte i of der lies in one of the sub-slices
// parts (found by content, each unique in der).
func within(der []byte, i int, parts [][]byte) bool {
	for _, p := range parts {
		if at := bytes.Index(der, p); at >= 0 && i >= at && i < at+len(p) {
			return true
		}
	}
	return false
}

func codes(m map[int32]int) string {
	var ks []int
	for k := range m {
		ks = append(ks, int(k))
	}
	sort.Ints(ks)
	s := ""
	for _, k := range ks {
		s += fmt.Sprintf(" %d:%d", k, m[int32(k)])
	}
	return s
}

// TestSafeBitFlips flips every bit of MIT's KRB-SAFE messages: each
// must fail with the tag (40), pvno (3), ASN.1 or type (60), checksum
// type (50) or checksum (41) code.
func TestSafeBitFlips(t *testing.T) {
	for _, ss := range sessions {
		s := loadSession(t, ss.file, ss.keytab)
		for name, der := range map[string][]byte{"size": s.cp.c2s[3], "confirmation": s.cp.s2c[2]} {
			t.Run(ss.file+"/"+name, func(t *testing.T) {
				counts := flipAll(t, der, []int32{CodeMsgType, CodeBadPVNO, CodeGeneric, CodeInappCksum, CodeModified}, func(b []byte) error {
					_, err := ReadSafe(s.key, b)
					return err
				})
				t.Logf("%d flips, codes%s", 8*len(der), codes(counts))
			})
		}
	}
}

// TestPrivBitFlips flips every bit of MIT's KRB-PRIV blocks (the full
// 32 KiB first block only without -short): each must fail with 40, 3, 60
// or 31, never be accepted.
func TestPrivBitFlips(t *testing.T) {
	for _, ss := range sessions {
		s := loadSession(t, ss.file, ss.keytab)
		for i, der := range s.cp.c2s[4:] {
			if i < 2 && (testing.Short() || ss.file != sessions[0].file || i == 1) {
				continue
			}
			t.Run(fmt.Sprintf("%s/block%d", ss.file, i), func(t *testing.T) {
				counts := flipAll(t, der, []int32{CodeMsgType, CodeBadPVNO, CodeGeneric, CodeBadIntegrity}, func(b []byte) error {
					_, err := streamAt(t, s.key, s.states[i]).Open(b)
					return err
				})
				t.Logf("%d flips, codes%s", 8*len(der), codes(counts))
			})
		}
	}
}

// TestAPRepAPReqBitFlips flips every bit of MIT's AP-REP and, sampling,
// of the AP-REQ.
func TestAPRepAPReqBitFlips(t *testing.T) {
	s := loadSession(t, sessions[1].file, sessions[1].keytab)
	counts := flipAll(t, s.cp.s2c[1], []int32{CodeMsgType, CodeBadPVNO, CodeGeneric, CodeBadIntegrity}, func(b []byte) error {
		_, _, err := ReadAPRep(s.key, b, s.info.CTime, s.info.CUsec)
		return err
	})
	t.Logf("AP-REP: codes%s", codes(counts))
	// The ap-options and the ticket's server name type are not covered by
	// any checksum or encryption (RFC 4120 §5.5.1), and MIT compares
	// principals without their name types: flips there may pass, as they
	// do with MIT. Flips in the ticket's realm or name components reach the
	// key lookup, which refuses them as MIT's keytab would.
	der := s.cp.c2s[2]
	req, _ := asn1der.TopLevel(der, AppAPReq)
	rf, _ := asn1der.Sequence(req.Content, 0x1f, 0)
	tkt, _ := asn1der.TopLevel(rf[3], AppTicket)
	tf, _ := asn1der.Sequence(tkt.Content, 0xf, 0)
	sn, _ := asn1der.Sequence(tf[2], 0x3, 0)
	counts = flipAll(t, der, []int32{CodeMsgType, CodeBadPVNO, CodeGeneric, CodeBadIntegrity, CodeBadVersion, CodeNoKey, CodeBadKeyVer}, func(b []byte) error {
		info, err := ReadAPReq(b, s.lookup, s.cp.start, 0)
		if err == nil && (info.Seq != s.info.Seq || !bytes.Equal(info.SessionKey.KeyValue, s.key.KeyValue)) {
			t.Fatal("a flip changed an authenticated field")
		}
		return err
	}, rf[2], sn[0])
	t.Logf("AP-REQ: codes%s", codes(counts))
}

// TestTruncations feeds every proper prefix of every captured message to
// every reader: none may panic or accept it.
func TestTruncations(t *testing.T) {
	for _, ss := range sessions {
		s := loadSession(t, ss.file, ss.keytab)
		var msgs [][]byte
		msgs = append(msgs, s.cp.c2s...)
		msgs = append(msgs, s.cp.s2c...)
		errFrame := loadCapture(t, "error-bad-integrity-block1.json").s2c[2]
		msgs = append(msgs, errFrame)
		for _, der := range msgs {
			for n := 0; n < len(der); n++ {
				p := der[:n:n]
				if _, err := ReadSafe(s.key, p); err == nil {
					t.Fatalf("ReadSafe accepted a %d-byte prefix", n)
				}
				if _, err := streamAt(t, s.key, nil).Open(p); err == nil {
					t.Fatalf("Open accepted a %d-byte prefix", n)
				}
				if _, _, err := ReadAPRep(s.key, p, s.info.CTime, s.info.CUsec); err == nil {
					t.Fatalf("ReadAPRep accepted a %d-byte prefix", n)
				}
				if _, err := ReadAPReq(p, s.lookup, s.cp.start, 0); err == nil {
					t.Fatalf("ReadAPReq accepted a %d-byte prefix", n)
				}
				if _, err := ReadError(p); err == nil {
					t.Fatalf("ReadError accepted a %d-byte prefix", n)
				}
			}
		}
	}
}
