package dump

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"

	"github.com/krb5prop/krb5prop/kdb"
)

// Limits of what a dump can carry and MIT's loader and DB2 module read back
// unchanged (spec §1.8, kdb_xdr.c).
const (
	maxField     = 65535 // tl-data and key element lengths
	maxTLCount   = 32767 // DB2 keeps n_tl_data in a signed 16-bit field
	maxKeyCount  = 32767 // the loader's limit on n_key_data
	maxNameBytes = 32766 // DB2 stores the unparsed name plus NUL behind a signed 16-bit length
	maxPolicyLen = 1023  // the loader reads policy names with %1023s
	maxKeysalts  = 512   // and allowed_keysalts with %512s
	baseLength   = 38    // KRB5_KDB_V1_BASE_LENGTH, the only entry length DB2 accepts

	// tlDBArgs is KRB5_TL_DB_ARGS: arguments for the database module,
	// never stored in a principal (spec §1.4).
	tlDBArgs int16 = 0x7fff
)

// Writer writes a dump in one format. Records are written in the order
// given: MIT's own dumps list principals in bytewise order of their
// unparsed names and then policies by name (spec §1.6), and it is for the
// caller to iterate the database that way.
type Writer struct {
	w     *bufio.Writer
	f     Format
	rec   []byte // the record being assembled, so a rejected record writes nothing
	name  []byte
	order []int
	err   error
}

// NewWriter writes f's header line to w and returns a Writer for the
// records. The iprop formats need ih, the update-log position the dump
// corresponds to.
func NewWriter(w io.Writer, f Format, ih *IpropHeader) (*Writer, error) {
	if !f.Valid() {
		return nil, fmt.Errorf("dump: unknown format %d", int(f))
	}
	if f.omitsNonReplicated() && ih == nil {
		return nil, fmt.Errorf("dump: %s needs an update-log position", f.Name())
	}
	dw := &Writer{w: bufio.NewWriterSize(w, 64<<10), f: f}
	if _, err := dw.w.WriteString(f.Header(ih)); err != nil {
		dw.err = err
		return nil, fmt.Errorf("dump: writing header: %w", err)
	}
	return dw, nil
}

// Format is the format being written.
func (w *Writer) Format() Format { return w.f }

// Flush writes buffered data to the underlying writer.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if err := w.w.Flush(); err != nil {
		w.err = fmt.Errorf("dump: %w", err)
	}
	return w.err
}

func (w *Writer) emit() error {
	if w.err != nil {
		return w.err
	}
	if _, err := w.w.Write(w.rec); err != nil {
		w.err = fmt.Errorf("dump: %w", err)
	}
	return w.err
}

func unrepresentable(what string, args ...any) error {
	return fmt.Errorf("dump: "+what+": %w", append(args, ErrUnrepresentable)...)
}

// appendUnparsed appends the name as krb5_unparse_name writes it (the same
// bytes as kdb.Name.String, without the intermediate string).
func appendUnparsed(b []byte, n kdb.Name) []byte {
	for i, c := range n.Components {
		if i > 0 {
			b = append(b, '/')
		}
		b = appendQuoted(b, c)
	}
	b = append(b, '@')
	return appendQuoted(b, n.Realm)
}

func appendQuoted(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '@', '/', '\\':
			b = append(b, '\\', c)
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\b':
			b = append(b, '\\', 'b')
		case 0:
			b = append(b, '\\', '0')
		default:
			b = append(b, c)
		}
	}
	return b
}

// dumpName is the name field of a principal record. MIT writes the
// unparsed name as is, but its loader skips white space before the name
// (spec §1.8), so a name starting with a space (or \v, \f, \r, which
// krb5_unparse_name leaves alone) would load as a different principal.
// A backslash before that byte keeps the dump loadable, by MIT's
// krb5_parse_name as by ours, and changes nothing for any other name.
func dumpName(b []byte, n kdb.Name) []byte {
	start := len(b)
	b = appendUnparsed(b, n)
	if len(b) > start && isSpace(b[start]) {
		b = append(b, 0)
		copy(b[start+1:], b[start:])
		b[start] = '\\'
	}
	return b
}

func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// appendOctets is MIT's dump_octets_or_minus1: lowercase hex, or "-1" for
// no data.
func appendOctets(b, data []byte) []byte {
	if len(data) == 0 {
		return append(b, '-', '1')
	}
	return hex.AppendEncode(b, data)
}

// appendTL writes tl-data triples as MIT's dump_tl_data does: each one
// preceded by a TAB, none following.
func appendTL(b []byte, tl []kdb.TLData, dropKadm bool) []byte {
	for _, t := range tl {
		if dropKadm && t.Type == kdb.TLKadmData {
			continue
		}
		b = append(b, '\t')
		b = appendInt(b, int64(t.Type))
		b = append(b, '\t')
		b = appendInt(b, int64(len(t.Contents)))
		b = append(b, '\t')
		b = appendOctets(b, t.Contents)
	}
	return b
}

// keyOrder returns the indexes of p's keys by kvno, highest first, keeping
// the stored order of equal kvnos: MIT's dumper sorts each entry's keys
// that way before writing it (spec §1.3). p is not changed.
func (w *Writer) keyOrder(keys []kdb.KeyData) []int {
	w.order = w.order[:0]
	for i := range keys {
		// Insertion sort: stable, no allocation, and linear for keys
		// already in order, which is how they are normally stored.
		j := len(w.order)
		w.order = append(w.order, i)
		for j > 0 && keys[w.order[j-1]].KVNO < keys[i].KVNO {
			w.order[j] = w.order[j-1]
			j--
		}
		w.order[j] = i
	}
	return w.order
}

// WritePrincipal writes one principal record in exactly MIT's layout
// (spec §1.2): TAB separators with the placement of MIT's
// k5beta7_common, keys sorted by kvno descending, "-1" for empty binary
// fields, ";" and newline at the end. Version 4 leaves out tl-data type 3;
// the iprop formats write last_success, last_failed and fail_auth_count as
// 0. A record no loader could read back unchanged is refused with an error
// wrapping ErrUnrepresentable, and nothing is written for it.
func (w *Writer) WritePrincipal(p *kdb.Principal) error {
	if w.err != nil {
		return w.err
	}
	if len(p.Name.Components) == 0 {
		// It would be written as "@REALM", which parses as one empty
		// component.
		return unrepresentable("principal name without components")
	}
	w.name = dumpName(w.name[:0], p.Name)
	if len(w.name) > maxNameBytes {
		return unrepresentable("principal name of %d bytes (at most %d)", len(w.name), maxNameBytes)
	}
	dropKadm := w.f.dropsKadmData()
	ntl := 0
	for _, t := range p.TLData {
		if dropKadm && t.Type == kdb.TLKadmData {
			continue
		}
		if len(t.Contents) > maxField {
			return unrepresentable("%s: tl-data type %d of %d bytes (at most %d)", w.name, t.Type, len(t.Contents), maxField)
		}
		if t.Type == tlDBArgs {
			// MIT's loader passes it to DB2 as a module argument,
			// which fails the load.
			return unrepresentable("%s: tl-data type %d (KRB5_TL_DB_ARGS)", w.name, t.Type)
		}
		ntl++
	}
	if ntl > maxTLCount {
		return unrepresentable("%s: %d tl-data items (at most %d)", w.name, ntl, maxTLCount)
	}
	if len(p.KeyData) > maxKeyCount {
		return unrepresentable("%s: %d keys (at most %d)", w.name, len(p.KeyData), maxKeyCount)
	}
	for _, k := range p.KeyData {
		if k.Version < 0 || k.Version > 2 {
			return unrepresentable("%s: key data version %d", w.name, k.Version)
		}
		if len(k.Contents) > maxField || len(k.Salt) > maxField {
			return unrepresentable("%s: key data longer than %d bytes", w.name, maxField)
		}
	}

	b := append(w.rec[:0], "princ\t"...)
	b = appendInt(b, baseLength)
	b = append(b, '\t')
	b = appendInt(b, int64(len(w.name)))
	b = append(b, '\t')
	b = appendInt(b, int64(ntl))
	b = append(b, '\t')
	b = appendInt(b, int64(len(p.KeyData)))
	b = append(b, "\t0\t"...) // e_length: DB2 entries carry no extra data
	b = append(b, w.name...)
	b = append(b, '\t')

	// %d for the signed fields, %u for the times (spec §11.8).
	lastSuccess, lastFailed, failCount := p.LastSuccess, p.LastFailed, p.FailAuthCount
	if w.f.omitsNonReplicated() {
		lastSuccess, lastFailed, failCount = 0, 0, 0
	}
	b = appendInt(b, int64(int32(p.Attributes)))
	b = append(b, '\t')
	b = appendInt(b, int64(p.MaxLife))
	b = append(b, '\t')
	b = appendInt(b, int64(p.MaxRenewableLife))
	b = append(b, '\t')
	b = appendInt(b, int64(p.Expiration))
	b = append(b, '\t')
	b = appendInt(b, int64(p.PwExpiration))
	b = append(b, '\t')
	b = appendInt(b, int64(lastSuccess))
	b = append(b, '\t')
	b = appendInt(b, int64(lastFailed))
	b = append(b, '\t')
	b = appendInt(b, int64(int32(failCount)))

	b = appendTL(b, p.TLData, dropKadm)
	b = append(b, '\t')

	for _, i := range w.keyOrder(p.KeyData) {
		k := &p.KeyData[i]
		b = appendInt(b, int64(k.Version))
		b = append(b, '\t')
		b = appendInt(b, int64(k.KVNO))
		b = append(b, '\t')
		if k.Version >= 1 {
			b = appendKeyElement(b, k.Enctype, k.Contents)
		}
		if k.Version >= 2 {
			b = appendKeyElement(b, k.SaltType, k.Salt)
		}
	}
	b = append(b, "-1;\n"...) // e_data, always empty
	w.rec = b
	return w.emit()
}

func appendKeyElement(b []byte, typ int16, data []byte) []byte {
	b = appendInt(b, int64(typ))
	b = append(b, '\t')
	b = appendInt(b, int64(len(data)))
	b = append(b, '\t')
	b = appendOctets(b, data)
	return append(b, '\t')
}

// checkToken rejects a string the loader reads with "%Ns": it must be one
// non-empty token of at most max bytes with no white space, and (being a C
// string in MIT) no NUL.
func checkToken(what, s string, max int) error {
	if s == "" {
		return unrepresentable("empty %s", what)
	}
	if len(s) > max {
		return unrepresentable("%s of %d bytes (at most %d)", what, len(s), max)
	}
	for i := 0; i < len(s); i++ {
		if isSpace(s[i]) || s[i] == 0 {
			return unrepresentable("%s %q contains white space or NUL", what, s)
		}
	}
	return nil
}

// WritePolicy writes one policy line in the format's layout (spec §1.5):
// TAB separators, no ";", every number as %d, policy_refcnt as 0, and in
// the 1.11 layout "-" for unset allowed_keysalts followed by the tl-data.
// Names and allowed_keysalts that MIT's loader would split or truncate are
// refused with an error wrapping ErrUnrepresentable.
func (w *Writer) WritePolicy(p *kdb.Policy) error {
	if w.err != nil {
		return w.err
	}
	if err := checkToken("policy name", p.Name, maxPolicyLen); err != nil {
		return err
	}
	fields := w.f.policyFields()
	if fields == 15 {
		if p.AllowedKeysalts != "" {
			if err := checkToken("allowed_keysalts", p.AllowedKeysalts, maxKeysalts); err != nil {
				return err
			}
			if p.AllowedKeysalts == "-" {
				return unrepresentable(`allowed_keysalts "-" (read back as unset)`)
			}
		}
		if len(p.TLData) > maxTLCount {
			return unrepresentable("policy %s: %d tl-data items (at most %d)", p.Name, len(p.TLData), maxTLCount)
		}
		for _, t := range p.TLData {
			if len(t.Contents) > maxField {
				return unrepresentable("policy %s: tl-data type %d of %d bytes (at most %d)", p.Name, t.Type, len(t.Contents), maxField)
			}
		}
	}
	b := append(w.rec[:0], "policy\t"...)
	b = append(b, p.Name...)
	num := func(v uint32) {
		b = append(b, '\t')
		b = appendInt(b, int64(int32(v)))
	}
	num(p.PwMinLife)
	num(p.PwMaxLife)
	num(p.PwMinLength)
	num(p.PwMinClasses)
	num(p.PwHistoryNum)
	num(0) // policy_refcnt
	if fields >= 10 {
		num(p.PwMaxFail)
		num(p.PwFailcntInterval)
		num(p.PwLockoutDuration)
	}
	if fields == 15 {
		num(p.Attributes)
		num(p.MaxLife)
		num(p.MaxRenewableLife)
		b = append(b, '\t')
		if p.AllowedKeysalts == "" {
			b = append(b, '-')
		} else {
			b = append(b, p.AllowedKeysalts...)
		}
		b = append(b, '\t')
		b = appendInt(b, int64(len(p.TLData)))
		b = appendTL(b, p.TLData, false)
	}
	b = append(b, '\n')
	w.rec = b
	return w.emit()
}
