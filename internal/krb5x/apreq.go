package krb5x

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"time"

	"github.com/jcmturner/gokrb5/v8/messages"
	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// Key usages of the AP exchange (RFC 4120 §7.5.1).
const (
	keyUsageTicket        = 2
	keyUsageAuthenticator = 11
)

// AP options (RFC 4120 §5.5.1) as MIT's 32-bit krb5_flags, bit 0 first.
const (
	APOptionUseSessionKey  uint32 = 0x40000000
	APOptionMutualRequired uint32 = 0x20000000
)

// ticketFlagInvalid is TKT_FLG_INVALID (ticket flag bit 7).
const ticketFlagInvalid uint32 = 0x01000000

// DefaultClockSkew is MIT's default clockskew (300 s), used when
// ReadAPReq is given no skew.
const DefaultClockSkew = 300 * time.Second

// Errors a ReadAPReq key lookup returns to choose MIT's error code, as
// MIT's keytab_fetch_error does for an acceptor with an explicit
// principal (kpropd's host/<hostname>).
var (
	// ErrNoKey: no key for the principal in the keytab (45).
	ErrNoKey = errors.New("no key for the ticket's server")
	// ErrKeyVersion: the principal is there, but not with the ticket's
	// kvno (44).
	ErrKeyVersion = errors.New("no key of the ticket's key version")
	// ErrNotUs: the ticket names another server (35).
	ErrNotUs = errors.New("ticket is for another server")
)

// APReqInfo is what a verified AP-REQ establishes.
type APReqInfo struct {
	// Client and ClientRealm name the ticket's client, which the
	// authenticator matched; kpropd.acl is checked against them.
	Client      types.PrincipalName
	ClientRealm string
	// TicketServer and TicketRealm are the server name in the ticket, as
	// the client sent it.
	TicketServer types.PrincipalName
	TicketRealm  string
	// TicketKVNO and TicketEnctype identify the service key that
	// decrypted the ticket; kpropd.acl's optional enctype is compared
	// with TicketEnctype (spec §5.5).
	TicketKVNO    uint32
	TicketEnctype int32
	// TicketFlags are the ticket's flags, bit 0 (reserved) first.
	TicketFlags uint32
	// AuthTime, StartTime (AuthTime when absent) and EndTime are the
	// ticket's times.
	AuthTime, StartTime, EndTime time.Time
	// SessionKey is the ticket's session key, which keys KRB-SAFE and
	// KRB-PRIV when there is no subkey.
	SessionKey types.EncryptionKey
	// Subkey is the authenticator's subkey, if any (kprop sends none).
	Subkey *types.EncryptionKey
	// CTime and CUsec are the authenticator's time, which the AP-REP
	// echoes.
	CTime time.Time
	CUsec int
	// Seq is the client's initial sequence number (0 when absent).
	Seq uint32
	// APOptions are the request's options; MutualRequired is its
	// mutual-required bit, which asks for an AP-REP.
	APOptions      uint32
	MutualRequired bool
	// ReplayTag is what MIT's replay cache stores for this authenticator
	// (k5_rc_tag_from_ciphertext): the checksum at the end of its
	// ciphertext.
	ReplayTag []byte
}

// MarshalTicket encodes a ticket as gokrb5's AS exchange returns it
// (asrep.Ticket) for MakeAPReq: Ticket ::= [APPLICATION 1] SEQUENCE {
// tkt-vno [0] 5, realm [1], sname [2], enc-part [3] }. It does not use
// gokrb5's Ticket.Marshal, which also encodes a decrypted part when there
// is one (gokrb5-audit.md §3).
func MarshalTicket(t messages.Ticket) ([]byte, error) {
	if len(t.EncPart.Cipher) == 0 {
		return nil, errors.New("ticket: no encrypted part")
	}
	return AppendTicket(nil, Ticket{Realm: t.Realm, SName: t.SName,
		EncPart: EncryptedData{EType: t.EncPart.EType, KVNO: uint32(t.EncPart.KVNO), Cipher: t.EncPart.Cipher}}), nil
}

// MakeAPReq builds the AP-REQ kprop sends through krb5_sendauth (spec
// §2.4): ap-options mutual-required only; the ticket (its DER, for
// example from MarshalTicket) as is; an authenticator with crealm, cname,
// cusec, ctime and seq-number (omitted when 0), no checksum and no
// subkey, encrypted with the session key, usage 11, without kvno. ctime
// and cusec are now in seconds and microseconds; the client needs them to
// check the AP-REP.
func MakeAPReq(ticket []byte, sessionKey types.EncryptionKey, crealm string, cname types.PrincipalName, now time.Time, seq uint32) (der []byte, ctime time.Time, cusec int, err error) {
	return makeAPReq(rand.Reader, ticket, sessionKey, crealm, cname, now, seq)
}

func makeAPReq(random io.Reader, ticket []byte, sessionKey types.EncryptionKey, crealm string, cname types.PrincipalName, now time.Time, seq uint32) ([]byte, time.Time, int, error) {
	if _, err := ParseTicket(ticket); err != nil {
		return nil, time.Time{}, 0, fmt.Errorf("ap-req: ticket: %w", wireError(err))
	}
	ctime := time.Unix(now.Unix(), 0).UTC()
	cusec := now.Nanosecond() / 1000
	var auth []byte
	auth = asn1der.AppendCtxInt(auth, 0, PVNO)
	auth = asn1der.AppendCtxString(auth, 1, asn1der.TagGeneralString, []byte(crealm))
	auth = asn1der.AppendCtx(auth, 2, AppendPrincipalName(nil, cname))
	auth = asn1der.AppendCtxInt(auth, 4, int64(cusec))
	auth = asn1der.AppendCtx(auth, 5, appendKerberosTime(nil, ctime))
	if seq != 0 {
		auth = asn1der.AppendCtx(auth, 7, appendUint(nil, seq))
	}
	plain := asn1der.AppendTLV(nil, asn1der.AppTag(AppAuthenticator), asn1der.AppendTLV(nil, asn1der.TagSequence, auth))
	c, err := NewCipher(sessionKey, keyUsageAuthenticator)
	if err != nil {
		return nil, time.Time{}, 0, fmt.Errorf("ap-req: %w", err)
	}
	ct, _, err := c.seal(random, nil, plain)
	if err != nil {
		return nil, time.Time{}, 0, fmt.Errorf("ap-req: %w", err)
	}
	var req []byte
	req = asn1der.AppendCtxInt(req, 0, PVNO)
	req = asn1der.AppendCtxInt(req, 1, AppAPReq)
	req = asn1der.AppendCtx(req, 2, appendBitString32(nil, APOptionMutualRequired))
	req = asn1der.AppendCtx(req, 3, ticket)
	req = asn1der.AppendCtx(req, 4, AppendEncryptedData(nil, EncryptedData{EType: sessionKey.KeyType, Cipher: ct}))
	return asn1der.AppendTLV(nil, asn1der.AppTag(AppAPReq), asn1der.AppendTLV(nil, asn1der.TagSequence, req)), ctime, cusec, nil
}

// ReadAPReq verifies an AP-REQ as MIT's krb5_rd_req does for kpropd
// (rd_req.c, rd_req_dec.c; spec §2.5), without a replay cache: see
// ReadAPReqReplay for that. lookup returns the service key for the
// ticket's server name and realm, kvno (0 when the ticket has none: MIT
// then takes the newest key) and enctype; it returns ErrNoKey,
// ErrKeyVersion or ErrNotUs (or an *Error) to select MIT's code for a
// missing key. MIT looks up its own acceptor principal rather than the
// name in the ticket, whose clear-text sname is not authenticated; an
// acceptor with one principal does the same by returning ErrNotUs (or its
// own key) for any other name. now is the current time and skew the allowed clock skew
// (DefaultClockSkew when 0 or less).
//
// The checks and their codes, in MIT's order: not an AP-REQ 40;
// undecodable 60 (ASN.1 text); pvno or tkt-vno not 5: 3; msg-type not
// 14: 39; no key 45, 44 or 35 from lookup (a missing file or permission
// error is 45); ticket or authenticator not decrypting 31 (60 "Bad
// encryption type" for an etype that is not the key's); authenticator
// client not the ticket's 36; ticket not yet valid 33 or expired 32 (each
// beyond the skew); authenticator time outside the skew 37; ticket with
// the INVALID flag 60 ("Ticket has invalid flag set"). Every failure is
// an *Error.
func ReadAPReq(der []byte, lookup func(sname []string, realm string, kvno uint32, etype int32) (types.EncryptionKey, error), now time.Time, skew time.Duration) (*APReqInfo, error) {
	return ReadAPReqReplay(der, lookup, now, skew, nil)
}

// ReadAPReqReplay is ReadAPReq with a replay check at the point where
// MIT's krb5_rd_req consults its replay cache: after the authenticator
// has been decrypted and matched to the ticket, before the time checks.
// replay sees the verified fields (ReplayTag among them) and returns nil
// to accept the authenticator; an *Error it returns is passed on as is,
// and any other error is reported as 34 (Request is a replay).
func ReadAPReqReplay(der []byte, lookup func(sname []string, realm string, kvno uint32, etype int32) (types.EncryptionKey, error), now time.Time, skew time.Duration, replay func(*APReqInfo) error) (*APReqInfo, error) {
	if !IsApp(der, AppAPReq) {
		return nil, newError(CodeMsgType, nil)
	}
	info, err := readAPReq(der, lookup, now, skew, replay)
	if err != nil {
		return nil, wireError(err)
	}
	return info, nil
}

func readAPReq(der []byte, lookup func(sname []string, realm string, kvno uint32, etype int32) (types.EncryptionKey, error), now time.Time, skew time.Duration, replay func(*APReqInfo) error) (*APReqInfo, error) {
	if lookup == nil {
		return nil, errors.New("ap-req: no key lookup")
	}
	if skew <= 0 {
		skew = DefaultClockSkew
	}
	// Decode the whole message first, as MIT's decode_krb5_ap_req does
	// before anything is decrypted.
	top, err := asn1der.TopLevel(der, AppAPReq)
	if err != nil {
		return nil, err
	}
	f, err := asn1der.Sequence(top.Content, asn1der.Tags(0, 1, 2, 3, 4), asn1der.Tags(0, 1, 2, 3, 4))
	if err != nil {
		return nil, err
	}
	if err := checkHeader(f[0], f[1], AppAPReq); err != nil {
		return nil, err
	}
	info := &APReqInfo{}
	if info.APOptions, err = ParseFlags(f[2]); err != nil {
		return nil, err
	}
	info.MutualRequired = info.APOptions&APOptionMutualRequired != 0
	tkt, err := ParseTicket(f[3])
	if err != nil {
		return nil, err
	}
	auth, err := ParseEncryptedData(f[4])
	if err != nil {
		return nil, err
	}
	info.TicketServer, info.TicketRealm = tkt.SName, tkt.Realm
	info.TicketKVNO, info.TicketEnctype = tkt.EncPart.KVNO, tkt.EncPart.EType

	// The service key and the ticket (rd_req_dec.c try_one_princ).
	svcKey, err := lookup(append([]string(nil), tkt.SName.NameString...), tkt.Realm, tkt.EncPart.KVNO, tkt.EncPart.EType)
	if err != nil {
		return nil, lookupError(err)
	}
	encTicket, err := decryptWith(svcKey, keyUsageTicket, tkt.EncPart.EType, tkt.EncPart.Cipher)
	if err != nil {
		return nil, err
	}
	if err := parseEncTicketPart(encTicket, info); err != nil {
		return nil, err
	}

	// The authenticator, under the session key.
	authPlain, err := decryptWith(info.SessionKey, keyUsageAuthenticator, auth.EType, auth.Cipher)
	if err != nil {
		return nil, err
	}
	crealm, cname, err := parseAuthenticator(authPlain, info)
	if err != nil {
		return nil, err
	}
	if crealm != info.ClientRealm || !cname.Equal(info.Client) {
		return nil, newError(CodeBadMatch, nil)
	}
	if c, err := NewCipher(info.SessionKey, keyUsageAuthenticator); err == nil && len(auth.Cipher) >= c.macLen {
		info.ReplayTag = append([]byte(nil), auth.Cipher[len(auth.Cipher)-c.macLen:]...)
	}

	if replay != nil {
		if err := replay(info); err != nil {
			var ke *Error
			if errors.As(err, &ke) {
				return nil, ke
			}
			return nil, newError(CodeRepeat, err)
		}
	}

	// krb5int_validate_times, krb5_check_clockskew, then the INVALID
	// flag: all in whole seconds, as krb5_timestamp is.
	nowSec, skewSec := now.Unix(), int64(skew/time.Second)
	if info.StartTime.Unix()-nowSec > skewSec {
		return nil, newError(CodeTktNYV, nil)
	}
	if nowSec-info.EndTime.Unix() > skewSec {
		return nil, newError(CodeTktExpired, nil)
	}
	if d := info.CTime.Unix() - nowSec; d > skewSec || -d > skewSec {
		return nil, newError(CodeSkew, nil)
	}
	if info.TicketFlags&ticketFlagInvalid != 0 {
		return nil, genericError(TextTicketInvalid, nil)
	}
	return info, nil
}

// lookupError maps a key lookup failure to MIT's code.
func lookupError(err error) error {
	var ke *Error
	switch {
	case errors.As(err, &ke):
		return ke
	case errors.Is(err, ErrNoKey), errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission):
		return newError(CodeNoKey, err)
	case errors.Is(err, ErrKeyVersion):
		return newError(CodeBadKeyVer, err)
	case errors.Is(err, ErrNotUs):
		return newError(CodeNotUs, err)
	}
	return genericError(err.Error(), err)
}

// parseEncTicketPart decodes EncTicketPart (RFC 4120 §5.3) into info.
func parseEncTicketPart(b []byte, info *APReqInfo) error {
	e, err := asn1der.TopLevel(b, AppEncTicketPart)
	if err != nil {
		return err
	}
	f, err := asn1der.Sequence(e.Content, asn1der.Tags(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10), asn1der.Tags(0, 1, 2, 3, 4, 5, 7))
	if err != nil {
		return err
	}
	if info.TicketFlags, err = ParseFlags(f[0]); err != nil {
		return err
	}
	if info.SessionKey, err = ParseEncryptionKey(f[1]); err != nil {
		return err
	}
	if info.ClientRealm, err = asn1der.GeneralString(f[2]); err != nil {
		return err
	}
	if info.Client, err = ParsePrincipalName(f[3]); err != nil {
		return err
	}
	tr, err := asn1der.Sequence(f[4], asn1der.Tags(0, 1), asn1der.Tags(0, 1))
	if err != nil {
		return err
	}
	if _, err := asn1der.Int32(tr[0]); err != nil {
		return err
	}
	if _, err := asn1der.Octets(tr[1]); err != nil {
		return err
	}
	if info.AuthTime, err = asn1der.KerberosTime(f[5]); err != nil {
		return err
	}
	info.StartTime = info.AuthTime
	if f[6] != nil {
		st, err := asn1der.KerberosTime(f[6])
		if err != nil {
			return err
		}
		// MIT's krb5int_validate_times: a zero starttime means authtime.
		if st.Unix() != 0 {
			info.StartTime = st
		}
	}
	if info.EndTime, err = asn1der.KerberosTime(f[7]); err != nil {
		return err
	}
	if f[8] != nil {
		if _, err := asn1der.KerberosTime(f[8]); err != nil {
			return err
		}
	}
	if f[9] != nil {
		if err := parseSequenceOf(f[9], func(b []byte) error { _, err := parseAddress(b); return err }); err != nil {
			return err
		}
	}
	if f[10] != nil {
		if err := parseSequenceOf(f[10], parseAuthorizationDataEntry); err != nil {
			return err
		}
	}
	return nil
}

// parseAuthenticator decodes an Authenticator (RFC 4120 §5.5.1) into
// info and returns its client name.
func parseAuthenticator(b []byte, info *APReqInfo) (string, types.PrincipalName, error) {
	var cname types.PrincipalName
	e, err := asn1der.TopLevel(b, AppAuthenticator)
	if err != nil {
		return "", cname, err
	}
	f, err := asn1der.Sequence(e.Content, asn1der.Tags(0, 1, 2, 3, 4, 5, 6, 7, 8), asn1der.Tags(0, 1, 2, 4, 5))
	if err != nil {
		return "", cname, err
	}
	if v, err := asn1der.Int(f[0]); err != nil {
		return "", cname, err
	} else if v != PVNO {
		return "", cname, newError(CodeBadPVNO, nil)
	}
	crealm, err := asn1der.GeneralString(f[1])
	if err != nil {
		return "", cname, err
	}
	if cname, err = ParsePrincipalName(f[2]); err != nil {
		return "", cname, err
	}
	if f[3] != nil {
		cf, err := asn1der.Sequence(f[3], asn1der.Tags(0, 1), asn1der.Tags(0, 1))
		if err != nil {
			return "", cname, err
		}
		if _, err := asn1der.Int32(cf[0]); err != nil {
			return "", cname, err
		}
		if _, err := asn1der.Octets(cf[1]); err != nil {
			return "", cname, err
		}
	}
	cusec, err := asn1der.Int32(f[4])
	if err != nil {
		return "", cname, err
	}
	info.CUsec = int(cusec)
	if info.CTime, err = asn1der.KerberosTime(f[5]); err != nil {
		return "", cname, err
	}
	if f[6] != nil {
		k, err := ParseEncryptionKey(f[6])
		if err != nil {
			return "", cname, err
		}
		info.Subkey = &k
	}
	if f[7] != nil {
		if info.Seq, err = parseSeqNumber(f[7]); err != nil {
			return "", cname, err
		}
	}
	if f[8] != nil {
		if err := parseSequenceOf(f[8], parseAuthorizationDataEntry); err != nil {
			return "", cname, err
		}
	}
	return crealm, cname, nil
}

// parseSequenceOf checks a SEQUENCE OF TLV filling b, calling elem on
// each element's TLV.
func parseSequenceOf(b []byte, elem func([]byte) error) error {
	seq, err := asn1der.Only(b, asn1der.TagSequence)
	if err != nil {
		return err
	}
	for rest := seq.Content; len(rest) > 0; {
		var e asn1der.Element
		if e, rest, err = asn1der.Next(rest); err != nil {
			return err
		}
		if err := elem(e.Full); err != nil {
			return err
		}
	}
	return nil
}

// parseAuthorizationDataEntry checks one AuthorizationData element:
// SEQUENCE { ad-type [0] Int32, ad-data [1] OCTET STRING }.
func parseAuthorizationDataEntry(b []byte) error {
	f, err := asn1der.Sequence(b, asn1der.Tags(0, 1), asn1der.Tags(0, 1))
	if err != nil {
		return err
	}
	if _, err := asn1der.Int32(f[0]); err != nil {
		return err
	}
	_, err = asn1der.Octets(f[1])
	return err
}
