package kdc

import (
	"errors"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// Protocol error codes (RFC 4120 §7.5.9) the KDC sends, named as in MIT's
// krb5_err.et without the KRB5KDC_ERR_/KRB5KRB_AP_ERR_ prefixes.
const (
	CodeNameExp            int32 = 1  // KDC_ERR_NAME_EXP
	CodeServiceExp         int32 = 2  // KDC_ERR_SERVICE_EXP
	CodeBadPVNO            int32 = 3  // KDC_ERR_BAD_PVNO
	CodeCPrincipalUnknown  int32 = 6  // KDC_ERR_C_PRINCIPAL_UNKNOWN
	CodeSPrincipalUnknown  int32 = 7  // KDC_ERR_S_PRINCIPAL_UNKNOWN
	CodeCannotPostdate     int32 = 10 // KDC_ERR_CANNOT_POSTDATE
	CodePolicy             int32 = 12 // KDC_ERR_POLICY
	CodeBadOption          int32 = 13 // KDC_ERR_BADOPTION
	CodeETypeNoSupp        int32 = 14 // KDC_ERR_ETYPE_NOSUPP
	CodeSumTypeNoSupp      int32 = 15 // KDC_ERR_SUMTYPE_NOSUPP
	CodePADataTypeNoSupp   int32 = 16 // KDC_ERR_PADATA_TYPE_NOSUPP
	CodeClientRevoked      int32 = 18 // KDC_ERR_CLIENT_REVOKED
	CodeTGTRevoked         int32 = 20 // KDC_ERR_TGT_REVOKED
	CodeKeyExpired         int32 = 23 // KDC_ERR_KEY_EXP
	CodePreauthFailed      int32 = 24 // KDC_ERR_PREAUTH_FAILED
	CodePreauthRequired    int32 = 25 // KDC_ERR_PREAUTH_REQUIRED
	CodeServerNoMatch      int32 = 26 // KDC_ERR_SERVER_NOMATCH
	CodeMustUseUser2User   int32 = 27 // KDC_ERR_MUST_USE_USER2USER
	CodeSvcUnavailable     int32 = 29 // KDC_ERR_SVC_UNAVAILABLE
	CodeBadIntegrity       int32 = 31 // KRB_AP_ERR_BAD_INTEGRITY
	CodeTktExpired         int32 = 32 // KRB_AP_ERR_TKT_EXPIRED
	CodeTktNotYetValid     int32 = 33 // KRB_AP_ERR_TKT_NYV
	CodeNotUs              int32 = 35 // KRB_AP_ERR_NOT_US
	CodeBadMatch           int32 = 36 // KRB_AP_ERR_BADMATCH
	CodeSkew               int32 = 37 // KRB_AP_ERR_SKEW
	CodeBadAddr            int32 = 38 // KRB_AP_ERR_BADADDR
	CodeInappropriateCksum int32 = 50 // KRB_AP_ERR_INAPP_CKSUM
	CodeResponseTooBig     int32 = 52 // KRB_ERR_RESPONSE_TOO_BIG
	CodeGeneric            int32 = 60 // KRB_ERR_GENERIC
	CodeFieldTooLong       int32 = 61 // KRB_ERR_FIELD_TOOLONG
)

// Error is the failure of one request as the KDC reports it: the protocol
// code that goes on the wire, MIT's status string (which MIT's KDC sends
// as the e-text and logs as the reason, "NEEDED_PREAUTH",
// "CLIENT_NOT_FOUND"…), and the message MIT logs for the underlying error.
type Error struct {
	// Code is the error-code of the KRB-ERROR.
	Code int32
	// Status is MIT's status string.
	Status string
	// Err is the underlying failure when it is not a protocol error (a
	// database or decoding error, sent as KRB_ERR_GENERIC); nil
	// otherwise.
	Err error
	// EData is the e-data (a METHOD-DATA of preauthentication hints), if
	// any.
	EData []byte
	// Msg, when set, replaces the code's text in the log, as MIT's
	// k5_setmsg does for some protocol errors.
	Msg string
}

// Error returns the message MIT logs for the error: krb5_err.et's text for
// a protocol code, else the underlying error's.
func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	if e.Err != nil {
		return e.Err.Error()
	}
	return krb5x.ErrorText(e.Code)
}

// Unwrap returns the underlying failure.
func (e *Error) Unwrap() error { return e.Err }

// fail is an *Error with a protocol code.
func fail(code int32, status string) *Error {
	return &Error{Code: code, Status: status}
}

// failWith is an *Error for an error outside the protocol range, which MIT
// sends as KRB_ERR_GENERIC (errcode_to_protocol) and logs with its own
// message. An *Error or krb5x error inside err keeps its code.
func failWith(status string, err error) *Error {
	var ke *Error
	if errors.As(err, &ke) {
		c := *ke
		c.Status = status
		return &c
	}
	var xe *krb5x.Error
	if errors.As(err, &xe) && xe.Code != CodeGeneric {
		return &Error{Code: xe.Code, Status: status}
	}
	return &Error{Code: CodeGeneric, Status: status, Err: err}
}
