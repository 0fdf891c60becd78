package krb5x

import (
	"bytes"
	"errors"
	"strconv"
	"time"

	"github.com/jcmturner/gokrb5/v8/types"
	"github.com/krb5prop/krb5prop/internal/asn1der"
)

// Protocol error codes (RFC 4120 §7.5.9) that the application messages
// here produce or that kprop and kpropd send. The names follow MIT's
// krb5_err.et without the KRB5KDC_ERR_/KRB5KRB_AP_ERR_ prefixes.
const (
	CodeNone         int32 = 0
	CodeBadPVNO      int32 = 3  // KRB5KDC_ERR_BAD_PVNO
	CodeBadIntegrity int32 = 31 // KRB5KRB_AP_ERR_BAD_INTEGRITY
	CodeTktExpired   int32 = 32 // KRB5KRB_AP_ERR_TKT_EXPIRED
	CodeTktNYV       int32 = 33 // KRB5KRB_AP_ERR_TKT_NYV
	CodeRepeat       int32 = 34 // KRB5KRB_AP_ERR_REPEAT
	CodeNotUs        int32 = 35 // KRB5KRB_AP_ERR_NOT_US
	CodeBadMatch     int32 = 36 // KRB5KRB_AP_ERR_BADMATCH
	CodeSkew         int32 = 37 // KRB5KRB_AP_ERR_SKEW
	CodeBadAddr      int32 = 38 // KRB5KRB_AP_ERR_BADADDR
	CodeBadVersion   int32 = 39 // KRB5KRB_AP_ERR_BADVERSION
	CodeMsgType      int32 = 40 // KRB5KRB_AP_ERR_MSG_TYPE
	CodeModified     int32 = 41 // KRB5KRB_AP_ERR_MODIFIED
	CodeBadOrder     int32 = 42 // KRB5KRB_AP_ERR_BADORDER
	CodeBadKeyVer    int32 = 44 // KRB5KRB_AP_ERR_BADKEYVER
	CodeNoKey        int32 = 45 // KRB5KRB_AP_ERR_NOKEY
	CodeMutFail      int32 = 46 // KRB5KRB_AP_ERR_MUT_FAIL
	CodeInappCksum   int32 = 50 // KRB5KRB_AP_ERR_INAPP_CKSUM
	CodeGeneric      int32 = 60 // KRB5KRB_ERR_GENERIC
)

// MIT's messages for library error codes outside the protocol range. MIT
// sends those as KRB_ERR_GENERIC (60) with the message as e-text (spec
// §2.5), so an *Error for one has Code 60 and Text set to the message.
const (
	TextBadMsgType    = "Invalid message type specified for encoding" // KRB5_BADMSGTYPE
	TextSumtypeNoSupp = "Program lacks support for checksum type"     // KRB5_PROG_SUMTYPE_NOSUPP
	TextBadEnctype    = "Bad encryption type"                         // KRB5_BAD_ENCTYPE
	TextBadMsgSize    = "Message size is incompatible with encryption type"
	TextMutualFailed  = "Mutual authentication failed" // KRB5_MUTUAL_FAILED
	TextTicketInvalid = "Ticket has invalid flag set"  // KRB5KRB_AP_ERR_TKT_INVALID
	TextNoPermEnctype = "Encryption type not permitted"
)

// protocolText is krb5_err.et's message for each protocol error code that
// has one; the others are "KRB5 error code N".
var protocolText = [...]string{
	0: "No error", 1: "Client's entry in database has expired", 2: "Server's entry in database has expired",
	3: "Requested protocol version not supported", 4: "Client's key is encrypted in an old master key",
	5: "Server's key is encrypted in an old master key", 6: "Client not found in Kerberos database",
	7: "Server not found in Kerberos database", 8: "Principal has multiple entries in Kerberos database",
	9: "Client or server has a null key", 10: "Ticket is ineligible for postdating",
	11: "Requested effective lifetime is negative or too short", 12: "KDC policy rejects request",
	13: "KDC can't fulfill requested option", 14: "KDC has no support for encryption type",
	15: "KDC has no support for checksum type", 16: "KDC has no support for padata type",
	17: "KDC has no support for transited type", 18: "Client's credentials have been revoked",
	19: "Credentials for server have been revoked", 20: "TGT has been revoked",
	21: "Client not yet valid - try again later", 22: "Server not yet valid - try again later",
	23: "Password has expired", 24: "Preauthentication failed", 25: "Additional pre-authentication required",
	26: "Requested server and ticket don't match", 27: "Server principal valid for user2user only",
	28: "KDC policy rejects transited path",
	29: "A service is not available that is required to process the request",
	31: "Decrypt integrity check failed", 32: "Ticket expired", 33: "Ticket not yet valid",
	34: "Request is a replay", 35: "The ticket isn't for us", 36: "Ticket/authenticator don't match",
	37: "Clock skew too great", 38: "Incorrect net address", 39: "Protocol version mismatch",
	40: "Invalid message type", 41: "Message stream modified", 42: "Message out of order",
	43: "Illegal cross-realm ticket", 44: "Key version is not available", 45: "Service key not available",
	46: "Mutual authentication failed", 47: "Incorrect message direction",
	48: "Alternative authentication method required", 49: "Incorrect sequence number in message",
	50: "Inappropriate type of checksum in message", 51: "Policy rejects transited path",
	52: "Response too big for UDP, retry with TCP", 60: "Generic error (see e-text)",
	61: "Field is too long for this implementation", 62: "Client not trusted", 63: "KDC not trusted",
	64: "Invalid signature", 65: "Key parameters not accepted", 66: "Certificate mismatch",
	67: "No ticket granting ticket", 68: "Realm not local to KDC", 69: "User to user required",
	70: "Can't verify certificate", 71: "Invalid certificate", 72: "Revoked certificate",
	73: "Revocation status unknown", 74: "Revocation status unavailable", 75: "Client name mismatch",
	76: "KDC name mismatch", 77: "Inconsistent key purpose", 78: "Digest in certificate not accepted",
	79: "Checksum must be included", 80: "Digest in signed-data not accepted",
	81: "Public key encryption not supported", 85: "The IAKERB proxy could not find a KDC",
	86: "The KDC did not respond to the IAKERB proxy", 90: "Preauthentication expired",
	91: "More preauthentication data is required", 93: "An unsupported critical FAST option was requested",
	100: "No acceptable KDF offered",
}

// ErrorText returns MIT's message (krb5_err.et) for a protocol error code,
// as MIT's error_message(code + ERROR_TABLE_BASE_krb5) prints it for codes
// 0..127; unassigned codes read "KRB5 error code N" as in MIT's table.
func ErrorText(code int32) string {
	if code >= 0 && int(code) < len(protocolText) && protocolText[code] != "" {
		return protocolText[code]
	}
	return "KRB5 error code " + strconv.Itoa(int(code))
}

// Error is a Kerberos error: one that goes on the wire as a KRB-ERROR, one
// received as a KRB-ERROR, or one this package detected in a peer's
// message. For the last kind, Code is what MIT's recvauth would send
// (the protocol code, or 60 for library codes beyond 127) and Text is
// MIT's error_message() of the underlying library code (for example
// "Bad encryption type" or "ASN.1 identifier doesn't match expected
// value" with Code 60), which is the e-text MIT puts in its KRB-ERROR.
type Error struct {
	// Code is the error-code field (RFC 4120 §7.5.9).
	Code int32
	// Text is the e-text without the NUL MIT appends on the wire; empty
	// means absent.
	Text string

	// CTime and CUsec are the client's time, omitted when CTime is zero
	// (or the Unix epoch) and CUsec is 0, as MIT omits zero values.
	CTime time.Time
	CUsec int
	// STime and SUsec are the server's time. ReadError fills them;
	// MakeError takes them from its now argument.
	STime time.Time
	SUsec int
	// CName and CRealm name the client; both are omitted when CName is
	// nil (MIT's recvauth sends neither).
	CRealm string
	CName  *types.PrincipalName
	// Realm and SName name the server, which KRB-ERROR requires.
	Realm string
	SName types.PrincipalName
	// EData is the e-data field, omitted when empty.
	EData []byte

	// Err is the condition behind an error this package detected, for
	// errors.Is and errors.As; it is never sent.
	Err error
}

// Error returns MIT's message for the code, as MIT's com_err prints it:
// ErrorText(Code), except for the generic code 60, where MIT's message
// would say only "Generic error (see e-text)" and the e-text, when there
// is one, says what went wrong.
func (e *Error) Error() string {
	if e.Code == CodeGeneric && e.Text != "" {
		return e.Text
	}
	return ErrorText(e.Code)
}

// Unwrap returns the underlying condition, if any.
func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, &Error{Code: c}) match any *Error with code c,
// and with a Text in the target also the text.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code && (t.Text == "" || t.Text == e.Text)
}

// newError is an error this package detected, with protocol code code.
func newError(code int32, cause error) *Error {
	return &Error{Code: code, Text: ErrorText(code), Err: cause}
}

// genericError is an error MIT reports with a library code outside the
// protocol range, which goes on the wire as 60 with MIT's message.
func genericError(text string, cause error) *Error {
	return &Error{Code: CodeGeneric, Text: text, Err: cause}
}

// wireError turns any failure from the decoders or the ciphers into the
// *Error MIT would report for it.
func wireError(err error) *Error {
	var ke *Error
	if errors.As(err, &ke) {
		return ke
	}
	var ae *asn1der.Error
	switch {
	case errors.As(err, &ae):
		return genericError(ae.Text, err)
	case errors.Is(err, ErrIntegrity):
		return newError(CodeBadIntegrity, err)
	case errors.Is(err, ErrMessageSize):
		return genericError(TextBadMsgSize, err)
	case errors.Is(err, ErrUnsupportedEnctype):
		return genericError(TextBadEnctype, err)
	}
	return genericError(err.Error(), err)
}

// MakeError encodes e as MIT does (asn1_k_encode.c krb5_error): pvno 5,
// msg-type 30, ctime/cusec only when set, stime/susec from now (MIT stamps
// the error when it sends it; kprop's errors carry the zero time, which
// time.Unix(0, 0) or the zero time.Time gives), error-code, crealm/cname
// only with a client, realm/sname, and e-text as a GeneralString ending in
// a NUL, as MIT sends strlen+1 bytes.
func MakeError(e *Error, now time.Time) ([]byte, error) {
	if e == nil {
		return nil, errors.New("krb-error: no error to encode")
	}
	var body []byte
	body = asn1der.AppendCtxInt(body, 0, PVNO)
	body = asn1der.AppendCtxInt(body, 1, AppKRBError)
	if !e.CTime.IsZero() && e.CTime.Unix() != 0 {
		body = asn1der.AppendCtx(body, 2, appendKerberosTime(nil, e.CTime))
	}
	if e.CUsec != 0 {
		body = asn1der.AppendCtxInt(body, 3, int64(e.CUsec))
	}
	susec := 0
	if !now.IsZero() {
		susec = now.Nanosecond() / 1000
	}
	body = asn1der.AppendCtx(body, 4, appendKerberosTime(nil, now))
	body = asn1der.AppendCtxInt(body, 5, int64(susec))
	body = asn1der.AppendCtx(body, 6, appendUint(nil, uint32(e.Code)))
	if e.CName != nil {
		body = asn1der.AppendCtxString(body, 7, asn1der.TagGeneralString, []byte(e.CRealm))
		body = asn1der.AppendCtx(body, 8, AppendPrincipalName(nil, *e.CName))
	}
	body = asn1der.AppendCtxString(body, 9, asn1der.TagGeneralString, []byte(e.Realm))
	body = asn1der.AppendCtx(body, 10, AppendPrincipalName(nil, e.SName))
	if e.Text != "" {
		text := append([]byte(e.Text), 0)
		body = asn1der.AppendCtxString(body, 11, asn1der.TagGeneralString, text)
	}
	if len(e.EData) > 0 {
		body = asn1der.AppendCtxString(body, 12, asn1der.TagOctetString, e.EData)
	}
	seq := asn1der.AppendTLV(make([]byte, 0, asn1der.TLVSize(len(body))), asn1der.TagSequence, body)
	return asn1der.AppendTLV(make([]byte, 0, asn1der.TLVSize(len(seq))), asn1der.AppTag(AppKRBError), seq), nil
}

// ReadError decodes a KRB-ERROR. The e-text loses MIT's trailing NUL (one
// NUL, if present). A message that is not a KRB-ERROR gives an *Error with
// code 40; a malformed one an *Error with code 60 (or 3 for a wrong pvno),
// as MIT's decoder would report it.
func ReadError(der []byte) (*Error, error) {
	if !IsApp(der, AppKRBError) {
		return nil, newError(CodeMsgType, nil)
	}
	e, err := readError(der)
	if err != nil {
		return nil, wireError(err)
	}
	return e, nil
}

func readError(der []byte) (*Error, error) {
	top, err := asn1der.TopLevel(der, AppKRBError)
	if err != nil {
		return nil, err
	}
	f, err := asn1der.Sequence(top.Content, asn1der.Tags(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12), asn1der.Tags(0, 1, 4, 5, 6, 9, 10))
	if err != nil {
		return nil, err
	}
	if err := checkHeader(f[0], f[1], AppKRBError); err != nil {
		return nil, err
	}
	out := &Error{}
	if f[2] != nil {
		if out.CTime, err = asn1der.KerberosTime(f[2]); err != nil {
			return nil, err
		}
	}
	if f[3] != nil {
		v, err := asn1der.Int32(f[3])
		if err != nil {
			return nil, err
		}
		out.CUsec = int(v)
	}
	if out.STime, err = asn1der.KerberosTime(f[4]); err != nil {
		return nil, err
	}
	susec, err := asn1der.Int32(f[5])
	if err != nil {
		return nil, err
	}
	out.SUsec = int(susec)
	code, err := asn1der.Uint32(f[6])
	if err != nil {
		return nil, err
	}
	out.Code = int32(code)
	// MIT reads crealm and cname into one principal: cname without crealm
	// leaves the realm empty; crealm alone is ignored.
	if f[7] != nil {
		if out.CRealm, err = asn1der.GeneralString(f[7]); err != nil {
			return nil, err
		}
	}
	if f[8] != nil {
		pn, err := ParsePrincipalName(f[8])
		if err != nil {
			return nil, err
		}
		out.CName = &pn
	} else {
		out.CRealm = ""
	}
	if out.Realm, err = asn1der.GeneralString(f[9]); err != nil {
		return nil, err
	}
	if out.SName, err = ParsePrincipalName(f[10]); err != nil {
		return nil, err
	}
	if f[11] != nil {
		e, err := asn1der.Only(f[11], asn1der.TagGeneralString)
		if err != nil {
			return nil, err
		}
		out.Text = string(bytes.TrimSuffix(e.Content, []byte{0}))
	}
	if f[12] != nil {
		ed, err := asn1der.Octets(f[12])
		if err != nil {
			return nil, err
		}
		out.EData = append([]byte(nil), ed...)
	}
	return out, nil
}

// checkHeader checks the pvno and msg-type fields of a message. A wrong
// pvno is MIT's KRB5KDC_ERR_BAD_PVNO (3). A wrong msg-type is reported as
// KRB5_BADMSGTYPE (60), or 39 for AP-REQ (krb5_rd_req's mapping), as RFC
// 4120 asks; MIT 1.20's decoder does not look at that field.
func checkHeader(pv, mt []byte, msgType int) error {
	v, err := asn1der.Int(pv)
	if err != nil {
		return err
	}
	if v != PVNO {
		return newError(CodeBadPVNO, nil)
	}
	t, err := asn1der.Int(mt)
	if err != nil {
		return err
	}
	if t != int64(msgType) {
		if msgType == AppAPReq {
			return newError(CodeBadVersion, nil)
		}
		return genericError(TextBadMsgType, nil)
	}
	return nil
}
