package propagation

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/krb5prop/krb5prop/internal/krb5x"
)

// aclChunk is the size of the buffer MIT's authorized_principal hands to
// fgets: a line longer than aclChunk-1 bytes is read as several lines.
const aclChunk = 1024

// CheckACL reports whether kpropd.acl at path lets client (the ticket's
// client principal as krb5_unparse_name writes it, realm and escapes
// included) propagate with a ticket whose enc-part enctype is
// ticketEnctype. kpropd calls it on every connection, so edits take effect
// at once. A file that cannot be opened or read rejects everyone; the error
// then says why, for the log (MIT rejects silently).
func CheckACL(path, client string, ticketEnctype int32) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("open ACL file: %w", err)
	}
	defer f.Close()
	ok, err := MatchACL(f, client, ticketEnctype)
	if err != nil {
		return false, fmt.Errorf("read ACL file %s: %w", path, err)
	}
	return ok, nil
}

// MatchACL applies kpropd.acl text read from r exactly as MIT 1.20's
// authorized_principal does (spec §5.5):
//
//   - the text is cut into fgets chunks of at most 1023 bytes, each ending
//     after a newline or where the buffer filled, so a long line becomes
//     several candidate lines;
//   - each chunk is a C string (it ends at its first NUL byte), and only a
//     trailing newline is removed: no comments, no trimming, case matters;
//   - a chunk matches when it starts with client followed by its end or a
//     whitespace byte; after the whitespace, anything left must be exactly
//     an enctype name or alias (ASCII case-insensitive) equal to
//     ticketEnctype, so trailing blanks or an unknown name mean no match;
//   - the first matching chunk wins.
//
// Memory use is bounded by the chunk size, whatever the input.
func MatchACL(r io.Reader, client string, ticketEnctype int32) (bool, error) {
	br := bufio.NewReaderSize(r, 4096)
	buf := make([]byte, 0, aclChunk)
	for {
		buf = buf[:0]
		var err error
		for len(buf) < aclChunk-1 {
			var c byte
			c, err = br.ReadByte()
			if err != nil {
				break
			}
			buf = append(buf, c)
			if c == '\n' {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		if len(buf) == 0 {
			// fgets returns NULL at end of file with nothing read.
			return false, nil
		}
		if aclLineMatches(buf, client, ticketEnctype) {
			return true, nil
		}
		if err != nil {
			return false, nil
		}
	}
}

// aclLineMatches tests one fgets chunk.
func aclLineMatches(chunk []byte, client string, ticketEnctype int32) bool {
	// strlen: the C string ends at the first NUL.
	if i := bytes.IndexByte(chunk, 0); i >= 0 {
		chunk = chunk[:i]
	}
	if n := len(chunk); n > 0 && chunk[n-1] == '\n' {
		chunk = chunk[:n-1]
	}
	// strncmp(name, buf, strlen(name)) == 0: buf starts with name.
	if !bytes.HasPrefix(chunk, []byte(client)) {
		return false
	}
	rest := chunk[len(client):]
	if len(rest) > 0 && !cIsSpace(rest[0]) {
		return false
	}
	for len(rest) > 0 && cIsSpace(rest[0]) {
		rest = rest[1:]
	}
	if len(rest) == 0 {
		return true
	}
	etype, ok := aclEnctype(rest)
	return ok && etype == ticketEnctype
}

// aclEnctype resolves an enctype name as krb5_string_to_enctype does. MIT
// compares with strcasecmp, which folds ASCII letters only; EnctypeByName
// folds Unicode too, so names with non-ASCII bytes are refused first.
func aclEnctype(name []byte) (int32, bool) {
	for _, c := range name {
		if c >= 0x80 {
			return 0, false
		}
	}
	etype, err := krb5x.EnctypeByName(string(name))
	return etype, err == nil
}

// cIsSpace is isspace in the C locale; bytes of 0x80 and above are not
// spaces there.
func cIsSpace(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\v', '\f', '\r':
		return true
	}
	return false
}
