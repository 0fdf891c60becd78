package propagation

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// mitText is an error whose text is one of MIT's com_err messages, word
// for word (hence the capitals).
type mitText string

func (m mitText) Error() string { return string(m) }

// The sendauth failures kprop reports (MIT's krb5 error table), and the
// ones kpropd logs for a bad version string.
var (
	// ErrBadSendauthVersion: the server answered 1 to the version strings,
	// or (on the server) the client's sendauth version string was wrong.
	ErrBadSendauthVersion error = mitText("Bad sendauth version was sent")
	// ErrBadApplVersion: the server answered 2, or the client's
	// application version was not "kprop5_01".
	ErrBadApplVersion error = mitText("Bad application version was sent (via sendauth)")
	// ErrBadResponse: the server answered a byte other than 0, 1 or 2.
	ErrBadResponse error = mitText("Bad response (during sendauth exchange)")
	// ErrSendauthRejected: the server sent a KRB-ERROR instead of
	// accepting the AP-REQ; Error.Remote holds it.
	ErrSendauthRejected error = mitText("Server rejected authentication (during sendauth exchange)")
	// ErrUnauthorized: kpropd.acl does not list the client (with the
	// ticket's enctype).
	ErrUnauthorized error = mitText("unauthorized principal")
	// ErrPrematureEOF: the dump ended before the size the sender
	// announced.
	ErrPrematureEOF error = mitText("Premature EOF found for database file!")
)

// Error is the failure of one step of a propagation session. Its text is
// the line MIT's kprop or kpropd prints or logs for that step, so kprop
// and kpropd in cmd/ can reproduce MIT's output exactly with Lines; Hint
// adds what MIT leaves the operator to guess.
type Error struct {
	// Op is MIT's wording of the step. com_err puts it after the cause
	// ("Broken pipe while sending database block starting at 0"); an Op
	// ending in ":" goes before it, as kpropd's "Error in krb5_recvauth:"
	// lines do. With a nil Err, Op is the whole message.
	Op string
	// Err is what went wrong, if more than Op says.
	Err error
	// Remote is the KRB-ERROR the peer sent, when that is what ended the
	// session. Side says from which end it came.
	Remote *krb5x.Error
	// Side is "server" when kprop received Remote, "client" when kpropd
	// did; it picks MIT's wording for the remote-error lines.
	Side string
	// Hint is what the failure usually means, when MIT's message alone
	// does not say; empty when there is nothing to add.
	Hint string

	// kind is a sentinel such as ErrUnauthorized that errors.Is finds
	// without it appearing in the text.
	kind error
}

// Error joins the lines MIT would print with "; ", followed by the hint.
func (e *Error) Error() string {
	s := strings.Join(e.Lines(""), "; ")
	if e.Hint != "" {
		if s != "" {
			s += ": "
		}
		s += e.Hint
	}
	return s
}

// Unwrap returns the cause, or the remote KRB-ERROR.
func (e *Error) Unwrap() []error {
	var errs []error
	if e.kind != nil {
		errs = append(errs, e.kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	if e.Remote != nil {
		errs = append(errs, e.Remote)
	}
	return errs
}

// Message is the com_err line for the failed step without a program name
// (what kpropd logs), or "" when MIT prints only the remote-error lines.
func (e *Error) Message() string {
	switch {
	case e.Err == nil:
		return e.Op
	case e.Op == "":
		return causeText(e.Err)
	case strings.HasSuffix(e.Op, ":"):
		return e.Op + " " + causeText(e.Err)
	default:
		return causeText(e.Err) + " " + e.Op
	}
}

// Lines returns what MIT's program prog writes to stderr for this error,
// one string per line: the com_err line "prog: <message>", then for a
// KRB-ERROR from the peer either "Generic remote error: <e-text>" (code
// 60) or "prog: <code's message> signalled from server" and "Error text
// from server: <e-text>" (kprop.c, spec §2.5 and §3.6; kpropd says
// "signaled" and "Error text from client"). An empty prog leaves the
// "prog: " prefix out.
func (e *Error) Lines(prog string) []string {
	prefix := ""
	if prog != "" {
		prefix = prog + ": "
	}
	var lines []string
	if m := e.Message(); m != "" {
		lines = append(lines, prefix+m)
	}
	if r := e.Remote; r != nil {
		text := r.Text
		if i := strings.IndexByte(text, 0); i >= 0 {
			text = text[:i] // MIT prints the e-text with %s
		}
		signalled, from := "signalled from server", "Error text from server: "
		if e.Side == "client" {
			signalled, from = "signaled from server", "Error text from client: "
		}
		switch {
		case r.Code == krb5x.CodeGeneric:
			if text != "" {
				lines = append(lines, "Generic remote error: "+text)
			}
		case r.Code != 0:
			lines = append(lines, prefix+krb5x.ErrorText(r.Code)+" "+signalled)
			if text != "" {
				lines = append(lines, from+text)
			}
		}
	}
	return lines
}

// causeText is MIT's error_message for a cause: the strerror text for
// system errors (capitalised as glibc writes it), ECONNABORTED's for an
// end of stream, the table message for Kerberos errors.
func causeText(err error) string {
	var ke *krb5x.Error
	var errno syscall.Errno
	var m mitText
	switch {
	case errors.As(err, &m):
		return string(m)
	case errors.As(err, &ke):
		return ke.Error()
	case errors.Is(err, ErrSessionTimeout):
		return "Connection timed out (the session's overall deadline passed)"
	case errors.As(err, &errno):
		return capitalise(errno.Error())
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		// krb5_read_message returns ECONNABORTED for a short read.
		return "Software caused connection abort"
	case errors.Is(err, io.ErrClosedPipe):
		return "Broken pipe"
	case errors.Is(err, os.ErrDeadlineExceeded), isTimeout(err):
		return "Connection timed out"
	case errors.Is(err, net.ErrClosed):
		return "Bad file descriptor"
	}
	return capitalise(err.Error())
}

func capitalise(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// peerVanished reports whether err is the peer closing or resetting the
// connection, which is how kpropd answers every failure it does not put in
// a KRB-ERROR (spec §6.1).
func peerVanished(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.ErrClosedPipe) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED)
}
